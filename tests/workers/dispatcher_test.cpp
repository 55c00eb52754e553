// The dispatcher end to end on real parts: jobs run window by window through
// the real log provider, pause, cancel, scheduling, expiry and recovery.
#include <atomic>
#include <map>
#include <set>

#include "tests/workers/dispatcher_fixture.h"

namespace crier::testing {
namespace {

TEST_F(DispatcherTest, RunsEveryRecipientExactlyOnceAcrossManyWindows) {
  constexpr int kUsers = 2500;  // 25 windows of 100
  Job job = create(email_spec());
  ingest(job, users(job, 0, kUsers));
  EXPECT_EQ(run(job).status, JobStatus::processing);
  ASSERT_EQ(wait_final(job), JobStatus::completed);

  auto lines = log_lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kUsers));
  std::vector<int> times_seen(kUsers, 0);
  for (const auto& line : lines) {
    std::uint64_t seq = seq_of(line);
    ASSERT_LT(seq, static_cast<std::uint64_t>(kUsers));
    ++times_seen[seq];
    const int i = static_cast<int>(seq);  // seqs follow ingest order
    EXPECT_EQ(line.at("message_id").as_string(), message_id(job.key, seq));
    EXPECT_EQ(line.at("job_id").as_string(), job.id());
    EXPECT_EQ(line.at("channel").as_string(), "email");
    EXPECT_EQ(line.at("to").as_string(), email_of(i));
    EXPECT_EQ(line.at("subject").as_string(), fmt::format("Hi User {}", i));
    EXPECT_EQ(line.at("text").as_string(), fmt::format("Hello User {}, #{} {}", i, i, email_of(i)));
  }
  for (int i = 0; i < kUsers; ++i) EXPECT_EQ(times_seen[i], 1) << "seq " << i;

  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::received], kUsers);
  EXPECT_EQ(c[Counter::unique], kUsers);
  EXPECT_EQ(c[Counter::sent], kUsers);
  EXPECT_EQ(c[Counter::pending], 0);
  EXPECT_EQ(c[Counter::enqueued], 0);
  EXPECT_EQ(c[Counter::failed], 0);
  auto cursor = store_->dispatch_cursor(job.key);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, static_cast<std::uint64_t>(kUsers));

  Job done = current(job);
  ASSERT_TRUE(done.started_at && done.finished_at);
  EXPECT_GE(*done.finished_at, *done.started_at);
  for (const auto& r : recipients(job)) {
    EXPECT_EQ(r.state.status, RecipientStatus::sent);
    EXPECT_EQ(r.state.attempts, 1u);
  }
}

TEST_F(DispatcherTest, LanesSendAnUnlimitedJobOnceEachAcrossAStopAndRecover) {
  // Eight lanes of 100 on four threads: turns of 800, parts committed side by
  // side and out of order. A clean stop ends the loop at a turn's end; a new
  // dispatcher resumes from the cursor.
  service_->set_listener(nullptr);
  dispatcher_ = make_dispatcher(8, 4);
  service_->set_listener(dispatcher_.get());
  constexpr int kUsers = 40000;
  Job job = create(email_spec());
  ingest(job, users(job, 0, kUsers));
  run(job);
  ASSERT_TRUE(eventually([&] { return counters(job)[Counter::sent] >= 2000; }));
  service_->set_listener(nullptr);
  dispatcher_->stop();
  dispatcher_.reset();
  const auto at_stop = counters(job);
  expect_invariants(at_stop);
  ASSERT_GT(at_stop.outstanding(), 0) << "the job must still run when the dispatcher stops";
  auto cursor = store_->dispatch_cursor(job.key);
  ASSERT_TRUE(cursor.ok());
  // The stop waited for the turn: every part committed, the cursor after them.
  EXPECT_EQ(static_cast<std::int64_t>(*cursor), at_stop[Counter::sent]);
  EXPECT_EQ(at_stop[Counter::enqueued], 0);

  dispatcher_ = make_dispatcher(8, 4);
  service_->set_listener(dispatcher_.get());
  ASSERT_TRUE(dispatcher_->recover().ok());
  ASSERT_EQ(wait_final(job), JobStatus::completed);
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::sent], kUsers);
  std::vector<int> times_seen(kUsers, 0);
  auto lines = log_lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kUsers));
  for (const auto& line : lines) {
    const std::uint64_t seq = seq_of(line);
    ASSERT_LT(seq, static_cast<std::uint64_t>(kUsers));
    ++times_seen[seq];
    EXPECT_EQ(line.at("subject").as_string(), fmt::format("Hi User {}", seq));
  }
  for (int i = 0; i < kUsers; ++i) EXPECT_EQ(times_seen[i], 1) << "seq " << i;
  for (const auto& r : recipients(job)) EXPECT_EQ(r.state.attempts, 1u) << r.recipient.seq;
}

