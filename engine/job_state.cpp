#include "engine/job_state.h"

#include <fmt/format.h>

namespace crier {

std::string_view to_string(JobAction a) {
  switch (a) {
    case JobAction::run: return "run";
    case JobAction::start: return "start";
    case JobAction::pause: return "pause";
    case JobAction::resume: return "resume";
    case JobAction::cancel: return "cancel";
    case JobAction::finish: return "finish";
  }
  return "?";
}

JobStatus outcome(const JobCounters& c) {
  std::int64_t failed = c[Counter::failed];
  std::int64_t succeeded = c[Counter::sent] + c[Counter::delivered];
  if (failed == 0) return JobStatus::completed;
  if (succeeded == 0) return JobStatus::failed;
  return JobStatus::partial;
}

Result<JobStatus> next_status(const Job& job, JobAction action, std::int64_t now_ms,
                              const JobCounters& counters) {
  const JobStatus s = job.status;
  auto illegal = [&]() -> Result<JobStatus> {
    return make_error(ErrorKind::conflict, "invalid_state_transition",
                      fmt::format("cannot {} a job that is {}", to_string(action), to_string(s)));
  };
  switch (action) {
    case JobAction::run:
      if (s != JobStatus::created) return illegal();
      if (job.spec.schedule_at && *job.spec.schedule_at > now_ms) return JobStatus::scheduled;
      return JobStatus::processing;
    case JobAction::start:
      if (s != JobStatus::scheduled) return illegal();
      return JobStatus::processing;
    case JobAction::pause:
      if (s != JobStatus::processing) return illegal();
      return JobStatus::paused;
    case JobAction::resume:
      if (s != JobStatus::paused) return illegal();
      return JobStatus::processing;
    case JobAction::cancel:
      if (is_final(s) || s == JobStatus::cancelling) return illegal();
      return counters.outstanding() > 0 ? JobStatus::cancelling : JobStatus::cancelled;
    case JobAction::finish:
      if (s != JobStatus::processing && s != JobStatus::cancelling) return illegal();
      if (counters.outstanding() > 0)
        return make_error(ErrorKind::conflict, "recipients_outstanding",
                          fmt::format("{} recipients are not final yet", counters.outstanding()));
      return s == JobStatus::cancelling ? JobStatus::cancelled : outcome(counters);
  }
  return illegal();
}

}  // namespace crier
