// JobService (engine) over a real RocksStore rather than a fake (test_engine
// links the store for these; engine/ itself still knows nothing of RocksDB).
#include "engine/job_service.h"

#include <gtest/gtest.h>

#include <cctype>
#include <vector>

#include "tests/storage/store_fixture.h"

namespace crier {
namespace {

using testing::email_entries;
using testing::kBaseMs;
using testing::open_store;
using testing::TempDir;

class RecordingListener final : public JobListener {
 public:
  void on_status_changed(const Job& job) override { seen.push_back(job.status); }
  std::vector<JobStatus> seen;
};

class JobServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(dir_);
    ASSERT_TRUE(store_);
    service_ = std::make_unique<JobService>(*store_, *store_, [this] { return now_; });
    service_->set_listener(&listener_);
  }

  static JobSpec inline_email() {
    JobSpec spec;
    spec.channel = Channel::email;
    spec.content.base.email = EmailContent{"Hi {{name}}", "Hello {{name}}", ""};
    spec.data_json = R"({"name":"there"})";
    return spec;
  }

  Job create_ok(std::string_view tenant = "acme", JobSpec spec = inline_email()) {
    auto r = service_->create(tenant, std::move(spec));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : Job{};
  }

  Job apply_ok(const Job& job, JobAction action) {
    auto r = service_->apply(job.tenant, job.id(), action);
    EXPECT_TRUE(r.ok()) << to_string(action) << ": " << r.error().message;
    return r.ok() ? *r : Job{};
  }

  Job stored(const Job& job) {
    auto r = service_->get(job.tenant, job.id());
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : Job{};
  }

  std::int64_t now_ = kBaseMs;
  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
  std::unique_ptr<JobService> service_;
  RecordingListener listener_;
};

// ---- create and get ---------------------------------------------------------

TEST_F(JobServiceTest, CreateWithInlineContentStoresACreatedJob) {
  Job job = create_ok();
  EXPECT_EQ(job.status, JobStatus::created);
  EXPECT_EQ(job.tenant, "acme");
  EXPECT_EQ(job.created_at, kBaseMs);
  EXPECT_TRUE(parse_job_id(job.id()).has_value());

  Job got = stored(job);
  EXPECT_EQ(got.id(), job.id());
  EXPECT_EQ(got.status, JobStatus::created);
  ASSERT_TRUE(got.spec.content.base.email);
  EXPECT_EQ(got.spec.content.base.email->subject, "Hi {{name}}");
  EXPECT_TRUE(listener_.seen.empty());  // creating is not a status change
}

