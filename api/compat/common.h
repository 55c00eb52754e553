// What the vendors' façades share: how each is plugged into the router, the
// auth styles they use (a bearer token, a key header) over the same API keys
// and tenants as the native API, and small request helpers. A façade maps a
// vendor's request onto the native engine calls and the engine's answer back
// into the vendor's shape; rules live in the engine, never here.
#pragma once

#include <boost/json/value.hpp>

#include <string_view>
#include <vector>

#include "api/context.h"
#include "api/http_types.h"
#include "engine/result.h"

namespace crier::api::compat {

struct Facade {
  std::string_view name;  // "courier", "prelude", ...
  // Authenticates in the vendor's style; sets req.tenant.
  Result<void> (*authenticate)(const ApiContext& ctx, ApiRequest& req);
  // Serves an authenticated request.
  ApiResponse (*route)(ApiContext& ctx, ApiRequest& req);
  // Any error, in the vendor's shape and status codes.
  ApiResponse (*error)(const Error& e, const ApiRequest& req);
};

// "Authorization: Bearer <key>" (the scheme's case is not significant).
Result<void> bearer_auth(const ApiContext& ctx, ApiRequest& req);
// The key alone in a header, e.g. "x-api-key" (lower-case name; the server
// copies it into req.headers).
Result<void> header_key_auth(const ApiContext& ctx, ApiRequest& req, std::string_view header_name);

// The path's non-empty segments.
std::vector<std::string_view> path_parts(std::string_view path);

// The body as JSON: an empty body is `{}`; the media type must be JSON or
// absent (clients send none with an empty body).
Result<boost::json::value> json_body(const ApiRequest& req);
// The body as a JSON object (invalid_body otherwise).
Result<boost::json::object> json_object_body(const ApiRequest& req);

Error not_found(const ApiRequest& req);
Error method_not_allowed(const ApiRequest& req, std::string_view allowed);

// A JSON answer.
ApiResponse json_answer(int status, const boost::json::value& body);
// An answer with no body (and no Content-Type), e.g. 202 or 204.
ApiResponse empty_answer(int status);

}  // namespace crier::api::compat
