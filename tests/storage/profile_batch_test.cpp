// Many profiles in one write (ProfileStore::upsert_profiles, a bulk
// import's batch) in a real RocksDB: each entry changes its profile as the
// entries before it left it; what one entry does wrong (its change's error,
// an alias another profile holds, stored or taken earlier in the batch) is
// that entry's outcome and the rest is stored; the alias index and the
// tenant's "may have profiles" follow; a refused write stores nothing.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <thread>

#include "engine/profile_json.h"
#include "tests/storage/store_fixture.h"
#include "tests/support/small_disk.h"

namespace crier::testing {
namespace {

using Outcomes = std::vector<ProfileStore::BatchOutcome>;

// One entry of a batch: its user_id and a JSON Merge Patch of its profile
// (what an import line does to the stored one).
struct Entry {
  std::string user_id;
  std::string patch;
};

class ProfileBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(dir_);
    ASSERT_TRUE(store_);
  }

  Result<Outcomes> try_batch(std::string_view tenant, const std::vector<Entry>& entries) {
    std::vector<std::string_view> ids;
    for (const auto& e : entries) ids.push_back(e.user_id);
    return store_->upsert_profiles(tenant, ids, [&](std::size_t i, const std::optional<Profile>& current) {
      boost::json::value merged = current ? boost::json::value(profile_to_json(*current)) : boost::json::object();
      merge_patch(merged, boost::json::parse(entries[i].patch));
      return profile_from_json(merged.as_object(), tenant, entries[i].user_id);
    });
  }
  Outcomes batch(std::string_view tenant, const std::vector<Entry>& entries) {
    auto r = try_batch(tenant, entries);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r).value() : Outcomes{};
  }
  std::optional<Profile> find(std::string_view tenant, std::string_view user_id) {
    auto r = store_->find_profile(tenant, user_id);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }
  std::optional<std::string> alias_holder(std::string_view tenant, std::string name, std::string label) {
    auto r = store_->find_profile_by_alias(tenant, ProfileAlias{std::move(name), std::move(label)});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }
  static std::string code(const ProfileStore::BatchOutcome& o) { return o.error ? o.error->code : ""; }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
};

TEST_F(ProfileBatchTest, ABatchCreatesAndMergesIntoStoredProfilesAcrossAReopen) {
  batch("acme", {{"u1", R"({"email":"a@example.com","attributes":{"plan":"free","visits":1}})"}});
  std::vector<Entry> entries;
  for (int i = 0; i < 2000; ++i)
    entries.push_back({fmt::format("n{:04}", i), fmt::format(R"({{"email":"n{}@example.com"}})", i)});
  entries.push_back({"u1", R"({"attributes":{"plan":"pro"},"subscriptions":{"email":"opted_in"}})"});
  auto out = batch("acme", entries);
  ASSERT_EQ(out.size(), entries.size());
  for (std::size_t i = 0; i < 2000; ++i) {
    EXPECT_FALSE(out[i].error);
    EXPECT_TRUE(out[i].created) << i;
  }
  EXPECT_FALSE(out.back().error);
  EXPECT_FALSE(out.back().created) << "u1 was stored before";

  store_.reset();
  store_ = open_store(dir_);
  auto u1 = find("acme", "u1");
  ASSERT_TRUE(u1);
  EXPECT_EQ(u1->email, "a@example.com") << "a member the line leaves out is kept";
  EXPECT_EQ(u1->attributes.at("plan").as_string(), "pro");
  EXPECT_EQ(u1->attributes.at("visits").to_number<int>(), 1) << "attributes merge member by member";
  EXPECT_EQ(u1->subscription(Channel::email), SubscriptionState::opted_in);
  auto n1999 = find("acme", "n1999");
  ASSERT_TRUE(n1999);
  EXPECT_EQ(n1999->email, "n1999@example.com");
  auto listed = store_->list_profiles("acme", "", 5000);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2001u);
  EXPECT_FALSE(find("globex", "u1")) << "tenants apart";
}

TEST_F(ProfileBatchTest, AnIdTwiceInABatchTakesItsEntriesInOrder) {
  auto out = batch("acme", {{"u1", R"({"email":"first@example.com","attributes":{"a":1}})"},
                            {"u2", R"({"email":"other@example.com"})"},
                            {"u1", R"({"email":"second@example.com","attributes":{"b":2}})"}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].created);
  EXPECT_FALSE(out[2].created) << "the first entry made it";
  auto u1 = find("acme", "u1");
  ASSERT_TRUE(u1);
  EXPECT_EQ(u1->email, "second@example.com");
  EXPECT_EQ(u1->attributes.at("a").to_number<int>(), 1) << "the second entry merged into the first";
  EXPECT_EQ(u1->attributes.at("b").to_number<int>(), 2);
}

