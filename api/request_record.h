// What the server records of each answered request: one structured log line
// (request id, tenant, method, route, path, status, duration, bytes) and the
// HTTP metrics. Called once per request, after its answer is written.
#pragma once

#include <chrono>
#include <cstdint>

#include "api/http_types.h"

namespace crier::api {

class Metrics;

struct RequestRecord {
  int status = 0;
  std::chrono::nanoseconds took{0};
  std::uint64_t bytes_in = 0;   // body bytes read
  std::uint64_t bytes_out = 0;  // body bytes answered
};

// `metrics` may be null (no registry: only the log line).
void record_request(Metrics* metrics, const ApiRequest& req, const RequestRecord& r);

}  // namespace crier::api