TEST_F(JobServiceTest, JobsCreatedLaterListFirst) {
  Job first = create_ok();
  now_ += 1000;
  Job second = create_ok();
  auto page = store_->list_jobs("acme", std::nullopt, "", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_EQ(page->jobs[0].id(), second.id());
  EXPECT_EQ(page->jobs[1].id(), first.id());
  EXPECT_LT(first.id(), second.id());
}

TEST_F(JobServiceTest, CreateWithUnknownTemplateIsUnprocessable) {
  JobSpec spec;
  spec.channel = Channel::email;
  spec.template_id = "missing";
  auto r = service_->create("acme", spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unprocessable);
  EXPECT_EQ(r.error().code, "unknown_template");
  EXPECT_EQ(r.error().field, "template");
  auto listed = store_->list_jobs("acme", std::nullopt, "", 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->jobs.empty());
}

TEST_F(JobServiceTest, AnotherTenantsTemplateIsUnknown) {
  Template t;
  t.tenant = "globex";
  t.id = "welcome";
  t.content.base.email = EmailContent{"s", "t", ""};
  ASSERT_TRUE(store_->put_template(t).ok());
  JobSpec spec;
  spec.template_id = "welcome";
  auto r = service_->create("acme", spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "unknown_template");
}

TEST_F(JobServiceTest, CreateFromTemplateSnapshotsItsContent) {
  Template t;
  t.tenant = "acme";
  t.id = "welcome";
  t.content.base.email = EmailContent{"Welcome {{name}}", "v1", ""};
  t.content.locales["fr"].email = EmailContent{"Bienvenue", "v1 fr", ""};
  ASSERT_TRUE(store_->put_template(t).ok());

  JobSpec spec;
  spec.channel = Channel::email;
  spec.template_id = "welcome";
  Job job = create_ok("acme", spec);
  EXPECT_EQ(job.spec.template_id, "welcome");
  ASSERT_TRUE(job.spec.content.base.email);
  EXPECT_EQ(job.spec.content.base.email->text, "v1");

  // Editing the template afterwards does not change the job.
  t.content.base.email->text = "v2";
  ASSERT_TRUE(store_->put_template(t).ok());
  Job got = stored(job);
  ASSERT_TRUE(got.spec.content.base.email);
  EXPECT_EQ(got.spec.content.base.email->text, "v1");
  ASSERT_EQ(got.spec.content.locales.count("fr"), 1u);
  EXPECT_EQ(got.spec.content.locales.at("fr").email->subject, "Bienvenue");
}

TEST_F(JobServiceTest, CreateRefusesInvalidTemplatesAndMissingChannelContent) {
  JobSpec bad = inline_email();
  bad.content.base.email->text = "{{#open}} never closed";
  auto r = service_->create("acme", bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_template");
  EXPECT_EQ(r.error().kind, ErrorKind::unprocessable);

  JobSpec wrong_channel = inline_email();
  wrong_channel.channel = Channel::sms;
  auto w = service_->create("acme", wrong_channel);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "content_missing_channel");

  auto listed = store_->list_jobs("acme", std::nullopt, "", 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->jobs.empty());
}

TEST_F(JobServiceTest, GetHidesOtherTenantsJobsAndUnknownIds) {
  Job job = create_ok("acme");
  for (auto [tenant, id] : std::vector<std::pair<std::string, std::string>>{
           {"globex", job.id()},
           {"acme", job_id_string(new_job_key(kBaseMs))},
           {"acme", "job_not-an-id"},
           {"acme", ""}}) {
    auto r = service_->get(tenant, id);
    ASSERT_FALSE(r.ok()) << tenant << " " << id;
    EXPECT_EQ(r.error().kind, ErrorKind::not_found);
    EXPECT_EQ(r.error().code, "job_not_found");
  }
  // Actions go through the same check.
  auto run = service_->apply("globex", job.id(), JobAction::run);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().kind, ErrorKind::not_found);
  EXPECT_EQ(stored(job).status, JobStatus::created);
}

TEST_F(JobServiceTest, GetAcceptsLowerCaseIds) {
  Job job = create_ok();
  std::string id = job.id();
  for (std::size_t i = 4; i < id.size(); ++i)
    id[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(id[i])));
  auto r = service_->get("acme", id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id(), job.id());
}

// ---- ingest -----------------------------------------------------------------

TEST_F(JobServiceTest, IngestWorksWhileCreated) {
  Job job = create_ok();
  auto entries = email_entries({"a@example.com", "b@example.com", "a@example.com"});
  auto r = service_->ingest(job, entries, 1, true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->accepted, 2);
  EXPECT_EQ(r->duplicates, 1);
  auto c = service_->counters(job);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[Counter::received], 4);
  testing::expect_counter_invariants(*c);
}

TEST_F(JobServiceTest, IngestAfterRunIsAConflictEvenWithAStaleJobCopy) {
  Job job = create_ok();  // this copy still says CREATED
  apply_ok(job, JobAction::run);
  auto entries = email_entries({"a@example.com"});
  auto r = service_->ingest(job, entries, 0, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::conflict);
  EXPECT_EQ(r.error().code, "invalid_state_transition");
  EXPECT_EQ(r.error().status, "PROCESSING");
  auto c = service_->counters(job);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[Counter::received], 0);
}

TEST_F(JobServiceTest, IngestIntoACancelledJobNamesItsState) {
  Job job = create_ok();
  apply_ok(job, JobAction::cancel);
  auto entries = email_entries({"a@example.com"});
  auto r = service_->ingest(job, entries, 0, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, "CANCELLED");
}

// ---- actions ----------------------------------------------------------------

