// RocksStore against a real RocksDB in a temp dir: jobs and their listing,
// ingest (seqs, dedupe, counters), recipient paging, state commits, templates,
// idempotency answers, and durability across close and reopen.
#include "storage/rocks_store.h"

#include <rocksdb/db.h>

#include "storage/keys.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "tests/storage/store_fixture.h"

namespace crier {
namespace {

using testing::email_entries;
using testing::email_entry;
using testing::expect_counter_invariants;
using testing::kBaseMs;
using testing::make_job;
using testing::open_store;
using testing::TempDir;

class RocksStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(dir_);
    ASSERT_TRUE(store_);
  }

  Job insert(std::string tenant, std::int64_t created_ms = kBaseMs,
             JobStatus status = JobStatus::created) {
    Job job = make_job(std::move(tenant), created_ms, status);
    auto r = store_->insert_job(job);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return job;
  }

  IngestCommit ingest(const Job& job, const std::vector<IngestEntry>& entries,
                      std::int64_t rejected = 0) {
    auto r = store_->ingest(job.key, entries, rejected, /*sync=*/true);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : IngestCommit{};
  }

  JobCounters counters(const Job& job) {
    auto r = store_->counters(job.key);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : JobCounters{};
  }

  RecipientPage page(const Job& job, std::uint64_t from, std::size_t limit,
                     std::optional<RecipientStatus> status = std::nullopt,
                     std::size_t max_scan = 1'000'000) {
    auto r = store_->list_recipients(job.key, from, limit, status, max_scan);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : RecipientPage{};
  }

  std::vector<std::string> ids(const JobPage& p) {
    std::vector<std::string> out;
    for (const auto& j : p.jobs) out.push_back(j.id());
    return out;
  }

  static StateChange change(std::uint64_t seq, RecipientStatus status, std::uint32_t attempts = 1,
                            std::string error_code = {}) {
    StateChange c;
    c.seq = seq;
    c.state.status = status;
    c.state.attempts = attempts;
    c.state.updated_at = kBaseMs + 1000;
    c.state.error_code = std::move(error_code);
    return c;
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
};

// ---- jobs -------------------------------------------------------------------

TEST_F(RocksStoreTest, InsertedJobIsFoundWithZeroCounters) {
  Job job = insert("acme");
  auto found = store_->find_job(job.key);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id(), job.id());
  EXPECT_EQ((*found)->tenant, "acme");
  EXPECT_EQ((*found)->status, JobStatus::created);
  ASSERT_TRUE((*found)->spec.content.base.email);
  EXPECT_EQ((*found)->spec.content.base.email->subject, "Hi {{name}}");
  EXPECT_TRUE(counters(job).empty());
}

TEST_F(RocksStoreTest, UnknownJobIsNotAnError) {
  auto found = store_->find_job(new_job_key(kBaseMs));
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  auto cursor = store_->dispatch_cursor(new_job_key(kBaseMs));
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 0u);
}

TEST_F(RocksStoreTest, UpdateOverwritesTheJob) {
  Job job = insert("acme");
  job.status = JobStatus::processing;
  job.started_at = kBaseMs + 5;
  job.updated_at = kBaseMs + 5;
  ASSERT_TRUE(store_->update_job(job).ok());
  auto found = store_->find_job(job.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->status, JobStatus::processing);
  EXPECT_EQ((*found)->started_at, kBaseMs + 5);
}

TEST_F(RocksStoreTest, ListJobsNewestFirstWithPaging) {
  std::vector<std::string> created;  // oldest first
  for (int i = 0; i < 5; ++i) created.push_back(insert("acme", kBaseMs + i * 1000).id());
  const std::vector<std::string> newest_first(created.rbegin(), created.rend());

  auto all = store_->list_jobs("acme", std::nullopt, "", 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ids(*all), newest_first);
  EXPECT_TRUE(all->next_after.empty());

  std::vector<std::string> paged;
  std::string after;
  int pages = 0;
  do {
    auto p = store_->list_jobs("acme", std::nullopt, after, 2);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_LE(p->jobs.size(), 2u);
    for (const auto& j : p->jobs) paged.push_back(j.id());
    after = p->next_after;
    ASSERT_LT(++pages, 10);
  } while (!after.empty());
  EXPECT_EQ(paged, newest_first);
  EXPECT_EQ(pages, 3);
}

TEST_F(RocksStoreTest, ListJobsExactMultipleOfLimitEndsWithoutCursor) {
  insert("acme", kBaseMs);
  insert("acme", kBaseMs + 1);
  auto p = store_->list_jobs("acme", std::nullopt, "", 2);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->jobs.size(), 2u);
  EXPECT_TRUE(p->next_after.empty());
}

