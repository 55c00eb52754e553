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
// Also logs the error's detail (never sent) with the request id.
ApiResponse error_response(const Error& error, std::string_view request_id);
// The error's "retry_after_seconds" detail, if it has one.
std::optional<std::int64_t> retry_after_seconds(const Error& error);
// Logs what the client is not told (Error::detail: RocksDB's text, with
// file paths) with the request id; the vendors' error shapes call it too.
void log_detail(const Error& error, std::string_view request_id);

}  // namespace crier::api
