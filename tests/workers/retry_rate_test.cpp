// Retries, backoff and the three levels of rate limits, driven through the
// real dispatcher on a real RocksDB. The provider here is a scripted one of
// our own Provider interface (the channels themselves are tested against
// real sinks in their own suites): it answers per message id as told and
// records every attempt.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <set>

#include "tests/workers/dispatcher_fixture.h"

namespace crier::testing {
namespace {

class ScriptedProvider final : public Provider {
 public:
  struct Attempt {
    std::string message_id;
    std::chrono::steady_clock::time_point at;
  };
  // The first `transient_failures` attempts at every message fail transiently;
  // messages to an address containing "reject" fail permanently.
  ScriptedProvider(std::string name, int transient_failures, std::int64_t retry_after_ms = 0,
                   std::chrono::milliseconds answer_after = {})
      : name_(std::move(name)),
        transient_failures_(transient_failures),
        retry_after_ms_(retry_after_ms),
        answer_after_(answer_after) {}

  std::string_view name() const override { return name_; }

  boost::asio::awaitable<std::vector<DeliveryOutcome>> send(
      std::span<const OutboundMessage> messages) override {
    if (answer_after_.count() > 0) {  // a slow receiver
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, answer_after_);
      co_await t.async_wait(boost::asio::use_awaitable);
    }
    std::vector<DeliveryOutcome> out;
    std::lock_guard lock(mu_);
    for (const auto& m : messages) {
      attempts_.push_back({m.message_id, std::chrono::steady_clock::now()});
      int n = ++tries_[m.message_id];
      if (m.to.find("reject") != std::string::npos) {
        out.push_back({false, false, "http_400", "refused by the peer"});
      } else if (n <= transient_failures_) {
        out.push_back({false, true, "http_503", "try later", retry_after_ms_});
      } else {
        out.push_back({});
      }
    }
    co_return out;
  }

  std::vector<Attempt> attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  std::map<std::string, int> tries() const {
    std::lock_guard lock(mu_);
    return tries_;
  }

 private:
  std::string name_;
  int transient_failures_;
  std::int64_t retry_after_ms_;
  std::chrono::milliseconds answer_after_;
  mutable std::mutex mu_;
  std::vector<Attempt> attempts_;
  std::map<std::string, int> tries_;
};

class RetryRateTest : public DispatcherTest {
 protected:
  // Replaces the fixture's dispatcher with one whose default provider is `p`.
  ScriptedProvider& use_provider(std::unique_ptr<ScriptedProvider> p, ProviderSettings settings,
                                 std::size_t window = kWindow) {
    service_->set_listener(nullptr);
    dispatcher_.reset();
    DispatchOptions options;
    options.window = window;
    options.threads = 2;
    options.default_provider = std::string(p->name());
    ScriptedProvider& ref = *p;
    dispatcher_ = std::make_unique<Dispatcher>(*service_, *store_, options);
    dispatcher_->add_provider(std::move(p), settings);
    service_->set_listener(dispatcher_.get());
    dispatcher_->start();
    return ref;
  }

  static ProviderSettings fast_retries(unsigned max_attempts) {
    ProviderSettings s;
    s.max_attempts = max_attempts;
    s.backoff_base_ms = 5;
    s.backoff_max_ms = 20;
    return s;
  }

  // The least time a token bucket of `rate` and `burst` lets `n` messages
  // take: a reservation waits for its tokens, so the last of n leaves no
  // sooner than (n - burst) / rate after the first reservation.
  static double least_seconds(std::size_t n, double rate, double burst) {
    return (static_cast<double>(n) - burst) / rate;
  }
};

TEST_F(RetryRateTest, TransientFailuresAreRetriedUntilTheySucceed) {
  auto& p = use_provider(std::make_unique<ScriptedProvider>("flaky", 2), fast_retries(5));
  Job job = create(email_spec());
  ingest(job, users(job, 0, 250));
  run(job);
  EXPECT_EQ(wait_final(job), JobStatus::completed);

  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::sent], 250);
  EXPECT_EQ(c[Counter::failed], 0);
  for (const auto& r : recipients(job)) {
    EXPECT_EQ(r.state.status, RecipientStatus::sent);
    EXPECT_EQ(r.state.attempts, 3u) << "seq " << r.recipient.seq;
    EXPECT_TRUE(r.state.error_code.empty());
    EXPECT_EQ(r.state.next_attempt_at, 0);
  }
  // Every message was tried exactly three times, always under its own id.
  auto tries = p.tries();
  EXPECT_EQ(tries.size(), 250u);
  for (const auto& [id, n] : tries) EXPECT_EQ(n, 3) << id;
}

