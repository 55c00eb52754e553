// Profiles in a real RocksDB: upsert and read back, aliases indexed in the
// same write (one holder per alias, freed when dropped or deleted), tenants
// apart, listing in user_id order, and a refused change writing nothing.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <rocksdb/db.h>
#include <thread>

#include "engine/profile_json.h"
#include "storage/keys.h"
#include "tests/storage/store_fixture.h"

namespace crier::testing {
namespace {

class ProfileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_store(dir_); ASSERT_TRUE(store_); }

  // PUT's semantics: the body replaces the profile.
  ProfileStore::Upserted put(std::string_view tenant, std::string_view user_id, std::string_view body) {
    auto r = store_->upsert_profile(tenant, user_id, [&](const std::optional<Profile>&) {
      return profile_from_json(boost::json::parse(body).as_object(), tenant, user_id);
    });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r).value() : ProfileStore::Upserted{};
  }
  Result<ProfileStore::Upserted> try_put(std::string_view tenant, std::string_view user_id, std::string_view body) {
    return store_->upsert_profile(tenant, user_id, [&](const std::optional<Profile>&) {
      return profile_from_json(boost::json::parse(body).as_object(), tenant, user_id);
    });
  }
  std::optional<std::string> alias_holder(std::string_view tenant, std::string name, std::string label) {
    auto r = store_->find_profile_by_alias(tenant, ProfileAlias{std::move(name), std::move(label)});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
};

TEST_F(ProfileStoreTest, AProfileIsStoredAndReadBackWholeAcrossAReopen) {
  auto first = put("acme", "u1", R"({"email":"Ann@Example.COM","phone":"+1 415 555 0100","locale":"pt_br",
      "timezone":"America/Sao_Paulo","push_tokens":["tok-1"],"aliases":[{"alias_name":"ann","alias_label":"crm"}],
      "attributes":{"plan":"pro","visits":3,"tags":["a","b"],"vip":true},
      "subscriptions":{"email":"opted_in","sms":"unsubscribed"}})");
  EXPECT_TRUE(first.created);
  store_.reset();
  store_ = open_store(dir_);
  auto found = store_->find_profile("acme", "u1");
  ASSERT_TRUE(found.ok() && found->has_value());
  const Profile& p = **found;
  EXPECT_EQ(p.email, "Ann@example.com");
  EXPECT_EQ(p.phone, "+14155550100");
  EXPECT_EQ(p.locale, "pt-BR");
  EXPECT_EQ(p.timezone, "America/Sao_Paulo");
  EXPECT_EQ(p.push_tokens, std::vector<std::string>{"tok-1"});
  EXPECT_EQ(p.attributes.at("visits").to_number<int>(), 3);
  EXPECT_TRUE(p.attributes.at("vip").as_bool());
  EXPECT_EQ(p.subscription(Channel::email), SubscriptionState::opted_in);
  EXPECT_EQ(p.subscription(Channel::sms), SubscriptionState::unsubscribed);
  EXPECT_EQ(p.subscription(Channel::push), SubscriptionState::subscribed) << "the default";
  EXPECT_EQ(alias_holder("acme", "ann", "crm"), "u1");

  auto again = put("acme", "u1", R"({"email":"ann@example.com"})");
  EXPECT_FALSE(again.created);
  EXPECT_TRUE(again.profile.aliases.empty());
  EXPECT_FALSE(alias_holder("acme", "ann", "crm")) << "an alias the profile dropped is free again";
}

