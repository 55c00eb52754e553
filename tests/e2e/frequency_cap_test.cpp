// Frequency caps through the real server: a tenant's rule caps what its
// users get across jobs (SKIPPED frequency_capped, listed and counted),
// override_frequency_capping sends anyway, and other tenants are untouched.
#include <fmt/format.h>

#include <set>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

using FrequencyCapTest = CrierTest;

json::object finished_job(HttpClient& api, const json::object& spec, const json::array& users) {
  const std::string id = create_job(api, spec);
  ingest_json(api, id, users);
  run_job(api, id);
  return wait_for_status(api, id, {"COMPLETED"});
}

TEST_F(FrequencyCapTest, AUsersCapHoldsAcrossJobsUnlessAJobOverridesIt) {
  auto put = require(api().request("PUT", "/v1/frequency-caps",
                                   R"({"rules":[{"channel":"email","max":1,"window_seconds":86400}]})",
                                   {{"Content-Type", "application/json"}}),
                     200, "put caps");
  EXPECT_EQ(json::serialize(put), R"({"rules":[{"channel":"email","max":1,"window_seconds":86400}]})");
  auto got = require(api().get("/v1/frequency-caps"), 200, "get caps");
  EXPECT_EQ(got.at("rules").as_array().size(), 1u);

  auto first = finished_job(api(), email_job_spec(), email_users(0, 3));
  EXPECT_EQ(num(first, "sent"), 3);
  auto second = finished_job(api(), email_job_spec(), email_users(1, 3));  // users 1, 2 capped; 3 new
  EXPECT_EQ(num(second, "sent"), 1);
  EXPECT_EQ(num(second, "skipped"), 2);
  EXPECT_TRUE(counters_add_up(second));
  auto skipped = list_all_users(api(), str(second, "job_id"), 100, "SKIPPED");
  ASSERT_EQ(skipped.size(), 2u);
  for (const auto& u : skipped) EXPECT_EQ(str(u.at("error").as_object(), "code"), "frequency_capped");

  auto spec = email_job_spec();
  spec["override_frequency_capping"] = true;
  auto overridden = finished_job(api(), spec, email_users(0, 2));
  EXPECT_EQ(num(overridden, "sent"), 2);
  EXPECT_TRUE(overridden.at("override_frequency_capping").as_bool());

  // Tenant B has no rules: its users are not capped by A's.
  auto b = finished_job(api_b(), email_job_spec(), email_users(0, 2));
  EXPECT_EQ(num(b, "sent"), 2);
  b = finished_job(api_b(), email_job_spec(), email_users(0, 2));
  EXPECT_EQ(num(b, "sent"), 2);

  // No rules any more: nothing is capped.
  require(api().request("PUT", "/v1/frequency-caps", R"({"rules":[]})", {{"Content-Type", "application/json"}}), 200,
          "clear caps");
  auto after = finished_job(api(), email_job_spec(), email_users(0, 2));
  EXPECT_EQ(num(after, "sent"), 2);
}

TEST_F(FrequencyCapTest, ABadRuleIsRefusedAndChangesNothing) {
  auto bad = expect_error(api().request("PUT", "/v1/frequency-caps", R"({"rules":[{"channel":"email","max":0,"window_seconds":60}]})",
                                        {{"Content-Type", "application/json"}}),
                          400, "invalid_frequency_cap");
  EXPECT_EQ(str(bad, "field"), "rules[0].max");
  expect_error(api().request("PUT", "/v1/frequency-caps", R"({"rules":[{"channel":"fax","max":1,"window_seconds":60}]})",
                             {{"Content-Type", "application/json"}}),
               400, "invalid_frequency_cap");
  expect_error(api().request("PUT", "/v1/frequency-caps", R"({"rules":[{"max":1,"window_seconds":99999999}]})",
                             {{"Content-Type", "application/json"}}),
               400, "invalid_frequency_cap");
  auto got = require(api().get("/v1/frequency-caps"), 200, "get caps");
  EXPECT_TRUE(got.at("rules").as_array().empty());
}

}  // namespace
}  // namespace crier::e2e