TEST_F(RetryRateTest, TransientFailuresGiveUpAfterMaxAttempts) {
  auto& p = use_provider(std::make_unique<ScriptedProvider>("down", 1000), fast_retries(4));
  Job job = create(email_spec());
  ingest(job, users(job, 0, 30));
  run(job);
  EXPECT_EQ(wait_final(job), JobStatus::failed);
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::failed], 30);
  for (const auto& r : recipients(job)) {
    EXPECT_EQ(r.state.status, RecipientStatus::failed);
    EXPECT_EQ(r.state.attempts, 4u);
    EXPECT_EQ(r.state.error_code, "http_503");
    EXPECT_NE(r.state.error_message.find("after 4 attempts"), std::string::npos) << r.state.error_message;
  }
  EXPECT_EQ(p.attempts().size(), 30u * 4);
}

TEST_F(RetryRateTest, PermanentFailuresFailAtOnceAndTheJobIsPartial) {
  auto& p = use_provider(std::make_unique<ScriptedProvider>("picky", 0), fast_retries(5));
  Job job = create(email_spec());
  auto entries = users(job, 0, 20);
  RawUser bad;
  bad.email = "reject-me@example.com";
  auto r = validate_user(bad, job.spec);
  ASSERT_TRUE(r.ok());
  entries.push_back({*r, dedupe_key(*r, job.spec.channel)});
  ingest(job, entries);
  run(job);
  EXPECT_EQ(wait_final(job), JobStatus::partial);
  auto c = counters(job);
  EXPECT_EQ(c[Counter::sent], 20);
  EXPECT_EQ(c[Counter::failed], 1);
  auto all = recipients(job);
  EXPECT_EQ(all.back().state.status, RecipientStatus::failed);
  EXPECT_EQ(all.back().state.attempts, 1u);
  EXPECT_EQ(all.back().state.error_code, "http_400");
  EXPECT_EQ(p.tries().at(message_id(job.key, all.back().recipient.seq)), 1);
}

TEST_F(RetryRateTest, RetryAfterIsHonouredAndCancelSweepsTheRetryQueue) {
  // Every first attempt asks for a minute's wait: the recipients sit in the
  // retry queue, ENQUEUED, with their due time shown.
  use_provider(std::make_unique<ScriptedProvider>("busy", 1, 60'000), fast_retries(5));
  Job job = create(email_spec());
  ingest(job, users(job, 0, 40));
  const std::int64_t before = now_unix_ms();
  run(job);
  ASSERT_TRUE(eventually([&] { return counters(job)[Counter::pending] == 0; }));
  ASSERT_TRUE(eventually([&] {
    for (const auto& r : recipients(job))
      if (r.state.next_attempt_at == 0) return false;
    return true;
  }));
  for (const auto& r : recipients(job)) {
    EXPECT_EQ(r.state.status, RecipientStatus::enqueued);
    EXPECT_GE(r.state.next_attempt_at, before + 60'000);
    EXPECT_EQ(r.state.error_code, "http_503");
  }
  EXPECT_EQ(current(job).status, JobStatus::processing);

  ASSERT_TRUE(service_->apply(job.key, JobAction::cancel).ok());
  EXPECT_EQ(wait_final(job), JobStatus::cancelled);
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::cancelled], 40);
  EXPECT_EQ(c[Counter::enqueued], 0);
  auto next = store_->next_retry_at(job.key);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value()) << "the retry queue must be empty after a cancel";
}

TEST_F(RetryRateTest, QueuedRetriesSurviveARestartOfTheDispatcher) {
  ProviderSettings slow = fast_retries(3);
  slow.backoff_base_ms = 2000;  // jittered to 1-2 s: time enough to stop first
  slow.backoff_max_ms = 2000;
  use_provider(std::make_unique<ScriptedProvider>("flaky", 1), slow);
  Job job = create(email_spec());
  ingest(job, users(job, 0, 50));
  run(job);
  // Wait until every recipient has failed once and is queued, then stop.
  ASSERT_TRUE(eventually([&] {
    auto next = store_->next_retry_at(job.key);
    return counters(job)[Counter::pending] == 0 && next.ok() && next->has_value();
  }));
  // A new process: a fresh provider (its first attempts fail again) and dispatcher.
  auto& p = use_provider(std::make_unique<ScriptedProvider>("flaky", 0), slow);
  ASSERT_TRUE(dispatcher_->recover().ok());
  EXPECT_EQ(wait_final(job), JobStatus::completed);
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::sent], 50);
  for (const auto& r : recipients(job)) EXPECT_EQ(r.state.attempts, 2u);
  EXPECT_EQ(p.tries().size(), 50u);
}

