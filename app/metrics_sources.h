// Wires the layers' own counters into the metrics registry: each source
// reads its layer's numbers at scrape time and writes them as Prometheus
// families, so dispatch and storage know nothing of the format.
#pragma once

#include "api/metrics.h"
#include "engine/job_events.h"
#include "storage/rocks_store.h"
#include "workers/dispatcher.h"

namespace crier {

// crier_messages_total, crier_retries_total, crier_provider_in_flight_requests,
// crier_rate_limit_waits_total, crier_rate_limit_wait_seconds_total,
// crier_dispatch_running_jobs. The dispatcher must outlive the registry's use.
void add_dispatch_metrics(api::Metrics& metrics, const Dispatcher& dispatcher);
// crier_rocksdb_sst_bytes, crier_rocksdb_memtable_bytes,
// crier_rocksdb_pending_compaction_bytes, crier_rocksdb_write_stalls_total,
// crier_rocksdb_write_stopped.
void add_store_metrics(api::Metrics& metrics, const RocksStore& store);

// Seeds the jobs-by-status gauge with one pass over the stored jobs (before
// the server takes requests, so no event is counted twice). Unreadable job
// records are left out (recovery reports them).
Result<void> seed_job_statuses(api::Metrics& metrics, JobStore& store);

// Counts job events and ingested users into the registry and writes one log
// line per job event.
class JobEventRecorder final : public JobEventObserver {
 public:
  explicit JobEventRecorder(api::Metrics& metrics) : metrics_(metrics) {}
  void on_job_event(const Job& job, JobEvent event, std::optional<JobStatus> from) override;
  void on_users_ingested(const Job& job, std::int64_t accepted, std::int64_t duplicates,
                         std::int64_t rejected) override;

 private:
  api::Metrics& metrics_;
};

}  // namespace crier
