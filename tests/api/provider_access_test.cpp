// Who may use which provider, through the router: a job naming (or routed
// to) a provider its tenant may not use is 422 provider_not_allowed on
// every path that creates a job (native, with users and run, the vendors'
// façades), and nothing is stored. The fixture's "vault" is a provider with
// credentials granted to tenant "other" only.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using ProviderAccessApiTest = ApiTest;


TEST_F(ProviderAccessApiTest, ANativeJobNamingAnotherTenantsProviderIs422AndNothingIsStored) {
  auto r = send("POST", "/v1/jobs", email_job_body(R"("provider":"vault")"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_code(r), "provider_not_allowed");
  EXPECT_EQ(error_field(r, "field"), "provider");
  EXPECT_EQ(r.body.find("other"), std::string::npos) << "the answer does not say who may use it";

  auto with_users = send("POST", "/v1/jobs",
                         email_job_body(R"("provider":"vault","run":true,"users":[{"email":"a@example.com"}])"));
  EXPECT_EQ(with_users.status, 422) << with_users.body;
  EXPECT_EQ(error_code(with_users), "provider_not_allowed");
  EXPECT_TRUE(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().empty()) << "nothing stored";

  // Its tenant may; and an unknown provider is still unknown_provider.
  EXPECT_EQ(send("POST", "/v1/jobs", email_job_body(R"("provider":"vault")"), kKeyOther).status, 201);
  EXPECT_EQ(error_code(send("POST", "/v1/jobs", email_job_body(R"("provider":"nope")"))), "unknown_provider");
}

TEST_F(ProviderAccessApiTest, AJobRoutedToAProviderItsTenantMayNotUseIs422OnEveryPathFacadesIncluded) {
  // Every job that names no provider goes to "vault".
  ProviderAccess routed(std::vector<ProviderGrant>{{"log", true, {}, false}, {"vault", false, {"other"}, true}},
                        "vault", {});
  service_->set_provider_access(&routed);

  auto native = send("POST", "/v1/jobs", email_job_body());
  EXPECT_EQ(native.status, 422) << native.body;
  EXPECT_EQ(error_code(native), "provider_not_allowed");
  // Courier's Bulk API: its own error shape, and no job.
  auto courier = send("POST", "/bulk",
                      R"({"message":{"event":"e","content":{"title":"Hi","body":"Hello"},)"
                      R"("routing":{"method":"single","channels":["email"]}}})");
  EXPECT_GE(courier.status, 400) << courier.body;
  EXPECT_LT(courier.status, 500) << courier.body;
  EXPECT_FALSE(body_of(courier).contains("jobId")) << courier.body;
  // Prelude's batch: created with its users in one write, or not at all.
  auto prelude = send("POST", "/v2/notify/batch", R"({"template_id":"t","to":["+14155550100"]})");
  EXPECT_GE(prelude.status, 400) << prelude.body;
  EXPECT_TRUE(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().empty()) << "nothing stored";
  // A job naming a provider of its own is fine.
  EXPECT_EQ(send("POST", "/v1/jobs", email_job_body(R"("provider":"log")")).status, 201);
  service_->set_provider_access(access_.get());
}

}  // namespace
}  // namespace crier::testing
