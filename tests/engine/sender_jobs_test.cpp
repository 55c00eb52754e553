// JobService with WhatsApp senders (engine) over a real RocksStore: a job
// naming a sender takes its provider and pace; starting it reserves its
// unique recipients of the sender's quota in the same write, or is refused
// with nothing stored; concurrent starts on one sender cannot overspend it.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "engine/job_service.h"
#include "tests/storage/store_fixture.h"

namespace crier {
namespace {

using testing::kBaseMs;
using testing::open_store;
using testing::TempDir;

IngestEntry phone_entry(std::string phone) {
  IngestEntry e;
  e.recipient.phone = std::move(phone);
  e.dedupe = dedupe_key(e.recipient, Channel::whatsapp);
  return e;
}

std::vector<IngestEntry> phones(int from, int to) {
  std::vector<IngestEntry> out;
  for (int i = from; i < to; ++i) out.push_back(phone_entry("+1415555" + std::to_string(1000 + i)));
  return out;
}

class SenderJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(dir_);
    ASSERT_TRUE(store_);
    service_ = std::make_unique<JobService>(*store_, *store_, [this] { return now_.load(); });
    service_->set_senders(store_.get());
    put_sender("8134", MessagingTier::tier_250);
  }

  void put_sender(std::string id, MessagingTier tier, std::string provider = "wa", double rate = kDefaultSenderRate) {
    Sender s;
    s.tenant = "acme";
    s.phone_number_id = std::move(id);
    s.display_phone_number = "+1 415 555 0000";
    s.verified_name = "Acme";
    s.tier = tier;
    s.provider = std::move(provider);
    s.messages_per_second = rate;
    ASSERT_TRUE(store_->put_sender(s).ok());
  }

  static JobSpec whatsapp(std::string sender = "8134") {
    JobSpec spec;
    spec.channel = Channel::whatsapp;
    spec.content.base.whatsapp = WhatsappContent{"welcome", "es", {"{{name}}"}};
    spec.sender = std::move(sender);
    return spec;
  }

  std::int64_t used(std::string_view id = "8134") {
    auto u = store_->quota_uses("acme", id, now_ - kQuotaWindowMs);
    EXPECT_TRUE(u.ok());
    return u.ok() ? used_in_window(*u, now_) : -1;
  }

  // A job of `spec` created with `entries` and started in one write.
  Result<IngestCommit> start_with(std::vector<IngestEntry> entries, JobSpec spec = whatsapp()) {
    auto job = service_->prepare("acme", std::move(spec));
    if (!job) return job.error();
    last_ = *job;
    return service_->create_with(last_, entries, 0, true, true);
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
  std::unique_ptr<JobService> service_;
  std::atomic<std::int64_t> now_{kBaseMs};
  Job last_;
};

TEST_F(SenderJobsTest, AJobTakesTheSendersProviderAndPace) {
  auto job = service_->prepare("acme", whatsapp());
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job->spec.provider, "wa");
  EXPECT_EQ(job->spec.rate_limit, kDefaultSenderRate);

  auto slower = whatsapp();
  slower.rate_limit = 5;  // the job's own, lower limit stays
  EXPECT_EQ(service_->prepare("acme", slower)->spec.rate_limit, 5);
  auto faster = whatsapp();
  faster.rate_limit = 500;  // never faster than the sender
  EXPECT_EQ(service_->prepare("acme", faster)->spec.rate_limit, kDefaultSenderRate);

  put_sender("default-provider", MessagingTier::tier_1k, "", 20);
  auto defaulted = service_->prepare("acme", whatsapp("default-provider"));
  EXPECT_EQ(defaulted->spec.provider, "");  // the channel's configured provider
  EXPECT_EQ(defaulted->spec.rate_limit, 20);
}

TEST_F(SenderJobsTest, UnknownSendersWrongChannelsAndOtherProvidersAreRefused) {
  auto unknown = service_->prepare("acme", whatsapp("nope"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "unknown_sender");
  EXPECT_EQ(unknown.error().kind, ErrorKind::unprocessable);
  EXPECT_EQ(service_->prepare("other", whatsapp()).error().code, "unknown_sender");  // another tenant's

  auto sms = whatsapp();
  sms.channel = Channel::sms;
  sms.content.base.sms = SmsContent{"hi"};
  EXPECT_EQ(service_->prepare("acme", sms).error().code, "invalid_sender");

  auto other = whatsapp();
  other.provider = "another";
  EXPECT_EQ(service_->prepare("acme", other).error().code, "sender_provider_mismatch");
  auto same = whatsapp();
  same.provider = "wa";
  EXPECT_TRUE(service_->prepare("acme", same).ok());
}

TEST_F(SenderJobsTest, StartingReservesTheUniqueRecipientsInTheSameWrite) {
  auto entries = phones(0, 10);
  entries.push_back(phone_entry("+14155551000"));  // a duplicate of the first
  auto c = start_with(entries);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->accepted, 10);
  EXPECT_EQ(c->duplicates, 1);
  EXPECT_EQ(last_.status, JobStatus::processing);
  EXPECT_EQ(used(), 10);
  // The use rolls off 24 hours later.
  now_ += kQuotaWindowMs;
  EXPECT_EQ(used(), 0);
}