TEST_F(DispatcherTest, UserDataOverridesJobDataWhenRendering) {
  JobSpec spec = email_spec();
  spec.content.base.email = EmailContent{"{{brand}}", "{{brand}} for {{name}}", ""};
  Job job = create(spec);
  auto entries = users(job, 0, 2);
  entries[1].recipient.data_json = R"({"name":"Bo","brand":"Other"})";
  ingest(job, entries);
  run(job);
  ASSERT_EQ(wait_final(job), JobStatus::completed);
  std::map<std::uint64_t, json::object> by_seq;
  for (auto& line : log_lines()) by_seq[seq_of(line)] = line;
  ASSERT_EQ(by_seq.size(), 2u);
  EXPECT_EQ(by_seq[0].at("text").as_string(), "Acme for User 0");
  EXPECT_EQ(by_seq[1].at("subject").as_string(), "Other");
  EXPECT_EQ(by_seq[1].at("text").as_string(), "Other for Bo");
}

TEST_F(DispatcherTest, RecipientsThatCannotRenderFailAndTheJobIsPartial) {
  Job job = create(email_spec());
  auto entries = users(job, 0, 10);
  // Data that is not an object cannot reach the store through the api; the
  // dispatcher must still fail only those recipients, not the job's loop.
  for (int bad : {3, 6, 9}) entries[bad].recipient.data_json = "[1,2]";
  ingest(job, entries);
  run(job);
  ASSERT_EQ(wait_final(job), JobStatus::partial);

  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::sent], 7);
  EXPECT_EQ(c[Counter::failed], 3);
  std::set<std::uint64_t> logged;
  for (const auto& line : log_lines()) logged.insert(seq_of(line));
  EXPECT_EQ(logged, (std::set<std::uint64_t>{0, 1, 2, 4, 5, 7, 8}));
  for (const auto& r : recipients(job)) {
    bool bad = r.recipient.seq % 3 == 0 && r.recipient.seq != 0;
    EXPECT_EQ(r.state.status, bad ? RecipientStatus::failed : RecipientStatus::sent) << r.recipient.seq;
    if (bad) {
      EXPECT_EQ(r.state.error_code, "invalid_data");
      EXPECT_EQ(r.state.attempts, 1u);
    }
  }
}

TEST_F(DispatcherTest, AJobWhoseProviderIsGoneWaitsAndLosesNothing) {
  // The API refuses unknown providers at create time; here the provider
  // went away with a config change. The job must not be failed for it.
  JobSpec spec = email_spec();
  spec.provider = "nowhere";
  Job job = create(spec);
  ingest(job, users(job, 0, 250));
  run(job);
  ASSERT_TRUE(eventually([&] { return dispatcher_->running_jobs() == 0; }));
  EXPECT_EQ(current(job).status, JobStatus::processing);
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::pending], 250);
  EXPECT_EQ(c[Counter::failed], 0);

  // A restart with the provider configured again finishes it.
  service_->set_listener(nullptr);
  dispatcher_.reset();
  DispatchOptions options;
  options.window = kWindow;
  dispatcher_ = std::make_unique<Dispatcher>(*service_, *store_, options);
  dispatcher_->add_provider(make_null_provider("nowhere"));
  service_->set_listener(dispatcher_.get());
  dispatcher_->start();
  ASSERT_TRUE(dispatcher_->recover().ok());
  ASSERT_EQ(wait_final(job), JobStatus::completed);
  EXPECT_EQ(counters(job)[Counter::sent], 250);
}

