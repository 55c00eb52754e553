// workers/callback_notifier with a real RocksDB outbox and a real receiver
// on loopback: events wait in the store while the receiver is down, survive
// a restart of notifier and store, arrive with stable ids, and leave the
// outbox once delivered.
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

  CallbackOutbox::Span span(const Job& job) {
    auto s = store_->event_span(job.key);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : CallbackOutbox::Span{};
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
};

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

}  // namespace
}  // namespace crier
