// RocksStore as a GroupStore: notification groups put, found, listed and
// deleted per tenant, and the list of a group's jobs, written in the same
// batch as each job, paged oldest first, emptied with the group, durable.
#include <gtest/gtest.h>

#include "tests/storage/store_fixture.h"

namespace crier {
namespace {

using testing::email_entries;
using testing::kBaseMs;
using testing::make_job;
using testing::open_store;
using testing::TempDir;

NotificationGroup group(std::string tenant, std::string id, std::string spec = R"({"channel":"email","template":"t"})") {
  NotificationGroup g;
  g.tenant = std::move(tenant);
  g.id = std::move(id);
  g.spec_json = std::move(spec);
  g.created_at = kBaseMs;
  g.updated_at = kBaseMs;
  return g;
}

class GroupStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(dir_);
    ASSERT_TRUE(store_);
  }

  // A job of `tenant` made from `group_id`, stored with insert_job.
  Job insert(std::string tenant, std::string group_id, std::int64_t created_ms = kBaseMs) {
    Job job = make_job(std::move(tenant), created_ms);
    job.spec.notification_group = std::move(group_id);
    EXPECT_TRUE(store_->insert_job(job).ok());
    return job;
  }

  std::vector<JobKey> jobs_of(std::string_view tenant, std::string_view group_id) {
    std::vector<JobKey> out;
    std::optional<JobKey> after;
    for (int page = 0; page < 1000; ++page) {
      auto p = store_->list_group_jobs(tenant, group_id, after, 2);
      EXPECT_TRUE(p.ok());
      if (!p.ok()) break;
      out.insert(out.end(), p->jobs.begin(), p->jobs.end());
      if (!p->next_after) break;
      after = p->next_after;
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
};

TEST_F(GroupStoreTest, PutFindReplaceDelete) {
  ASSERT_TRUE(store_->put_group(group("acme", "due", R"({"channel":"sms","template":"a"})")).ok());
  auto g = store_->find_group("acme", "due");
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ((*g)->tenant, "acme");
  EXPECT_EQ((*g)->spec_json, R"({"channel":"sms","template":"a"})");

  auto replaced = group("acme", "due", R"({"channel":"push","template":"b"})");
  replaced.updated_at = kBaseMs + 5;
  ASSERT_TRUE(store_->put_group(replaced).ok());
  g = store_->find_group("acme", "due");
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ((*g)->spec_json, R"({"channel":"push","template":"b"})");
  EXPECT_EQ((*g)->updated_at, kBaseMs + 5);

  auto other = store_->find_group("globex", "due");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());

  auto deleted = store_->delete_group("acme", "due");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  auto again = store_->delete_group("acme", "due");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  g = store_->find_group("acme", "due");
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->has_value());
}

TEST_F(GroupStoreTest, ListsInIdOrderWithPagingAndTenantIsolation) {
  for (const char* id : {"c", "a", "b"}) ASSERT_TRUE(store_->put_group(group("acme", id)).ok());
  ASSERT_TRUE(store_->put_group(group("acme2", "a")).ok());
  ASSERT_TRUE(store_->put_group(group("acm", "z")).ok());
  auto names = [](const std::vector<NotificationGroup>& gs) {
    std::vector<std::string> out;
    for (const auto& g : gs) out.push_back(g.id);
    return out;
  };
  auto all = store_->list_groups("acme", "", 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(names(*all), (std::vector<std::string>{"a", "b", "c"}));
  auto rest = store_->list_groups("acme", "a", 1);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(names(*rest), (std::vector<std::string>{"b"}));
  auto end = store_->list_groups("acme", "c", 10);
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->empty());
}

TEST_F(GroupStoreTest, AJobMadeFromAGroupIsFiledUnderItOldestFirst) {
  Job first = insert("acme", "due", kBaseMs);
  Job second = insert("acme", "due", kBaseMs + 1);
  Job third = insert("acme", "due", kBaseMs + 2);
  insert("acme", "other", kBaseMs);
  insert("acme2", "due", kBaseMs);
  Job plain = make_job("acme");
  ASSERT_TRUE(store_->insert_job(plain).ok());

  EXPECT_EQ(jobs_of("acme", "due"), (std::vector<JobKey>{first.key, second.key, third.key}));
  EXPECT_EQ(jobs_of("acme", "other").size(), 1u);
  EXPECT_TRUE(jobs_of("acme", "nothing").empty());

  auto page = store_->list_group_jobs("acme", "due", std::nullopt, 3);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs.size(), 3u);
  EXPECT_FALSE(page->next_after);  // an exact multiple ends without a position

  EXPECT_TRUE(store_->group_has_job("acme", "due", second.key).value());
  EXPECT_FALSE(store_->group_has_job("acme", "other", second.key).value());
  EXPECT_FALSE(store_->group_has_job("acme2", "due", second.key).value());
  EXPECT_FALSE(store_->group_has_job("acme", "due", plain.key).value());
}

TEST_F(GroupStoreTest, InsertJobWithFilesTheJobInTheSameWrite) {
  Job job = make_job("acme");
  job.spec.notification_group = "due";
  job.status = JobStatus::processing;
  auto c = store_->insert_job_with(job, email_entries({"a@example.com", "b@example.com"}), 0, true, std::nullopt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->accepted, 2);
  EXPECT_EQ(jobs_of("acme", "due"), std::vector<JobKey>{job.key});
  auto found = store_->find_job(job.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->spec.notification_group, "due");
}

TEST_F(GroupStoreTest, DeletingAGroupEmptiesItsListButKeepsTheJobs) {
  ASSERT_TRUE(store_->put_group(group("acme", "g")).ok());
  ASSERT_TRUE(store_->put_group(group("acme", "g2")).ok());
  Job a = insert("acme", "g", kBaseMs);
  Job b = insert("acme", "g", kBaseMs + 1);
  Job kept = insert("acme", "g2", kBaseMs);
  ASSERT_TRUE(store_->delete_group("acme", "g").value());
  EXPECT_TRUE(jobs_of("acme", "g").empty());
  EXPECT_FALSE(store_->group_has_job("acme", "g", a.key).value());
  EXPECT_EQ(jobs_of("acme", "g2"), std::vector<JobKey>{kept.key});
  EXPECT_TRUE(store_->find_job(b.key).value().has_value());

  // Made again under the same id, the group starts with no jobs.
  ASSERT_TRUE(store_->put_group(group("acme", "g")).ok());
  EXPECT_TRUE(jobs_of("acme", "g").empty());
  Job c = insert("acme", "g", kBaseMs + 2);
  EXPECT_EQ(jobs_of("acme", "g"), std::vector<JobKey>{c.key});
}

TEST(GroupStoreReopenTest, GroupsAndTheirJobsSurviveCloseAndReopen) {
  TempDir dir;
  Job job = make_job("acme");
  job.spec.notification_group = "due";
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put_group(group("acme", "due")).ok());
    ASSERT_TRUE(store->insert_job(job).ok());
  }
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  auto g = store->find_group("acme", "due");
  ASSERT_TRUE(g.ok() && g->has_value());
  auto page = store->list_group_jobs("acme", "due", std::nullopt, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs, std::vector<JobKey>{job.key});
}

}  // namespace
}  // namespace crier
