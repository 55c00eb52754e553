// Every route of the API, authentication and Idempotency-Key handling.
// The server calls `handle` for buffered requests and `open_stream` for
// streamed user ingest (NDJSON, CSV); both are free of sockets.
#pragma once

#include <functional>
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

  // An error the server met before a handler ran (body too large, broken
  // body...), in the shape of the API the path belongs to.
  ApiResponse error_answer(const Error& e, const ApiRequest& req) const;

 private:
  friend class IdempotentStream;
  std::optional<ApiResponse> authenticate(ApiRequest& req) const;
  ApiResponse route(ApiRequest& req);
  using ErrorShape = ApiResponse (*)(const Error&, const ApiRequest&);
  // Serves a POST carrying an Idempotency-Key: a stored answer is replayed,
  // a new one stored; errors in `fail`'s shape.
  ApiResponse with_idempotency(ApiRequest& req, const std::function<ApiResponse(ApiRequest&)>& serve,
                               ErrorShape fail);
  // Claims (tenant, key) for one request at a time; false if taken.
  bool claim(const std::string& tenant, const std::string& key);
  void release(const std::string& tenant, const std::string& key);

  ApiContext& ctx_;
  std::mutex in_flight_mu_;
  std::set<std::pair<std::string, std::string>> in_flight_;
};

}  // namespace crier::api
