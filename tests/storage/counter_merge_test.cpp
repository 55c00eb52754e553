// Job counters: their encoding, the add merge operator, and deltas merged by
// a real RocksStore adding up across ingests and state commits.
#include "storage/counter_merge.h"

#include <gtest/gtest.h>

#include "tests/storage/store_fixture.h"

namespace crier {
namespace {

using testing::email_entries;
using testing::open_store;
using testing::TempDir;

JobCounters some_counters() {
  JobCounters c;
  for (std::size_t i = 0; i < kCounterCount; ++i)
    c.values[i] = static_cast<std::int64_t>(i * 1000 + 1);
  c[Counter::failed] = -3;  // deltas can be negative
  c[Counter::read] = std::int64_t{1} << 40;
  return c;
}

TEST(CounterEncodingTest, RoundTrips) {
  JobCounters c = some_counters();
  std::string enc = encode_counters(c);
  EXPECT_EQ(enc.size(), kCounterCount * 8);
  EXPECT_EQ(decode_counters(enc).values, c.values);
  EXPECT_TRUE(decode_counters(encode_counters({})).empty());
}

TEST(CounterEncodingTest, ShortValuesReadMissingCountersAsZero) {
  // A value written by a version with fewer counters.
  JobCounters c = some_counters();
  std::string enc = encode_counters(c).substr(0, 3 * 8);
  JobCounters back = decode_counters(enc);
  EXPECT_EQ(back[Counter::received], c[Counter::received]);
  EXPECT_EQ(back[Counter::duplicates], c[Counter::duplicates]);
  EXPECT_EQ(back[Counter::rejected], 0);
  EXPECT_EQ(back[Counter::pending], 0);
  EXPECT_EQ(back[Counter::read], 0);
}

TEST(CounterMergeOperatorTest, AddsElementWise) {
  CounterMergeOperator op;
  JobCounters a = some_counters(), b;
  b[Counter::received] = 5;
  b[Counter::failed] = 10;
  std::string ea = encode_counters(a), eb = encode_counters(b), out;
  rocksdb::Slice existing(ea);
  ASSERT_TRUE(op.Merge({}, &existing, rocksdb::Slice(eb), &out, nullptr));
  JobCounters want = a;
  want += b;
  EXPECT_EQ(decode_counters(out).values, want.values);
}

TEST(CounterMergeOperatorTest, NoExistingValueIsZero) {
  CounterMergeOperator op;
  JobCounters b = some_counters();
  std::string eb = encode_counters(b), out;
  ASSERT_TRUE(op.Merge({}, nullptr, rocksdb::Slice(eb), &out, nullptr));
  EXPECT_EQ(decode_counters(out).values, b.values);
}

TEST(CounterMergeOperatorTest, ArraysOfDifferentLengthsKeepTheLonger) {
  CounterMergeOperator op;
  JobCounters full = some_counters();
  std::string long_v = encode_counters(full), short_v = long_v.substr(0, 16), out;
  rocksdb::Slice existing(short_v);
  ASSERT_TRUE(op.Merge({}, &existing, rocksdb::Slice(long_v), &out, nullptr));
  ASSERT_EQ(out.size(), long_v.size());
  JobCounters got = decode_counters(out);
  EXPECT_EQ(got.values[0], 2 * full.values[0]);
  EXPECT_EQ(got.values[1], 2 * full.values[1]);
  EXPECT_EQ(got.values[2], full.values[2]);
}

TEST(CounterMergeInStoreTest, IngestDeltasAddUp) {
  TempDir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  Job job = testing::make_job("acme");
  ASSERT_TRUE(store->insert_job(job).ok());

  for (int batch = 0; batch < 5; ++batch) {
    auto entries = email_entries(testing::numbered_emails(10, batch));
    ASSERT_TRUE(store->ingest(job.key, entries, /*rejected=*/2, /*sync=*/false).ok());
  }
  // Re-sending the first batch: all duplicates.
  auto dup_entries = email_entries(testing::numbered_emails(10, 0));
  ASSERT_TRUE(store->ingest(job.key, dup_entries, 0, false).ok());

  auto c = store->counters(job.key);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[Counter::received], 5 * 12 + 10);
  EXPECT_EQ((*c)[Counter::unique], 50);
  EXPECT_EQ((*c)[Counter::pending], 50);
  EXPECT_EQ((*c)[Counter::rejected], 10);
  EXPECT_EQ((*c)[Counter::duplicates], 10);
  testing::expect_counter_invariants(*c);
}

TEST(CounterMergeInStoreTest, StateDeltasMergeWithIngestDeltas) {
  TempDir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  Job job = testing::make_job("acme");
  ASSERT_TRUE(store->insert_job(job).ok());
  auto entries = email_entries({"a@example.com", "b@example.com", "c@example.com"});
  ASSERT_TRUE(store->ingest(job.key, entries, 0, false).ok());

  // Many small deltas, as dispatch writes them (more than the memtable folds).
  for (std::uint64_t seq = 0; seq < 3; ++seq) {
    JobCounters to_enqueued;
    count_transition(to_enqueued, RecipientStatus::pending, RecipientStatus::enqueued);
    ASSERT_TRUE(store->commit_states(job.key, {}, to_enqueued, std::nullopt, false).ok());
    JobCounters to_sent;
    count_transition(to_sent, RecipientStatus::enqueued, RecipientStatus::sent);
    ASSERT_TRUE(store->commit_states(job.key, {}, to_sent, std::nullopt, false).ok());
  }
  for (int i = 0; i < 100; ++i) {
    JobCounters read;
    read[Counter::read] = 1;
    ASSERT_TRUE(store->commit_states(job.key, {}, read, std::nullopt, false).ok());
  }
  auto c = store->counters(job.key);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[Counter::pending], 0);
  EXPECT_EQ((*c)[Counter::enqueued], 0);
  EXPECT_EQ((*c)[Counter::sent], 3);
  EXPECT_EQ((*c)[Counter::read], 100);
  EXPECT_EQ(c->outstanding(), 0);
  testing::expect_counter_invariants(*c);
}

}  // namespace
}  // namespace crier
