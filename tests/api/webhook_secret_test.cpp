// GET /v1/webhook-secret and POST /v1/webhook-secret/rotate through the
// router: each tenant reads its own secret, a rotation keeps the previous
// one for the grace period asked for, and bad bodies are refused.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using WebhookSecretTest = ApiTest;

TEST_F(WebhookSecretTest, EachTenantReadsItsOwnSecret) {
  auto a = send("GET", "/v1/webhook-secret");
  ASSERT_EQ(a.status, 200) << a.body;
  auto acme = body_of(a);
  EXPECT_TRUE(text(acme.at("secret")).starts_with("whsec_"));
  EXPECT_TRUE(acme.at("previous_secret").is_null());
  EXPECT_TRUE(acme.at("previous_expires_at").is_null());
  EXPECT_FALSE(acme.at("created_at").is_null());
  EXPECT_EQ(body_of(send("GET", "/v1/webhook-secret")).at("secret"), acme.at("secret")) << "stable";

  auto other = body_of(send("GET", "/v1/webhook-secret", "", kKeyOther));
  EXPECT_NE(other.at("secret"), acme.at("secret"));
  EXPECT_EQ(send("GET", "/v1/webhook-secret", "", "").status, 401);
  EXPECT_EQ(send("POST", "/v1/webhook-secret").status, 405);
}

TEST_F(WebhookSecretTest, RotationKeepsThePreviousSecretForTheGracePeriod) {
  const auto before = text(body_of(send("GET", "/v1/webhook-secret")).at("secret"));
  auto r = send("POST", "/v1/webhook-secret/rotate", R"({"grace_period_seconds":3600})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto rotated = body_of(r);
  EXPECT_NE(text(rotated.at("secret")), before);
  EXPECT_EQ(text(rotated.at("previous_secret")), before);
  EXPECT_FALSE(rotated.at("previous_expires_at").is_null());
  EXPECT_EQ(body_of(send("GET", "/v1/webhook-secret")), rotated);
  // The other tenant's secret did not move.
  auto other = body_of(send("GET", "/v1/webhook-secret", "", kKeyOther));
  EXPECT_TRUE(other.at("previous_secret").is_null());

  // The default grace period (an empty body) keeps the one just replaced.
  auto again = body_of(send("POST", "/v1/webhook-secret/rotate"));
  EXPECT_EQ(again.at("previous_secret"), rotated.at("secret"));
  // Zero: the old one stops at once.
  auto now = body_of(send("POST", "/v1/webhook-secret/rotate", R"({"grace_period_seconds":0})"));
  EXPECT_TRUE(now.at("previous_secret").is_null());
}

TEST_F(WebhookSecretTest, BadRotationBodiesAreRefused) {
  const auto before = body_of(send("GET", "/v1/webhook-secret"));
  for (const auto& [body, code] : std::vector<std::pair<std::string, std::string>>{
           {R"({"grace_period_seconds":-1})", "invalid_grace_period"},
           {R"({"grace_period_seconds":2592001})", "invalid_grace_period"},
           {R"({"grace_period_seconds":"1h"})", "invalid_grace_period"},
           {R"({"grace_period_seconds":1.5})", "invalid_grace_period"},
           {R"({"grace":1})", "unknown_field"},
           {R"([])", "invalid_body"},
           {R"({)", "invalid_json"}}) {
    SCOPED_TRACE(body);
    auto r = send("POST", "/v1/webhook-secret/rotate", body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(error_code(r), code);
  }
  EXPECT_EQ(body_of(send("GET", "/v1/webhook-secret")), before) << "nothing rotated";
}

}  // namespace
}  // namespace crier::testing
