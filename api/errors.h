// The one place where an Error becomes an HTTP status and a JSON body:
//   {"error": {"code", "message", "type", "request_id", "field"?, "status"?, "details"?}}
// An error whose details name "retry_after_seconds" also sets Retry-After.
#pragma once

#include <cstdint>
#include <optional>

#include "api/http_types.h"
#include "engine/result.h"

namespace crier::api {

int http_status(ErrorKind kind);
ApiResponse error_response(const Error& error, std::string_view request_id);
// The error's "retry_after_seconds" detail, if it has one.
std::optional<std::int64_t> retry_after_seconds(const Error& error);

}  // namespace crier::api
