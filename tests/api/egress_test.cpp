// A job's webhook_url and callback_url against the egress guard at create:
// a literal internal address or localhost is 422 egress_denied on every
// create path, nothing stored; names are left to the connect-time check.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using EgressApiTest = ApiTest;

std::string webhook_job(const std::string& extra) {
  return R"({"channel":"webhook","content":{"webhook":{"body":{"a":"b"}}},)" + extra + "}";
}

TEST_F(EgressApiTest, ALiteralInternalJobUrlIs422AndNothingIsStored) {
  for (const char* url : {"http://127.0.0.1:9000/h", "http://169.254.169.254/latest/meta-data/", "http://localhost/h",
                          "http://[::1]/h", "http://[::ffff:10.0.0.1]/h", "http://127.1/h"}) {
    SCOPED_TRACE(url);
    auto hook = send("POST", "/v1/jobs", webhook_job(fmt::format(R"("webhook_url":"{}")", url)));
    EXPECT_EQ(hook.status, 422) << hook.body;
    EXPECT_EQ(error_code(hook), "egress_denied");
    EXPECT_EQ(error_field(hook, "field"), "webhook_url");
    auto callback = send("POST", "/v1/jobs", email_job_body(fmt::format(R"("callback_url":"{}")", url)));
    EXPECT_EQ(callback.status, 422) << callback.body;
    EXPECT_EQ(error_code(callback), "egress_denied");
    EXPECT_EQ(error_field(callback, "field"), "callback_url");
    auto with_users = send("POST", "/v1/jobs",
                           webhook_job(fmt::format(R"("webhook_url":"{}","run":true,"users":[{{"user_id":"u"}}])", url)));
    EXPECT_EQ(error_code(with_users), "egress_denied");
  }
  EXPECT_TRUE(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().empty()) << "nothing stored";
  EXPECT_EQ(send("POST", "/v1/jobs", webhook_job(R"("webhook_url":"https://hooks.example.com/h")")).status, 201);
}

TEST_F(EgressApiTest, TheAllowListOpensWhatItNames) {
  ctx_->egress = *EgressPolicy::allowing({"127.0.0.0/8"});
  EXPECT_EQ(send("POST", "/v1/jobs", webhook_job(R"("webhook_url":"http://127.0.0.1:9000/h")")).status, 201);
  EXPECT_EQ(error_code(send("POST", "/v1/jobs", webhook_job(R"("webhook_url":"http://10.0.0.1/h")"))),
            "egress_denied");
}

}  // namespace
}  // namespace crier::testing
