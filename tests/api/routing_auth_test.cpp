// Routing (404, 405 with Allow), health and readiness, authentication,
// tenant isolation and the shape of every error answer.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using RoutingTest = ApiTest;

TEST_F(RoutingTest, UnknownRouteIs404RouteNotFound) {
  for (const char* path : {"/v2/jobs", "/v1/nothing", "/v1/jobs/x/y/z", "/v1/jobs/x/frobnicate"}) {
    auto r = send("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(error_code(r), "route_not_found") << path;
  }
}

TEST_F(RoutingTest, WrongMethodIs405WithAllowHeader) {
  struct Case {
    const char* method;
    std::string path;
    const char* allow;
  };
  std::string job = "/v1/jobs/job_00000000000000000000000000";
  for (const auto& c : {Case{"DELETE", "/v1/jobs", "GET, POST"}, Case{"PUT", job, "GET, PATCH"},
                        Case{"GET", job + "/run", "POST"}, Case{"DELETE", job + "/users", "GET, POST"},
                        Case{"POST", "/v1/templates", "GET"}, Case{"POST", "/v1/templates/t1", "GET, PUT, DELETE"},
                        Case{"POST", "/healthz", "GET"}, Case{"DELETE", "/readyz", "GET"}}) {
    auto r = send(c.method, c.path);
    EXPECT_EQ(r.status, 405) << c.method << " " << c.path;
    EXPECT_EQ(error_code(r), "method_not_allowed") << c.method << " " << c.path;
    EXPECT_EQ(header(r, "Allow"), std::optional<std::string>(c.allow)) << c.method << " " << c.path;
  }
}

TEST_F(RoutingTest, HealthzNeedsNoKey) {
  auto r = send("GET", "/healthz", "", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r).at("status"), "ok");
}

TEST_F(RoutingTest, ReadyzFollowsContextReadiness) {
  auto r = send("GET", "/readyz", "", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r).at("status"), "ready");

  ctx_->ready = false;
  r = send("GET", "/readyz", "", "");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(error_code(r), "not_ready");
  // Liveness does not depend on readiness.
  EXPECT_EQ(send("GET", "/healthz", "", "").status, 200);
}

TEST_F(RoutingTest, MissingKeyIs401WithChallenge) {
  auto r = send("GET", "/v1/jobs", "", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error_code(r), "missing_api_key");
  EXPECT_EQ(header(r, "WWW-Authenticate"), std::optional<std::string>("Bearer"));
}

TEST_F(RoutingTest, WrongKeyOrSchemeIs401WithChallenge) {
  auto wrong = send("GET", "/v1/jobs", "", "key-zzzzzzzz");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(error_code(wrong), "invalid_api_key");
  EXPECT_EQ(header(wrong, "WWW-Authenticate"), std::optional<std::string>("Bearer"));

  auto basic = request("GET", "/v1/jobs");
  basic.authorization = "Basic a2V5LWFhYWFhYWFh";
  auto r = send(std::move(basic));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error_code(r), "invalid_api_key");

  // The scheme is case-insensitive.
  auto lower = request("GET", "/v1/jobs");
  lower.authorization = std::string("bearer ") + kKeyAcme;
  EXPECT_EQ(send(std::move(lower)).status, 200);
}

TEST_F(RoutingTest, UnauthenticatedRequestCreatesNothing) {
  auto r = send("POST", "/v1/jobs", email_job_body(), "nope-nope");
  EXPECT_EQ(r.status, 401);
  auto list = body_of(send("GET", "/v1/jobs"));
  EXPECT_TRUE(list.at("jobs").as_array().empty());
}

TEST_F(RoutingTest, TenantsCannotSeeEachOthersJobs) {
  std::string id = create_job();
  ASSERT_FALSE(id.empty());

  auto get = send("GET", "/v1/jobs/" + id, "", kKeyOther);
  EXPECT_EQ(get.status, 404);
  EXPECT_EQ(error_code(get), "job_not_found");

  auto users = send("GET", "/v1/jobs/" + id + "/users", "", kKeyOther);
  EXPECT_EQ(users.status, 404);
  auto add = send("POST", "/v1/jobs/" + id + "/users", users_body(0, 1), kKeyOther);
  EXPECT_EQ(add.status, 404);
  auto run = send("POST", "/v1/jobs/" + id + "/cancel", "", kKeyOther);
  EXPECT_EQ(run.status, 404);
  EXPECT_EQ(error_code(run), "job_not_found");

  auto list = body_of(send("GET", "/v1/jobs", "", kKeyOther));
  EXPECT_TRUE(list.at("jobs").as_array().empty());

  // The owner still sees it untouched.
  auto mine = get_job(id);
  EXPECT_EQ(mine.at("status"), "CREATED");
  EXPECT_EQ(int_of(mine, "received"), 0);
}

TEST_F(RoutingTest, ErrorBodyHasCodeMessageTypeRequestIdAndField) {
  auto req = request("POST", "/v1/jobs", R"({"channel":"pigeon","content":{"email":{"text":"x"}}})");
  req.request_id = "req_0123456789abcdef0123";
  auto r = send(std::move(req));
  ASSERT_EQ(r.status, 400);
  auto b = body_of(r);
  ASSERT_EQ(b.size(), 1u);
  const auto& e = b.at("error").as_object();
  EXPECT_EQ(e.at("code"), "invalid_channel");
  EXPECT_TRUE(e.at("message").is_string());
  EXPECT_FALSE(e.at("message").as_string().empty());
  EXPECT_EQ(e.at("type"), "invalid_request");
  EXPECT_EQ(e.at("request_id"), "req_0123456789abcdef0123");
  EXPECT_EQ(e.at("field"), "channel");

  // Without an offending field, there is no "field" key.
  auto nf = send("GET", "/v1/nothing");
  auto ne = body_of(nf).at("error").as_object();
  EXPECT_FALSE(ne.contains("field"));
  EXPECT_EQ(ne.at("type"), "not_found");
  EXPECT_EQ(ne.at("request_id"), "req_test0000000000000001");
}

TEST_F(RoutingTest, UnsupportedMediaTypeIs415) {
  auto req = request("POST", "/v1/jobs", email_job_body());
  req.content_type = "text/plain";
  auto r = send(std::move(req));
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(error_code(r), "unsupported_media_type");
}

}  // namespace
}  // namespace crier::testing
