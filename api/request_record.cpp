#include "api/request_record.h"

#include <fmt/format.h>

#include "api/log_line.h"
#include "api/metrics.h"
#include "api/route_pattern.h"

namespace crier::api {

void record_request(Metrics* metrics, const ApiRequest& req, const RequestRecord& r) {
  if (metrics)
    metrics->http.record(req.method, req.path, r.status, r.took, r.bytes_in, r.bytes_out);
  // Server errors stand out; a successful read (status polls, paging,
  // probes, scrapes: most of the traffic) is logged at debug only, so the
  // default log says what changed.
  auto level = r.status >= 500 ? spdlog::level::err
               : (req.method != "GET" && req.method != "HEAD") || r.status >= 400
                   ? spdlog::level::info
                   : spdlog::level::debug;
  if (!LogLine::enabled(level)) return;
  const double ms = std::chrono::duration<double, std::milli>(r.took).count();
  LogLine("request", fmt::format("{} {} {} {:.1f}ms", req.method, req.path, r.status, ms))
      .add("request_id", req.request_id)
      .add("tenant", req.tenant)
      .add("method", req.method)
      .add("route", route_pattern(route_index(req.path)))
      .add("path", req.path)
      .add("status", r.status)
      .add("duration_ms", ms)
      .add("bytes_in", r.bytes_in)
      .add("bytes_out", r.bytes_out)
      .write(level);
}

}  // namespace crier::api
