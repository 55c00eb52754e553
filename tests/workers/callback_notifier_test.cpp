// workers/callback_notifier with a real RocksDB outbox and a real receiver
// on loopback: events wait in the store while the receiver is down, survive
// a restart of notifier and store, arrive with stable ids, and leave the
// outbox once delivered. A failing receiver gets the same batch again until
// it takes it, or until the attempts run out (then the batch is given up and
// counted as dropped); a batch refused outright is given up at once; events
// dropped past the outbox's bound are reported in the next batch.
#include "workers/callback_notifier.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sink/webhook_sink.h"
#include "storage/rocks_store.h"
#include "tests/support/http_client.h"
#include "workers/tenant_signing.h"
#include "tests/support/temp_dir.h"

namespace crier {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::TempDir;

constexpr auto kWait = 20s;

class CallbackNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    store_.reset();
    auto opened = RocksStore::open(StoreOptions{dir_.str()});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
  }

  CallbackOptions options() const {
    CallbackOptions o;
    o.egress = EgressPolicy::allowing_loopback();
    o.interval = 10ms;
    o.backoff_base = 10ms;
    o.backoff_max = 50ms;
    o.max_attempts = 1000;  // a receiver that is down is waited for, not given up
    o.timeout = 2s;
    return o;
  }

  // A PROCESSING job whose callbacks go to `url`, stored.
  Job stored_job(const std::string& url) {
    Job job;
    job.key = new_job_key(1'764'064'800'000);
    job.tenant = "acme";
    job.status = JobStatus::processing;
    job.created_at = job.updated_at = 1'764'064'800'000;
    job.spec.channel = Channel::webhook;
    job.spec.webhook_url = "https://example.com/hooks";
    job.spec.callback_url = url;
    job.spec.content.base.webhook = WebhookContent{"{}"};
    EXPECT_TRUE(store_->insert_job(job).ok());
    return job;
  }

  static std::vector<RecipientView> sent(std::uint64_t from, std::uint64_t count) {
    std::vector<RecipientView> out;
    for (std::uint64_t seq = from; seq < from + count; ++seq) {
      RecipientView v;
      v.recipient.seq = seq;
      v.recipient.user_id = fmt::format("user-{}", seq);
      v.state.status = RecipientStatus::sent;
      v.state.attempts = 1;
      v.state.updated_at = 1'764'064'801'000;
      out.push_back(std::move(v));
    }
    return out;
  }

  // Every event the receiver got, by id, with how often each came.
  static std::map<std::string, int> received_ids(const WebhookSink& sink) {
    std::map<std::string, int> ids;
    for (const auto& r : sink.requests()) {
      auto body = json::parse(r.body).as_object();
      for (const auto& e : body.at("events").as_array()) ++ids[std::string(e.at("id").as_string())];
    }
    return ids;
  }

  // A receiver that checks the tenant's signatures (so every batch carries
  // the webhook-id the sink tells attempts apart by) with `o`'s rules.
  TenantSigning& signing() {
    if (!signing_)
      signing_ = std::make_unique<TenantSigning>(*store_, [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      });
    return *signing_;
  }
  std::unique_ptr<WebhookSink> signed_receiver(SinkOptions o) {
    o.secret = signing().secrets("acme")->current;
    o.keep_requests = 1000;
    auto sink = std::make_unique<WebhookSink>(o);
    EXPECT_TRUE(sink->start().ok());
    return sink;
  }
  CallbackOptions signed_options() {
    auto o = options();
    o.signing = &signing();
    return o;
  }

  CallbackOutbox::Span span(const Job& job) {
    auto s = store_->event_span(job.key);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : CallbackOutbox::Span{};
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
  std::unique_ptr<TenantSigning> signing_;  // made on first use, on the store as it is then
};

// What one POST of a batch carried.
struct Post {
  std::string webhook_id, body;
  int status = 0;
  std::uint64_t dropped = 0;
  std::size_t events = 0;
};

std::vector<Post> posts_of(const WebhookSink& sink) {
  std::vector<Post> out;
  for (const auto& r : sink.requests()) {
    auto body = json::parse(r.body).as_object();
    out.push_back({std::string(r.header("webhook-id")), r.body, r.status, body.at("dropped").to_number<std::uint64_t>(),
                   body.at("events").as_array().size()});
  }
  return out;
}

