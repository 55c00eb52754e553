// A job's audience through the real server: the tenant's profiles that match
// its filter are added to the job when it is run (counted as received,
// deduplicated with its ingested users), and sent with their profiles'
// addresses and standings; refused audiences are clear 400s.
#include <fmt/format.h>

#include <set>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

class AudienceTest : public CrierTest {
 protected:
  // 30 profiles: every third on the pro plan; of the pro ones, p-009 and
  // p-021 unsubscribed from email. Tenant B has a pro profile of its own.
  void store_profiles() {
    for (int i = 0; i < 30; ++i) {
      json::object body{{"email", fmt::format("p{}@example.com", i)},
                        {"attributes", {{"plan", i % 3 == 0 ? "pro" : "free"}, {"visits", i}}}};
      if (i == 9 || i == 21) body["subscriptions"] = json::object{{"email", "unsubscribed"}};
      require(api().put_json(fmt::format("/v1/profiles/p-{:03}", i), body), 201, "profile");
    }
    require(api_b().put_json("/v1/profiles/b-1", json::object{{"email", "b1@example.com"}, {"attributes", {{"plan", "pro"}}}}),
            201, "B's profile");
  }
};

json::object pro_filter() {
  return json::object{{"custom_attribute", {{"custom_attribute_name", "plan"}, {"comparison", "equals"}, {"value", "pro"}}}};
}

std::set<std::string> sent_to(const std::filesystem::path& log, const std::string& id) {
  std::set<std::string> to;
  for (const auto& line : read_delivery_log(log))
    if (str(line, "job_id") == id) to.insert(str(line, "to"));
  return to;
}

TEST_F(AudienceTest, TheMatchingProfilesAreAddedAtRunBesidesTheIngestedUsers) {
  store_profiles();
  auto spec = email_job_spec();
  spec["audience"] = json::object{{"filter", pro_filter()}};
  const std::string id = create_job(api(), spec);
  EXPECT_EQ(json::serialize(get_job(api(), id).at("audience")), json::serialize(json::object{{"filter", pro_filter()}}));
  // Besides the audience: one user of its own, and one the audience holds too.
  ingest_json(api(), id, json::array{json::object{{"user_id", "walk-in"}, {"email", "walkin@example.com"}},
                                     json::object{{"user_id", "p-000"}}});
  EXPECT_EQ(num(get_job(api(), id), "received"), 2) << "the audience waits for the run";

  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED"});
  EXPECT_EQ(num(done, "received"), 12);   // 2 ingested + 10 pro profiles
  EXPECT_EQ(num(done, "duplicates"), 1);  // p-000, ingested and in the audience
  EXPECT_EQ(num(done, "sent"), 9);        // 8 pro subscribed + walk-in
  EXPECT_EQ(num(done, "skipped"), 2);     // p-009, p-021
  EXPECT_TRUE(counters_add_up(done));

  std::set<std::string> expected{"walkin@example.com"};
  for (int i = 0; i < 30; i += 3)
    if (i != 9 && i != 21) expected.insert(fmt::format("p{}@example.com", i));
  EXPECT_EQ(sent_to(delivery_log(), id), expected) << "neither free profiles nor tenant B's";
}

TEST_F(AudienceTest, ACreateThatRunsAddsTheAudienceFirst) {
  store_profiles();
  auto spec = email_job_spec();
  spec["audience"] = json::object{
      {"filter", {{"AND", json::array{pro_filter(),
                                      json::object{{"custom_attribute", {{"custom_attribute_name", "visits"},
                                                                         {"comparison", "greater_than"},
                                                                         {"value", 20}}}}}}}}};
  spec["run"] = true;
  auto created = require(api().post_json("/v1/jobs", spec), 201, "create and run");
  EXPECT_NE(str(created, "status"), "CREATED");
  auto done = wait_for_status(api(), str(created, "job_id"), {"COMPLETED"});
  EXPECT_EQ(num(done, "received"), 3);  // p-021 (unsubscribed), p-024, p-027
  EXPECT_EQ(num(done, "sent"), 2);
  EXPECT_EQ(num(done, "skipped"), 1);
}

