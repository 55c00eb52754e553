#include "api/routes/metrics.h"

#include "api/errors.h"
#include "api/metrics.h"

namespace crier::api {

bool metrics_open(const ApiContext& ctx, const ApiRequest& req) {
  return req.path == "/metrics" && !ctx.metrics_require_key;
}

ApiResponse serve_metrics(const ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.metrics)
    return error_response(
        make_error(ErrorKind::not_found, "route_not_found", "no route " + req.method + " /metrics"),
        req.request_id);
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = error_response(make_error(ErrorKind::method_not_allowed, "method_not_allowed",
                                       req.method + " is not allowed on /metrics; allowed: GET"),
                            req.request_id);
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  ApiResponse r;
  // The text format's media type, as Prometheus' scrapers ask for it.
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = ctx.metrics->render();
  return r;
}

}  // namespace crier::api
