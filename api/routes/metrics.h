// GET /metrics: the registry's exposition in Prometheus' text format.
#pragma once

#include "api/context.h"
#include "api/http_types.h"

namespace crier::api {

// Whether GET /metrics may be read without an API key (the default).
bool metrics_open(const ApiContext& ctx, const ApiRequest& req);
// The exposition (GET, HEAD); 405 for other methods, 404 without a registry.
ApiResponse serve_metrics(const ApiContext& ctx, const ApiRequest& req);

}  // namespace crier::api
