// Route patterns: what labels HTTP metrics and request logs. Ids in paths
// must never become label values (unbounded series), and every route the
// router serves must have its own pattern.
#include "api/route_pattern.h"

#include <gtest/gtest.h>

namespace crier::api {
namespace {

std::string_view pattern_of(std::string_view path) { return route_pattern(route_index(path)); }

TEST(RoutePattern, NativeRoutesNameTheirPatternNotTheirIds) {
  EXPECT_EQ(pattern_of("/healthz"), "/healthz");
  EXPECT_EQ(pattern_of("/metrics"), "/metrics");
  EXPECT_EQ(pattern_of("/v1/jobs"), "/v1/jobs");
  EXPECT_EQ(pattern_of("/v1/jobs/"), "/v1/jobs");
  EXPECT_EQ(pattern_of("/v1/jobs/job_01JEXAMPLE0000000000000000"), "/v1/jobs/{id}");
  EXPECT_EQ(pattern_of("/v1/jobs/job_x/users"), "/v1/jobs/{id}/users");
  for (std::string_view action : {"run", "pause", "resume", "cancel"})
    EXPECT_EQ(pattern_of(std::string("/v1/jobs/j/") + std::string(action)),
              std::string("/v1/jobs/{id}/") + std::string(action));
  EXPECT_EQ(pattern_of("/v1/jobs/job_x/events"), "/v1/jobs/{id}/events");
  EXPECT_EQ(pattern_of("/v1/jobs/job_x/events/ticket"), "/v1/jobs/{id}/events/ticket");
  EXPECT_EQ(pattern_of("/v1/receipts/twilio"), "/v1/receipts/{provider}");
  EXPECT_EQ(pattern_of("/v1/sms/segments"), "/v1/sms/segments");
  EXPECT_EQ(pattern_of("/v1/webhook-secret/rotate"), "/v1/webhook-secret/rotate");
  EXPECT_EQ(pattern_of("/v1/senders/123"), "/v1/senders/{id}");
  EXPECT_EQ(pattern_of("/v1/templates/welcome"), "/v1/templates/{id}");
  EXPECT_EQ(pattern_of("/v1/notification-groups/g1"), "/v1/notification-groups/{id}");
  EXPECT_EQ(pattern_of("/v1/profiles/ann"), "/v1/profiles/{id}");
  EXPECT_EQ(pattern_of("/v1/profiles/import"), "/v1/profiles/import") << "the import is not a profile's id";
  EXPECT_EQ(pattern_of("/v1/lists"), "/v1/lists");
  EXPECT_EQ(pattern_of("/v1/lists/vip"), "/v1/lists/{id}");
  EXPECT_EQ(pattern_of("/v1/lists/vip/members"), "/v1/lists/{id}/members");
  EXPECT_EQ(pattern_of("/v1/lists/vip/members/remove"), "/v1/lists/{id}/members/remove");
  EXPECT_EQ(pattern_of("/v1/lists/vip/members/ann"), "/v1/lists/{id}/members/{user}");
  // The dashboard: its page and its files, one label for all files.
  EXPECT_EQ(pattern_of("/"), "/");
  EXPECT_EQ(pattern_of("/assets/app.js"), "/assets/{file}");
}

TEST(RoutePattern, FacadeRoutesHaveTheirOwnPatterns) {
  EXPECT_EQ(pattern_of("/bulk"), "/bulk");
  EXPECT_EQ(pattern_of("/bulk/abc/users"), "/bulk/{id}/users");
  EXPECT_EQ(pattern_of("/lists"), "/lists");
  EXPECT_EQ(pattern_of("/lists/orders.shipped/subscriptions/ann"), "/lists/{id}/subscriptions/{user}");
  EXPECT_EQ(pattern_of("/lists/a/b/c/d/e"), "/lists/*");
  EXPECT_EQ(pattern_of("/v2/notify/batch"), "/v2/notify/batch");
  EXPECT_EQ(pattern_of("/api/v1/organizations/acme/notifications/n1/items"),
            "/api/v1/organizations/{org}/notifications/{id}/items");
  EXPECT_EQ(pattern_of("/api/v1/meta-templates/send-bulk/b1/cancel"),
            "/api/v1/meta-templates/send-bulk/{id}/cancel");
  // What a façade answers with its own 404 still has a bounded label.
  EXPECT_EQ(pattern_of("/bulk/a/b/c/d"), "/bulk/*");
}

TEST(RoutePattern, AnythingElseIsUnmatched) {
  EXPECT_EQ(pattern_of("/assets/a/b"), "unmatched");
  EXPECT_EQ(pattern_of("/v1/jobs/a/b/c"), "unmatched");
  EXPECT_EQ(pattern_of("/v1/unknown"), "unmatched");
  EXPECT_EQ(pattern_of("/wp-login.php"), "unmatched");
  EXPECT_EQ(route_index("/nope"), route_count() - 1);
}

}  // namespace
}  // namespace crier::api