TEST_F(AudienceTest, AnAudienceThatCannotBeSentIsRefusedAtCreate) {
  auto with = [](json::value audience) {
    auto spec = email_job_spec();
    spec["audience"] = std::move(audience);
    return spec;
  };
  expect_error(api().post_json("/v1/jobs", with(json::object{{"list_id", "vip"}})), 422, "unknown_list");
  expect_error(api().post_json("/v1/jobs", with(json::object{{"filter", {{"list_membership", {{"list_id", "l"}, {"comparison", "is"}}}}}})),
               422, "unknown_list");
  expect_error(api().post_json("/v1/jobs", with(json::object{{"list_id", 7}})), 400, "invalid_list_id");
  expect_error(api().post_json("/v1/jobs", with(json::object{{"list_id", "a"}, {"segment_id", "b"}})), 400,
               "invalid_audience");
  auto bad = expect_error(
      api().post_json("/v1/jobs", with(json::object{{"filter", {{"custom_attribute", {{"custom_attribute_name", "plan"},
                                                                                       {"comparison", "resembles"},
                                                                                       {"value", "pro"}}}}}})),
      400, "invalid_audience");
  EXPECT_EQ(str(bad, "field"), "audience.filter.custom_attribute.comparison");
  expect_error(api().post_json("/v1/jobs", with(json::string("pro"))), 400, "invalid_audience");
  auto jobs = require(api().get("/v1/jobs"), 200, "list");
  EXPECT_TRUE(jobs.at("jobs").as_array().empty()) << "nothing stored";
}

TEST_F(AudienceTest, ASegmentIsAStoredFilterDecidedWhenTheJobRuns) {
  store_profiles();
  auto visits_at_least = [](int n) {
    return json::object{{"custom_attribute", json::object{{"custom_attribute_name", "visits"},
                                                          {"comparison", "greater_than_or_equal_to"},
                                                          {"value", n}}}};
  };
  auto put = require(api().put_json("/v1/segments/heavy", json::object{{"name", "Heavy users"}, {"filter", visits_at_least(27)}}),
                     201, "put segment");
  EXPECT_EQ(str(put, "segment_id"), "heavy");
  EXPECT_EQ(str(put, "name"), "Heavy users");
  auto spec = email_job_spec();
  spec["audience"] = json::object{{"segment_id", "heavy"}};
  const std::string id = create_job(api(), spec);
  // Changed after the job was made: the segment as it is at the run counts.
  require(api().put_json("/v1/segments/heavy", json::object{{"filter", visits_at_least(25)}}), 200, "replace segment");
  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED"});
  EXPECT_EQ(num(done, "received"), 5);  // p-025 .. p-029
  EXPECT_EQ(sent_to(delivery_log(), id),
            (std::set<std::string>{"p25@example.com", "p26@example.com", "p27@example.com", "p28@example.com",
                                   "p29@example.com"}));

  auto listed = require(api().get("/v1/segments"), 200, "list");
  ASSERT_EQ(listed.at("segments").as_array().size(), 1u);
  expect_error(api_b().get("/v1/segments/heavy"), 404, "segment_not_found");  // another tenant's

  // A job naming a segment deleted before its run: the run is refused and
  // the job stays CREATED with nothing added.
  const std::string orphan = create_job(api(), spec);
  require(api().del("/v1/segments/heavy"), 200, "delete segment");
  expect_error(job_action(api(), orphan, "run"), 422, "unknown_segment");
  auto still = get_job(api(), orphan);
  EXPECT_EQ(str(still, "status"), "CREATED");
  EXPECT_EQ(num(still, "received"), 0);
  spec["audience"] = json::object{{"segment_id", "heavy"}};
  expect_error(api().post_json("/v1/jobs", spec), 422, "unknown_segment");
  expect_error(api().put_json("/v1/segments/bad%20id", json::object{{"filter", pro_filter()}}), 400, "invalid_segment_id");
  expect_error(api().put_json("/v1/segments/x", json::object{{"filter", json::object{{"OR", json::array{}}}}}), 400,
               "invalid_audience");
}

}  // namespace
}  // namespace crier::e2e
