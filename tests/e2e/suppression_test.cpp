// The suppression list through the real server: suppressed addresses are
// SKIPPED `suppressed` (listed and counted) and never reach the provider,
// also when suppressed while their job runs; other tenants are untouched.
#include <fmt/format.h>

#include <map>
#include <set>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

using SuppressionTest = CrierTest;

std::set<std::string> delivered_to(const std::filesystem::path& log) {
  std::set<std::string> to;
  for (const auto& line : read_delivery_log(log)) to.insert(str(line, "to"));
  return to;
}

TEST_F(SuppressionTest, SuppressedAddressesAreSkippedAndNeverSent) {
  // Different case than the users' addresses: a suppression is case-blind.
  require(api().put_json("/v1/suppressions/email/USER3@Example.com", json::object{{"reason", "hard_bounce"}}), 201,
          "suppress user3");
  auto bulk = require(api().post_json("/v1/suppressions", json::parse(R"({"add":[
      {"channel":"email","address":"user5@example.com","reason":"complaint"},
      {"channel":"email","address":"not an address"}]})")),
                      200, "bulk");
  EXPECT_EQ(num(bulk, "added"), 1);
  ASSERT_EQ(bulk.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(str(bulk.at("rejected").at(0).as_object(), "code"), "invalid_email");
  // Tenant B's list does not apply to tenant A's jobs, nor A's to B's.
  require(api_b().put_json("/v1/suppressions/email/user7@example.com", json::object{}), 201, "B suppresses user7");

  const std::string id = create_job(api(), email_job_spec());
  ingest_json(api(), id, email_users(0, 10));
  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED"});
  EXPECT_EQ(num(done, "skipped"), 2);
  EXPECT_EQ(num(done, "sent"), 8);

  const auto to = delivered_to(delivery_log());
  EXPECT_EQ(to.count(email_for(3)), 0u);
  EXPECT_EQ(to.count(email_for(5)), 0u);
  EXPECT_EQ(to.count(email_for(7)), 1u) << "another tenant's suppression";
  EXPECT_EQ(to.size(), 8u);

  auto skipped = list_all_users(api(), id, 100, "SKIPPED");
  ASSERT_EQ(skipped.size(), 2u);
  for (const auto& u : skipped) {
    EXPECT_EQ(str(u.at("error").as_object(), "code"), "suppressed");
    EXPECT_TRUE(str(u, "email") == email_for(3) || str(u, "email") == email_for(5)) << str(u, "email");
  }

  auto got = require(api().get("/v1/suppressions/email/user3@example.com"), 200, "get");
  EXPECT_EQ(str(got, "reason"), "hard_bounce");
  require(api().del("/v1/suppressions/email/user3@example.com"), 200, "delete");
  expect_error(api().get("/v1/suppressions/email/user3@example.com"), 404, "suppression_not_found");
  auto listed = require(api().get("/v1/suppressions/email"), 200, "list");
  ASSERT_EQ(listed.at("suppressions").as_array().size(), 1u);
  EXPECT_EQ(str(listed.at("suppressions").at(0).as_object(), "address"), "user5@example.com");
}

