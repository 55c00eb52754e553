// The suppression list in a real RocksDB: entries apart per tenant and
// channel, listing in address order with paging, a put keeping created_at,
// and the per-tenant "may have any" answer turning on with the first put.
#include <gtest/gtest.h>

#include "tests/storage/store_fixture.h"

namespace crier::testing {
namespace {

class SuppressionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(dir_);
    ASSERT_TRUE(store_);
  }
  bool put(std::string tenant, Channel c, std::string address, std::string reason = "manual",
           std::int64_t at = kBaseMs) {
    auto r = store_->put_suppression(Suppression{std::move(tenant), c, std::move(address), std::move(reason), at});
    EXPECT_TRUE(r.ok());
    return r.ok() && *r;
  }
  bool suppressed(std::string_view tenant, Channel c, std::string_view address) {
    auto r = store_->is_suppressed(tenant, c, address);
    EXPECT_TRUE(r.ok());
    return r.ok() && *r;
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
};

TEST_F(SuppressionStoreTest, EntriesAreApartPerTenantAndChannel) {
  EXPECT_FALSE(*store_->may_suppress("acme")) << "a tenant with none";
  EXPECT_TRUE(put("acme", Channel::email, "a@example.com"));
  EXPECT_TRUE(*store_->may_suppress("acme"));
  EXPECT_FALSE(*store_->may_suppress("acme-2"));
  EXPECT_TRUE(suppressed("acme", Channel::email, "a@example.com"));
  EXPECT_FALSE(suppressed("acme", Channel::sms, "a@example.com")) << "another channel";
  EXPECT_FALSE(suppressed("acme-2", Channel::email, "a@example.com")) << "another tenant";
  EXPECT_FALSE(suppressed("acme", Channel::email, "b@example.com"));
}

TEST_F(SuppressionStoreTest, APutAgainKeepsCreatedAtAndTakesTheNewReason) {
  EXPECT_TRUE(put("acme", Channel::sms, "+14155550100", "complaint", kBaseMs));
  EXPECT_FALSE(put("acme", Channel::sms, "+14155550100", "manual", kBaseMs + 1000)) << "not new";
  auto s = store_->find_suppression("acme", Channel::sms, "+14155550100");
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ((*s)->created_at, kBaseMs);
  EXPECT_EQ((*s)->reason, "manual");
  store_.reset();
  store_ = open_store(dir_);
  EXPECT_TRUE(*store_->may_suppress("acme")) << "learnt from the store after a restart";
  EXPECT_TRUE(suppressed("acme", Channel::sms, "+14155550100"));
  auto removed = store_->delete_suppression("acme", Channel::sms, "+14155550100");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(suppressed("acme", Channel::sms, "+14155550100"));
  EXPECT_FALSE(*store_->delete_suppression("acme", Channel::sms, "+14155550100"));
}

TEST_F(SuppressionStoreTest, ListingIsOneChannelInAddressOrderWithPaging) {
  for (auto a : {"c@example.com", "a@example.com", "b@example.com"}) put("acme", Channel::email, a);
  put("acme", Channel::webhook, "https://h.example/x");
  put("acme-2", Channel::email, "a0@example.com");
  auto first = store_->list_suppressions("acme", Channel::email, "", 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].address, "a@example.com");
  EXPECT_EQ((*first)[1].address, "b@example.com");
  auto rest = store_->list_suppressions("acme", Channel::email, "b@example.com", 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].address, "c@example.com");
  EXPECT_EQ((*rest)[0].channel, Channel::email);
}

}  // namespace
}  // namespace crier::testing
