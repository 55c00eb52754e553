// engine/job_events: the event each stored action is reported as, and the
// status array size that metrics index by.
#include "engine/job_events.h"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(JobEventsTest, ACancelWithRecipientsLeftIsCancellingThenItsSweepIsCancelled) {
  EXPECT_EQ(event_of(JobAction::cancel, JobStatus::cancelling), JobEvent::cancelling);
  EXPECT_EQ(event_of(JobAction::cancel, JobStatus::cancelled), JobEvent::cancelled) << "nothing left to sweep";
  EXPECT_EQ(event_of(JobAction::finish, JobStatus::cancelled), JobEvent::cancelled)
      << "the end of a sweep is not a failure";
  EXPECT_EQ(event_of(JobAction::finish, JobStatus::failed), JobEvent::failed);
  EXPECT_EQ(event_of(JobAction::finish, JobStatus::partial), JobEvent::partial);
  EXPECT_EQ(to_string(JobEvent::cancelling), "cancelling");
}

TEST(JobEventsTest, EveryStatusHasASlot) {
  for (JobStatus s : {JobStatus::created, JobStatus::scheduled, JobStatus::processing, JobStatus::paused,
                      JobStatus::completed, JobStatus::partial, JobStatus::failed, JobStatus::cancelled,
                      JobStatus::cancelling})
    EXPECT_LT(static_cast<std::size_t>(s), kJobStatusCount) << to_string(s);
}

}  // namespace
}  // namespace crier