TEST_F(CallbackNotifierTest, EventsWaitInTheStoreWhileTheReceiverIsDownAndArriveAfterARestart) {
  // A receiver that is down: its port, with nothing listening.
  WebhookSink first;
  auto port = first.start();
  ASSERT_TRUE(port.ok());
  const std::string url = first.url("/events");
  first.stop();

  Job job = stored_job(url);
  {
    CallbackNotifier notifier(*store_, *store_, options());
    notifier.on_recipients_changed(job, sent(0, 30));
    notifier.on_job_status(job);
    EXPECT_EQ(span(job).end, 31u) << "30 recipient events and one status event stored";
    EXPECT_EQ(notifier.stats().batches_sent, 0u);
  }  // a stop (or SIGTERM): nothing was delivered
  reopen();  // and the store closed and opened again, as at a restart
  EXPECT_EQ(span(job).first, 0u) << "no event lost with the process";
  EXPECT_EQ(span(job).end, 31u);

  SinkOptions back;
  back.port = *port;  // the receiver comes back where it was
  back.keep_requests = 100;
  WebhookSink receiver(back);
  ASSERT_TRUE(receiver.start().ok());
  CallbackNotifier notifier(*store_, *store_, options());
  ASSERT_TRUE(notifier.recover().ok());
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return received_ids(receiver).size() >= 31; }));

  auto ids = received_ids(receiver);
  EXPECT_EQ(ids.size(), 31u);
  for (std::uint64_t seq = 0; seq < 30; ++seq)
    EXPECT_EQ(ids[fmt::format("{}.SENT.1", message_id(job.key, seq))], 1) << seq;
  EXPECT_EQ(ids[fmt::format("{}.PROCESSING.{}", job.id(), job.updated_at)], 1)
      << "recovery did not store the status a second time";
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return span(job).first == span(job).end; }))
      << "delivered events leave the outbox";
  EXPECT_EQ(span(job).end, 31u);
}

TEST_F(CallbackNotifierTest, AStatusReportedAgainKeepsItsIdAndIsStoredOnce) {
  WebhookSink receiver;
  ASSERT_TRUE(receiver.start().ok());
  Job job = stored_job(receiver.url("/events"));
  CallbackNotifier notifier(*store_, *store_, options());
  notifier.on_job_status(job);
  notifier.on_job_status(job);  // as dispatch's recovery reports it again
  EXPECT_EQ(span(job).end, 1u);
  job.status = JobStatus::completed;
  job.updated_at += 5;
  notifier.on_job_status(job);  // a real change: a new event
  EXPECT_EQ(span(job).end, 2u);
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return received_ids(receiver).size() >= 2; }));
  auto ids = received_ids(receiver);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[fmt::format("{}.COMPLETED.{}", job.id(), job.updated_at)], 1);
  auto last = store_->last_status_event(job.key);
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ(**last, fmt::format("{}.COMPLETED.{}", job.id(), job.updated_at));
}

TEST_F(CallbackNotifierTest, TheOutboxKeepsAtMostItsBoundDroppingTheOldest) {
  WebhookSink down;
  auto port = down.start();
  ASSERT_TRUE(port.ok());
  const std::string url = down.url("/events");
  down.stop();
  Job job = stored_job(url);
  auto o = options();
  o.max_queued_per_job = 5;
  {
    CallbackNotifier notifier(*store_, *store_, o);
    notifier.on_recipients_changed(job, sent(0, 3));
    notifier.on_recipients_changed(job, sent(3, 5));
    EXPECT_EQ(span(job).end - span(job).first, 5u);
    EXPECT_EQ(span(job).first, 3u) << "the three oldest went";
    EXPECT_EQ(notifier.stats().events_dropped, 3u);
  }
  SinkOptions back;
  back.port = *port;
  WebhookSink receiver(back);
  ASSERT_TRUE(receiver.start().ok());
  CallbackNotifier notifier(*store_, *store_, o);
  ASSERT_TRUE(notifier.recover().ok());
  // Recovery stores the job's status too (its first), so the bound drops one
  // more: the receiver gets the five newest events.
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return received_ids(receiver).size() >= 5; }));
  auto ids = received_ids(receiver);
  EXPECT_EQ(ids.size(), 5u) << fmt::format("{}", fmt::join(ids, ", "));
  for (std::uint64_t seq = 4; seq < 8; ++seq)
    EXPECT_EQ(ids[fmt::format("{}.SENT.1", message_id(job.key, seq))], 1) << seq;
  EXPECT_EQ(ids[fmt::format("{}.PROCESSING.{}", job.id(), job.updated_at)], 1);
  EXPECT_EQ(ids.count(fmt::format("{}.SENT.1", message_id(job.key, 3))), 0u);
}

TEST_F(CallbackNotifierTest, AFailingReceiverGetsTheSameBatchAgainUntilItTakesIt) {
  SinkOptions o;
  o.fail_first = 2;  // 503, 503, then 200, per webhook-id
  auto receiver = signed_receiver(o);
  Job job = stored_job(receiver->url("/events"));
  CallbackNotifier notifier(*store_, *store_, signed_options());
  notifier.on_recipients_changed(job, sent(0, 10));
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return notifier.stats().batches_sent == 1; }));

  auto posts = posts_of(*receiver);
  ASSERT_EQ(posts.size(), 3u);
  for (const auto& p : posts) {
    EXPECT_EQ(p.webhook_id, posts[0].webhook_id) << "a retry is the same batch";
    EXPECT_EQ(p.body, posts[0].body) << "byte for byte";
    EXPECT_EQ(p.events, 10u);
  }
  EXPECT_EQ(posts[0].status, 503);
  EXPECT_EQ(posts[1].status, 503);
  EXPECT_EQ(posts[2].status, 200);
  EXPECT_EQ(receiver->stats().bad_signatures, 0u);
  const auto stats = notifier.stats();
  EXPECT_EQ(stats.events_sent, 10u);
  EXPECT_EQ(stats.batches_failed, 0u);
  EXPECT_EQ(stats.events_dropped, 0u);
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return span(job).first == span(job).end; }))
      << "delivered after its retries, the batch leaves the outbox";
}

