// WhatsApp senders in RocksDB: records round-trip per tenant, listings page
// in id order, quota uses are written only with the job that takes them and
// read back by time, and everything survives a reopen.
#include <gtest/gtest.h>

#include "engine/time_format.h"
#include "storage/job_codec.h"
#include "storage/sender_codec.h"
#include "tests/storage/store_fixture.h"

namespace crier {
namespace {

using testing::email_entries;
using testing::kBaseMs;
using testing::make_job;
using testing::open_store;
using testing::TempDir;

Sender make_sender(std::string tenant, std::string id) {
  Sender s;
  s.tenant = std::move(tenant);
  s.phone_number_id = std::move(id);
  s.display_phone_number = "+54 9 223 675-0780";
  s.verified_name = "Mindo Software";
  s.quality_rating = QualityRating::yellow;
  s.tier = MessagingTier::tier_1k;
  s.provider = "wa";
  s.messages_per_second = 12.5;
  s.created_at = kBaseMs;
  s.updated_at = kBaseMs + 5;
  return s;
}

void expect_same(const Sender& a, const Sender& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.phone_number_id, b.phone_number_id);
  EXPECT_EQ(a.display_phone_number, b.display_phone_number);
  EXPECT_EQ(a.verified_name, b.verified_name);
  EXPECT_EQ(a.quality_rating, b.quality_rating);
  EXPECT_EQ(a.tier, b.tier);
  EXPECT_EQ(a.provider, b.provider);
  EXPECT_EQ(a.messages_per_second, b.messages_per_second);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

class SenderStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(dir_);
    ASSERT_TRUE(store_);
  }

  std::vector<QuotaUse> uses(std::string_view tenant, std::string_view id, std::int64_t since = 0) {
    auto r = store_->quota_uses(tenant, id, since);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::vector<QuotaUse>{};
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
};

TEST(SenderCodecTest, RecordsRoundTripAndGarbageIsRefused) {
  auto s = make_sender("acme", "813497231850626");
  auto back = records::decode_sender(records::encode(s));
  ASSERT_TRUE(back);
  expect_same(*back, s);
  EXPECT_FALSE(records::decode_sender("not json"));
  EXPECT_FALSE(records::decode_sender(R"({"phone_number_id":"1","quality_rating":"BLUE","messaging_limit_tier":"TIER_1K"})"));
  EXPECT_EQ(records::decode_quota_count(records::encode_quota_count(1234567)), 1234567);
  EXPECT_FALSE(records::decode_quota_count("1234"));
}

TEST(SenderCodecTest, AJobsSenderRoundTrips) {
  Job job = make_job("acme");
  job.spec.channel = Channel::whatsapp;
  job.spec.sender = "813497231850626";
  auto back = records::decode_job(records::encode(job));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->spec.sender, "813497231850626");
  job.spec.sender.clear();
  EXPECT_EQ(records::decode_job(records::encode(job))->spec.sender, "");
}

TEST_F(SenderStoreTest, PutFindReplaceDelete) {
  auto s = make_sender("acme", "8134");
  ASSERT_TRUE(store_->put_sender(s).ok());
  auto found = store_->find_sender("acme", "8134");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(*found);
  expect_same(**found, s);

  s.tier = MessagingTier::unlimited;
  s.provider.clear();
  ASSERT_TRUE(store_->put_sender(s).ok());
  expect_same(**store_->find_sender("acme", "8134"), s);

  EXPECT_FALSE(*store_->find_sender("acme", "813"));  // a prefix of the id is another sender
  EXPECT_FALSE(*store_->find_sender("other", "8134"));  // tenants never see each other's
  EXPECT_TRUE(*store_->delete_sender("acme", "8134"));
  EXPECT_FALSE(*store_->delete_sender("acme", "8134"));
  EXPECT_FALSE(*store_->find_sender("acme", "8134"));
}

