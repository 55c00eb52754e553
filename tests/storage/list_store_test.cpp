// Lists in a real RocksDB: a list's record and its member count, members
// added and removed in bulk (repeats and no-ops change nothing), both
// indexes written together, paging in user_id order, a list deleted with
// its memberships (bigger than one sweep step), a deletion the server did
// not finish, tenants apart, and a deleted profile leaving its lists.
// The key layout itself is tested in keys_test.cpp.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <rocksdb/db.h>

#include "engine/profile_json.h"
#include "storage/keys.h"
#include "tests/storage/store_fixture.h"

namespace crier::testing {
namespace {

class ListStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_store(dir_); ASSERT_TRUE(store_); }

  void make_list(std::string_view tenant, std::string_view id, std::string name = {}) {
    auto r = store_->put_list(UserList{std::string(tenant), std::string(id), std::move(name), 0, kBaseMs, kBaseMs});
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  UserListStore::MembershipChange add(std::string_view tenant, std::string_view id,
                                      std::vector<std::string_view> users) {
    auto r = store_->add_members(tenant, id, users);
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && *r ? **r : UserListStore::MembershipChange{};
  }
  UserListStore::MembershipChange remove(std::string_view tenant, std::string_view id,
                                         std::vector<std::string_view> users) {
    auto r = store_->remove_members(tenant, id, users);
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && *r ? **r : UserListStore::MembershipChange{};
  }
  std::vector<std::string> all_members(std::string_view tenant, std::string_view id, std::size_t page = 3) {
    std::vector<std::string> out;
    std::string after;
    for (;;) {
      auto r = store_->list_members(tenant, id, after, page);
      EXPECT_TRUE(r.ok());
      if (!r.ok()) return out;
      out.insert(out.end(), r->begin(), r->end());
      if (r->size() < page) return out;
      after = r->back();
    }
  }
  std::int64_t count(std::string_view tenant, std::string_view id) {
    auto l = store_->find_list(tenant, id);
    EXPECT_TRUE(l.ok() && l->has_value());
    return l.ok() && *l ? (*l)->members : -1;
  }
  std::vector<std::string> lists_of(std::string_view tenant, std::string_view user) {
    auto r = store_->lists_of(tenant, user);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<std::string>{};
  }
  // Every key of the profiles family starting with `prefix`, read behind
  // the store's back once it is closed: what a deletion left.
  std::size_t raw_keys(const std::string& prefix) {
    store_.reset();
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_.str(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir_.str(), cfs, &handles, &raw).ok());
    std::size_t n = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] != keys::kProfiles) continue;
      std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator({}, handles[i]));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
    }
    for (auto* h : handles) EXPECT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
    store_ = open_store(dir_);
    return n;
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
};

TEST_F(ListStoreTest, MembersAreAddedAndRemovedInBulkWithAnExactCountAcrossAReopen) {
  make_list("acme", "vip", "VIPs");
  auto first = add("acme", "vip", {"u3", "u1", "u2", "u1"});
  EXPECT_EQ(first.changed, 3);
  EXPECT_EQ(first.unchanged, 1) << "a repeat changes nothing";
  EXPECT_EQ(first.members, 3);
  auto again = add("acme", "vip", {"u2", "u4"});
  EXPECT_EQ(again.changed, 1);
  EXPECT_EQ(again.unchanged, 1);
  EXPECT_EQ(again.members, 4);
  auto gone = remove("acme", "vip", {"u1", "nobody"});
  EXPECT_EQ(gone.changed, 1);
  EXPECT_EQ(gone.unchanged, 1);
  EXPECT_EQ(gone.members, 3);

  store_.reset();
  store_ = open_store(dir_);
  EXPECT_EQ(count("acme", "vip"), 3);
  EXPECT_EQ(all_members("acme", "vip"), (std::vector<std::string>{"u2", "u3", "u4"})) << "user_id order, paged by 3";
  EXPECT_EQ(all_members("acme", "vip", 2), (std::vector<std::string>{"u2", "u3", "u4"}));
  EXPECT_EQ(lists_of("acme", "u3"), std::vector<std::string>{"vip"});
  EXPECT_TRUE(lists_of("acme", "u1").empty()) << "the reverse index follows a removal";
  std::vector<std::string_view> asked{"u1", "u2", "u9", "u4"};
  auto among = store_->members_among("acme", "vip", asked);
  ASSERT_TRUE(among.ok());
  EXPECT_EQ(*among, (std::vector<bool>{false, true, false, true}));
}

