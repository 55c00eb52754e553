#include "api/compat/common.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/auth.h"
#include "api/routes/routes.h"

namespace crier::api::compat {
namespace json = boost::json;

Result<void> bearer_auth(const ApiContext& ctx, ApiRequest& req) { return authenticate_bearer(ctx.api_keys, req); }

Result<void> header_key_auth(const ApiContext& ctx, ApiRequest& req, std::string_view header_name) {
  return authenticate_key_header(ctx.api_keys, req, header_name);
}

std::vector<std::string_view> path_parts(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start < path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

Result<json::value> json_body(const ApiRequest& req) {
  if (auto r = expect_json(req); !r) return r.error();
  if (req.body.empty()) return json::value(json::object());
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return make_error(ErrorKind::invalid, "invalid_json", "the body is not valid JSON (UTF-8): " + ec.message());
  return v;
}

Result<json::object> json_object_body(const ApiRequest& req) {
  auto v = json_body(req);
  if (!v) return v.error();
  if (!v->is_object()) return make_error(ErrorKind::invalid, "invalid_body", "the body must be a JSON object");
  return std::move(v->get_object());
}

Error not_found(const ApiRequest& req) {
  return make_error(ErrorKind::not_found, "route_not_found", fmt::format("no route {} {}", req.method, req.path));
}

Error method_not_allowed(const ApiRequest& req, std::string_view allowed) {
  return make_error(ErrorKind::method_not_allowed, "method_not_allowed",
                    fmt::format("{} is not allowed on {}; allowed: {}", req.method, req.path, allowed));
}

ApiResponse json_answer(int status, const json::value& body) { return json_response(status, body); }

ApiResponse empty_answer(int status) {
  ApiResponse r;
  r.status = status;
  r.content_type.clear();
  return r;
}

}  // namespace crier::api::compat