TEST_F(SenderStoreTest, ListingsAreByIdPerTenantAndPage) {
  for (const char* id : {"30", "10", "20"}) ASSERT_TRUE(store_->put_sender(make_sender("acme", id)).ok());
  ASSERT_TRUE(store_->put_sender(make_sender("acme2", "15")).ok());
  ASSERT_TRUE(store_->put_sender(make_sender("acm", "99")).ok());
  auto all = store_->list_senders("acme", "", 10);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> ids;
  for (const auto& s : *all) ids.push_back(s.phone_number_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"10", "20", "30"}));
  auto page = store_->list_senders("acme", "10", 1);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].phone_number_id, "20");
  EXPECT_TRUE(store_->list_senders("acme", "30", 10)->empty());
}

TEST_F(SenderStoreTest, QuotaUsesAreWrittenWithTheJobThatTakesThem) {
  Job first = make_job("acme", kBaseMs);
  auto c = store_->insert_job_with(first, email_entries({"a@example.com", "b@example.com"}), 0, true,
                                   QuotaReservation{"acme", "8134", first.key, kBaseMs, 2});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(*store_->find_job(first.key));

  Job second = make_job("acme", kBaseMs + 10);
  ASSERT_TRUE(store_->insert_job(second).ok());
  second.status = JobStatus::processing;
  ASSERT_TRUE(store_->update_job_with(second, QuotaReservation{"acme", "8134", second.key, kBaseMs + 20, 7}).ok());
  EXPECT_EQ((*store_->find_job(second.key))->status, JobStatus::processing);

  // Without a reservation, nothing is written to the quota.
  Job third = make_job("acme", kBaseMs + 30);
  ASSERT_TRUE(store_->insert_job_with(third, email_entries({"c@example.com"}), 0, true, std::nullopt).ok());

  auto all = uses("acme", "8134");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].at_ms, kBaseMs);
  EXPECT_EQ(all[0].count, 2);
  EXPECT_EQ(all[1].at_ms, kBaseMs + 20);
  EXPECT_EQ(all[1].count, 7);
  // "since" is exclusive: a use made at that very millisecond has rolled off.
  auto later = uses("acme", "8134", kBaseMs);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].count, 7);
  EXPECT_TRUE(uses("acme", "813").empty());
  EXPECT_TRUE(uses("acme", "81345").empty());
  EXPECT_TRUE(uses("other", "8134").empty());
}

TEST_F(SenderStoreTest, TwoJobsInOneMillisecondKeepTwoUses) {
  Job a = make_job("acme", kBaseMs), b = make_job("acme", kBaseMs);
  ASSERT_TRUE(store_->insert_job_with(a, {}, 0, true, QuotaReservation{"acme", "8134", a.key, kBaseMs, 3}).ok());
  ASSERT_TRUE(store_->insert_job_with(b, {}, 0, true, QuotaReservation{"acme", "8134", b.key, kBaseMs, 4}).ok());
  EXPECT_EQ(used_in_window(uses("acme", "8134"), kBaseMs), 7);
}

TEST_F(SenderStoreTest, SendersAndUsesSurviveAReopen) {
  auto s = make_sender("acme", "8134");
  ASSERT_TRUE(store_->put_sender(s).ok());
  Job job = make_job("acme");
  ASSERT_TRUE(store_->insert_job_with(job, {}, 0, true, QuotaReservation{"acme", "8134", job.key, kBaseMs, 5}).ok());
  store_.reset();
  store_ = open_store(dir_);
  ASSERT_TRUE(store_);
  expect_same(**store_->find_sender("acme", "8134"), s);
  EXPECT_EQ(uses("acme", "8134").size(), 1u);
  // A compaction keeps uses still in (or near) the window: these are from
  // kBaseMs, long ago, so the filter drops them and keeps the record.
  ASSERT_TRUE(store_->compact().ok());
  EXPECT_TRUE(uses("acme", "8134").empty());
  EXPECT_TRUE(*store_->find_sender("acme", "8134"));
}

TEST_F(SenderStoreTest, CompactionKeepsUsesInsideTheWindow) {
  const std::int64_t now = now_unix_ms();
  Job job = make_job("acme", now);
  ASSERT_TRUE(store_->insert_job_with(job, {}, 0, true, QuotaReservation{"acme", "8134", job.key, now, 5}).ok());
  ASSERT_TRUE(store_->compact().ok());
  EXPECT_EQ(uses("acme", "8134").size(), 1u);
}

}  // namespace
}  // namespace crier
