#include "app/cli/output.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace crier::cli {

namespace json = boost::json;

bool resolve_connection(CommonOptions& options) {
  if (options.connection.url.empty())
    if (const char* env = std::getenv("CRIER_URL")) options.connection.url = env;
  if (options.connection.api_key.empty())
    if (const char* env = std::getenv("CRIER_API_KEY")) options.connection.api_key = env;
  if (options.connection.url.empty()) {
    report_input_error("no server: pass --url or set CRIER_URL (e.g. http://127.0.0.1:8080)");
    return false;
  }
  const auto& url = options.connection.url;
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    // A local mistake, not an unreachable server.
    report_input_error("the server URL must start with http:// or https://, not '" + url + "'");
    return false;
  }
  return true;
}

namespace {
std::string member(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
}  // namespace

int report_failure(const Reply& reply, const Connection& connection) {
  if (reply.status == 0) {
    fmt::print(stderr, "error: cannot reach {}: {}: {}\n", connection.url, reply.transport.code,
               reply.transport.message);
    return exit_code::unreachable;
  }
  // The documented error shape: {"error":{"code","message","request_id","field"?,"status"?}}.
  auto v = reply.json();
  const json::object* error = nullptr;
  if (v.is_object())
    if (auto* e = v.as_object().if_contains("error"); e && e->is_object()) error = &e->as_object();
  if (!error) {
    // Not our server's shape (a proxy's page?): say so without dumping it.
    fmt::print(stderr, "error: HTTP {} from {} (not a Crier error body)\n", reply.status, connection.url);
    return exit_code::api_error;
  }
  std::string extra;
  if (auto field = member(*error, "field"); !field.empty()) extra += fmt::format("field {}, ", field);
  if (auto status = member(*error, "status"); !status.empty()) extra += fmt::format("job is {}, ", status);
  auto request_id = member(*error, "request_id");
  if (request_id.empty()) request_id = reply.request_id;
  fmt::print(stderr, "error: {}: {} ({}request id {})\n", member(*error, "code"), member(*error, "message"), extra,
             request_id);
  return exit_code::api_error;
}

int report_input_error(std::string_view message) {
  fmt::print(stderr, "error: {}\n", message);
  return exit_code::bad_input;
}

void print_json(const json::value& v) {
  auto text = json::serialize(v);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

}  // namespace crier::cli