TEST_F(ProfileBatchTest, ARefusedEntryIsItsOwnOutcomeAndTheRestIsStored) {
  batch("acme", {{"keep", R"({"email":"keep@example.com"})"}});
  auto out = batch("acme", {{"good1", R"({"email":"g1@example.com"})"},
                            {"bad", R"({"email":"not an address"})"},
                            {"keep", R"({"phone":"12"})"},
                            {"good2", R"({"email":"g2@example.com"})"}});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(code(out[0]), "");
  EXPECT_EQ(code(out[1]), "invalid_email");
  EXPECT_EQ(out[1].error->field, "email");
  EXPECT_EQ(code(out[2]), "invalid_phone_number");
  EXPECT_EQ(code(out[3]), "");
  EXPECT_TRUE(find("acme", "good1"));
  EXPECT_TRUE(find("acme", "good2"));
  EXPECT_FALSE(find("acme", "bad"));
  auto keep = find("acme", "keep");
  ASSERT_TRUE(keep);
  EXPECT_EQ(keep->phone, "") << "a refused entry changes nothing of a stored profile";
}

TEST_F(ProfileBatchTest, AnAliasHeldByAnotherProfileRefusesTheEntryOnly) {
  batch("acme", {{"holder", R"({"aliases":[{"alias_name":"x","alias_label":"crm"}]})"}});
  auto out = batch("acme", {{"u1", R"({"email":"u1@example.com","aliases":[{"alias_name":"x","alias_label":"crm"}]})"},
                            {"u2", R"({"email":"u2@example.com","aliases":[{"alias_name":"y","alias_label":"crm"}]})"},
                            // y was taken two lines up: another profile's now.
                            {"u3", R"({"aliases":[{"alias_name":"y","alias_label":"crm"}]})"},
                            // The same alias again on its own holder is no conflict.
                            {"holder", R"({"email":"h@example.com"})"}});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(code(out[0]), "alias_in_use");
  EXPECT_EQ(out[0].error->kind, ErrorKind::conflict);
  EXPECT_EQ(code(out[1]), "");
  EXPECT_EQ(code(out[2]), "alias_in_use");
  EXPECT_EQ(code(out[3]), "");
  EXPECT_FALSE(find("acme", "u1"));
  EXPECT_FALSE(find("acme", "u3"));
  EXPECT_EQ(alias_holder("acme", "x", "crm"), "holder");
  EXPECT_EQ(alias_holder("acme", "y", "crm"), "u2");
  // The alias is tenant A's: tenant B's profile may take the same.
  auto other = batch("globex", {{"b1", R"({"aliases":[{"alias_name":"x","alias_label":"crm"}]})"}});
  EXPECT_EQ(code(other[0]), "");
  EXPECT_EQ(alias_holder("globex", "x", "crm"), "b1");
}

TEST_F(ProfileBatchTest, AnAliasFreedEarlierInTheBatchCanBeTakenLaterInIt) {
  batch("acme", {{"old", R"({"aliases":[{"alias_name":"x","alias_label":"crm"}]})"}});
  auto out = batch("acme", {{"new", R"({"aliases":[{"alias_name":"x","alias_label":"crm"}]})"},  // still old's
                            {"old", R"({"aliases":null})"},
                            {"new", R"({"aliases":[{"alias_name":"x","alias_label":"crm"}]})"}});
  EXPECT_EQ(code(out[0]), "alias_in_use");
  EXPECT_EQ(code(out[1]), "");
  EXPECT_EQ(code(out[2]), "");
  EXPECT_TRUE(out[2].created) << "the refused first entry made nothing";
  EXPECT_EQ(alias_holder("acme", "x", "crm"), "new");
  auto old = find("acme", "old");
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->aliases.empty());
}

