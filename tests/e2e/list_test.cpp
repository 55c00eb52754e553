// Lists through the real server: members added and removed in bulk and one
// at a time (bad ids listed, the rest stored), paged, counted; a job whose
// audience is a list sends to its members as they are at the run, through a
// real webhook sink, with the profiles' addresses and standings; a filter's
// list_membership; a deleted list or profile leaving nothing behind.
#include <fmt/format.h>

#include <set>

#include "sink/webhook_sink.h"
#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

class ListTest : public CrierTest {
 protected:
  void SetUp() override {
    CrierTest::SetUp();
    auto sink = std::make_unique<WebhookSink>(SinkOptions{});
    auto port = sink->start();
    ASSERT_TRUE(port) << port.error().message;
    sink_ = std::move(sink);
  }

  // Ten profiles p-0 .. p-9, each reached at the sink's /hooks/<user_id>;
  // even ones on the pro plan; p-3 unsubscribed from webhooks.
  void store_profiles() {
    for (int i = 0; i < 10; ++i) {
      const std::string id = fmt::format("p-{}", i);
      json::object body{{"webhook_url", sink_->url("/hooks/" + id)}, {"attributes", {{"plan", i % 2 ? "free" : "pro"}}}};
      if (i == 3) body["subscriptions"] = json::object{{"webhook", "unsubscribed"}};
      require(api().put_json("/v1/profiles/" + id, body), 201, "profile");
    }
  }

  static json::object webhook_spec() {
    return json::object{{"channel", "webhook"},
                        {"provider", "webhook"},
                        {"content", {{"webhook", {{"body", {{"text", "Hello {{plan}}"}}}}}}}};
  }

  // Who the sink got a message for, by the path's user id.
  std::multiset<std::string> reached() const {
    std::multiset<std::string> out;
    for (const auto& r : sink_->requests()) out.insert(r.target.substr(std::string_view("/hooks/").size()));
    return out;
  }

  json::object add(std::string_view list, const json::array& ids, int status = 200) {
    return require(api().post_json(fmt::format("/v1/lists/{}/members", list), json::object{{"user_ids", ids}}), status,
                   "add members");
  }

  std::vector<std::string> members(HttpClient& client, std::string_view list, int page) {
    std::vector<std::string> out;
    std::string cursor;
    for (int guard = 0; guard < 100; ++guard) {
      std::string target = fmt::format("/v1/lists/{}/members?limit={}", list, page);
      if (!cursor.empty()) target += "&cursor=" + cursor;
      auto body = require(client.get(target), 200, "members");
      for (const auto& m : body.at("members").as_array()) out.push_back(str(m.as_object(), "user_id"));
      const auto& paging = body.at("paging").as_object();
      if (!paging.at("more").as_bool()) break;
      cursor = str(paging, "cursor");
    }
    return out;
  }

  std::unique_ptr<WebhookSink> sink_;
};

TEST_F(ListTest, AListJobSendsToTheMembersAsTheyAreAtTheRun) {
  store_profiles();
  auto made = require(api().put_json("/v1/lists/vip", json::object{{"name", "VIPs"}}), 201, "make list");
  EXPECT_EQ(str(made, "list_id"), "vip");
  EXPECT_EQ(num(made, "members"), 0);
  auto added = add("vip", json::array{"p-1", "p-2", "p-3", 7, "p-5", "", "p-2"});
  EXPECT_EQ(num(added, "added"), 4);
  EXPECT_EQ(num(added, "unchanged"), 1) << "p-2 twice";
  EXPECT_EQ(num(added, "members"), 4);
  EXPECT_EQ(num(added, "rejected_count"), 2);
  const auto& rejected = added.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(num(rejected.at(0).as_object(), "index"), 3);
  EXPECT_EQ(str(rejected.at(0).as_object(), "code"), "invalid_user_id");
  EXPECT_EQ(num(rejected.at(1).as_object(), "index"), 5);

  auto spec = webhook_spec();
  spec["audience"] = json::object{{"list_id", "vip"}};
  const std::string id = create_job(api(), spec);
  EXPECT_EQ(json::serialize(get_job(api(), id).at("audience")), json::serialize(json::object{{"list_id", "vip"}}));
  ingest_json(api(), id, json::array{json::object{{"user_id", "p-2"}}});  // by hand, and in the list
  // After the create, before the run: the list as it is at the run counts.
  require(api().put_json("/v1/lists/vip/members/p-6", json::object{}), 201, "add p-6");
  require(api().del("/v1/lists/vip/members/p-1"), 200, "remove p-1");

  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(done, "status"), "COMPLETED") << counters_snapshot(done);
  EXPECT_EQ(num(done, "received"), 5);    // p-2 by hand + p-2, p-3, p-5, p-6
  EXPECT_EQ(num(done, "duplicates"), 1);  // p-2
  EXPECT_EQ(num(done, "sent"), 3);
  EXPECT_EQ(num(done, "skipped"), 1);     // p-3, unsubscribed
  EXPECT_TRUE(counters_add_up(done));
  EXPECT_EQ(reached(), (std::multiset<std::string>{"p-2", "p-5", "p-6"}));
  auto skipped = list_all_users(api(), id, 100, "SKIPPED");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(str(skipped[0], "user_id"), "p-3");
  EXPECT_EQ(str(skipped[0].at("error").as_object(), "code"), "unsubscribed");
}