TEST_F(RocksStoreTest, ListJobsFiltersByStatus) {
  Job a = insert("acme", kBaseMs);
  Job b = insert("acme", kBaseMs + 1);
  Job c = insert("acme", kBaseMs + 2);
  insert("acme", kBaseMs + 3);
  for (Job* j : {&a, &c}) {
    j->status = JobStatus::completed;
    ASSERT_TRUE(store_->update_job(*j).ok());
  }
  auto done = store_->list_jobs("acme", JobStatus::completed, "", 10);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(ids(*done), (std::vector<std::string>{c.id(), a.id()}));

  // Paging through a filtered listing visits each match once.
  auto first = store_->list_jobs("acme", JobStatus::completed, "", 1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(ids(*first), std::vector<std::string>{c.id()});
  ASSERT_FALSE(first->next_after.empty());
  auto second = store_->list_jobs("acme", JobStatus::completed, first->next_after, 1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(ids(*second), std::vector<std::string>{a.id()});

  auto none = store_->list_jobs("acme", JobStatus::cancelled, "", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->jobs.empty());
  (void)b;
}

TEST_F(RocksStoreTest, ListJobsIsolatesTenants) {
  Job a = insert("a", kBaseMs);
  Job ab = insert("ab", kBaseMs + 1);
  Job b = insert("b", kBaseMs + 2);
  auto la = store_->list_jobs("a", std::nullopt, "", 10);
  ASSERT_TRUE(la.ok());
  EXPECT_EQ(ids(*la), std::vector<std::string>{a.id()});
  auto lab = store_->list_jobs("ab", std::nullopt, "", 10);
  ASSERT_TRUE(lab.ok());
  EXPECT_EQ(ids(*lab), std::vector<std::string>{ab.id()});
  auto nobody = store_->list_jobs("c", std::nullopt, "", 10);
  ASSERT_TRUE(nobody.ok());
  EXPECT_TRUE(nobody->jobs.empty());
  (void)b;
}

TEST_F(RocksStoreTest, ListJobsRefusesAnotherTenantsCursor) {
  insert("a", kBaseMs);
  insert("a", kBaseMs + 1);
  insert("b", kBaseMs + 2);
  auto p = store_->list_jobs("a", std::nullopt, "", 1);
  ASSERT_TRUE(p.ok());
  ASSERT_FALSE(p->next_after.empty());
  auto other = store_->list_jobs("b", std::nullopt, p->next_after, 10);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().kind, ErrorKind::invalid);
  EXPECT_EQ(other.error().code, "invalid_cursor");
}

TEST_F(RocksStoreTest, ForEachJobVisitsEveryTenantsJobs) {
  std::set<std::string> want;
  for (const char* t : {"a", "b", "c"}) want.insert(insert(t).id());
  std::set<std::string> seen;
  ASSERT_TRUE(store_->for_each_job([&](const Job& j) { seen.insert(j.id()); }, {}).ok());
  EXPECT_EQ(seen, want);
}

TEST_F(RocksStoreTest, ForEachJobSkipsAndReportsAnUnreadableRecord) {
  Job good = insert("a");
  Job bad = insert("b");
  store_.reset();
  raw_put(dir_, keys::kJobs, keys::job(bad.key), "\xff garbage");  // one job record garbled
  store_ = open_store(dir_);
  ASSERT_TRUE(store_);
  std::set<std::string> seen;
  std::vector<std::string> unreadable;
  auto r = store_->for_each_job([&](const Job& j) { seen.insert(j.id()); },
                                [&](std::string_view key, std::string_view) { unreadable.emplace_back(key); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(seen, std::set<std::string>{good.id()});
  EXPECT_EQ(unreadable.size(), 1u);
}

// The layout version at "meta▸format" (keys.h): a store of a newer format
// is refused at open with storage_format, one of an older format is read as
// is and marked with this build's, and the marking is what an older build
// then refuses.
TEST_F(RocksStoreTest, AStoreOfANewerFormatIsRefusedAndAnOlderOneUpgraded) {
  Job job = insert("acme");
  store_.reset();
  const std::string format_key("meta\0format", 11);
  // Reads or writes the format behind the store's back.
  auto raw_format = [&](const char* write) {
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_.str(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir_.str(), cfs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string value;
    if (write) EXPECT_TRUE(db->Put({}, handles[0], format_key, write).ok());
    EXPECT_TRUE(db->Get({}, handles[0], format_key, &value).ok());
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    return value;
  };
  EXPECT_EQ(raw_format(nullptr), "6") << "a new store is marked with this build's format";

  raw_format("9");
  auto newer = RocksStore::open(StoreOptions{dir_.str()});
  ASSERT_FALSE(newer.ok()) << "a later layout is not misread";
  EXPECT_EQ(newer.error().code, "storage_format");
  EXPECT_NE(newer.error().message.find("format 9"), std::string::npos) << newer.error().message;
  EXPECT_EQ(raw_format(nullptr), "9") << "the refused store is left as it was";

  raw_format("4");
  store_ = open_store(dir_);
  ASSERT_TRUE(store_) << "a format-4 store is read as is";
  auto found = store_->find_job(job.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->tenant, "acme");
  store_.reset();
  EXPECT_EQ(raw_format(nullptr), "6") << "and marked 6, so an older build refuses it from then on";
}

// ---- ingest -----------------------------------------------------------------

TEST_F(RocksStoreTest, IngestAssignsConsecutiveSeqsFromZeroInOrder) {
  Job job = insert("acme");
  auto first = ingest(job, email_entries({"a@example.com", "b@example.com", "c@example.com"}));
  EXPECT_EQ(first.accepted, 3);
  auto second = ingest(job, email_entries({"d@example.com", "e@example.com"}));
  EXPECT_EQ(second.accepted, 2);

  auto p = page(job, 0, 100);
  ASSERT_EQ(p.items.size(), 5u);
  const char* want[] = {"a@example.com", "b@example.com", "c@example.com", "d@example.com",
                        "e@example.com"};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(p.items[i].recipient.seq, i);
    EXPECT_EQ(p.items[i].recipient.email, want[i]);
    EXPECT_EQ(p.items[i].state.status, RecipientStatus::pending);
  }
  EXPECT_FALSE(p.next_seq.has_value());
}

TEST_F(RocksStoreTest, IngestDedupesAgainstEarlierBatchesAndWithinABatch) {
  Job job = insert("acme");
  auto first = ingest(job, email_entries({"a@example.com", "b@example.com", "a@example.com"}));
  EXPECT_EQ(first.accepted, 2);
  EXPECT_EQ(first.duplicates, 1);
  auto second = ingest(
      job, email_entries({"b@example.com", "c@example.com", "c@example.com", "a@example.com"}));
  EXPECT_EQ(second.accepted, 1);
  EXPECT_EQ(second.duplicates, 3);

  auto p = page(job, 0, 100);
  ASSERT_EQ(p.items.size(), 3u);
  EXPECT_EQ(p.items[0].recipient.email, "a@example.com");  // the first one wins
  EXPECT_EQ(p.items[1].recipient.email, "b@example.com");
  EXPECT_EQ(p.items[2].recipient.email, "c@example.com");
  EXPECT_EQ(p.items[2].recipient.seq, 2u);  // duplicates use no seq

  JobCounters c = counters(job);
  EXPECT_EQ(c[Counter::received], 7);
  EXPECT_EQ(c[Counter::unique], 3);
  EXPECT_EQ(c[Counter::duplicates], 4);
  EXPECT_EQ(second.counters.values, c.values);  // the commit reports the stored counters
  expect_counter_invariants(c);
}

TEST_F(RocksStoreTest, IngestDedupesByUserIdBeforeAddress) {
  Job job = insert("acme");
  auto r = ingest(
      job, {email_entry("one@example.com", "user-1"), email_entry("two@example.com", "user-1"),
            email_entry("one@example.com", "user-2")});
  EXPECT_EQ(r.accepted, 2);
  EXPECT_EQ(r.duplicates, 1);
}

TEST_F(RocksStoreTest, EntriesWithoutADedupeKeyAreNeverDuplicates) {
  Job job = insert("acme");
  IngestEntry anon;  // e.g. a webhook job posting every user to its own URL
  anon.recipient.data_json = R"({"n":1})";
  auto r = ingest(job, {anon, anon, anon});
  EXPECT_EQ(r.accepted, 3);
  EXPECT_EQ(r.duplicates, 0);
  EXPECT_EQ(ingest(job, {anon}).accepted, 1);
  EXPECT_EQ(counters(job)[Counter::unique], 4);
}

TEST_F(RocksStoreTest, IngestCountsRejectedUsers) {
  Job job = insert("acme");
  auto r = ingest(job, email_entries({"a@example.com"}), /*rejected=*/4);
  EXPECT_EQ(r.accepted, 1);
  JobCounters c = counters(job);
  EXPECT_EQ(c[Counter::received], 5);
  EXPECT_EQ(c[Counter::rejected], 4);
  EXPECT_EQ(c[Counter::unique], 1);
  expect_counter_invariants(c);

  // A batch of nothing but rejects still counts.
  ingest(job, {}, 2);
  EXPECT_EQ(counters(job)[Counter::rejected], 6);
  EXPECT_EQ(counters(job)[Counter::received], 7);
}

TEST_F(RocksStoreTest, DedupeIsPerJob) {
  Job a = insert("acme"), b = insert("acme");
  EXPECT_EQ(ingest(a, email_entries({"x@example.com"})).accepted, 1);
  EXPECT_EQ(ingest(b, email_entries({"x@example.com"})).accepted, 1);
  EXPECT_EQ(page(a, 0, 10).items.size(), 1u);
  EXPECT_EQ(page(b, 0, 10).items.size(), 1u);
}

TEST_F(RocksStoreTest, RecipientRecordKeepsEveryField) {
  Job job = insert("acme");
  IngestEntry e = email_entry("ada@example.com", "u-1");
  e.recipient.phone = "+14155550100";
  e.recipient.locale = "fr";
  e.recipient.data_json = R"({"name":"Zoë"})";
  e.recipient.preferences_json = R"({"quiet":true})";
  ingest(job, {e});
  auto p = page(job, 0, 1);
  ASSERT_EQ(p.items.size(), 1u);
  const auto& r = p.items[0].recipient;
  EXPECT_EQ(r.user_id, "u-1");
  EXPECT_EQ(r.phone, "+14155550100");
  EXPECT_EQ(r.locale, "fr");
  EXPECT_EQ(r.data_json, R"({"name":"Zoë"})");
  EXPECT_EQ(r.preferences_json, R"({"quiet":true})");
}

// ---- listing recipients -----------------------------------------------------

TEST_F(RocksStoreTest, ListRecipientsPagesWithNextSeq) {
  Job job = insert("acme");
  ingest(job, email_entries(testing::numbered_emails(25)));

  std::vector<std::uint64_t> seen;
  std::optional<std::uint64_t> from = 0;
  std::vector<std::optional<std::uint64_t>> nexts;
  while (from) {
    auto p = page(job, *from, 10);
    for (const auto& item : p.items) seen.push_back(item.recipient.seq);
    nexts.push_back(p.next_seq);
    from = p.next_seq;
    ASSERT_LT(nexts.size(), 10u);
  }
  EXPECT_EQ(nexts, (std::vector<std::optional<std::uint64_t>>{10, 20, std::nullopt}));
  ASSERT_EQ(seen.size(), 25u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
}

TEST_F(RocksStoreTest, ListRecipientsStaysWithinTheJob) {
  // Keys of neighbouring jobs must not leak into a job's pages.
  Job a = insert("acme"), b = insert("acme");
  ingest(a, email_entries({"a1@example.com", "a2@example.com"}));
  ingest(b, email_entries({"b1@example.com"}));
  auto pa = page(a, 0, 10), pb = page(b, 0, 10);
  ASSERT_EQ(pa.items.size(), 2u);
  ASSERT_EQ(pb.items.size(), 1u);
  EXPECT_EQ(pb.items[0].recipient.email, "b1@example.com");
  EXPECT_TRUE(page(insert("acme"), 0, 10).items.empty());
  EXPECT_TRUE(page(a, 2, 10).items.empty());
}

TEST_F(RocksStoreTest, ListingIntoAUsedPageGivesWhatAFreshListingGives) {
  // Dispatch reads window after window into one page: whatever the page held
  // (more items, longer fields, a state, a next_seq) must not show through.
  Job a = insert("acme"), b = insert("acme");
  IngestEntry long_one = email_entry("a-much-longer-address-than-the-next@example.com", "a-user-id-longer-than-b");
  long_one.recipient.phone = "+14155550100";
  long_one.recipient.locale = "fr";
  long_one.recipient.data_json = R"({"name":"a name longer than the one that comes next"})";
  long_one.recipient.preferences_json = R"({"quiet":true})";
  std::vector<IngestEntry> many{long_one};
  for (auto& e : email_entries(testing::numbered_emails(5))) many.push_back(e);
  ingest(a, many);
  ASSERT_TRUE(store_->commit_states(a.key, std::vector<StateChange>{change(0, RecipientStatus::failed, 2, "http_500")},
                                    JobCounters{}, std::nullopt, true).ok());
  IngestEntry short_one = email_entry("b@example.com", "u-b");
  short_one.recipient.data_json = R"({"n":1})";
  ingest(b, {short_one, email_entry("c@example.com")});

  RecipientPage reused;
  ASSERT_TRUE(store_->list_recipients_into(a.key, 0, 4, std::nullopt, 100, reused).ok());
  ASSERT_EQ(reused.items.size(), 4u);
  EXPECT_EQ(reused.next_seq, std::optional<std::uint64_t>(4));
  EXPECT_EQ(reused.items[0].state.error_code, "http_500");

  ASSERT_TRUE(store_->list_recipients_into(b.key, 0, 10, std::nullopt, 100, reused).ok());
  const auto fresh = page(b, 0, 10);
  ASSERT_EQ(fresh.items.size(), 2u);
  ASSERT_EQ(reused.items.size(), fresh.items.size());
  EXPECT_EQ(reused.next_seq, fresh.next_seq);
  for (std::size_t i = 0; i < fresh.items.size(); ++i) {
    SCOPED_TRACE(i);
    const auto &got = reused.items[i], &want = fresh.items[i];
    EXPECT_EQ(got.recipient.seq, want.recipient.seq);
    for (auto field : {&Recipient::user_id, &Recipient::email, &Recipient::phone, &Recipient::push_token,
                       &Recipient::webhook_url, &Recipient::locale, &Recipient::data_json,
                       &Recipient::preferences_json})
      EXPECT_EQ(got.recipient.*field, want.recipient.*field);
    EXPECT_EQ(got.state.status, want.state.status);
    EXPECT_EQ(got.state.attempts, want.state.attempts);
    EXPECT_EQ(got.state.error_code, want.state.error_code);
  }
  EXPECT_EQ(reused.items[0].recipient.email, "b@example.com");
  EXPECT_EQ(reused.items[0].recipient.data_json, R"({"n":1})");
  EXPECT_EQ(reused.items[0].state.error_code, "");
  EXPECT_EQ(reused.items[0].state.status, RecipientStatus::pending);
}

TEST_F(RocksStoreTest, StatusFilterIsBoundedByMaxScan) {
  Job job = insert("acme");
  ingest(job, email_entries(testing::numbered_emails(20)));
  JobCounters delta;
  count_transition(delta, RecipientStatus::pending, RecipientStatus::sent);
  count_transition(delta, RecipientStatus::pending, RecipientStatus::sent);
  std::vector<StateChange> changes = {change(3, RecipientStatus::sent),
                                      change(15, RecipientStatus::sent)};
  ASSERT_TRUE(store_->commit_states(job.key, changes, delta, std::nullopt, true).ok());

  // At most 10 records scanned: a short page and a place to go on from.
  auto first = page(job, 0, 10, RecipientStatus::sent, /*max_scan=*/10);
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_EQ(first.items[0].recipient.seq, 3u);
  EXPECT_EQ(first.items[0].state.status, RecipientStatus::sent);
  ASSERT_EQ(first.next_seq, 10u);
  auto second = page(job, *first.next_seq, 10, RecipientStatus::sent, 10);
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].recipient.seq, 15u);
  EXPECT_FALSE(second.next_seq.has_value());

  // Absent state means PENDING.
  auto pending = page(job, 0, 100, RecipientStatus::pending);
  EXPECT_EQ(pending.items.size(), 18u);
  for (const auto& item : pending.items) EXPECT_NE(item.recipient.seq, 3u);
}

// ---- state commits ----------------------------------------------------------

TEST_F(RocksStoreTest, CommitStatesUpdatesStatesCountersAndCursor) {
  Job job = insert("acme");
  ingest(job, email_entries({"a@example.com", "b@example.com", "c@example.com", "d@example.com"}));
  auto cursor = store_->dispatch_cursor(job.key);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 0u);

  // Window 1: all four enqueued.
  std::vector<StateChange> enqueue;
  JobCounters d1;
  for (std::uint64_t s = 0; s < 4; ++s) {
    enqueue.push_back(change(s, RecipientStatus::enqueued, 1));
    count_transition(d1, RecipientStatus::pending, RecipientStatus::enqueued);
  }
  ASSERT_TRUE(store_->commit_states(job.key, enqueue, d1, std::nullopt, true).ok());
  EXPECT_EQ(counters(job)[Counter::enqueued], 4);

  // Outcomes for the first two; the cursor moves past them.
  JobCounters d2;
  count_transition(d2, RecipientStatus::enqueued, RecipientStatus::delivered);
  count_transition(d2, RecipientStatus::enqueued, RecipientStatus::failed);
  std::vector<StateChange> outcomes = {change(0, RecipientStatus::delivered, 1),
                                       change(1, RecipientStatus::failed, 3, "mailbox_full")};
  ASSERT_TRUE(store_->commit_states(job.key, outcomes, d2, 2, true).ok());

  cursor = store_->dispatch_cursor(job.key);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 2u);

  auto p = page(job, 0, 10);
  ASSERT_EQ(p.items.size(), 4u);
  EXPECT_EQ(p.items[0].state.status, RecipientStatus::delivered);
  EXPECT_EQ(p.items[1].state.status, RecipientStatus::failed);
  EXPECT_EQ(p.items[1].state.attempts, 3u);
  EXPECT_EQ(p.items[1].state.error_code, "mailbox_full");
  EXPECT_EQ(p.items[1].state.updated_at, kBaseMs + 1000);
  EXPECT_EQ(p.items[2].state.status, RecipientStatus::enqueued);

  JobCounters c = counters(job);
  EXPECT_EQ(c[Counter::pending], 0);
  EXPECT_EQ(c[Counter::enqueued], 2);
  EXPECT_EQ(c[Counter::delivered], 1);
  EXPECT_EQ(c[Counter::failed], 1);
  EXPECT_EQ(c.outstanding(), 2);
  expect_counter_invariants(c);

  // A commit without a cursor leaves it where it was.
  ASSERT_TRUE(store_->commit_states(job.key, {}, {}, std::nullopt, false).ok());
  EXPECT_EQ(store_->dispatch_cursor(job.key).value(), 2u);
}