TEST_F(SuppressionTest, ASuppressionMadeWhileAJobRunsAppliesToWhatIsNotSentYet) {
  constexpr std::size_t kUsers = 300;
  auto spec = email_job_spec();
  spec["rate_limit"] = 50;  // six seconds of sending: time to suppress the tail
  const std::string id = create_job(api(), spec);
  ingest_json(api(), id, email_users(0, kUsers));
  run_job(api(), id);
  wait_for_job(api(), id, [](const json::object& j) { return num(j, "sent") > 0; });

  json::array add;
  for (std::size_t i = kUsers - 50; i < kUsers; ++i)
    add.push_back(json::object{{"channel", "email"}, {"address", email_for(i)}});
  require(api().post_json("/v1/suppressions", json::object{{"add", add}}), 200, "suppress the tail");

  auto done = wait_for_status(api(), id, {"COMPLETED"});
  const std::int64_t skipped = num(done, "skipped");
  // Those sent before the suppression landed are sent; the rest are not.
  ASSERT_GT(skipped, 0) << "the job finished before the suppression: it proves nothing";
  EXPECT_EQ(num(done, "sent") + skipped, static_cast<std::int64_t>(kUsers));

  const auto to = delivered_to(delivery_log());
  std::size_t suppressed_and_sent = 0;
  for (std::size_t i = kUsers - 50; i < kUsers; ++i) suppressed_and_sent += to.count(email_for(i));
  EXPECT_EQ(static_cast<std::int64_t>(suppressed_and_sent) + skipped, 50);
  for (const auto& u : list_all_users(api(), id, 1000, "SKIPPED"))
    EXPECT_EQ(str(u.at("error").as_object(), "code"), "suppressed");
}

TEST_F(SuppressionTest, AHardBounceOrAComplaintSuppressesTheAddressAPlainBounceDoesNot) {
  const std::string first = create_job(api(), email_job_spec());
  ingest_json(api(), first, email_users(0, 3));
  run_job(api(), first);
  wait_for_status(api(), first, {"COMPLETED"});
  std::map<std::string, std::string> message_of;
  for (const auto& u : list_all_users(api(), first)) message_of[str(u, "email")] = str(u, "message_id");
  ASSERT_EQ(message_of.size(), 3u);

  auto receipts = require(api().post_json("/v1/receipts/log", json::parse(fmt::format(R"({{"receipts":[
      {{"message_id":"{}","status":"failed","error":{{"code":"hard_bounce","message":"550 no such user"}}}},
      {{"message_id":"{}","status":"failed","error":{{"code":"complaint"}}}},
      {{"message_id":"{}","status":"failed"}}]}})",
                                                                                  message_of[email_for(0)],
                                                                                  message_of[email_for(1)],
                                                                                  message_of[email_for(2)]))),
                          200, "receipts");
  EXPECT_EQ(num(receipts, "applied"), 3);
  EXPECT_EQ(str(require(api().get("/v1/suppressions/email/" + email_for(0)), 200, "bounced"), "reason"),
            "hard_bounce");
  EXPECT_EQ(str(require(api().get("/v1/suppressions/email/" + email_for(1)), 200, "complained"), "reason"),
            "complaint");
  expect_error(api().get("/v1/suppressions/email/" + email_for(2)), 404, "suppression_not_found");

  // The next campaign to the same people skips the two.
  const std::string second = create_job(api(), email_job_spec());
  ingest_json(api(), second, email_users(0, 3));
  run_job(api(), second);
  auto done = wait_for_status(api(), second, {"COMPLETED"});
  EXPECT_EQ(num(done, "skipped"), 2);
  EXPECT_EQ(num(done, "sent"), 1);
}

TEST_F(SuppressionTest, BadRequestsGetClearErrors) {
  expect_error(api().put_json("/v1/suppressions/fax/123", json::object{}), 400, "invalid_channel");
  expect_error(api().put_json("/v1/suppressions/sms/12", json::object{}), 400, "invalid_phone_number");
  expect_error(api().put_json("/v1/suppressions/email/a@example.com", json::object{{"why", "x"}}), 400,
               "unknown_field");
  expect_error(api().post_json("/v1/suppressions", json::object{{"add", 1}}), 400, "invalid_body");
  expect_error(api().del("/v1/suppressions/email/nobody@example.com"), 404, "suppression_not_found");
  // A phone is suppressed in its E.164 form, however it was written.
  require(api().put_json("/v1/suppressions/sms/+1%20415%20555%200100", json::object{}), 201, "suppress a phone");
  require(api().get("/v1/suppressions/sms/+14155550100"), 200, "found in E.164");
}

}  // namespace
}  // namespace crier::e2e
