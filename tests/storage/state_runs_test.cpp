// How a commit's state changes are split into runs and single records, and
// the run record's round trip.
#include "storage/state_runs.h"

#include <gtest/gtest.h>

namespace crier {
namespace {

StateChange sent(std::uint64_t seq, std::int64_t at = 1000) {
  StateChange c;
  c.seq = seq;
  c.state.status = RecipientStatus::sent;
  c.state.attempts = 1;
  c.state.updated_at = at;
  return c;
}

std::vector<StateChange> sent_range(std::uint64_t from, std::uint64_t to) {
  std::vector<StateChange> out;
  for (auto s = from; s < to; ++s) out.push_back(sent(s));
  return out;
}

TEST(StateRunsTest, ConsecutiveEqualFinalStatesBecomeOneRun) {
  auto changes = sent_range(10, 1010);
  auto plan = runs::plan(changes);
  ASSERT_EQ(plan.runs.size(), 1u);
  EXPECT_EQ(plan.runs[0].first, 10u);
  EXPECT_EQ(plan.runs[0].end, 1010u);
  EXPECT_EQ(plan.runs[0].change, 0u);
  EXPECT_TRUE(plan.singles.empty());
}

TEST(StateRunsTest, ShortStretchesAreWrittenOneByOne) {
  auto changes = sent_range(0, runs::kMinRun - 1);
  auto plan = runs::plan(changes);
  EXPECT_TRUE(plan.runs.empty());
  EXPECT_EQ(plan.singles.size(), runs::kMinRun - 1);
  changes = sent_range(0, runs::kMinRun);
  EXPECT_EQ(runs::plan(changes).runs.size(), 1u);
}

TEST(StateRunsTest, AGapOrADifferentStateEndsARun) {
  // 0-9 sent; 10 failed; 11-19 sent; then a gap (20 missing), 21-29 sent at
  // another time.
  auto changes = sent_range(0, 20);
  changes[10].state.status = RecipientStatus::failed;
  changes[10].state.error_code = "rejected";
  for (std::uint64_t s = 21; s < 30; ++s) changes.push_back(sent(s, 2000));
  auto plan = runs::plan(changes);
  ASSERT_EQ(plan.runs.size(), 3u);
  EXPECT_EQ(plan.runs[0].first, 0u);
  EXPECT_EQ(plan.runs[0].end, 10u);
  EXPECT_EQ(plan.runs[1].first, 11u);
  EXPECT_EQ(plan.runs[1].end, 20u);
  EXPECT_EQ(plan.runs[1].change, 11u);
  EXPECT_EQ(plan.runs[2].first, 21u);
  EXPECT_EQ(plan.runs[2].end, 30u);
  EXPECT_EQ(plan.singles, std::vector<std::size_t>{10});

  // The same error on a stretch is a run too.
  std::vector<StateChange> failed = sent_range(0, 8);
  for (auto& c : failed) {
    c.state.status = RecipientStatus::failed;
    c.state.error_code = "timeout";
    c.state.error_message = "gave up after 3 attempts";
    c.state.attempts = 3;
  }
  EXPECT_EQ(runs::plan(failed).runs.size(), 1u);
  failed[4].state.error_message = "another";
  auto split = runs::plan(failed);  // 0-3, then 4, then 5-7: too short
  ASSERT_EQ(split.runs.size(), 1u);
  EXPECT_EQ(split.runs[0].end, 4u);
  EXPECT_EQ(split.singles, (std::vector<std::size_t>{4, 5, 6, 7}));
  failed[4].state.error_message = failed[0].state.error_message;
  failed[5].state.attempts = 2;
  split = runs::plan(failed);
  ASSERT_EQ(split.runs.size(), 1u);
  EXPECT_EQ(split.runs[0].end, 5u);
}

TEST(StateRunsTest, RetriesAndNonFinalStatesStayRecipientByRecipient) {
  // Waiting for a retry, leaving the retry queue, or not final: each has a
  // record of its own (due_retries reads those).
  auto waiting = sent_range(0, 10);
  for (auto& c : waiting) {
    c.state.status = RecipientStatus::enqueued;
    c.state.next_attempt_at = 5000;
  }
  auto plan = runs::plan(waiting);
  EXPECT_TRUE(plan.runs.empty());
  EXPECT_EQ(plan.singles.size(), 10u);

  auto retried = sent_range(0, 10);
  for (auto& c : retried) c.previous_retry_at = 4000;
  EXPECT_TRUE(runs::plan(retried).runs.empty());

  auto enqueued = sent_range(0, 10);
  for (auto& c : enqueued) c.state.status = RecipientStatus::enqueued;
  EXPECT_TRUE(runs::plan(enqueued).runs.empty());

  // Every change is in exactly one place.
  auto mixed = sent_range(0, 30);
  mixed[3].previous_retry_at = 1;
  mixed[17].state.status = RecipientStatus::enqueued;
  auto p = runs::plan(mixed);
  std::vector<int> seen(mixed.size(), 0);
  for (auto i : p.singles) ++seen[i];
  for (const auto& run : p.runs)
    for (auto s = run.first; s < run.end; ++s) ++seen[run.change + (s - run.first)];
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << i;
}

TEST(StateRunsTest, RecordRoundTrips) {
  RecipientState s;
  s.status = RecipientStatus::failed;
  s.attempts = 3;
  s.updated_at = 1'764'000'000'123;
  s.error_code = "timeout";
  s.error_message = "no answer in 10 s";
  auto value = runs::encode(123'456'789'012ULL, s);
  auto d = runs::decode(value);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->end, 123'456'789'012ULL);
  EXPECT_EQ(d->state.status, s.status);
  EXPECT_EQ(d->state.attempts, 3u);
  EXPECT_EQ(d->state.updated_at, s.updated_at);
  EXPECT_EQ(d->state.error_code, s.error_code);
  EXPECT_EQ(d->state.error_message, s.error_message);
  EXPECT_FALSE(runs::decode(value.substr(0, 7)));
  EXPECT_FALSE(runs::decode(value.substr(0, 8)));
}

}  // namespace
}  // namespace crier
