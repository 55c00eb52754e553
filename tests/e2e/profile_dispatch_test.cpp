// Stored profiles at dispatch, through the real server and its log
// provider: a recipient given by user_id alone takes its address and
// attributes from its profile as its message is built (so a change made
// after ingest counts), and its standing on the channel against the job's
// subscription_state decides whether it is sent (SKIPPED `unsubscribed` or
// `not_opted_in`, listed and counted).
#include <fmt/format.h>

#include <map>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

class ProfileDispatchTest : public CrierTest {
 protected:
  void put_profile(const std::string& user_id, const json::object& body) {
    auto r = api().put_json("/v1/profiles/" + user_id, body);
    if (r.status != 200 && r.status != 201) require(r, 201, "put profile " + user_id);
  }

  // The tenant's audience: ann (subscribed by default, an attribute), bob
  // (unsubscribed from email), cid (opted in), dee (a phone, no email).
  void store_audience() {
    put_profile("ann", json::object{{"email", "ann@example.com"}, {"attributes", {{"name", "Ann"}, {"tier", "gold"}}}});
    put_profile("bob", json::object{{"email", "bob@example.com"}, {"subscriptions", {{"email", "unsubscribed"}}}});
    put_profile("cid", json::object{{"email", "cid@example.com"}, {"subscriptions", {{"email", "opted_in"}}}});
    put_profile("dee", json::object{{"phone", "+14155550100"}});
  }

  // The recipients by user_id alone, plus one without a profile and one
  // with an address of its own and no profile.
  static json::array audience_users() {
    return json::array{json::object{{"user_id", "ann"}},     json::object{{"user_id", "bob"}},
                       json::object{{"user_id", "cid"}},     json::object{{"user_id", "dee"}},
                       json::object{{"user_id", "nobody"}},  json::object{{"user_id", "eve"}, {"email", "eve@example.com"}}};
  }

  // Runs a job over audience_users() and returns it finished.
  json::object run_audience_job(json::object spec, std::string& id) {
    id = create_job(api(), spec);
    auto ingested = ingest_json(api(), id, audience_users());
    EXPECT_EQ(num(ingested, "accepted"), 6) << json::serialize(ingested);
    run_job(api(), id);
    return wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  }

  // user_id -> {status, error code} from the job's listing.
  std::map<std::string, std::pair<std::string, std::string>> outcomes(const std::string& id) {
    std::map<std::string, std::pair<std::string, std::string>> out;
    for (const auto& u : list_all_users(api(), id)) {
      std::string code;
      if (auto* e = u.if_contains("error"); e && e->is_object()) code = str(e->as_object(), "code");
      out[str(u, "user_id")] = {str(u, "status"), code};
    }
    return out;
  }

  // The log provider's lines of one job, by address.
  std::map<std::string, json::object> sent_by_address(const std::string& id) {
    std::map<std::string, json::object> out;
    for (auto& line : read_delivery_log(delivery_log()))
      if (str(line, "job_id") == id) out[str(line, "to")] = line;
    return out;
  }
};

