// Every route of the API, in one table: which handler (or vendor's façade)
// serves a path, and in which API's shape its errors are answered. What a
// route needs before its handler runs comes from one place each:
// authentication from api/auth.*, Idempotency-Key from api/idempotency.*.
// The server calls `handle` for buffered requests and `open_stream` for
// streamed user ingest (NDJSON, CSV); both are free of sockets.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <variant>

#include "api/context.h"
#include "api/http_types.h"
#include "api/idempotency.h"
#include "api/ingest/body_stream.h"

namespace crier::api {

class Router {
 public:
  explicit Router(ApiContext& ctx) : ctx_(ctx), idempotent_(ctx) {}

  // Answers a buffered request. Nothing here throws: an exception in a
  // handler is logged with the request id and answered 500 `internal_error`
  // in the error shape of the API the path belongs to.
  ApiResponse handle(ApiRequest& req);

  // Authenticates on the headers alone, in the style of the API the path
  // belongs to (Bearer, or a façade's own): the answer to give at once
  // (401 in that API's shape) when denied, nullopt when the request may go
  // on to send its body (sets req.tenant). Paths that need no key
  // (/healthz, /readyz) pass. The server calls it before reading a body.
  std::optional<ApiResponse> authenticate_headers(ApiRequest& req) const;

  // Whether the request's body is to be streamed rather than buffered.
  bool wants_stream(const ApiRequest& req) const;
  // For a streamed request (headers only): the stream to feed, or the answer
  // to give at once (auth errors, unknown job, wrong state...). Nothing here
  // throws (as handle).
  std::variant<ApiResponse, std::unique_ptr<BodyStream>> open_stream(ApiRequest& req);

  ApiContext& context() { return ctx_; }

  // An error the server met before a handler ran (body too large, broken
  // body...), in the shape of the API the path belongs to.
  ApiResponse error_answer(const Error& e, const ApiRequest& req) const;
  // The answer to an exception that escaped a handler (or a stream's feed
  // or finish): logged with the request id, 500 `internal_error` in the
  // path's error shape. Call it from a catch block.
  ApiResponse exception_answer(const ApiRequest& req, std::string_view where) const;

 private:
  ApiResponse handle_unguarded(ApiRequest& req);
  std::variant<ApiResponse, std::unique_ptr<BodyStream>> open_stream_unguarded(ApiRequest& req);
  ApiResponse route(ApiRequest& req);

  ApiContext& ctx_;
  IdempotentRequests idempotent_;
};

}  // namespace crier::api
