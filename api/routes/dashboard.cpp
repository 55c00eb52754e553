// GET / and GET /assets/{file}: the dashboard, served from the files web/
// embedded into the binary (web/assets.h). No key is needed to load the page
// (it holds no data); the page signs in with the API key itself and calls
// /v1 like any client.
#include <fmt/format.h>

#include <algorithm>

#include "api/errors.h"
#include "api/routes/routes.h"
#include "web/assets.h"

namespace crier::api {
namespace {

// The page's own files only: no inline script or style, no other origin,
// not framed. connect-src 'self' covers fetch and EventSource to /v1.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const web::Asset* find_asset(std::string_view path) {
  if (path.empty()) path = "/";
  for (const auto& a : web::assets())
    if (a.path == path) return &a;
  return nullptr;
}

// Whether an If-None-Match header ("*", or a list of entity tags, weak or
// strong) names this ETag: then the client's copy is current (RFC 9110
// 13.1.2, weak comparison).
bool matches_etag(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto tag = header.substr(0, comma);
    header.remove_prefix(comma == std::string_view::npos ? header.size() : comma + 1);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

}  // namespace

bool is_dashboard_path(std::string_view path) { return path.empty() || path == "/" || path.starts_with("/assets/"); }

ApiResponse serve_dashboard(const ApiRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = fail(make_error(ErrorKind::method_not_allowed, "method_not_allowed",
                             fmt::format("{} is not allowed on {}; allowed: GET, HEAD", req.method, req.path)),
                  req);
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const auto* asset = find_asset(req.path);
  if (!asset)
    return fail(make_error(ErrorKind::not_found, "route_not_found", fmt::format("no route {} {}", req.method, req.path)),
                req);
  ApiResponse r;
  r.headers.emplace_back("ETag", std::string(asset->etag));
  // Revalidated on every load (a 304 costs one round trip): a new binary's
  // page is picked up at once, with file names that never change.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (matches_etag(header(req, "if-none-match"), asset->etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = std::string(asset->content_type);
  // HEAD too: the server sends its length and drops the body (server.cpp).
  r.body = std::string(asset->body);
  return r;
}

}  // namespace crier::api
