// The server's one metrics registry, served as GET /metrics in Prometheus'
// text format (0.0.4), named the way Prometheus' client libraries name
// things: `crier_` prefix, `_total` counters, `_seconds` and `_bytes` units,
// a HELP and a TYPE line per family.
//
// Hot counters are plain atomics bumped with relaxed ordering where the
// event happens (a scrape may see one counter a little ahead of another,
// never a torn or lost count), and every label set is a slot chosen by
// index, not by formatting or looking up a string: nothing on a hot path
// allocates or locks. Text is only made at scrape time. Other layers'
// numbers (dispatch, storage) come in as sources that write their families
// at scrape time, so the registry depends on none of them.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/job_events.h"

namespace crier::api {

using Label = std::pair<std::string_view, std::string_view>;

// Writes one exposition: families (HELP, TYPE) then their samples.
class MetricsWriter {
 public:
  // type: "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::span<const Label> labels, double value);
  void sample(std::string_view name, std::span<const Label> labels, std::uint64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value) {
    sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  std::string take() { return std::move(out_); }

 private:
  void labels(std::span<const Label> labels);
  std::string out_;
};

// A monotonic count, or (with sub) a gauge of things in progress.
class Counter {
 public:
  void add(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::uint64_t n = 1) { v_.fetch_sub(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// A level that goes up and down (jobs in a status).
class Gauge {
 public:
  void add(std::int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Durations in fixed buckets (seconds), as a Prometheus histogram.
class DurationHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  void observe(std::chrono::nanoseconds d);
  // Writes name_bucket{...,le}, name_sum and name_count (the family line is
  // the caller's).
  void write(MetricsWriter& w, std::string_view name, std::span<const Label> labels) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1>
      buckets_{};  // not cumulative; last: +Inf
  std::atomic<std::uint64_t> sum_ns_{0}, count_{0};
};

// HTTP requests by route pattern (route_pattern.h), method and status, and
// their durations by route and method.
class HttpMetrics {
 public:
  static constexpr std::array<std::string_view, 8> kMethods = {
      "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
  // The statuses the server answers with; any other counts under its class
  // ("2xx" ... "5xx"), so the label stays bounded whatever a handler does.
  static constexpr std::array<int, 36> kStatuses = {
      200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 402, 403, 404, 405, 406, 408, 409, 410,
      411, 412, 413, 414, 415, 416, 417, 422, 425, 428, 429, 431, 500, 501, 502, 503, 504, 507};
  static constexpr std::size_t kStatusSlots = kStatuses.size() + 5;

  HttpMetrics();
  void record(std::string_view method, std::string_view path, int status,
              std::chrono::nanoseconds took, std::uint64_t bytes_in, std::uint64_t bytes_out);
  void write(MetricsWriter& w) const;

 private:
  std::size_t slot(std::size_t route, std::size_t method) const {
    return route * kMethods.size() + method;
  }
  // Atomics do not move: arrays sized once.
  std::unique_ptr<Counter[]> requests_;             // [route][method][status slot]
  std::unique_ptr<DurationHistogram[]> durations_;  // [route][method]
  Counter bytes_in_, bytes_out_;
};

// The event streams (GET /v1/jobs/{id}/events), counted by the watchers
// and tickers (job_watch.h).
enum class SseEvent : std::uint8_t { progress, status, end, keep_alive };
inline constexpr std::size_t kSseEventCount = 4;
struct SseMetrics {
  Gauge connections;  // streams open
  Counter ticks;      // job reads by the tickers, one per watched job per tick
  std::array<Counter, kSseEventCount> events_sent;
  Counter progress_dropped;  // snapshots a slow watcher never got (a newer one replaced it)
};

class Metrics {
 public:
  HttpMetrics http;
  std::array<Counter, kJobEventCount> job_events;
  // Jobs by their current status: seeded from the store at start-up, then
  // moved by each job event's from → to.
  std::array<Gauge, kJobStatusCount> jobs_by_status;
  Counter users_accepted, users_duplicate, users_rejected;
  SseMetrics sse;

  // A source writes its own families at scrape time (dispatch, storage).
  using Source = std::function<void(MetricsWriter&)>;
  void add_source(Source source);
  // The whole exposition.
  std::string render() const;

 private:
  mutable std::mutex sources_mu_;
  std::vector<Source> sources_;
};

}  // namespace crier::api