TEST_F(ProfileStoreTest, AnAliasHasOneHolderPerTenant) {
  put("acme", "u1", R"({"aliases":[{"alias_name":"x","alias_label":"crm"}]})");
  auto taken = try_put("acme", "u2", R"({"email":"b@example.com","aliases":[{"alias_name":"x","alias_label":"crm"}]})");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, "alias_in_use");
  EXPECT_EQ(taken.error().kind, ErrorKind::conflict);
  auto u2 = store_->find_profile("acme", "u2");
  ASSERT_TRUE(u2.ok());
  EXPECT_FALSE(u2->has_value()) << "a refused profile is not stored";

  put("acme", "u2", R"({"aliases":[{"alias_name":"x","alias_label":"other"}]})");  // another label
  put("globex", "g1", R"({"aliases":[{"alias_name":"x","alias_label":"crm"}]})");  // another tenant
  EXPECT_EQ(alias_holder("acme", "x", "crm"), "u1");
  EXPECT_EQ(alias_holder("acme", "x", "other"), "u2");
  EXPECT_EQ(alias_holder("globex", "x", "crm"), "g1");

  auto removed = store_->delete_profile("acme", "u1");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(alias_holder("acme", "x", "crm"));
  auto twice = store_->delete_profile("acme", "u1");
  ASSERT_TRUE(twice.ok());
  EXPECT_FALSE(*twice);
  put("acme", "u3", R"({"aliases":[{"alias_name":"x","alias_label":"crm"}]})");
  EXPECT_EQ(alias_holder("acme", "x", "crm"), "u3");
}

TEST_F(ProfileStoreTest, AChangeThatFailsWritesNothing) {
  put("acme", "u1", R"({"email":"a@example.com"})");
  auto r = store_->upsert_profile("acme", "u1", [](const std::optional<Profile>&) -> Result<Profile> {
    return make_error(ErrorKind::invalid, "invalid_email", "no");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ((*store_->find_profile("acme", "u1"))->email, "a@example.com");
}

TEST_F(ProfileStoreTest, ConcurrentChangesOfOneProfileAreNotLost) {
  put("acme", "u1", R"({"attributes":{"n":0}})");
  auto increment = [&] {
    for (int i = 0; i < 50; ++i) {
      auto r = store_->upsert_profile("acme", "u1", [](const std::optional<Profile>& old) -> Result<Profile> {
        Profile p = *old;
        p.attributes["n"] = p.attributes.at("n").to_number<int>() + 1;
        return p;
      });
      ASSERT_TRUE(r.ok());
    }
  };
  std::thread a(increment), b(increment);
  a.join();
  b.join();
  EXPECT_EQ((*store_->find_profile("acme", "u1"))->attributes.at("n").to_number<int>(), 100);
}

TEST_F(ProfileStoreTest, ListingIsByUserIdWithinOneTenant) {
  for (auto id : {"c", "a", "b", "d"}) put("acme", id, "{}");
  put("acme-2", "a", "{}");  // a tenant whose name extends acme's
  auto first = store_->list_profiles("acme", "", 3);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ((*first)[0].user_id, "a");
  EXPECT_EQ((*first)[2].user_id, "c");
  auto rest = store_->list_profiles("acme", "c", 3);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].user_id, "d");
  EXPECT_EQ((*rest)[0].tenant, "acme");
}

TEST_F(ProfileStoreTest, ManyAreReadAtOnceInTheOrderAsked) {
  put("acme", "a", R"({"email":"a@example.com"})");
  put("acme", "c", R"({"email":"c@example.com"})");
  put("other", "b", R"({"email":"b@example.com"})");
  std::vector<std::string_view> ids{"c", "b", "a", "a"};
  auto got = store_->find_profiles("acme", ids);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ((*got)[0].profile->email, "c@example.com");
  EXPECT_FALSE((*got)[1].profile) << "another tenant's";
  EXPECT_FALSE((*got)[1].unreadable);
  EXPECT_EQ((*got)[2].profile->user_id, "a");
  EXPECT_EQ((*got)[3].profile->email, "a@example.com");
}

TEST_F(ProfileStoreTest, WhetherATenantKeepsProfilesIsKnownAcrossAReopen) {
  EXPECT_FALSE(*store_->may_have_profiles("acme"));
  put("acme-2", "a", "{}");  // a tenant whose name extends acme's
  EXPECT_FALSE(*store_->may_have_profiles("acme"));
  put("acme", "a", "{}");
  EXPECT_TRUE(*store_->may_have_profiles("acme")) << "learnt by the write, not a stale \"no\"";
  store_.reset();
  store_ = open_store(dir_);
  ASSERT_TRUE(store_);
  EXPECT_TRUE(*store_->may_have_profiles("acme"));
  EXPECT_FALSE(*store_->may_have_profiles("nobody"));
}

