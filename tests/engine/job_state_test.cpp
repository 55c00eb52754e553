// The job state machine, exhaustively: every (status, action) pair is either
// the documented transition or a conflict naming the current state.
#include "engine/job_state.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <optional>
#include <utility>

namespace crier {
namespace {

constexpr std::int64_t kNow = 1'764'064'800'000;

constexpr JobStatus kAllStatuses[] = {
    JobStatus::created,   JobStatus::scheduled, JobStatus::processing, JobStatus::paused,
    JobStatus::completed, JobStatus::partial,   JobStatus::failed,     JobStatus::cancelled,
    JobStatus::cancelling};
constexpr JobAction kAllActions[] = {JobAction::run,    JobAction::start,  JobAction::pause,
                                     JobAction::resume, JobAction::cancel, JobAction::finish};

Job job_in(JobStatus s) {
  Job job;
  job.status = s;
  return job;
}

JobCounters counters(std::int64_t sent, std::int64_t delivered, std::int64_t failed,
                     std::int64_t skipped = 0) {
  JobCounters c;
  c[Counter::sent] = sent;
  c[Counter::delivered] = delivered;
  c[Counter::failed] = failed;
  c[Counter::skipped] = skipped;
  return c;
}

// The legal transitions, with no schedule and counters that all succeeded.
const std::map<std::pair<JobStatus, JobAction>, JobStatus>& legal() {
  static const std::map<std::pair<JobStatus, JobAction>, JobStatus> table = {
      {{JobStatus::created, JobAction::run}, JobStatus::processing},
      {{JobStatus::created, JobAction::cancel}, JobStatus::cancelled},
      {{JobStatus::scheduled, JobAction::start}, JobStatus::processing},
      {{JobStatus::scheduled, JobAction::cancel}, JobStatus::cancelled},
      {{JobStatus::processing, JobAction::pause}, JobStatus::paused},
      {{JobStatus::processing, JobAction::cancel}, JobStatus::cancelled},
      {{JobStatus::processing, JobAction::finish}, JobStatus::completed},
      {{JobStatus::paused, JobAction::resume}, JobStatus::processing},
      {{JobStatus::paused, JobAction::cancel}, JobStatus::cancelled},
      {{JobStatus::cancelling, JobAction::finish}, JobStatus::cancelled},
  };
  return table;
}

TEST(JobStateTest, EveryStatusActionPairIsLegalOrAConflict) {
  int legal_seen = 0, illegal_seen = 0;
  for (JobStatus s : kAllStatuses) {
    for (JobAction a : kAllActions) {
      SCOPED_TRACE(std::string(to_string(s)) + " + " + std::string(to_string(a)));
      auto r = next_status(job_in(s), a, kNow, counters(1, 0, 0));
      auto it = legal().find({s, a});
      if (it != legal().end()) {
        ++legal_seen;
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(*r, it->second) << to_string(*r);
      } else {
        ++illegal_seen;
        ASSERT_FALSE(r.ok()) << "unexpectedly allowed, gave " << to_string(*r);
        EXPECT_EQ(r.error().kind, ErrorKind::conflict);
        EXPECT_EQ(r.error().code, "invalid_state_transition");
        // The message names the action and the current state.
        EXPECT_NE(r.error().message.find(std::string(to_string(s))), std::string::npos)
            << r.error().message;
        EXPECT_NE(r.error().message.find(std::string(to_string(a))), std::string::npos)
            << r.error().message;
      }
    }
  }
  EXPECT_EQ(legal_seen, 10);
  EXPECT_EQ(illegal_seen, 9 * 6 - 10);
}

TEST(JobStateTest, FinalStatesAcceptNoAction) {
  for (JobStatus s : kAllStatuses) {
    if (!is_final(s)) continue;
    for (JobAction a : kAllActions) EXPECT_FALSE(next_status(job_in(s), a, kNow, {}).ok());
  }
}

TEST(JobStateTest, RunWithFutureScheduleGoesToScheduled) {
  Job job = job_in(JobStatus::created);
  job.spec.schedule_at = kNow + 60'000;
  auto r = next_status(job, JobAction::run, kNow, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, JobStatus::scheduled);
}

TEST(JobStateTest, RunWithPastOrPresentScheduleGoesToProcessing) {
  for (std::int64_t at : {kNow - 60'000, kNow}) {
    Job job = job_in(JobStatus::created);
    job.spec.schedule_at = at;
    auto r = next_status(job, JobAction::run, kNow, {});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, JobStatus::processing) << "schedule_at - now = " << at - kNow;
  }
}

TEST(JobStateTest, FinishPicksTheOutcomeFromTheCounters) {
  struct Case {
    JobCounters c;
    JobStatus want;
  };
  const Case cases[] = {
      {counters(10, 0, 0), JobStatus::completed},
      {counters(0, 10, 0), JobStatus::completed},
      {counters(4, 5, 1), JobStatus::partial},
      {counters(0, 0, 10), JobStatus::failed},
      {counters(0, 0, 3, 7), JobStatus::failed},  // skipped users are not successes
      {counters(0, 0, 0, 5), JobStatus::completed},
      {counters(0, 0, 0), JobStatus::completed},  // an empty job completes
  };
  for (const auto& tc : cases) {
    EXPECT_EQ(outcome(tc.c), tc.want) << to_string(tc.want);
    auto r = next_status(job_in(JobStatus::processing), JobAction::finish, kNow, tc.c);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, tc.want);
  }
}

TEST(JobStateTest, StatusNamesRoundTripCaseInsensitively) {
  for (JobStatus s : kAllStatuses) {
    std::string name(to_string(s));
    auto parsed = parse_job_status(name);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(*parsed, s);
    std::string lower;
    for (char c : name)
      lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    EXPECT_EQ(parse_job_status(lower), s) << lower;
  }
  EXPECT_EQ(to_string(JobStatus::completed), "COMPLETED");
  EXPECT_FALSE(parse_job_status("DONE").has_value());
}

// A cancel with recipients still waiting is not final yet: CANCELLING, and
// CANCELLED only through `finish` once nothing is outstanding, so a final
// status never shows counters that still move.
TEST(JobStateTest, CancelWithRecipientsWaitingIsCancellingUntilTheyAreSwept) {
  JobCounters waiting = counters(3, 0, 0);
  waiting[Counter::pending] = 5;
  waiting[Counter::enqueued] = 2;
  for (JobStatus s : {JobStatus::created, JobStatus::scheduled, JobStatus::processing, JobStatus::paused}) {
    SCOPED_TRACE(to_string(s));
    auto r = next_status(job_in(s), JobAction::cancel, kNow, waiting);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, JobStatus::cancelling);
    EXPECT_FALSE(is_final(*r));
  }
  auto early = next_status(job_in(JobStatus::cancelling), JobAction::finish, kNow, waiting);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, "recipients_outstanding");
  auto again = next_status(job_in(JobStatus::cancelling), JobAction::cancel, kNow, waiting);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "invalid_state_transition");
  auto done = next_status(job_in(JobStatus::cancelling), JobAction::finish, kNow, counters(3, 0, 0));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done, JobStatus::cancelled);
  EXPECT_EQ(to_string(JobStatus::cancelling), "CANCELLING");
  EXPECT_EQ(parse_job_status("cancelling"), JobStatus::cancelling);
}

}  // namespace
}  // namespace crier
