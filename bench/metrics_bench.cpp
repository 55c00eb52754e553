// What metrics add to the hot paths, measured on the real types: per message
// of a dispatch chunk (the in-flight gauge around the send, the outcome
// tally and its flush into the provider's slots: exactly what
// Dispatcher::send_and_commit does), per HTTP request (HttpMetrics::record),
// and a scrape. Threads(2) shares one provider's slots between two threads,
// as two dispatch lanes do. docs/benchmarks.md compares the per-message cost
// with dispatch to null's CPU per message (the ≤ 2 % budget).
#include <benchmark/benchmark.h>

#include "api/metrics.h"
#include "workers/dispatch_metrics.h"

namespace {
using namespace crier;

constexpr std::size_t kChunk = 250;  // the dispatcher's largest chunk

ProviderMetrics& shared_provider() {
  static ProviderMetrics m;
  return m;
}

void BM_MetricsDispatchChunk(benchmark::State& state) {
  ProviderMetrics& m = shared_provider();
  for (auto _ : state) {
    m.in_flight.fetch_add(static_cast<std::int64_t>(kChunk), std::memory_order_relaxed);
    benchmark::ClobberMemory();  // the send happens here
    m.in_flight.fetch_sub(static_cast<std::int64_t>(kChunk), std::memory_order_relaxed);
    AttemptTally tally;
    for (std::size_t k = 0; k < kChunk; ++k) {
      tally.count(Channel::email, AttemptOutcome::sent);
      benchmark::DoNotOptimize(tally);
    }
    tally.flush(m);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kChunk));
}
BENCHMARK(BM_MetricsDispatchChunk)->Threads(1)->Threads(2)->UseRealTime();

api::Metrics& shared_registry() {
  static api::Metrics m;
  return m;
}

void BM_MetricsHttpRecord(benchmark::State& state) {
  api::Metrics& m = shared_registry();
  for (auto _ : state)
    m.http.record("GET", "/v1/jobs/job_01JEXAMPLE0000000000000000", 200,
                  std::chrono::microseconds(800), 0, 420);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MetricsHttpRecord)->Threads(1)->Threads(2)->UseRealTime();

void BM_MetricsRender(benchmark::State& state) {
  api::Metrics m;
  for (const char* path :
       {"/v1/jobs", "/v1/jobs/a", "/v1/jobs/a/users", "/v1/jobs/a/run", "/metrics"})
    for (int status : {200, 201, 404, 500})
      m.http.record("GET", path, status, std::chrono::milliseconds(2), 0, 10);
  for (auto _ : state) benchmark::DoNotOptimize(m.render());
}
BENCHMARK(BM_MetricsRender);

}  // namespace
