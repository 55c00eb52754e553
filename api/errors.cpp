#include "api/errors.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace crier::api {
namespace {

const char* type_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid: return "invalid_request";
    case ErrorKind::unauthorized: return "authentication";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::too_large: return "too_large";
    case ErrorKind::unsupported: return "unsupported_media_type";
    case ErrorKind::method_not_allowed: return "method_not_allowed";
    case ErrorKind::unprocessable: return "unprocessable";
    case ErrorKind::exhausted: return "quota_exceeded";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::insufficient_storage: return "insufficient_storage";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

}  // namespace

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid: return 400;
    case ErrorKind::unauthorized: return 401;
    case ErrorKind::not_found: return 404;
    case ErrorKind::method_not_allowed: return 405;
    case ErrorKind::conflict: return 409;
    case ErrorKind::too_large: return 413;
    case ErrorKind::unsupported: return 415;
    case ErrorKind::unprocessable: return 422;
    case ErrorKind::exhausted: return 429;
    case ErrorKind::unavailable: return 503;
    case ErrorKind::timeout: return 408;
    case ErrorKind::insufficient_storage: return 507;
    case ErrorKind::internal: return 500;
  }
  return 500;
}

void log_detail(const Error& error, std::string_view request_id) {
  if (!error.detail.empty()) spdlog::warn("{} {}: {}", request_id, error.code, error.detail);
}

ApiResponse error_response(const Error& error, std::string_view request_id) {
  log_detail(error, request_id);
  boost::json::object e{{"code", error.code},
                        {"message", error.message},
                        {"type", type_name(error.kind)},
                        {"request_id", request_id}};
  if (!error.field.empty()) e["field"] = error.field;
  if (!error.status.empty()) e["status"] = error.status;
  if (!error.details.empty()) {
    boost::json::object d;
    for (const auto& [name, value] : error.details) d[name] = value;
    e["details"] = std::move(d);
  }
  ApiResponse r;
  r.status = http_status(error.kind);
  r.body = boost::json::serialize(boost::json::object{{"error", std::move(e)}});
  if (error.kind == ErrorKind::unauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (auto after = retry_after_seconds(error)) r.headers.emplace_back("Retry-After", std::to_string(*after));
  return r;
}

std::optional<std::int64_t> retry_after_seconds(const Error& error) {
  for (const auto& [name, value] : error.details)
    if (name == "retry_after_seconds") return value;
  return std::nullopt;
}

}  // namespace crier::api