// ---- durability -------------------------------------------------------------

TEST(RocksStoreReopenTest, EverythingSurvivesCloseAndReopen) {
  TempDir dir;
  Job job = make_job("acme");
  Template tpl;
  tpl.tenant = "acme";
  tpl.id = "welcome";
  tpl.content.base.sms = SmsContent{"Hi {{name}}"};
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->insert_job(job).ok());
    job.status = JobStatus::processing;
    ASSERT_TRUE(store->update_job(job).ok());
    auto entries = email_entries({"a@example.com", "b@example.com"});
    ASSERT_TRUE(store->ingest(job.key, entries, 1, true).ok());
    JobCounters d;
    count_transition(d, RecipientStatus::pending, RecipientStatus::sent);
    StateChange sent;
    sent.seq = 0;
    sent.state.status = RecipientStatus::sent;
    ASSERT_TRUE(store->commit_states(job.key, std::vector<StateChange>{sent}, d, 1, true).ok());
    ASSERT_TRUE(store->put_template(tpl).ok());
    ASSERT_TRUE(
        store->put_answer("acme", "key-1", IdempotentAnswer{"h", 201, "{}", kBaseMs + 60'000})
            .ok());
  }  // closed here

  auto store = open_store(dir);
  ASSERT_TRUE(store);
  auto found = store->find_job(job.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->status, JobStatus::processing);
  auto listed = store->list_jobs("acme", std::nullopt, "", 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->jobs.size(), 1u);

  auto c = store->counters(job.key);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[Counter::received], 3);
  EXPECT_EQ((*c)[Counter::unique], 2);
  EXPECT_EQ((*c)[Counter::sent], 1);
  EXPECT_EQ((*c)[Counter::pending], 1);
  expect_counter_invariants(*c);
  EXPECT_EQ(store->dispatch_cursor(job.key).value(), 1u);

  auto p = store->list_recipients(job.key, 0, 10, std::nullopt, 100);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->items.size(), 2u);
  EXPECT_EQ(p->items[0].state.status, RecipientStatus::sent);

  // Dedupe keys and seqs carry on where they were.
  auto more = email_entries({"b@example.com", "c@example.com"});
  auto r = store->ingest(job.key, more, 0, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 1);
  EXPECT_EQ(r->duplicates, 1);
  auto all = store->list_recipients(job.key, 0, 10, std::nullopt, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[2].recipient.seq, 2u);
  EXPECT_EQ(all->items[2].recipient.email, "c@example.com");

  auto t = store->find_template("acme", "welcome");
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->content.base.sms->body, "Hi {{name}}");
  auto a = store->find_answer("acme", "key-1", kBaseMs);
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->status, 201);
}