TEST_F(RetryRateTest, PauseOfAnUnlimitedJobIsSeenWithinAWindowToASlowReceiver) {
  // Windows of 4 000 in two lanes (a turn of 8 000), chunks of 250 with at
  // most 4 in flight per lane, 300 ms per chunk: a lane's window takes four
  // rounds of 300 ms. The pause must stop the turn after the chunks in
  // flight, and resume must send the rest exactly once.
  constexpr int kUsers = 16000;
  auto& p = use_provider(std::make_unique<ScriptedProvider>("slow", 0, 0, std::chrono::milliseconds(300)),
                         ProviderSettings{}, 4000);
  Job job = create(email_spec());
  ingest(job, users(job, 0, kUsers));
  run(job);
  ASSERT_TRUE(eventually([&] { return p.attempts().size() >= 250; }));
  ASSERT_TRUE(service_->apply(job.key, JobAction::pause).ok());
  ASSERT_TRUE(eventually([&] { return dispatcher_->running_jobs() == 0; }));
  EXPECT_EQ(current(job).status, JobStatus::paused);
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_LT(c[Counter::sent], 8000) << "the turn ran to its end despite the pause";
  EXPECT_EQ(static_cast<std::int64_t>(p.attempts().size()), c[Counter::sent]);

  ASSERT_TRUE(service_->apply(job.key, JobAction::resume).ok());
  EXPECT_EQ(wait_final(job), JobStatus::completed);
  EXPECT_EQ(counters(job)[Counter::sent], kUsers);
  auto tries = p.tries();
  EXPECT_EQ(tries.size(), static_cast<std::size_t>(kUsers));
  for (const auto& [id, n] : tries) EXPECT_EQ(n, 1) << id;
}

TEST_F(RetryRateTest, TheTightestOfProviderTenantAndJobLimitsWins) {
  ProviderSettings s;
  s.limit = {400, 4};  // provider: 400/s
  auto& p = use_provider(std::make_unique<ScriptedProvider>("limited", 0), s);
  dispatcher_->set_tenant_limit("acme", {100, 4});  // tenant: 100/s, the tightest
  JobSpec spec = email_spec();
  spec.rate_limit = 300;  // job: 300/s
  Job job = create(spec);
  ingest(job, users(job, 0, 200));
  const auto start = std::chrono::steady_clock::now();  // before any token is taken
  run(job);
  EXPECT_EQ(wait_final(job), JobStatus::completed);
  auto attempts = p.attempts();
  ASSERT_EQ(attempts.size(), 200u);
  // The limiter is honoured: timed from before the run to the last attempt,
  // 200 messages take at least (200 - 4) / 100 = 1.96 s under the tenant's
  // bucket, against 0.57 s under the job's alone. A slow machine only makes
  // it longer; how close to the limit it runs is measured in bench/.
  const double seconds = std::chrono::duration<double>(attempts.back().at - start).count();
  EXPECT_GE(seconds, least_seconds(200, 100, 4)) << "faster than the tenant's 100/s allows";
}

TEST_F(RetryRateTest, AJobLimitChangedWhileRunningTakesEffect) {
  use_provider(std::make_unique<ScriptedProvider>("p", 0), ProviderSettings{});
  JobSpec spec = email_spec();
  spec.rate_limit = 5;  // 300 recipients would take a minute at this rate
  Job job = create(spec);
  ingest(job, users(job, 0, 300));
  run(job);
  ASSERT_TRUE(eventually([&] { return counters(job)[Counter::sent] >= 2; }));
  Job changed = current(job);
  changed.spec.rate_limit = 0;  // no limit
  ASSERT_TRUE(store_->update_job(changed).ok());
  // Well within the minute the old limit would have needed.
  EXPECT_EQ(wait_final(job, std::chrono::seconds(20)), JobStatus::completed);
  EXPECT_EQ(counters(job)[Counter::sent], 300);
}

}  // namespace
}  // namespace crier::testing