TEST_F(ListTest, AFilterAsksAboutListMembershipAndASegmentMayToo) {
  store_profiles();
  require(api().put_json("/v1/lists/beta", json::object{}), 201, "make list");
  add("beta", json::array{"p-0", "p-1", "p-2", "p-5", "not-a-profile"});
  auto in_beta = [](std::string_view comparison) {
    return json::object{{"list_membership", {{"list_id", "beta"}, {"comparison", comparison}}}};
  };
  auto pro = json::object{
      {"custom_attribute", {{"custom_attribute_name", "plan"}, {"comparison", "equals"}, {"value", "pro"}}}};
  // Pro and in beta: p-0, p-2.
  auto spec = webhook_spec();
  spec["audience"] = json::object{{"filter", {{"AND", json::array{in_beta("is"), pro}}}}};
  const std::string both = create_job(api(), spec);
  run_job(api(), both);
  auto done = wait_for_status(api(), both, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(num(done, "received"), 2) << counters_snapshot(done);
  EXPECT_EQ(num(done, "sent"), 2);

  // Pro and not in beta, as a stored segment: p-4, p-6, p-8.
  require(api().put_json("/v1/segments/pro-outside",
                         json::object{{"filter", {{"AND", json::array{in_beta("is_not"), pro}}}}}),
          201, "segment");
  spec["audience"] = json::object{{"segment_id", "pro-outside"}};
  const std::string outside = create_job(api(), spec);
  run_job(api(), outside);
  done = wait_for_status(api(), outside, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(num(done, "received"), 3) << counters_snapshot(done);
  EXPECT_EQ(reached(), (std::multiset<std::string>{"p-0", "p-2", "p-4", "p-6", "p-8"}));

  // A filter naming a list that does not exist: 422 at create, and for a
  // segment when stored.
  spec["audience"] = json::object{{"filter", {{"list_membership", {{"list_id", "gamma"}, {"comparison", "is"}}}}}};
  expect_error(api().post_json("/v1/jobs", spec), 422, "unknown_list");
  expect_error(api().put_json("/v1/segments/s", json::object{{"filter", spec["audience"].at("filter")}}), 422,
               "unknown_list");
  // A list deleted between a job's create and its run: the run is refused.
  spec["audience"] = json::object{{"filter", in_beta("is")}};
  const std::string orphan = create_job(api(), spec);
  require(api().del("/v1/lists/beta"), 200, "delete list");
  expect_error(job_action(api(), orphan, "run"), 422, "unknown_list");
  EXPECT_EQ(str(get_job(api(), orphan), "status"), "CREATED");
}

TEST_F(ListTest, ListsAndMembersArePagedCountedAndKeptPerTenant) {
  for (auto id : {"c-list", "a-list", "b-list"})
    require(api().put_json(fmt::format("/v1/lists/{}", id), json::object{}), 201, "make list");
  auto renamed = require(api().put_json("/v1/lists/a-list", json::object{{"name", "First"}}), 200, "rename");
  EXPECT_EQ(str(renamed, "name"), "First");
  std::vector<std::string> ids;
  std::string cursor;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = require(api().get("/v1/lists?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor)), 200, "lists");
    for (const auto& l : page.at("lists").as_array()) ids.push_back(str(l.as_object(), "list_id"));
    if (!page.at("paging").at("more").as_bool()) break;
    cursor = str(page.at("paging").as_object(), "cursor");
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"a-list", "b-list", "c-list"}));

  json::array many;
  for (int i = 0; i < 25; ++i) many.push_back(json::string(fmt::format("u-{:02}", i)));
  add("a-list", many);
  auto removed = require(api().post_json("/v1/lists/a-list/members/remove",
                                         json::object{{"user_ids", json::array{"u-00", "u-24", "u-99"}}}),
                         200, "remove members");
  EXPECT_EQ(num(removed, "removed"), 2);
  EXPECT_EQ(num(removed, "unchanged"), 1);
  EXPECT_EQ(num(removed, "members"), 23);
  auto listed = members(api(), "a-list", 5);
  ASSERT_EQ(listed.size(), 23u);
  EXPECT_EQ(listed.front(), "u-01");
  EXPECT_EQ(listed.back(), "u-23");
  EXPECT_EQ(num(require(api().get("/v1/lists/a-list"), 200, "get"), "members"), 23);
  require(api().get("/v1/lists/a-list/members/u-05"), 200, "a member");
  expect_error(api().get("/v1/lists/a-list/members/u-00"), 404, "member_not_found");
  expect_error(api().del("/v1/lists/a-list/members/u-00"), 404, "member_not_found");
  require(api().put_json("/v1/lists/a-list/members/u-05", json::object{}), 200, "already a member");

  // Another tenant sees none of it, and may have a list of the same id.
  expect_error(api_b().get("/v1/lists/a-list"), 404, "list_not_found");
  expect_error(api_b().post_json("/v1/lists/a-list/members", json::object{{"user_ids", json::array{"x"}}}), 404,
               "list_not_found");
  require(api_b().put_json("/v1/lists/a-list", json::object{}), 201, "B's own");
  EXPECT_TRUE(members(api_b(), "a-list", 10).empty());

  // Bad requests: clear errors, nothing stored.
  auto first = require(api().get("/v1/lists/a-list/members?limit=5"), 200, "page");
  const std::string a_cursor = str(first.at("paging").as_object(), "cursor");
  expect_error(api().get("/v1/lists/b-list/members?cursor=" + a_cursor), 400, "invalid_cursor");
  expect_error(api().put_json("/v1/lists/bad%20id", json::object{}), 400, "invalid_list_id");
  expect_error(api().put_json("/v1/lists/x", json::object{{"colour", "red"}}), 400, "unknown_field");
  expect_error(api().post_json("/v1/lists/a-list/members", json::object{{"ids", json::array{}}}), 400, "unknown_field");
  expect_error(api().post_json("/v1/lists/a-list/members", json::object{}), 400, "missing_field");
  json::array too_many;
  for (int i = 0; i < 100001; ++i) too_many.push_back(json::string("z"));
  expect_error(api().post_json("/v1/lists/a-list/members", json::object{{"user_ids", too_many}}), 413,
               "too_many_users");
  EXPECT_EQ(num(require(api().get("/v1/lists/a-list"), 200, "get"), "members"), 23) << "nothing stored";
  auto spec = webhook_spec();
  spec["audience"] = json::object{{"list_id", "nope"}};
  expect_error(api().post_json("/v1/jobs", spec), 422, "unknown_list");
}

TEST_F(ListTest, DeletingAListOrAProfileLeavesNoMembershipBehind) {
  store_profiles();
  require(api().put_json("/v1/lists/one", json::object{}), 201, "make list");
  require(api().put_json("/v1/lists/two", json::object{}), 201, "make list");
  add("one", json::array{"p-1", "p-2"});
  add("two", json::array{"p-1"});
  require(api().del("/v1/profiles/p-1"), 200, "delete profile");
  EXPECT_EQ(members(api(), "one", 10), std::vector<std::string>{"p-2"});
  EXPECT_EQ(num(require(api().get("/v1/lists/two"), 200, "get"), "members"), 0);

  auto spec = webhook_spec();
  spec["audience"] = json::object{{"list_id", "one"}};
  const std::string id = create_job(api(), spec);
  require(api().del("/v1/lists/one"), 200, "delete list");
  expect_error(api().get("/v1/lists/one"), 404, "list_not_found");
  expect_error(api().del("/v1/lists/one"), 404, "list_not_found");
  expect_error(job_action(api(), id, "run"), 422, "unknown_list");
  EXPECT_EQ(num(get_job(api(), id), "received"), 0);
  require(api().put_json("/v1/lists/one", json::object{}), 201, "made again");
  EXPECT_TRUE(members(api(), "one", 10).empty()) << "a list made again starts empty";
}

// Past one page (1 000) of members and of profiles: the list streamed whole,
// and each page's memberships lined up with that page's profiles.
TEST_F(ListTest, ListsAndFiltersHoldAcrossPages) {
  constexpr int kUsers = 1100;
  json::array all, odd;
  for (int i = 0; i < kUsers; ++i) {
    const std::string id = fmt::format("u-{:04}", i);
    require(api().put_json("/v1/profiles/" + id, json::object{{"email", fmt::format("u{}@example.com", i)}}), 201,
            "profile");
    all.push_back(json::string(id));
    if (i % 2) odd.push_back(json::string(id));
  }
  require(api().put_json("/v1/lists/everyone", json::object{}), 201, "make list");
  require(api().put_json("/v1/lists/odd", json::object{}), 201, "make list");
  EXPECT_EQ(num(add("everyone", all), "members"), kUsers);
  EXPECT_EQ(num(add("odd", odd), "members"), kUsers / 2);

  auto spec = email_job_spec();
  spec["audience"] = json::object{{"list_id", "everyone"}};
  const std::string whole = create_job(api(), spec);
  run_job(api(), whole);
  auto done = wait_for_status(api(), whole, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(num(done, "received"), kUsers) << counters_snapshot(done);
  EXPECT_EQ(num(done, "sent"), kUsers);

  spec["audience"] = json::object{{"filter", {{"list_membership", {{"list_id", "odd"}, {"comparison", "is_not"}}}}}};
  const std::string evens = create_job(api(), spec);
  run_job(api(), evens);
  done = wait_for_status(api(), evens, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(num(done, "received"), kUsers / 2) << counters_snapshot(done);
  std::set<std::string> expected, got;
  for (int i = 0; i < kUsers; i += 2) expected.insert(fmt::format("u{}@example.com", i));
  for (const auto& line : read_delivery_log(delivery_log()))
    if (str(line, "job_id") == evens) got.insert(str(line, "to"));
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace crier::e2e