// Reads take no RocksDB snapshot. Releasing one (7.8) marks every last-level
// file whose sequence numbers are not yet zeroed, as a fresh ingest's files
// are, for a compaction that only rewrites it: a dispatch's first read used
// to set that off over all its ingest had written. RocksDB's LOG names each
// compaction's reason.
TEST(RocksStoreReadTest, ReadingAJobSetsOffNoRewriteOfItsFiles) {
  TempDir dir;
  Job job = make_job("acme");
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->insert_job(job).ok());
    ASSERT_TRUE(store->ingest(job.key, email_entries(testing::numbered_emails(500)), 0, true).ok());
  }
  // Reopening flushes what the log replays into the only file of each family.
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  for (int i = 0; i < 3; ++i) {
    auto page = store->list_recipients(job.key, 0, 1000, std::nullopt, 1000);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->items.size(), 500u);
  }
  auto one = store->find_recipient(job.key, 7);
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->recipient.email, testing::numbered_email(7));

  // A marked file is compacted at once, in the background.
  auto rewrites = [&] {
    std::ifstream log(dir.path() / "LOG");
    std::string line;
    int n = 0;
    while (std::getline(log, line)) n += line.find("\"compaction_reason\": \"BottommostFiles\"") != std::string::npos;
    return n;
  };
  for (int i = 0; i < 20 && rewrites() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(rewrites(), 0);
  // The scan read the log the events go to: a missing or silent LOG would
  // pass the check above whatever happened.
  std::ifstream log(dir.path() / "LOG");
  ASSERT_TRUE(log) << "RocksDB's LOG is where compactions are reported";
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"event\": \"recovery_started\""), std::string::npos)
      << "the reopen's recovery is logged as an event, as a compaction would be";
}