TEST_F(CallbackNotifierTest, ABatchThatKeepsFailingIsGivenUpAfterItsAttemptsAndCountedAsDropped) {
  SinkOptions o;
  o.fail_first = 1'000'000;  // always 503
  auto receiver = signed_receiver(o);
  Job job = stored_job(receiver->url("/events"));
  auto options = signed_options();
  options.max_attempts = 4;
  CallbackNotifier notifier(*store_, *store_, options);
  notifier.on_recipients_changed(job, sent(0, 10));
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return notifier.stats().batches_failed == 1; }));

  auto posts = posts_of(*receiver);
  ASSERT_EQ(posts.size(), 4u) << "max_attempts, and no more";
  for (const auto& p : posts) {
    EXPECT_EQ(p.webhook_id, posts[0].webhook_id);
    EXPECT_EQ(p.status, 503);
  }
  const auto stats = notifier.stats();
  EXPECT_EQ(stats.batches_sent, 0u);
  EXPECT_EQ(stats.events_sent, 0u);
  EXPECT_EQ(stats.events_dropped, 10u) << "a batch given up is lost, and counted";
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return span(job).first == span(job).end; }))
      << "a batch given up leaves the outbox";
  EXPECT_EQ(span(job).end, 10u);
}

TEST_F(CallbackNotifierTest, AnAnswerThatIsNotWorthRetryingGivesTheBatchUpAtOnceAndLaterEventsGoOn) {
  SinkOptions o;
  o.permanent_marker = R"("user_id":"user-0")";  // only the first batch holds it
  o.permanent_status = 400;
  auto receiver = signed_receiver(o);
  Job job = stored_job(receiver->url("/events"));
  CallbackNotifier notifier(*store_, *store_, signed_options());  // 1000 attempts
  notifier.on_recipients_changed(job, sent(0, 5));
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return notifier.stats().batches_failed == 1; }));
  notifier.on_recipients_changed(job, sent(5, 5));
  ASSERT_TRUE(testing::poll_until(kWait, [&] { return notifier.stats().batches_sent == 1; }));

  auto posts = posts_of(*receiver);
  ASSERT_EQ(posts.size(), 2u) << "the 400 was not retried";
  EXPECT_EQ(posts[0].status, 400);
  EXPECT_EQ(posts[1].status, 200);
  EXPECT_NE(posts[0].webhook_id, posts[1].webhook_id);
  EXPECT_EQ(posts[1].events, 5u);
  EXPECT_EQ(posts[1].body.find(R"("user_id":"user-0")"), std::string::npos);
  EXPECT_EQ(notifier.stats().events_dropped, 5u);
  EXPECT_EQ(notifier.stats().events_sent, 5u);
}

// api.md: past the outbox's bound the oldest events go, and the next batch's
// "dropped" says how many. Whether the first batch had left before the bound
// was reached or not, the events after it arrive in a batch that reports
// the three dropped, and no batch reports more.
TEST_F(CallbackNotifierTest, EventsDroppedPastTheBoundAreReportedInTheNextBatch) {
  WebhookSink down;
  auto port = down.start();
  ASSERT_TRUE(port.ok());
  const std::string url = down.url("/events");
  down.stop();
  Job job = stored_job(url);
  auto o = signed_options();
  o.max_queued_per_job = 5;
  CallbackNotifier notifier(*store_, *store_, o);
  notifier.on_recipients_changed(job, sent(0, 3));
  notifier.on_recipients_changed(job, sent(3, 5));
  EXPECT_EQ(notifier.stats().events_dropped, 3u);

  SinkOptions back;
  back.port = *port;
  auto receiver = signed_receiver(back);
  ASSERT_TRUE(testing::poll_until(kWait, [&] {
    auto ids = received_ids(*receiver);
    return ids.count(fmt::format("{}.SENT.1", message_id(job.key, 7))) > 0;
  }));
  std::uint64_t reported = 0;
  bool newest_reported = false;
  for (const auto& p : posts_of(*receiver)) {
    reported += p.dropped;
    if (p.body.find(fmt::format("{}.SENT.1", message_id(job.key, 3))) != std::string::npos) {
      EXPECT_EQ(p.dropped, 3u) << p.body;
      newest_reported = true;
    }
  }
  EXPECT_TRUE(newest_reported);
  EXPECT_EQ(reported, 3u);
  EXPECT_EQ(receiver->stats().bad_signatures, 0u);
}

}  // namespace
}  // namespace crier