TEST_F(SenderJobsTest, ACreatedJobReservesOnlyWhenItRuns) {
  auto job = service_->prepare("acme", whatsapp());
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(service_->create_with(*job, phones(0, 40), 0, false, true).ok());
  EXPECT_EQ(used(), 0);
  ASSERT_TRUE(service_->ingest(*job, phones(40, 60), 0, true).ok());
  auto run = service_->apply("acme", job->id(), JobAction::run);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->status, JobStatus::processing);
  EXPECT_EQ(used(), 60);
  // Resuming after a pause takes nothing more.
  ASSERT_TRUE(service_->apply("acme", job->id(), JobAction::pause).ok());
  ASSERT_TRUE(service_->apply("acme", job->id(), JobAction::resume).ok());
  EXPECT_EQ(used(), 60);
}

TEST_F(SenderJobsTest, OverQuotaIsRefusedUpFrontWithNothingStored) {
  ASSERT_TRUE(start_with(phones(0, 200)).ok());
  now_ += 3600 * 1000;
  auto refused = start_with(phones(0, 51));  // 50 left of 250
  ASSERT_FALSE(refused.ok());
  const Error& e = refused.error();
  EXPECT_EQ(e.kind, ErrorKind::exhausted);
  EXPECT_EQ(e.code, "sender_quota_exceeded");
  auto detail = [&](std::string_view name) {
    for (const auto& [k, v] : e.details)
      if (k == name) return v;
    return std::int64_t{-1};
  };
  EXPECT_EQ(detail("quota_needed"), 51);
  EXPECT_EQ(detail("quota_available"), 50);
  EXPECT_EQ(detail("quota_total"), 250);
  EXPECT_EQ(detail("quota_used_24h"), 200);
  EXPECT_EQ(detail("retry_after_seconds"), 23 * 3600);  // when the first 200 roll off
  // Nothing of the refused job exists, and the quota is as it was.
  auto found = store_->find_job(last_.key);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(*found);
  EXPECT_EQ(used(), 200);
  // Exactly what is left still fits.
  ASSERT_TRUE(start_with(phones(0, 50)).ok());
  EXPECT_EQ(used(), 250);
}

TEST_F(SenderJobsTest, ARunOverQuotaLeavesTheJobCreated) {
  auto job = service_->prepare("acme", whatsapp());
  ASSERT_TRUE(service_->create_with(*job, phones(0, 251), 0, false, true).ok());
  auto run = service_->apply("acme", job->id(), JobAction::run);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, "sender_quota_exceeded");
  EXPECT_EQ(service_->get("acme", job->id())->status, JobStatus::created);
  EXPECT_EQ(used(), 0);
}

TEST_F(SenderJobsTest, ARunWhoseSenderWasDeletedIsRefused) {
  auto job = service_->prepare("acme", whatsapp());
  ASSERT_TRUE(service_->create_with(*job, phones(0, 3), 0, false, true).ok());
  ASSERT_TRUE(*store_->delete_sender("acme", "8134"));
  auto run = service_->apply("acme", job->id(), JobAction::run);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, "unknown_sender");
}

TEST_F(SenderJobsTest, UnlimitedSendersAreNeverRefusedButStillCount) {
  put_sender("big", MessagingTier::unlimited);
  ASSERT_TRUE(start_with(phones(0, 300), whatsapp("big")).ok());
  EXPECT_EQ(used("big"), 300);
}

// Eight starts of 50 race for a tier of 250: exactly five fit, whatever
// the interleaving, because the check and the reservation are one step per
// sender.
TEST_F(SenderJobsTest, ConcurrentStartsCannotOverspendOneSender) {
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      auto job = service_->prepare("acme", whatsapp());
      if (!job) return;
      auto c = service_->create_with(*job, phones(t * 50, t * 50 + 50), 0, true, true);
      if (c) ++accepted;
      else if (c.error().code == "sender_quota_exceeded") ++refused;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), 5);
  EXPECT_EQ(refused.load(), 3);
  EXPECT_EQ(used(), 250);
}

}  // namespace
}  // namespace crier