TEST_F(JobServiceTest, TransitionsPersistWithTimestamps) {
  Job job = create_ok();
  now_ = kBaseMs + 100;
  Job running = apply_ok(job, JobAction::run);
  EXPECT_EQ(running.status, JobStatus::processing);
  EXPECT_EQ(running.started_at, kBaseMs + 100);
  EXPECT_EQ(stored(job).status, JobStatus::processing);

  now_ = kBaseMs + 200;
  EXPECT_EQ(apply_ok(job, JobAction::pause).status, JobStatus::paused);
  EXPECT_EQ(stored(job).status, JobStatus::paused);
  EXPECT_EQ(stored(job).updated_at, kBaseMs + 200);

  now_ = kBaseMs + 300;
  Job resumed = apply_ok(job, JobAction::resume);
  EXPECT_EQ(resumed.status, JobStatus::processing);
  EXPECT_EQ(resumed.started_at, kBaseMs + 100);  // the first start is kept
  EXPECT_FALSE(resumed.finished_at.has_value());

  now_ = kBaseMs + 400;
  Job cancelled = apply_ok(job, JobAction::cancel);
  EXPECT_EQ(cancelled.status, JobStatus::cancelled);
  Job got = stored(job);
  EXPECT_EQ(got.status, JobStatus::cancelled);
  EXPECT_EQ(got.finished_at, kBaseMs + 400);

  EXPECT_EQ(listener_.seen, (std::vector<JobStatus>{JobStatus::processing, JobStatus::paused,
                                                    JobStatus::processing, JobStatus::cancelled}));
}

TEST_F(JobServiceTest, ScheduledJobWaitsThenStartsByKey) {
  JobSpec spec = inline_email();
  spec.schedule_at = kBaseMs + 60'000;
  Job job = create_ok("acme", spec);
  EXPECT_EQ(apply_ok(job, JobAction::run).status, JobStatus::scheduled);
  EXPECT_FALSE(stored(job).started_at.has_value());

  now_ = kBaseMs + 60'000;
  auto started = service_->apply(job.key, JobAction::start);
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->status, JobStatus::processing);
  EXPECT_EQ(stored(job).status, JobStatus::processing);
  EXPECT_EQ(stored(job).started_at, kBaseMs + 60'000);
}

TEST_F(JobServiceTest, FinishReadsTheStoredCounters) {
  Job job = create_ok();
  auto entries = email_entries({"a@example.com", "b@example.com"});
  ASSERT_TRUE(service_->ingest(job, entries, 0, true).ok());
  apply_ok(job, JobAction::run);

  JobCounters delta;
  count_transition(delta, RecipientStatus::pending, RecipientStatus::delivered);
  count_transition(delta, RecipientStatus::pending, RecipientStatus::failed);
  StateChange ok_change, failed_change;
  ok_change.seq = 0;
  ok_change.state.status = RecipientStatus::delivered;
  failed_change.seq = 1;
  failed_change.state.status = RecipientStatus::failed;
  ASSERT_TRUE(store_
                  ->commit_states(job.key, std::vector<StateChange>{ok_change, failed_change},
                                  delta, 2, true)
                  .ok());

  now_ = kBaseMs + 5000;
  auto finished = service_->apply(job.key, JobAction::finish);
  ASSERT_TRUE(finished.ok()) << finished.error().message;
  EXPECT_EQ(finished->status, JobStatus::partial);
  EXPECT_EQ(stored(job).status, JobStatus::partial);
  EXPECT_EQ(stored(job).finished_at, kBaseMs + 5000);
}

TEST_F(JobServiceTest, IllegalTransitionCarriesTheCurrentState) {
  Job job = create_ok();
  apply_ok(job, JobAction::run);
  ASSERT_TRUE(service_->apply(job.key, JobAction::finish).ok());  // no recipients: COMPLETED
  ASSERT_EQ(stored(job).status, JobStatus::completed);
  std::size_t notified = listener_.seen.size();

  for (JobAction a : {JobAction::run, JobAction::pause, JobAction::resume, JobAction::cancel}) {
    auto r = service_->apply(job.tenant, job.id(), a);
    ASSERT_FALSE(r.ok()) << to_string(a);
    EXPECT_EQ(r.error().kind, ErrorKind::conflict);
    EXPECT_EQ(r.error().code, "invalid_state_transition");
    EXPECT_EQ(r.error().status, "COMPLETED");
    EXPECT_EQ(r.error().status, to_string(JobStatus::completed));
  }
  EXPECT_EQ(stored(job).status, JobStatus::completed);
  EXPECT_EQ(listener_.seen.size(), notified);  // refused actions notify no one

  Job fresh = create_ok();
  auto resume = service_->apply(fresh.tenant, fresh.id(), JobAction::resume);
  ASSERT_FALSE(resume.ok());
  EXPECT_EQ(resume.error().status, "CREATED");
}

TEST_F(JobServiceTest, UnknownKeyIsNotFound) {
  auto r = service_->apply(new_job_key(kBaseMs), JobAction::start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
}

}  // namespace
}  // namespace crier