TEST_F(ListStoreTest, AListIsItsRecordAndAPutKeepsItsMembersAndCreationTime) {
  make_list("acme", "news", "News");
  add("acme", "news", {"a", "b"});
  auto again = store_->put_list(UserList{"acme", "news", "Newsletter", 0, kBaseMs + 5000, kBaseMs + 5000});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again) << "not new";
  auto l = store_->find_list("acme", "news");
  ASSERT_TRUE(l.ok() && l->has_value());
  EXPECT_EQ((*l)->name, "Newsletter");
  EXPECT_EQ((*l)->members, 2) << "a rename keeps the members";
  EXPECT_EQ((*l)->created_at, kBaseMs);
  EXPECT_EQ((*l)->updated_at, kBaseMs + 5000);

  auto none = store_->add_members("acme", "nope", std::vector<std::string_view>{"a"});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value()) << "no list, nothing added";
  make_list("acme", "alpha");
  make_list("acme", "zulu");
  auto page = store_->list_lists("acme", "alpha", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "news");
  EXPECT_EQ((*page)[1].id, "zulu");
}

TEST_F(ListStoreTest, TenantsHaveTheirOwnListsAndMembers) {
  make_list("acme", "vip");
  make_list("acme-2", "vip");
  add("acme", "vip", {"u1"});
  add("acme-2", "vip", {"u2", "u3"});
  EXPECT_EQ(all_members("acme", "vip"), std::vector<std::string>{"u1"});
  EXPECT_EQ(count("acme-2", "vip"), 2);
  EXPECT_TRUE(lists_of("acme", "u2").empty());
  auto other = store_->find_list("other", "vip");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST_F(ListStoreTest, DeletingAListDeletesEveryMembershipInBoundedStepsAndNothingElse) {
  make_list("acme", "big");
  make_list("acme", "small");
  std::vector<std::string> ids;
  // More than two sweep steps, and more than one MultiGet slice (4 096).
  for (int i = 0; i < 5000; ++i) ids.push_back(fmt::format("user-{:05}", i));
  std::vector<std::string_view> views(ids.begin(), ids.end());
  EXPECT_EQ(add("acme", "big", views).members, 5000);
  auto again_all = add("acme", "big", views);
  EXPECT_EQ(again_all.changed, 0) << "every slice read back";
  EXPECT_EQ(again_all.unchanged, 5000);
  add("acme", "small", {"user-00001", "user-04500"});

  auto deleted = store_->delete_list("acme", "big");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  auto again = store_->delete_list("acme", "big");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto found = store_->find_list("acme", "big");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_EQ(lists_of("acme", "user-00001"), std::vector<std::string>{"small"});
  EXPECT_EQ(raw_keys(keys::list_members_prefix("acme", "big")), 0u);
  EXPECT_EQ(raw_keys(keys::tenant_prefix("acme") + "u"), 2u) << "only small's two memberships are left in reverse";
  EXPECT_EQ(count("acme", "small"), 2);

  make_list("acme", "big");
  EXPECT_EQ(count("acme", "big"), 0) << "made again, it starts empty";
  EXPECT_TRUE(all_members("acme", "big").empty());
}

TEST_F(ListStoreTest, ADeletionTheServerDidNotFinishHidesTheListAndIsFinishedBeforeItIsMadeAgain) {
  make_list("acme", "half");
  add("acme", "half", {"a", "b", "c"});
  // What a crash right after delete's first write leaves: the record marked,
  // every membership still there.
  store_.reset();
  raw_put(dir_, keys::kProfiles, keys::user_list("acme", "half"),
          R"({"name":"","members":3,"created_at":1,"updated_at":1,"deleting":true})");
  store_ = open_store(dir_);
  auto found = store_->find_list("acme", "half");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value()) << "a list being deleted is no list";
  EXPECT_TRUE(lists_of("acme", "a").empty());
  auto none = store_->add_members("acme", "half", std::vector<std::string_view>{"d"});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto listed = store_->list_lists("acme", "", 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());

  make_list("acme", "half");
  EXPECT_EQ(count("acme", "half"), 0);
  EXPECT_TRUE(all_members("acme", "half").empty()) << "the old members do not come back";
  EXPECT_EQ(raw_keys(keys::member_lists_prefix("acme", "a")), 0u);
}

TEST_F(ListStoreTest, DeletingAProfileRemovesItsMembershipsAndLowersTheCounts) {
  auto put = store_->upsert_profile("acme", "ann", [](const std::optional<Profile>&) {
    return profile_from_json(boost::json::parse(R"({"email":"ann@example.com"})").as_object(), "acme", "ann");
  });
  ASSERT_TRUE(put.ok());
  make_list("acme", "one");
  make_list("acme", "two");
  add("acme", "one", {"ann", "bob"});
  add("acme", "two", {"ann"});
  auto deleted = store_->delete_profile("acme", "ann");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_TRUE(lists_of("acme", "ann").empty());
  EXPECT_EQ(all_members("acme", "one"), std::vector<std::string>{"bob"});
  EXPECT_TRUE(all_members("acme", "two").empty());
  EXPECT_EQ(count("acme", "one"), 1);
  EXPECT_EQ(count("acme", "two"), 0);
  // Bob has no profile: deleting it finds none and leaves his membership.
  auto bob = store_->delete_profile("acme", "bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_FALSE(*bob);
  EXPECT_EQ(all_members("acme", "one"), std::vector<std::string>{"bob"});
}

}  // namespace
}  // namespace crier::testing
