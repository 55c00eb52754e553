// Every route of the API, authentication and Idempotency-Key handling.
// The server calls `handle` for buffered requests and `open_stream` for
// streamed user ingest (NDJSON, CSV); both are free of sockets.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "api/context.h"
#include "api/http_types.h"
#include "api/user_ingest.h"

namespace crier::api {

class Router {
 public:
  explicit Router(ApiContext& ctx) : ctx_(ctx) {}

  ApiResponse handle(ApiRequest& req);

  // Whether the request's body is to be streamed rather than buffered.
  bool wants_stream(const ApiRequest& req) const;
  // For a streamed request (headers only): the stream to feed, or the answer
  // to give at once (auth errors, unknown job, wrong state...).
  std::variant<ApiResponse, std::unique_ptr<BodyStream>> open_stream(ApiRequest& req);

  ApiContext& context() { return ctx_; }

 private:
  friend class IdempotentStream;
  std::optional<ApiResponse> authenticate(ApiRequest& req) const;
  ApiResponse route(ApiRequest& req);
  ApiResponse with_idempotency(ApiRequest& req);
  // Claims (tenant, key) for one request at a time; false if taken.
  bool claim(const std::string& tenant, const std::string& key);
  void release(const std::string& tenant, const std::string& key);

  ApiContext& ctx_;
  std::mutex in_flight_mu_;
  std::set<std::pair<std::string, std::string>> in_flight_;
};

}  // namespace crier::api