TEST_F(ProfileDispatchTest, BareUserIdsTakeTheirProfileAtDispatchAndUnsubscribedUsersAreSkipped) {
  store_audience();
  std::string id = create_job(api(), email_job_spec());
  EXPECT_EQ(str(get_job(api(), id), "subscription_state"), "subscribed") << "the default";
  auto ingested = ingest_json(api(), id, audience_users());
  EXPECT_EQ(num(ingested, "accepted"), 6) << json::serialize(ingested);
  // After ingest, before the run: ann moves, and her new address is used.
  require(api().request("PATCH", "/v1/profiles/ann", R"({"email":"ann.new@example.com"})",
                        {{"Content-Type", "application/merge-patch+json"}}),
          200, "patch ann");
  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(num(done, "sent"), 3);     // ann, cid, eve
  EXPECT_EQ(num(done, "skipped"), 1);  // bob
  EXPECT_EQ(num(done, "failed"), 2);   // dee and nobody: no email anywhere
  EXPECT_TRUE(counters_add_up(done));

  auto sent = sent_by_address(id);
  ASSERT_EQ(sent.size(), 3u);
  ASSERT_TRUE(sent.count("ann.new@example.com")) << "the profile as it is at dispatch";
  EXPECT_EQ(str(sent["ann.new@example.com"], "subject"), "Hello Ann") << "profile attributes render";
  EXPECT_EQ(str(sent["cid@example.com"], "subject"), "Hello friend") << "no attribute: the job's data";
  EXPECT_TRUE(sent.count("eve@example.com")) << "no profile, an address of its own: subscribed";
  EXPECT_FALSE(sent.count("bob@example.com"));

  auto got = outcomes(id);
  EXPECT_EQ(got["bob"], (std::pair<std::string, std::string>{"SKIPPED", "unsubscribed"}));
  EXPECT_EQ(got["dee"], (std::pair<std::string, std::string>{"FAILED", "missing_address"}));
  EXPECT_EQ(got["nobody"], (std::pair<std::string, std::string>{"FAILED", "missing_address"}));
  EXPECT_EQ(got["ann"].first, "SENT");
}

TEST_F(ProfileDispatchTest, RecipientDataOverridesProfileAttributes) {
  put_profile("ann", json::object{{"email", "ann@example.com"}, {"attributes", {{"name", "Ann"}}}});
  std::string id = create_job(api(), email_job_spec());
  ingest_json(api(), id, json::array{json::object{{"user_id", "ann"}, {"data", {{"name", "Annie"}}}}});
  run_job(api(), id);
  wait_for_status(api(), id, {"COMPLETED"});
  auto sent = sent_by_address(id);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(str(sent["ann@example.com"], "subject"), "Hello Annie");
}

TEST_F(ProfileDispatchTest, AnOptedInJobSendsToOptedInUsersOnlyAndATransactionalOneToAll) {
  store_audience();
  auto opted = email_job_spec();
  opted["subscription_state"] = "opted_in";
  std::string opted_id;
  auto done = run_audience_job(opted, opted_id);
  EXPECT_EQ(str(done, "subscription_state"), "opted_in");
  EXPECT_EQ(num(done, "sent"), 1);
  auto sent = sent_by_address(opted_id);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent.count("cid@example.com"));
  auto got = outcomes(opted_id);
  EXPECT_EQ(got["ann"], (std::pair<std::string, std::string>{"SKIPPED", "not_opted_in"}));
  EXPECT_EQ(got["eve"], (std::pair<std::string, std::string>{"SKIPPED", "not_opted_in"})) << "no profile: not opted in";
  EXPECT_EQ(got["bob"], (std::pair<std::string, std::string>{"SKIPPED", "unsubscribed"}));

  auto all = email_job_spec();
  all["subscription_state"] = "all";
  std::string all_id;
  done = run_audience_job(all, all_id);
  EXPECT_EQ(num(done, "sent"), 4) << "bob too: a transactional job";
  EXPECT_TRUE(sent_by_address(all_id).count("bob@example.com"));
}

TEST_F(ProfileDispatchTest, ATenantWithoutProfilesStillNeedsAddressesAndBadStatesAreRefused) {
  store_audience();  // tenant A's: B keeps none
  std::string id = create_job(api_b(), email_job_spec());
  auto ingested = ingest_json(api_b(), id, json::array{json::object{{"user_id", "ann"}}});
  EXPECT_EQ(num(ingested, "accepted"), 0);
  ASSERT_EQ(ingested.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(str(ingested.at("rejected").at(0).as_object(), "code"), "missing_address");

  auto spec = email_job_spec();
  spec["subscription_state"] = "maybe";
  expect_error(api().post_json("/v1/jobs", spec), 400, "invalid_subscription_state");
}

}  // namespace
}  // namespace crier::e2e
