// Where a job's callback events wait until its callback_url has them: kept
// in the store, so a restart or a dead receiver loses none, and trimmed as
// batches are acknowledged. The notifier (workers/callback_notifier.h) is
// the only writer; each job's events are numbered by it, densely from 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ids.h"
#include "engine/result.h"

namespace crier {

struct OutboxEvent {
  std::uint64_t seq = 0;  // the job's event number
  std::string json;       // one serialised event object
};

class CallbackOutbox {
 public:
  virtual ~CallbackOutbox() = default;

  // Stores `events` as the job's events first_seq, first_seq + 1, …, and,
  // when given, `status_event_id` as the id of the job's latest job.status
  // event; in one synced batch, so after it returns they survive a crash.
  virtual Result<void> append_events(const JobKey& job, std::uint64_t first_seq, std::span<const std::string> events,
                                     std::optional<std::string_view> status_event_id) = 0;
  // Up to `limit` of the job's stored events from `from_seq` on, in order.
  virtual Result<std::vector<OutboxEvent>> read_events(const JobKey& job, std::uint64_t from_seq,
                                                       std::size_t limit) = 0;
  // Removes the job's events numbered below `end_seq` (delivered or given up).
  virtual Result<void> trim_events(const JobKey& job, std::uint64_t end_seq) = 0;
  // The job's stored events as [first, end): `end` is the number its next
  // event takes (0 before its first), and first == end when all were trimmed.
  struct Span {
    std::uint64_t first = 0, end = 0;
  };
  virtual Result<Span> event_span(const JobKey& job) = 0;
  // Every job that has stored events, in key order.
  virtual Result<std::vector<JobKey>> jobs_with_events() = 0;
  // The id of the job's latest stored job.status event; none before its first.
  virtual Result<std::optional<std::string>> last_status_event(const JobKey& job) = 0;
};

}  // namespace crier