TEST(RocksStoreOpenTest, UnusablePathIsAnErrorNotACrash) {
  TempDir dir;
  auto file = dir.path() / "not-a-directory";
  std::ofstream(file) << "x";
  auto r = RocksStore::open(StoreOptions{file.string()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::internal);
  EXPECT_EQ(r.error().code, "storage_error");
}

TEST(RocksStoreOpenTest, ADataDirectoryServesOneStoreAtATime) {
  // Two servers on one data directory would corrupt it: RocksDB's lock says no.
  TempDir dir;
  auto first = open_store(dir);
  ASSERT_TRUE(first);
  auto second = RocksStore::open(StoreOptions{dir.str()});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "storage_error");
  first.reset();
  EXPECT_TRUE(RocksStore::open(StoreOptions{dir.str()}).ok());
}

TEST_F(RocksStoreTest, MarkEnqueuedShowsTheInFlightRangeAsEnqueued) {
  Job job = insert("acme");
  ingest(job, email_entries(testing::numbered_emails(10)));
  // Seqs 0-3 final, cursor at 4; dispatch takes 4-7 (horizon 8).
  JobCounters d;
  std::vector<StateChange> done;
  for (std::uint64_t seq = 0; seq < 4; ++seq) {
    count_transition(d, RecipientStatus::pending, RecipientStatus::sent);
    done.push_back(change(seq, RecipientStatus::sent));
  }
  ASSERT_TRUE(store_->commit_states(job.key, done, d, 4, true).ok());
  d = {};
  for (int i = 0; i < 4; ++i) count_transition(d, RecipientStatus::pending, RecipientStatus::enqueued);
  ASSERT_TRUE(store_->mark_enqueued(job.key, 8, kBaseMs + 5, d, true).ok());

  auto p = page(job, 0, 100);
  ASSERT_EQ(p.items.size(), 10u);
  for (std::uint64_t seq = 0; seq < 10; ++seq) {
    const auto& st = p.items[seq].state;
    auto expected = seq < 4 ? RecipientStatus::sent : seq < 8 ? RecipientStatus::enqueued : RecipientStatus::pending;
    EXPECT_EQ(st.status, expected) << seq;
    if (expected == RecipientStatus::enqueued) {
      EXPECT_EQ(st.updated_at, kBaseMs + 5);
    }
  }
  // The status filter and single lookups see the same.
  auto enqueued = page(job, 0, 100, RecipientStatus::enqueued);
  ASSERT_EQ(enqueued.items.size(), 4u);
  EXPECT_EQ(enqueued.items.front().recipient.seq, 4u);
  EXPECT_EQ(page(job, 0, 100, RecipientStatus::pending).items.size(), 2u);
  EXPECT_EQ(store_->find_recipient(job.key, 5).value()->state.status, RecipientStatus::enqueued);
  EXPECT_EQ(store_->find_recipient(job.key, 8).value()->state.status, RecipientStatus::pending);
  auto c = counters(job);
  EXPECT_EQ(c[Counter::enqueued], 4);
  EXPECT_EQ(c[Counter::pending], 2);
  expect_counter_invariants(c);

  // A state written for one of them wins; moving the cursor past the rest
  // (their outcomes committed) ends the range.
  std::vector<StateChange> outcome{change(4, RecipientStatus::failed)};
  d = {};
  count_transition(d, RecipientStatus::enqueued, RecipientStatus::failed);
  ASSERT_TRUE(store_->commit_states(job.key, outcome, d, std::nullopt, true).ok());
  EXPECT_EQ(store_->find_recipient(job.key, 4).value()->state.status, RecipientStatus::failed);
  EXPECT_EQ(store_->find_recipient(job.key, 5).value()->state.status, RecipientStatus::enqueued);
  outcome = {change(5, RecipientStatus::sent), change(6, RecipientStatus::sent), change(7, RecipientStatus::sent)};
  d = {};
  for (int i = 0; i < 3; ++i) count_transition(d, RecipientStatus::enqueued, RecipientStatus::sent);
  ASSERT_TRUE(store_->commit_states(job.key, outcome, d, 8, true).ok());
  EXPECT_TRUE(page(job, 0, 100, RecipientStatus::enqueued).items.empty());
  c = counters(job);
  EXPECT_EQ(c[Counter::enqueued], 0);
  EXPECT_EQ(c[Counter::sent], 7);
  expect_counter_invariants(c);
  // A cursor beyond the horizon (a cancelled job swept) leaves no range either.
  ASSERT_TRUE(store_->commit_states(job.key, {}, {}, 10, true).ok());
  EXPECT_EQ(store_->find_recipient(job.key, 9).value()->state.status, RecipientStatus::pending);
}

