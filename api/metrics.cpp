#include "api/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "api/route_pattern.h"

namespace crier::api {
namespace {

// Label values escape backslash, double quote and newline; HELP text
// backslash and newline (the text format's rules).
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

std::size_t method_index(std::string_view m) {
  for (std::size_t i = 0; i + 1 < HttpMetrics::kMethods.size(); ++i)
    if (HttpMetrics::kMethods[i] == m) return i;
  return HttpMetrics::kMethods.size() - 1;
}

std::size_t status_slot(int status) {
  const auto& known = HttpMetrics::kStatuses;
  if (auto it = std::find(known.begin(), known.end(), status); it != known.end())
    return static_cast<std::size_t>(it - known.begin());
  return known.size() + static_cast<std::size_t>(std::clamp(status / 100, 1, 5) - 1);
}

std::string status_label(std::size_t slot) {
  const auto& known = HttpMetrics::kStatuses;
  if (slot < known.size()) return std::to_string(known[slot]);
  return fmt::format("{}xx", slot - known.size() + 1);
}

}  // namespace

// ---- the writer -------------------------------------------------------------

void MetricsWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void MetricsWriter::labels(std::span<const Label> labels) {
  if (labels.empty()) return;
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    append_escaped(out_, v, true);
    out_ += '"';
  }
  out_ += '}';
}

void MetricsWriter::sample(std::string_view name, std::span<const Label> l, double value) {
  out_ += name;
  labels(l);
  out_ += ' ';
  if (std::isinf(value))
    out_ += value > 0 ? "+Inf" : "-Inf";
  else if (std::isnan(value))
    out_ += "NaN";
  else
    out_ += fmt::format("{}", value);
  out_ += '\n';
}

void MetricsWriter::sample(std::string_view name, std::span<const Label> l, std::uint64_t value) {
  out_ += name;
  labels(l);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

// ---- histograms ---------------------------------------------------------------

void DurationHistogram::observe(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  const auto at = std::lower_bound(kBounds.begin(), kBounds.end(), s) - kBounds.begin();
  buckets_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count())),
                    std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void DurationHistogram::write(MetricsWriter& w, std::string_view name,
                              std::span<const Label> labels) const {
  std::vector<Label> with_le(labels.begin(), labels.end());
  with_le.emplace_back("le", "");
  const std::string bucket = std::string(name) + "_bucket";
  // Read once: the buckets are cumulated from these, and count is their
  // sum, so the exposition is consistent even while requests go on.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < kBounds.size() ? fmt::format("{}", kBounds[i]) : std::string("+Inf");
    with_le.back().second = le;
    w.sample(bucket, with_le, cumulative);
  }
  w.sample(std::string(name) + "_sum", labels,
           static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  w.sample(std::string(name) + "_count", labels, cumulative);
}

// ---- HTTP ---------------------------------------------------------------------

HttpMetrics::HttpMetrics()
    : requests_(new Counter[route_count() * kMethods.size() * kStatusSlots]),
      durations_(new DurationHistogram[route_count() * kMethods.size()]) {}

void HttpMetrics::record(std::string_view method, std::string_view path, int status,
                         std::chrono::nanoseconds took, std::uint64_t bytes_in,
                         std::uint64_t bytes_out) {
  const std::size_t s = slot(route_index(path), method_index(method));
  requests_[s * kStatusSlots + status_slot(status)].add();
  durations_[s].observe(took);
  bytes_in_.add(bytes_in);
  bytes_out_.add(bytes_out);
}