// A stored job whose tenant may not use its provider (stored before the
// rule, or the config took the provider away since) sends nothing: its
// recipients fail provider_not_allowed. Another tenant's job goes out.
TEST_F(DispatcherTest, AStoredJobWhoseTenantMayNotUseItsProviderSendsNothing) {
  ProviderAccess access({{"log", false, {"globex"}, true}, {"null", true, {}, false}}, "log", {});
  dispatcher_->set_provider_access(&access);
  Job job = create(email_spec());  // acme's, to "log"
  ingest(job, users(job, 0, 150));
  run(job);
  EXPECT_EQ(wait_final(job), JobStatus::failed);
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::failed], 150);
  EXPECT_EQ(c[Counter::sent], 0);
  EXPECT_TRUE(log_lines().empty()) << "nothing reached the provider";
  EXPECT_EQ(recipients(job).front().state.error_code, "provider_not_allowed");

  JobSpec open = email_spec();
  open.provider = "null";
  Job other = create(open);
  ingest(other, users(other, 0, 10));
  run(other);
  EXPECT_EQ(wait_final(other), JobStatus::completed);
  dispatcher_->set_provider_access(nullptr);
}

TEST_F(DispatcherTest, NullProviderSendsWithoutLogging) {
  JobSpec spec = email_spec();
  spec.provider = "null";
  Job job = create(spec);
  ingest(job, users(job, 0, 150));
  run(job);
  ASSERT_EQ(wait_final(job), JobStatus::completed);
  EXPECT_EQ(counters(job)[Counter::sent], 150);
  EXPECT_TRUE(log_lines().empty());
}

TEST_F(DispatcherTest, CancelDuringRunStopsSendingAndSweepsTheRest) {
  constexpr int kUsers = 500;
  JobSpec spec = email_spec();
  spec.rate_limit = 50;  // windows of 10, about 10 s for the whole job
  Job job = create(spec);
  ingest(job, users(job, 0, kUsers));
  run(job);
  ASSERT_TRUE(eventually([&] { return counters(job)[Counter::sent] >= 20; }));
  auto cancelled = service_->apply(job.key, JobAction::cancel);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->status, JobStatus::cancelling);  // hundreds wait to be swept
  ASSERT_EQ(wait_final(job), JobStatus::cancelled);

  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::sent] + c[Counter::cancelled], kUsers);
  EXPECT_GE(c[Counter::sent], 20);
  EXPECT_GT(c[Counter::cancelled], 0);
  EXPECT_EQ(c[Counter::pending] + c[Counter::enqueued], 0);
  // What was logged is exactly what was counted as sent.
  auto lines = log_lines();
  EXPECT_EQ(static_cast<std::int64_t>(lines.size()), c[Counter::sent]);
  std::set<std::uint64_t> logged;
  for (const auto& line : lines) logged.insert(seq_of(line));
  EXPECT_EQ(logged.size(), lines.size());
  for (const auto& r : recipients(job)) {
    if (r.state.status == RecipientStatus::cancelled) {
      EXPECT_EQ(r.state.error_code, "cancelled");
      EXPECT_FALSE(logged.count(r.recipient.seq)) << r.recipient.seq;
    } else {
      EXPECT_EQ(r.state.status, RecipientStatus::sent);
      EXPECT_TRUE(logged.count(r.recipient.seq)) << r.recipient.seq;
    }
  }
}