// ---- state runs (state_runs.h) ---------------------------------------------

TEST_F(RocksStoreTest, StateRunsReadLikeStatesOfTheirOwn) {
  // Two jobs, so a run lookup that strays into the other job's keys shows.
  Job a = insert("acme"), b = insert("acme");
  ingest(a, email_entries(testing::numbered_emails(50)));
  ingest(b, email_entries(testing::numbered_emails(12)));
  // A: 0-39 SENT and 40-44 FAILED with one error (two runs); cursor 45.
  std::vector<StateChange> changes;
  JobCounters d;
  for (std::uint64_t seq = 0; seq < 45; ++seq) {
    changes.push_back(seq < 40 ? change(seq, RecipientStatus::sent)
                               : change(seq, RecipientStatus::failed, 2, "bounced"));
    count_transition(d, RecipientStatus::pending, changes.back().state.status);
  }
  ASSERT_TRUE(store_->commit_states(a.key, changes, d, 45, true).ok());
  // B: 2-11 SENT.
  changes.clear();
  d = {};
  for (std::uint64_t seq = 2; seq < 12; ++seq) {
    changes.push_back(change(seq, RecipientStatus::sent));
    count_transition(d, RecipientStatus::pending, RecipientStatus::sent);
  }
  ASSERT_TRUE(store_->commit_states(b.key, changes, d, std::nullopt, true).ok());

  auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    auto p = page(a, 0, 100);
    ASSERT_EQ(p.items.size(), 50u);
    for (std::uint64_t seq = 0; seq < 50; ++seq) {
      const auto& st = p.items[seq].state;
      if (seq == 7) {
        EXPECT_EQ(st.status, RecipientStatus::delivered);  // its own record wins
      } else if (seq < 40) {
        EXPECT_EQ(st.status, RecipientStatus::sent) << seq;
        EXPECT_EQ(st.attempts, 1u);
        EXPECT_EQ(st.updated_at, kBaseMs + 1000);
      } else if (seq < 45) {
        EXPECT_EQ(st.status, RecipientStatus::failed) << seq;
        EXPECT_EQ(st.attempts, 2u);
        EXPECT_EQ(st.error_code, "bounced");
      } else {
        EXPECT_EQ(st.status, RecipientStatus::pending) << seq;
      }
    }
    // A page that starts inside a run, and one that starts between runs.
    auto mid = page(a, 20, 5);
    ASSERT_EQ(mid.items.size(), 5u);
    EXPECT_EQ(mid.items[0].recipient.seq, 20u);
    EXPECT_EQ(mid.items[4].state.status, RecipientStatus::sent);
    EXPECT_EQ(mid.next_seq, 25u);
    auto across = page(a, 38, 4);
    ASSERT_EQ(across.items.size(), 4u);
    EXPECT_EQ(across.items[1].state.status, RecipientStatus::sent);
    EXPECT_EQ(across.items[2].state.status, RecipientStatus::failed);
    auto failed = page(a, 0, 100, RecipientStatus::failed);
    ASSERT_EQ(failed.items.size(), 5u);
    EXPECT_EQ(failed.items[0].recipient.seq, 40u);
    EXPECT_EQ(page(a, 0, 100, RecipientStatus::sent).items.size(), 39u);
    EXPECT_EQ(page(a, 0, 100, RecipientStatus::pending).items.size(), 5u);
    EXPECT_EQ(store_->find_recipient(a.key, 0).value()->state.status, RecipientStatus::sent);
    EXPECT_EQ(store_->find_recipient(a.key, 39).value()->state.status, RecipientStatus::sent);
    EXPECT_EQ(store_->find_recipient(a.key, 7).value()->state.status, RecipientStatus::delivered);
    EXPECT_EQ(store_->find_recipient(a.key, 44).value()->state.error_code, "bounced");
    EXPECT_EQ(store_->find_recipient(a.key, 45).value()->state.status, RecipientStatus::pending);
    // B's runs are B's alone.
    auto pb = page(b, 0, 100);
    ASSERT_EQ(pb.items.size(), 12u);
    EXPECT_EQ(pb.items[0].state.status, RecipientStatus::pending);
    EXPECT_EQ(pb.items[1].state.status, RecipientStatus::pending);
    for (std::uint64_t seq = 2; seq < 12; ++seq) EXPECT_EQ(pb.items[seq].state.status, RecipientStatus::sent);
    EXPECT_EQ(store_->find_recipient(b.key, 1).value()->state.status, RecipientStatus::pending);
    EXPECT_EQ(store_->find_recipient(b.key, 11).value()->state.status, RecipientStatus::sent);
  };
  // A receipt for one recipient of a run: a record of its own.
  std::vector<StateChange> receipt{change(7, RecipientStatus::delivered)};
  d = {};
  count_transition(d, RecipientStatus::sent, RecipientStatus::delivered);
  ASSERT_TRUE(store_->commit_states(a.key, receipt, d, std::nullopt, true).ok());
  check("in the memtables");
  ASSERT_TRUE(store_->compact().ok());
  check("after compaction");
  store_.reset();
  store_ = open_store(dir_);
  ASSERT_TRUE(store_);
  check("after reopening");
}