void HttpMetrics::write(MetricsWriter& w) const {
  w.family("crier_http_requests_total", "counter",
           "HTTP requests answered, by route pattern, method and status (an unlisted status counts "
           "as its class, e.g. 5xx)");
  for (std::size_t r = 0; r < route_count(); ++r)
    for (std::size_t m = 0; m < kMethods.size(); ++m)
      for (std::size_t st = 0; st < kStatusSlots; ++st)
        if (auto v = requests_[slot(r, m) * kStatusSlots + st].value()) {
          const std::string status = status_label(st);
          w.sample("crier_http_requests_total",
                   {{"route", route_pattern(r)}, {"method", kMethods[m]}, {"status", status}}, v);
        }
  w.family("crier_http_request_duration_seconds", "histogram",
           "Time from a request's first byte to its answer written, by route pattern and method");
  for (std::size_t r = 0; r < route_count(); ++r)
    for (std::size_t m = 0; m < kMethods.size(); ++m)
      if (const auto& h = durations_[slot(r, m)]; h.count() > 0) {
        const Label labels[] = {{"route", route_pattern(r)}, {"method", kMethods[m]}};
        h.write(w, "crier_http_request_duration_seconds", labels);
      }
  w.family("crier_http_request_body_bytes_total", "counter", "Request body bytes read");
  w.sample("crier_http_request_body_bytes_total", {}, bytes_in_.value());
  w.family("crier_http_response_body_bytes_total", "counter", "Response body bytes written");
  w.sample("crier_http_response_body_bytes_total", {}, bytes_out_.value());
}

// ---- the registry -------------------------------------------------------------------

void Metrics::add_source(Source source) {
  std::lock_guard lock(sources_mu_);
  sources_.push_back(std::move(source));
}

std::string Metrics::render() const {
  MetricsWriter w;
  http.write(w);
  w.family("crier_job_events_total", "counter",
           "Job lifecycle events since the server started (created, scheduled, started, paused, "
           "resumed, "
           "cancelled, completed, partial, failed)");
  for (std::size_t e = 0; e < kJobEventCount; ++e)
    w.sample("crier_job_events_total", {{"event", to_string(static_cast<JobEvent>(e))}},
             job_events[e].value());
  w.family("crier_jobs", "gauge", "Jobs by current status (every tenant's, as stored)");
  for (std::size_t s = 0; s < kJobStatusCount; ++s) {
    std::string status(to_string(static_cast<JobStatus>(s)));
    for (auto& c : status) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    w.sample("crier_jobs", {{"status", status}}, static_cast<double>(jobs_by_status[s].value()));
  }
  w.family("crier_users_ingested_total", "counter",
           "Users received by ingest since the server started, by outcome (accepted, duplicate, "
           "rejected)");
  w.sample("crier_users_ingested_total", {{"outcome", "accepted"}}, users_accepted.value());
  w.sample("crier_users_ingested_total", {{"outcome", "duplicate"}}, users_duplicate.value());
  w.sample("crier_users_ingested_total", {{"outcome", "rejected"}}, users_rejected.value());
  w.family("crier_sse_connections", "gauge", "Event streams (GET /v1/jobs/{id}/events) open");
  w.sample("crier_sse_connections", {}, static_cast<double>(sse.connections.value()));
  w.family("crier_sse_events_sent_total", "counter",
           "Server-Sent Events handed to the streams' connections, by event (progress, status, end, "
           "keep_alive comments)");
  static constexpr std::array<std::string_view, kSseEventCount> kSseEvents = {"progress", "status", "end",
                                                                              "keep_alive"};
  for (std::size_t e = 0; e < kSseEventCount; ++e)
    w.sample("crier_sse_events_sent_total", {{"event", kSseEvents[e]}}, sse.events_sent[e].value());
  w.family("crier_sse_ticks_total", "counter",
           "Reads of a watched job by the event streams' tickers: one per job per tick, whatever the "
           "number of watchers");
  w.sample("crier_sse_ticks_total", {}, sse.ticks.value());
  w.family("crier_sse_progress_dropped_total", "counter",
           "Progress snapshots a slow watcher never got: a newer one replaced it before its connection "
           "took it");
  w.sample("crier_sse_progress_dropped_total", {}, sse.progress_dropped.value());
  std::lock_guard lock(sources_mu_);
  for (const auto& source : sources_) source(w);
  return w.take();
}

}  // namespace crier::api
