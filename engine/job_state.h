// The job state machine:
//   CREATED → SCHEDULED → PROCESSING ⇄ PAUSED → COMPLETED | PARTIAL | FAILED
//   CREATED, SCHEDULED, PROCESSING, PAUSED → CANCELLING → CANCELLED
//   (straight to CANCELLED when no recipient is PENDING or ENQUEUED)
// Pure: the service applies it under the job's lock.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/counters.h"
#include "engine/job.h"
#include "engine/result.h"

namespace crier {

enum class JobAction : std::uint8_t { run, start, pause, resume, cancel, finish };

std::string_view to_string(JobAction a);

// The state after `action`, or a conflict error that names the current state.
// `run` goes to SCHEDULED when the job's schedule_at is after now_ms.
// `finish` picks COMPLETED, PARTIAL or FAILED from the counters (CANCELLED
// for a CANCELLING job), and is a conflict while any recipient is still
// PENDING or ENQUEUED. `cancel` is CANCELLING while any is, so CANCELLED is
// only ever shown with counters that no longer move.
Result<JobStatus> next_status(const Job& job, JobAction action, std::int64_t now_ms,
                              const JobCounters& counters);

// The final state of a job whose recipients are all final.
JobStatus outcome(const JobCounters& counters);

}  // namespace crier