TEST_F(ProfileBatchTest, EntriesAfterAnAliasRefusalStartFromWhatWasKept) {
  batch("acme", {{"holder", R"({"aliases":[{"alias_name":"x","alias_label":"crm"}]})"},
                 {"u1", R"({"email":"u1@example.com","attributes":{"n":1}})"}});
  // The first u1 entry is refused for its alias; the second must merge into
  // the stored u1, not into what the refused entry would have made.
  auto out = batch("acme", {{"u1", R"({"attributes":{"n":2,"m":"lost"},"aliases":[{"alias_name":"x","alias_label":"crm"}]})"},
                            {"u1", R"({"attributes":{"k":3},"aliases":[{"alias_name":"z","alias_label":"crm"}]})"}});
  EXPECT_EQ(code(out[0]), "alias_in_use");
  EXPECT_EQ(code(out[1]), "");
  EXPECT_FALSE(out[1].created);
  auto u1 = find("acme", "u1");
  ASSERT_TRUE(u1);
  EXPECT_EQ(u1->attributes.at("n").to_number<int>(), 1);
  EXPECT_FALSE(u1->attributes.contains("m")) << "nothing of the refused entry";
  EXPECT_EQ(u1->attributes.at("k").to_number<int>(), 3);
  EXPECT_EQ(alias_holder("acme", "z", "crm"), "u1") << "an alias read one by one after the refusal";
  EXPECT_EQ(alias_holder("acme", "x", "crm"), "holder");
}

TEST_F(ProfileBatchTest, TheTenantMayHaveProfilesOnceABatchStoredOne) {
  ASSERT_TRUE(store_->may_have_profiles("acme").ok());
  EXPECT_FALSE(*store_->may_have_profiles("acme"));
  auto refused = batch("acme", {{"bad", R"({"email":"nope"})"}});
  EXPECT_EQ(code(refused[0]), "invalid_email");
  EXPECT_FALSE(*store_->may_have_profiles("acme")) << "nothing was stored";
  batch("acme", {{"u1", R"({"email":"u1@example.com"})"}});
  EXPECT_TRUE(*store_->may_have_profiles("acme"));
  EXPECT_FALSE(*store_->may_have_profiles("globex"));
  auto empty = try_batch("acme", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ProfileBatchFullDiskTest, AWriteTheDiskRefusesStoresNothingOfTheBatch) {
  TempDir dir;
  SmallDisk disk(dir.path() / "data", 48);
  if (!disk.mounted()) GTEST_SKIP() << disk.error();
  const std::string data = (dir.path() / "data").string();
  // Batches of 500 profiles with an alias each, until the disk refuses one
  // (the log may have reserved some space ahead).
  std::vector<std::string> refused_ids;
  {
    auto opened = RocksStore::open(StoreOptions{data});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    auto store = std::move(opened).value();
    disk.fill(1 << 20);
    for (int round = 0; round < 1000 && refused_ids.empty(); ++round) {
      std::vector<std::string> ids;
      for (int i = 0; i < 500; ++i) ids.push_back(fmt::format("r{:03}-u{:03}", round, i));
      std::vector<std::string_view> views(ids.begin(), ids.end());
      auto r = store->upsert_profiles("acme", views, [&](std::size_t i, const std::optional<Profile>&) {
        return profile_from_json(
            boost::json::object{{"email", fmt::format("u{}@example.com", i)},
                                {"attributes", {{"pad", std::string(2000, 'x')}}},
                                {"aliases", boost::json::array{boost::json::object{{"alias_name", ids[i]},
                                                                                   {"alias_label", "crm"}}}}},
            "acme", ids[i]);
      });
      if (r.ok()) continue;
      EXPECT_EQ(r.error().code, "storage_full") << r.error().message;
      refused_ids = ids;
    }
    ASSERT_FALSE(refused_ids.empty()) << "the disk never filled";
    for (const auto& id : refused_ids) {
      auto found = store->find_profile("acme", id);
      ASSERT_TRUE(found.ok()) << "reads go on";
      EXPECT_FALSE(found->has_value()) << id;
      auto alias = store->find_profile_by_alias("acme", ProfileAlias{id, "crm"});
      ASSERT_TRUE(alias.ok());
      EXPECT_FALSE(alias->has_value()) << "nor its alias";
    }
  }
  disk.free_filler();
  // Reopened with space back: still nothing of the refused batch.
  auto again = RocksStore::open(StoreOptions{data});
  ASSERT_TRUE(again.ok()) << again.error().message;
  for (const auto& id : {refused_ids.front(), refused_ids.back()}) {
    auto found = (*again)->find_profile("acme", id);
    ASSERT_TRUE(found.ok());
    EXPECT_FALSE(found->has_value()) << id;
  }
  again.value().reset();
  disk.unmount();
}

}  // namespace
}  // namespace crier::testing
