// The one place where an Error becomes an HTTP status and a JSON body:
//   {"error": {"code", "message", "type", "request_id", "field"?, "status"?}}
#pragma once

#include "api/http_types.h"
#include "engine/result.h"

namespace crier::api {

int http_status(ErrorKind kind);
ApiResponse error_response(const Error& error, std::string_view request_id);

}  // namespace crier::api