TEST_F(RocksStoreTest, ARunReplacesEarlierStateRecordsOfItsRecipients) {
  // States written one by one (as an older release wrote ENQUEUED), then a
  // run over some of them: the run's state shows, the others keep theirs.
  Job job = insert("acme");
  ingest(job, email_entries(testing::numbered_emails(20)));
  std::vector<StateChange> enqueued;
  JobCounters d;
  for (std::uint64_t seq = 0; seq < 20; ++seq) {
    enqueued.push_back(change(seq, RecipientStatus::enqueued));
    count_transition(d, RecipientStatus::pending, RecipientStatus::enqueued);
  }
  ASSERT_TRUE(store_->commit_states(job.key, enqueued, d, std::nullopt, true).ok());
  std::vector<StateChange> sent;
  d = {};
  for (std::uint64_t seq = 5; seq < 15; ++seq) {
    sent.push_back(change(seq, RecipientStatus::sent));
    count_transition(d, RecipientStatus::enqueued, RecipientStatus::sent);
  }
  ASSERT_TRUE(store_->commit_states(job.key, sent, d, std::nullopt, true).ok());
  auto p = page(job, 0, 100);
  ASSERT_EQ(p.items.size(), 20u);
  for (std::uint64_t seq = 0; seq < 20; ++seq)
    EXPECT_EQ(p.items[seq].state.status,
              seq >= 5 && seq < 15 ? RecipientStatus::sent : RecipientStatus::enqueued)
        << seq;
  EXPECT_EQ(page(job, 0, 100, RecipientStatus::enqueued).items.size(), 10u);
  EXPECT_EQ(store_->find_recipient(job.key, 14).value()->state.status, RecipientStatus::sent);
  EXPECT_EQ(store_->find_recipient(job.key, 15).value()->state.status, RecipientStatus::enqueued);
  auto c = counters(job);
  EXPECT_EQ(c[Counter::sent], 10);
  EXPECT_EQ(c[Counter::enqueued], 10);
  expect_counter_invariants(c);
}