TEST_F(DispatcherTest, PauseStopsTheLoopAndResumeCompletes) {
  constexpr int kUsers = 300;
  JobSpec spec = email_spec();
  spec.rate_limit = 100;  // windows of 20, about 3 s for the whole job
  Job job = create(spec);
  ingest(job, users(job, 0, kUsers));
  run(job);
  ASSERT_TRUE(eventually([&] { return counters(job)[Counter::sent] >= 20; }));
  auto paused = service_->apply(job.key, JobAction::pause);
  ASSERT_TRUE(paused.ok());
  EXPECT_EQ(paused->status, JobStatus::paused);
  // The loop ends at its next window boundary.
  ASSERT_TRUE(eventually([&] { return dispatcher_->running_jobs() == 0; }));
  EXPECT_EQ(current(job).status, JobStatus::paused);
  auto at_pause = counters(job);
  expect_invariants(at_pause);
  EXPECT_EQ(at_pause[Counter::enqueued], 0);
  EXPECT_GT(at_pause[Counter::pending], 0);
  EXPECT_EQ(at_pause[Counter::sent] + at_pause[Counter::pending], kUsers);
  EXPECT_EQ(static_cast<std::int64_t>(log_lines().size()), at_pause[Counter::sent]);

  auto resumed = service_->apply(job.key, JobAction::resume);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->status, JobStatus::processing);
  ASSERT_EQ(wait_final(job), JobStatus::completed);
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::sent], kUsers);
  // Nothing sent before the pause was sent again.
  std::vector<int> times_seen(kUsers, 0);
  auto lines = log_lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kUsers));
  for (const auto& line : lines) ++times_seen[seq_of(line)];
  for (int i = 0; i < kUsers; ++i) EXPECT_EQ(times_seen[i], 1) << "seq " << i;
}

TEST_F(DispatcherTest, RecoverFinishesAJobLeftProcessingByAStoppedDispatcher) {
  constexpr int kUsers = 300;
  JobSpec spec = email_spec();
  spec.rate_limit = 100;
  Job job = create(spec);
  ingest(job, users(job, 0, kUsers));
  run(job);
  ASSERT_TRUE(eventually([&] { return counters(job)[Counter::sent] >= 20; }));

  // The process goes away mid-run.
  service_->set_listener(nullptr);
  dispatcher_->stop();
  dispatcher_.reset();
  ASSERT_EQ(current(job).status, JobStatus::processing);
  auto left = counters(job);
  EXPECT_GT(left.outstanding(), 0);

  // A new one on the same store picks the job up from its cursor.
  dispatcher_ = make_dispatcher();
  service_->set_listener(dispatcher_.get());
  auto recovered = dispatcher_->recover();
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  ASSERT_EQ(wait_final(job), JobStatus::completed);

  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::sent], kUsers);
  std::vector<int> times_seen(kUsers, 0);
  for (const auto& line : log_lines()) {
    std::uint64_t seq = seq_of(line);
    ASSERT_LT(seq, static_cast<std::uint64_t>(kUsers));
    EXPECT_EQ(line.at("message_id").as_string(), message_id(job.key, seq));
    ++times_seen[seq];
  }
  // A clean stop lets the turn in flight write its outcomes: nothing it sent
  // is sent again by the next dispatcher (a kill would allow that; a stop not).
  for (int i = 0; i < kUsers; ++i) EXPECT_EQ(times_seen[i], 1) << "seq " << i;
}

TEST_F(DispatcherTest, RecoverSweepsACancelledJobWithPendingRecipients) {
  Job job = create(email_spec());
  ingest(job, users(job, 0, 250));
  // Cancelled while no dispatcher listened: nobody swept it.
  service_->set_listener(nullptr);
  ASSERT_TRUE(service_->apply(job.key, JobAction::cancel).ok());
  EXPECT_EQ(counters(job)[Counter::pending], 250);

  service_->set_listener(dispatcher_.get());
  ASSERT_TRUE(dispatcher_->recover().ok());
  ASSERT_EQ(wait_final(job), JobStatus::cancelled);
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::cancelled], 250);
  EXPECT_TRUE(log_lines().empty());
}