TEST_F(ProfileStoreTest, ADamagedRecordIsUnreadableForItsOwnIdOnly) {
  put("acme", "a", R"({"email":"a@example.com"})");
  put("acme", "b", R"({"email":"b@example.com"})");
  store_.reset();
  raw_put(dir_, keys::kProfiles, keys::profile("acme", "b"), "\xff garbage");  // b's record garbled
  store_ = open_store(dir_);
  ASSERT_TRUE(store_);
  std::vector<std::string_view> ids{"a", "b", "c"};
  auto got = store_->find_profiles("acme", ids);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ((*got)[0].profile->email, "a@example.com");
  EXPECT_TRUE((*got)[1].unreadable);
  EXPECT_FALSE((*got)[1].profile);
  EXPECT_FALSE((*got)[2].unreadable);
  EXPECT_FALSE((*got)[2].profile);
}

TEST_F(ProfileStoreTest, FrequencyCapsReserveSlotsPerUserAcrossCallsAndReopens) {
  constexpr std::int64_t kDay = 24 * 3600 * 1000LL;
  EXPECT_TRUE(store_->frequency_rules("acme")->empty());
  ASSERT_TRUE(store_->put_frequency_rules("acme", {{Channel::email, 2, kDay}}).ok());
  // Each user's message is named by its mark; a new mark is a new message.
  std::uint64_t next = 100;
  auto reserve = [&](std::string_view tenant, Channel c, std::vector<std::string_view> users, std::int64_t at,
                     std::vector<std::uint64_t> marks = {}) {
    if (marks.empty())
      for (std::size_t i = 0; i < users.size(); ++i) marks.push_back(next++);
    auto r = store_->reserve_sends(tenant, c, users, marks, at);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<bool>{};
  };
  const std::int64_t now = 1000 * kDay;
  EXPECT_EQ(reserve("acme", Channel::email, {"ann", "bob", "ann"}, now), (std::vector<bool>{true, true, true}))
      << "ann's two slots within one call";
  EXPECT_EQ(reserve("acme", Channel::email, {"ann", "bob"}, now + 1), (std::vector<bool>{false, true}));
  EXPECT_EQ(reserve("acme", Channel::email, {"ann"}, now + 1, {100}), std::vector<bool>{true})
      << "the retry of a message that took a slot takes no second one";
  EXPECT_EQ(reserve("acme", Channel::sms, {"ann"}, now + 2), std::vector<bool>{true}) << "an email rule";
  EXPECT_EQ(reserve("other", Channel::email, {"ann"}, now + 2), std::vector<bool>{true}) << "another tenant has no rules";
  store_.reset();
  store_ = open_store(dir_);
  ASSERT_TRUE(store_);
  EXPECT_EQ(store_->frequency_rules("acme")->size(), 1u);
  EXPECT_EQ(reserve("acme", Channel::email, {"bob"}, now + 3), std::vector<bool>{false})
      << "bob's history survived the reopen";
  EXPECT_EQ(reserve("acme", Channel::email, {"bob"}, now + 3, {101}), std::vector<bool>{true})
      << "and so did its messages' marks";
  EXPECT_EQ(reserve("acme", Channel::email, {"ann"}, now + kDay + 1), std::vector<bool>{true}) << "a day later";
}

TEST_F(ProfileStoreTest, DeletingAProfileForgetsItsSendHistory) {
  ASSERT_TRUE(store_->put_frequency_rules("acme", {{Channel::email, 1, 3600 * 1000}}).ok());
  put("acme", "ann", R"({"email":"ann@example.com"})");
  const std::vector<std::string_view> ann{"ann"};
  const std::int64_t now = 1'000'000'000'000;
  EXPECT_EQ(*store_->reserve_sends("acme", Channel::email, ann, std::vector<std::uint64_t>{1}, now), std::vector<bool>{true});
  EXPECT_EQ(*store_->reserve_sends("acme", Channel::email, ann, std::vector<std::uint64_t>{2}, now), std::vector<bool>{false});
  ASSERT_TRUE(*store_->delete_profile("acme", "ann"));
  EXPECT_EQ(*store_->reserve_sends("acme", Channel::email, ann, std::vector<std::uint64_t>{3}, now), std::vector<bool>{true});
}

}  // namespace
}  // namespace crier::testing
