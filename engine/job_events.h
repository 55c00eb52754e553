// A job's lifecycle as events, for logs and metrics: what happened to a job
// (created, started, paused...), told after it is stored. The engine only
// names the events; what is done with them (a log line, a counter) is the
// application's business, so nothing here knows of logs or Prometheus.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/job.h"
#include "engine/job_state.h"

namespace crier {

enum class JobEvent : std::uint8_t {
  created,
  scheduled,
  started,
  paused,
  resumed,
  cancelled,
  completed,
  partial,
  failed,
  cancelling,  // a cancel that left recipients to sweep; `cancelled` follows when they are
};
inline constexpr std::size_t kJobEventCount = 10;
// JobStatus values, for arrays indexed by status (cancelling is the last).
inline constexpr std::size_t kJobStatusCount = static_cast<std::size_t>(JobStatus::cancelling) + 1;

// Lower-case names, as logs and the metrics' `event` label show them.
std::string_view to_string(JobEvent e);

// The event of a stored action: `run` that leaves the job SCHEDULED is
// `scheduled`, a scheduled `start` or an immediate `run` is `started`,
// `finish` is the final status it reached.
JobEvent event_of(JobAction action, JobStatus reached);

// Told of every stored lifecycle event and every committed ingest. Called on
// the changing thread after the write (and after the job's lock is gone);
// must be cheap and must not throw.
class JobEventObserver {
 public:
  virtual ~JobEventObserver() = default;
  // `from`: the status the job had before (none for `created`), so an
  // observer can keep jobs by status without reading them.
  virtual void on_job_event(const Job& job, JobEvent event, std::optional<JobStatus> from) = 0;
  // Users of one committed ingest batch (or job created with users):
  // accepted as new recipients, dropped as duplicates, rejected as invalid.
  virtual void on_users_ingested(const Job& job, std::int64_t accepted, std::int64_t duplicates,
                                 std::int64_t rejected) = 0;
};

// Tells several observers (the metrics and log recorder, the event streams'
// watchers), in the order they were added. Built before the service uses
// it; the observers must outlive it.
class JobEventFanout final : public JobEventObserver {
 public:
  void add(JobEventObserver* observer) { observers_.push_back(observer); }
  void on_job_event(const Job& job, JobEvent event, std::optional<JobStatus> from) override {
    for (auto* o : observers_) o->on_job_event(job, event, from);
  }
  void on_users_ingested(const Job& job, std::int64_t accepted, std::int64_t duplicates,
                         std::int64_t rejected) override {
    for (auto* o : observers_) o->on_users_ingested(job, accepted, duplicates, rejected);
  }

 private:
  std::vector<JobEventObserver*> observers_;
};

}  // namespace crier