TEST_F(DispatcherTest, ScheduledJobStartsAtItsTimeAndCompletes) {
  RecordingListener recorder(*dispatcher_);
  service_->set_listener(&recorder);
  JobSpec spec = email_spec();
  // Far enough ahead that a slow (sanitized) build still runs it before.
  spec.schedule_at = now_unix_ms() + 1500;
  Job job = create(spec);
  ingest(job, users(job, 0, 50));
  EXPECT_EQ(run(job).status, JobStatus::scheduled);
  ASSERT_EQ(wait_final(job), JobStatus::completed);
  service_->set_listener(dispatcher_.get());

  EXPECT_EQ(recorder.seen(),
            (std::vector<JobStatus>{JobStatus::scheduled, JobStatus::processing, JobStatus::completed}));
  EXPECT_EQ(counters(job)[Counter::sent], 50);
  EXPECT_EQ(log_lines().size(), 50u);
}

// A listener that throws when a job starts processing: what the schedule
// timer's handler meets if anything under JobService::apply throws.
class ThrowOnStart final : public JobListener {
 public:
  explicit ThrowOnStart(JobListener& next) : next_(next) {}
  void on_status_changed(const Job& job) override {
    if (job.status == JobStatus::processing) {
      thrown_ = true;
      throw std::runtime_error("listener failed");
    }
    next_.on_status_changed(job);
  }
  std::atomic<bool> thrown_{false};

 private:
  JobListener& next_;
};

TEST_F(DispatcherTest, AnExceptionWhenAScheduledJobStartsIsLoggedNotFatal) {
  ThrowOnStart thrower(*dispatcher_);
  service_->set_listener(&thrower);
  JobSpec spec = email_spec();
  spec.schedule_at = now_unix_ms() + 50;
  Job job = create(spec);
  ingest(job, users(job, 0, 5));
  EXPECT_EQ(run(job).status, JobStatus::scheduled);
  // Before the fix the exception left the timer's handler and ended the
  // process; now it is logged and the dispatcher keeps working.
  ASSERT_TRUE(eventually([&] { return thrower.thrown_.load(); }, std::chrono::seconds(10)));
  service_->set_listener(dispatcher_.get());
  ASSERT_TRUE(dispatcher_->recover().ok());
  EXPECT_EQ(wait_final(job), JobStatus::completed);
  EXPECT_EQ(counters(job)[Counter::sent], 5);
}

TEST_F(DispatcherTest, RecoverArmsTheTimerOfAScheduledJob) {
  JobSpec spec = email_spec();
  spec.schedule_at = now_unix_ms() + 200;
  Job job = create(spec);
  ingest(job, users(job, 0, 20));
  service_->set_listener(nullptr);
  EXPECT_EQ(run(job).status, JobStatus::scheduled);
  service_->set_listener(dispatcher_.get());
  ASSERT_TRUE(dispatcher_->recover().ok());
  ASSERT_EQ(wait_final(job), JobStatus::completed);
  EXPECT_EQ(counters(job)[Counter::sent], 20);
}

TEST_F(DispatcherTest, RecipientsOfAnExpiredJobAreSkipped) {
  JobSpec spec = email_spec();
  spec.expires_at = now_unix_ms() + 150;
  Job job = create(spec);
  ingest(job, users(job, 0, 250));
  // Run only once the job has expired.
  ASSERT_TRUE(eventually([&] { return now_unix_ms() > *spec.expires_at; }));
  EXPECT_EQ(run(job).status, JobStatus::processing);
  JobStatus final_status = wait_final(job);
  EXPECT_TRUE(is_final(final_status));
  // Nothing failed, so by the state machine's rule the job completed.
  EXPECT_EQ(final_status, JobStatus::completed);

  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::skipped], 250);
  EXPECT_EQ(c[Counter::sent], 0);
  EXPECT_TRUE(log_lines().empty());
  for (const auto& r : recipients(job)) {
    EXPECT_EQ(r.state.status, RecipientStatus::skipped);
    EXPECT_EQ(r.state.error_code, "expired");
  }
}

