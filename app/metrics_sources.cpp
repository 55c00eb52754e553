#include "app/metrics_sources.h"

#include <fmt/format.h>

#include "api/log_line.h"

namespace crier {
namespace {

constexpr std::array<std::string_view, kAttemptOutcomeCount> kOutcomes = {"sent", "retried",
                                                                          "failed"};
constexpr std::array<std::string_view, kRateLevelCount> kLevels = {"job", "tenant", "provider"};

std::uint64_t load(const std::atomic<std::uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

}  // namespace

void add_dispatch_metrics(api::Metrics& metrics, const Dispatcher& dispatcher) {
  metrics.add_source([&dispatcher](api::MetricsWriter& w) {
    w.family(
        "crier_messages_total", "counter",
        "Delivery attempts by channel, provider and outcome: sent (accepted by the provider), "
        "retried (a "
        "transient failure, queued for another attempt), failed (permanent, or out of attempts)");
    dispatcher.for_each_provider_metrics([&](std::string_view provider, const ProviderMetrics& m) {
      for (std::size_t c = 0; c < kChannelCount; ++c)
        for (std::size_t o = 0; o < kAttemptOutcomeCount; ++o)
          if (auto v = load(m.attempts[c][o]))
            w.sample("crier_messages_total",
                     {{"channel", to_string(static_cast<Channel>(c))},
                      {"provider", provider},
                      {"outcome", kOutcomes[o]}},
                     v);
    });
    w.family("crier_retries_total", "counter",
             "Delivery attempts that were a recipient's second or later, by provider");
    dispatcher.for_each_provider_metrics([&](std::string_view provider, const ProviderMetrics& m) {
      w.sample("crier_retries_total", {{"provider", provider}}, load(m.retries));
    });
    w.family("crier_provider_in_flight_requests", "gauge",
             "Messages handed to a provider and not answered yet, by provider");
    dispatcher.for_each_provider_metrics([&](std::string_view provider, const ProviderMetrics& m) {
      w.sample("crier_provider_in_flight_requests", {{"provider", provider}},
               static_cast<double>(m.in_flight.load(std::memory_order_relaxed)));
    });
    const auto& d = dispatcher.metrics();
    w.family(
        "crier_rate_limit_waits_total", "counter",
        "Chunks of messages that waited for rate-limit tokens, by level (job, tenant, provider)");
    for (std::size_t l = 0; l < kRateLevelCount; ++l)
      w.sample("crier_rate_limit_waits_total", {{"level", kLevels[l]}}, load(d.rate_waits[l]));
    w.family("crier_rate_limit_wait_seconds_total", "counter",
             "Seconds chunks of messages waited for rate-limit tokens, by level");
    for (std::size_t l = 0; l < kRateLevelCount; ++l)
      w.sample("crier_rate_limit_wait_seconds_total", {{"level", kLevels[l]}},
               static_cast<double>(load(d.rate_wait_ns[l])) / 1e9);
    w.family("crier_dispatch_running_jobs", "gauge",
             "Jobs with a dispatch loop running (PROCESSING, or CANCELLED being swept)");
    w.sample("crier_dispatch_running_jobs", {}, static_cast<double>(dispatcher.running_jobs()));
  });
}

void add_store_metrics(api::Metrics& metrics, const RocksStore& store) {
  metrics.add_source([&store](api::MetricsWriter& w) {
    auto s = store.stats();
    w.family("crier_rocksdb_sst_bytes", "gauge", "Live SST file bytes, by column family");
    for (const auto& f : s.families)
      w.sample("crier_rocksdb_sst_bytes", {{"column_family", f.name}},
               static_cast<double>(f.sst_bytes));
    w.family("crier_rocksdb_memtable_bytes", "gauge",
             "Bytes in memtables (active, immutable, pinned), by column family");
    for (const auto& f : s.families)
      w.sample("crier_rocksdb_memtable_bytes", {{"column_family", f.name}},
               static_cast<double>(f.memtable_bytes));
    w.family("crier_rocksdb_pending_compaction_bytes", "gauge",
             "Bytes RocksDB estimates compaction must rewrite to bring every level under its "
             "target, by column family");
    for (const auto& f : s.families)
      w.sample("crier_rocksdb_pending_compaction_bytes", {{"column_family", f.name}},
               static_cast<double>(f.pending_compaction_bytes));
    w.family("crier_rocksdb_write_stalls_total", "counter",
             "Times RocksDB stopped or slowed writes since the store opened (too many L0 files, "
             "memtables or "
             "pending compaction bytes), by kind");
    w.sample("crier_rocksdb_write_stalls_total", {{"kind", "stop"}}, s.write_stops);
    w.sample("crier_rocksdb_write_stalls_total", {{"kind", "slowdown"}}, s.write_slowdowns);
    w.family("crier_rocksdb_write_stopped", "gauge", "1 while RocksDB stops writes, else 0");
    w.sample("crier_rocksdb_write_stopped", {}, s.write_stopped ? 1.0 : 0.0);
  });
}

Result<void> seed_job_statuses(api::Metrics& metrics, JobStore& store) {
  std::array<std::int64_t, kJobStatusCount> counts{};
  auto r =
      store.for_each_job([&](const Job& job) { ++counts[static_cast<std::size_t>(job.status)]; },
                         [](std::string_view, std::string_view) {});
  if (!r) return r;
  for (std::size_t s = 0; s < kJobStatusCount; ++s) metrics.jobs_by_status[s].add(counts[s]);
  return {};
}

void JobEventRecorder::on_job_event(const Job& job, JobEvent event, std::optional<JobStatus> from) {
  metrics_.job_events[static_cast<std::size_t>(event)].add();
  if (from) metrics_.jobs_by_status[static_cast<std::size_t>(*from)].add(-1);
  metrics_.jobs_by_status[static_cast<std::size_t>(job.status)].add(1);
  const std::string id = job.id();
  api::LogLine("job", fmt::format("job {} {}", id, to_string(event)))
      .add("job_event", to_string(event))
      .add("job_id", id)
      .add("tenant", job.tenant)
      .add("status", to_string(job.status))
      .write(spdlog::level::info);
}

void JobEventRecorder::on_users_ingested(const Job&, std::int64_t accepted, std::int64_t duplicates,
                                         std::int64_t rejected) {
  metrics_.users_accepted.add(static_cast<std::uint64_t>(accepted));
  metrics_.users_duplicate.add(static_cast<std::uint64_t>(duplicates));
  metrics_.users_rejected.add(static_cast<std::uint64_t>(rejected));
}

}  // namespace crier
