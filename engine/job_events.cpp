#include "engine/job_events.h"

namespace crier {

std::string_view to_string(JobEvent e) {
  static constexpr std::array<std::string_view, kJobEventCount> kNames = {
      "created",   "scheduled", "started", "paused", "resumed",
      "cancelled", "completed", "partial", "failed",  "cancelling"};
  return kNames[static_cast<std::size_t>(e)];
}

JobEvent event_of(JobAction action, JobStatus reached) {
  switch (action) {
    case JobAction::run:
      return reached == JobStatus::scheduled ? JobEvent::scheduled : JobEvent::started;
    case JobAction::start:
      return JobEvent::started;
    case JobAction::pause:
      return JobEvent::paused;
    case JobAction::resume:
      return JobEvent::resumed;
    case JobAction::cancel:
      return reached == JobStatus::cancelling ? JobEvent::cancelling : JobEvent::cancelled;
    case JobAction::finish:
      break;
  }
  if (reached == JobStatus::cancelled) return JobEvent::cancelled;  // the sweep after a cancel is done
  if (reached == JobStatus::completed) return JobEvent::completed;
  if (reached == JobStatus::partial) return JobEvent::partial;
  return JobEvent::failed;
}

}  // namespace crier