TEST_F(RocksStoreTest, CompactKeepsEverythingReadable) {
  // Two versions of a state (ENQUEUED, then SENT): compaction keeps the last.
  Job job = insert("acme");
  ingest(job, email_entries(testing::numbered_emails(100)));
  JobCounters d;
  std::vector<StateChange> changes;
  for (std::uint64_t seq = 0; seq < 10; ++seq) {
    count_transition(d, RecipientStatus::pending, RecipientStatus::enqueued);
    changes.push_back(change(seq, RecipientStatus::enqueued));
  }
  ASSERT_TRUE(store_->commit_states(job.key, changes, d, 10, true).ok());
  d = {};
  for (auto& c : changes) {
    count_transition(d, RecipientStatus::enqueued, RecipientStatus::sent);
    c.state.status = RecipientStatus::sent;
  }
  ASSERT_TRUE(store_->commit_states(job.key, changes, d, std::nullopt, true).ok());

  auto r = store_->compact();
  ASSERT_TRUE(r.ok()) << r.error().message;

  auto found = store_->find_job(job.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  auto c = counters(job);
  EXPECT_EQ(c[Counter::unique], 100);
  EXPECT_EQ(c[Counter::sent], 10);
  EXPECT_EQ(c[Counter::pending], 90);
  expect_counter_invariants(c);
  EXPECT_EQ(store_->dispatch_cursor(job.key).value(), 10u);
  auto p = page(job, 0, 200);
  ASSERT_EQ(p.items.size(), 100u);
  EXPECT_EQ(p.items[0].recipient.email, testing::numbered_email(0));
  EXPECT_EQ(p.items[9].state.status, RecipientStatus::sent);
  EXPECT_EQ(p.items[10].state.status, RecipientStatus::pending);
  // Dedupe keys survive too: the same users again are duplicates.
  auto again = ingest(job, email_entries(testing::numbered_emails(100)));
  EXPECT_EQ(again.duplicates, 100);
  // The data is in SST files now, counted per column family.
  std::uint64_t recipient_bytes = 0;
  for (const auto& f : store_->family_sizes())
    if (f.name == "recipients") recipient_bytes = f.sst_bytes;
  EXPECT_GT(recipient_bytes, 0u);
}

// ---- templates --------------------------------------------------------------

Template make_template(std::string tenant, std::string id, std::string body) {
  Template t;
  t.tenant = std::move(tenant);
  t.id = std::move(id);
  t.content.base.sms = SmsContent{std::move(body)};
  t.created_at = t.updated_at = kBaseMs;
  return t;
}

TEST_F(RocksStoreTest, TemplatesPutFindOverwriteDelete) {
  ASSERT_TRUE(store_->put_template(make_template("acme", "welcome", "v1")).ok());
  auto t = store_->find_template("acme", "welcome");
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->content.base.sms->body, "v1");

  ASSERT_TRUE(store_->put_template(make_template("acme", "welcome", "v2")).ok());
  t = store_->find_template("acme", "welcome");
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->content.base.sms->body, "v2");

  auto other = store_->find_template("globex", "welcome");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());

  auto deleted = store_->delete_template("acme", "welcome");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  auto again = store_->delete_template("acme", "welcome");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  t = store_->find_template("acme", "welcome");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_value());
}

TEST_F(RocksStoreTest, TemplatesListInIdOrderWithPagingAndTenantIsolation) {
  for (const char* id : {"c", "a", "b", "d"})
    ASSERT_TRUE(store_->put_template(make_template("acme", id, id)).ok());
  ASSERT_TRUE(store_->put_template(make_template("acme2", "a", "other")).ok());
  ASSERT_TRUE(store_->put_template(make_template("acm", "z", "other")).ok());

  auto names = [](const std::vector<Template>& ts) {
    std::vector<std::string> out;
    for (const auto& t : ts) out.push_back(t.id);
    return out;
  };
  auto all = store_->list_templates("acme", "", 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(names(*all), (std::vector<std::string>{"a", "b", "c", "d"}));
  for (const auto& t : *all) EXPECT_EQ(t.tenant, "acme");

  auto first = store_->list_templates("acme", "", 2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(names(*first), (std::vector<std::string>{"a", "b"}));
  auto rest = store_->list_templates("acme", "b", 2);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(names(*rest), (std::vector<std::string>{"c", "d"}));
  auto end = store_->list_templates("acme", "d", 2);
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->empty());
  // after_id need not exist.
  auto between = store_->list_templates("acme", "bb", 10);
  ASSERT_TRUE(between.ok());
  EXPECT_EQ(names(*between), (std::vector<std::string>{"c", "d"}));
}

// ---- idempotency ------------------------------------------------------------

TEST_F(RocksStoreTest, IdempotentAnswersAreFoundUntilTheyExpire) {
  IdempotentAnswer a{"hash-1", 201, R"({"id":"job_x"})", kBaseMs + 1000};
  ASSERT_TRUE(store_->put_answer("acme", "key-1", a).ok());

  auto found = store_->find_answer("acme", "key-1", kBaseMs);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->request_hash, "hash-1");
  EXPECT_EQ((*found)->status, 201);
  EXPECT_EQ((*found)->body, R"({"id":"job_x"})");
  EXPECT_EQ((*found)->expires_at, kBaseMs + 1000);

  for (std::int64_t now : {kBaseMs + 1000, kBaseMs + 5000}) {
    auto expired = store_->find_answer("acme", "key-1", now);
    ASSERT_TRUE(expired.ok());
    EXPECT_FALSE(expired->has_value()) << "now = expires_at + " << now - (kBaseMs + 1000);
  }
  auto other_tenant = store_->find_answer("globex", "key-1", kBaseMs);
  ASSERT_TRUE(other_tenant.ok());
  EXPECT_FALSE(other_tenant->has_value());
  auto other_key = store_->find_answer("acme", "key-2", kBaseMs);
  ASSERT_TRUE(other_key.ok());
  EXPECT_FALSE(other_key->has_value());
}

TEST_F(RocksStoreTest, IdempotentAnswerWithEmptyAndBinaryParts) {
  IdempotentAnswer a{"", 204, std::string("\0\x01\xff", 3), kBaseMs + 1};
  ASSERT_TRUE(store_->put_answer("acme", "k", a).ok());
  auto found = store_->find_answer("acme", "k", kBaseMs);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->request_hash, "");
  EXPECT_EQ((*found)->status, 204);
  EXPECT_EQ((*found)->body, a.body);
}

}  // namespace
}  // namespace crier