TEST_F(DispatcherTest, ManyJobsRunConcurrently) {
  std::vector<Job> jobs;
  for (int j = 0; j < 4; ++j) {
    Job job = create(email_spec());
    ingest(job, users(job, 0, 300));
    jobs.push_back(job);
  }
  for (const auto& job : jobs) run(job);
  for (const auto& job : jobs) {
    ASSERT_EQ(wait_final(job), JobStatus::completed);
    EXPECT_EQ(counters(job)[Counter::sent], 300);
  }
  std::map<std::string, std::set<std::uint64_t>> seqs_by_job;
  auto lines = log_lines();
  EXPECT_EQ(lines.size(), 1200u);
  for (const auto& line : lines) seqs_by_job[std::string(line.at("job_id").as_string())].insert(seq_of(line));
  ASSERT_EQ(seqs_by_job.size(), 4u);
  for (const auto& [id, seqs] : seqs_by_job) EXPECT_EQ(seqs.size(), 300u) << id;
}

TEST_F(DispatcherTest, SmsMessagesCarryTheirEncodingAndSegmentsToTheProvider) {
  JobSpec spec;
  spec.channel = Channel::sms;
  spec.content.base.sms = SmsContent{"{{text}}"};
  spec.data_json = "{}";
  Job job = create(spec);
  const std::vector<std::string> texts = {"Hi Bo", "5€", std::string(161, 'a'), "Hi Zo\u00eb"};
  std::vector<IngestEntry> entries;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::string phone = fmt::format("+1415555010{}", i);
    std::string data = json::serialize(json::object{{"text", texts[i]}});
    RawUser raw;
    raw.phone = phone;
    raw.data_json = data;
    auto r = validate_user(raw, job.spec);
    ASSERT_TRUE(r.ok()) << r.error().message;
    IngestEntry e;
    e.dedupe = dedupe_key(*r, job.spec.channel);
    e.recipient = std::move(*r);
    entries.push_back(std::move(e));
  }
  ingest(job, entries);
  run(job);
  ASSERT_EQ(wait_final(job), JobStatus::completed);

  std::map<std::uint64_t, json::object> by_seq;
  for (auto& line : log_lines()) by_seq[seq_of(line)] = line;
  ASSERT_EQ(by_seq.size(), texts.size());
  auto sms = [](std::string_view encoding, int segments, int characters) {
    return json::value(json::object{{"encoding", encoding}, {"segments", segments}, {"characters", characters}});
  };
  EXPECT_EQ(by_seq[0].at("sms"), sms("GSM-7", 1, 5));
  EXPECT_EQ(by_seq[1].at("sms"), sms("GSM-7", 1, 3));
  EXPECT_EQ(by_seq[2].at("sms"), sms("GSM-7", 2, 161));
  EXPECT_EQ(by_seq[3].at("sms"), sms("UCS-2", 1, 6));
  EXPECT_EQ(by_seq[3].at("body"), "Hi Zo\u00eb");
}

TEST_F(DispatcherTest, OnlySmsMessagesCarrySegments) {
  Job job = create(email_spec());
  ingest(job, users(job, 0, 3));
  run(job);
  ASSERT_EQ(wait_final(job), JobStatus::completed);
  auto lines = log_lines();
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& line : lines) EXPECT_FALSE(line.contains("sms")) << json::serialize(line);
}

}  // namespace
}  // namespace crier::testing
