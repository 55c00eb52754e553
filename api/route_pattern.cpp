#include "api/route_pattern.h"

#include <array>

namespace crier::api {
namespace {

// Every route the server answers, native and façades. A segment in braces
// matches any one segment.
constexpr std::array<std::string_view, 62> kPatterns = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/v1/jobs",
    "/v1/jobs/{id}",
    "/v1/jobs/{id}/users",
    "/v1/jobs/{id}/run",
    "/v1/jobs/{id}/pause",
    "/v1/jobs/{id}/resume",
    "/v1/jobs/{id}/cancel",
    "/v1/jobs/{id}/events",
    "/v1/jobs/{id}/events/ticket",
    "/v1/receipts/{provider}",
    "/v1/webhook-secret",
    "/v1/webhook-secret/rotate",
    "/v1/sms/segments",
    "/v1/senders",
    "/v1/senders/{id}",
    "/v1/templates",
    "/v1/templates/{id}",
    "/v1/notification-groups",
    "/v1/notification-groups/{id}",
    "/v1/profiles",
    "/v1/profiles/import",  // before {id}: the first pattern that matches names the route
    "/v1/profiles/{id}",
    "/v1/suppressions",
    "/v1/suppressions/{channel}",
    "/v1/suppressions/{channel}/{address}",
    "/v1/segments",
    "/v1/frequency-caps",
    "/v1/segments/{id}",
    "/v1/lists",
    "/v1/lists/{id}",
    "/v1/lists/{id}/members",
    "/v1/lists/{id}/members/remove",
    "/v1/lists/{id}/members/{user}",
    // The dashboard (api/routes/dashboard.cpp)
    "/",
    "/assets/{file}",
    // Courier's Bulk API
    "/bulk",
    "/bulk/{id}",
    "/bulk/{id}/run",
    "/bulk/{id}/users",
    // Courier's Lists API
    "/lists",
    "/lists/{id}",
    "/lists/{id}/restore",
    "/lists/{id}/subscriptions",
    "/lists/{id}/subscriptions/{user}",
    // Prelude's Notify batch
    "/v2/notify/batch",
    // Blerify's notification items
    "/api/v1/organizations/{org}/notifications/{id}/items",
    "/api/v1/organizations/{org}/notifications/{id}/items/{item}",
    // Mindo's WhatsApp send-bulk
    "/api/v1/meta-templates/send-bulk",
    "/api/v1/meta-templates/send-bulk/{id}",
    "/api/v1/meta-templates/send-bulk/{id}/cancel",
    // Braze's REST API
    "/users/track",
    "/messages/send",
    "/sends/id/create",
    // The rest of each façade's prefix (its own 404s and 405s).
    "/bulk/*",
    "/lists/*",
    "/v2/notify/*",
    "/api/v1/organizations/*",
    "/api/v1/meta-templates/*",
    "unmatched",
};

// Pops the next non-empty segment of `s` ("" when none is left).
std::string_view next_segment(std::string_view& s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  auto end = s.find('/');
  auto seg = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return seg;
}

// Whether `path` matches `pattern` segment by segment; a pattern ending in
// "/*" matches any path with its prefix.
bool matches(std::string_view pattern, std::string_view path) {
  for (;;) {
    auto want = next_segment(pattern);
    if (want == "*") return true;
    auto got = next_segment(path);
    if (want.empty() || got.empty()) return want.empty() && got.empty();
    if (want.front() != '{' && want != got) return false;
  }
}

}  // namespace

std::size_t route_index(std::string_view path) {
  for (std::size_t i = 0; i + 1 < kPatterns.size(); ++i)
    if (matches(kPatterns[i], path)) return i;
  return kPatterns.size() - 1;
}

std::size_t route_count() { return kPatterns.size(); }

std::string_view route_pattern(std::size_t index) { return kPatterns.at(index); }

}  // namespace crier::api
