// Notification groups: PUT/GET/DELETE/list, validated as the native job spec
// they describe (nothing stored when refused), per tenant; jobs made from a
// group natively (POST /v1/jobs {"notification_group"}); and all_or_nothing
// batches, which store nothing when one user is refused.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

constexpr const char* kEmailGroup =
    R"({"channel":"email","content":{"email":{"subject":"Due {{Amount}}","text":"Pay {{Amount}}"}}})";

class NotificationGroupsTest : public ApiTest {
 protected:
  api::ApiResponse put_group(std::string id, std::string body = kEmailGroup, std::string key = kKeyAcme) {
    return send("PUT", "/v1/notification-groups/" + id, std::move(body), std::move(key));
  }
  int jobs_of_tenant() { return static_cast<int>(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size()); }
};

TEST_F(NotificationGroupsTest, PutCreatesThenReplacesAndGetReadsBack) {
  auto created = put_group("a844ede0-7a6a-4c00-8d2a-9b69cd8b4d3b");
  ASSERT_EQ(created.status, 201) << created.body;
  auto g = body_of(created);
  EXPECT_EQ(text(g.at("group_id")), "a844ede0-7a6a-4c00-8d2a-9b69cd8b4d3b");
  EXPECT_EQ(text(g.at("channel")), "email");
  EXPECT_TRUE(g.at("template").is_null());
  EXPECT_EQ(text(g.at("content").at("email").at("subject")), "Due {{Amount}}");
  EXPECT_TRUE(g.at("provider").is_null());
  EXPECT_TRUE(g.at("webhook_url").is_null());

  ASSERT_EQ(send("PUT", "/v1/templates/due", R"({"content":{"sms":{"body":"Due {{Amount}}"}}})").status, 201);
  auto replaced = put_group("a844ede0-7a6a-4c00-8d2a-9b69cd8b4d3b",
                            R"({"channel":"SMS","template":"due","provider":"null"})");
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  auto r = body_of(replaced);
  EXPECT_EQ(text(r.at("channel")), "sms");  // normalised as the job spec is
  EXPECT_EQ(text(r.at("template")), "due");
  EXPECT_TRUE(r.at("content").is_null());
  EXPECT_EQ(text(r.at("provider")), "null");
  EXPECT_EQ(r.at("created_at"), g.at("created_at"));

  auto got = send("GET", "/v1/notification-groups/a844ede0-7a6a-4c00-8d2a-9b69cd8b4d3b");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(body_of(got), r);
}

TEST_F(NotificationGroupsTest, UnknownGroupIs404AndDeleteForgetsIt) {
  EXPECT_EQ(error_code(send("GET", "/v1/notification-groups/nope")), "notification_group_not_found");
  EXPECT_EQ(send("GET", "/v1/notification-groups/nope").status, 404);
  EXPECT_EQ(send("DELETE", "/v1/notification-groups/nope").status, 404);
  ASSERT_EQ(put_group("g1").status, 201);
  auto deleted = send("DELETE", "/v1/notification-groups/g1");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(body_of(deleted).at("deleted"), true);
  EXPECT_EQ(send("GET", "/v1/notification-groups/g1").status, 404);
  EXPECT_EQ(error_code(send("DELETE", "/v1/notification-groups/g1")), "notification_group_not_found");
}

TEST_F(NotificationGroupsTest, GroupsBelongToTheirTenant) {
  ASSERT_EQ(put_group("g1").status, 201);
  EXPECT_EQ(send("GET", "/v1/notification-groups/g1", "", kKeyOther).status, 404);
  EXPECT_EQ(send("DELETE", "/v1/notification-groups/g1", "", kKeyOther).status, 404);
  EXPECT_TRUE(body_of(send("GET", "/v1/notification-groups", "", kKeyOther)).at("notification_groups").as_array().empty());
  EXPECT_EQ(send("GET", "/v1/notification-groups/g1").status, 200);
}

TEST_F(NotificationGroupsTest, ListPagesInIdOrder) {
  for (const char* id : {"c", "a", "b"}) ASSERT_EQ(put_group(id).status, 201);
  auto first = send("GET", "/v1/notification-groups?limit=2");
  ASSERT_EQ(first.status, 200) << first.body;
  auto b = body_of(first);
  const auto& items = b.at("notification_groups").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(text(items[0].at("group_id")), "a");
  EXPECT_EQ(text(items[1].at("group_id")), "b");
  ASSERT_EQ(b.at("paging").at("more"), true);
  auto cursor = text(b.at("paging").at("cursor"));
  auto second = body_of(send("GET", "/v1/notification-groups?limit=2&cursor=" + cursor));
  ASSERT_EQ(second.at("notification_groups").as_array().size(), 1u);
  EXPECT_EQ(text(second.at("notification_groups").as_array()[0].at("group_id")), "c");
  EXPECT_EQ(second.at("paging").at("more"), false);
  EXPECT_EQ(error_code(send("GET", "/v1/notification-groups?cursor=" + cursor, "", kKeyOther)), "invalid_cursor");
}

TEST_F(NotificationGroupsTest, ValidatedAsTheJobSpecItDescribesAndNothingStoredWhenRefused) {
  struct Case {
    const char* body;
    int status;
    const char* code;
  };
  for (const auto& c : {
           Case{R"({"template":"x"})", 400, "missing_field"},
           Case{R"({"channel":"fax","template":"x"})", 400, "invalid_channel"},
           Case{R"({"channel":"email"})", 400, "invalid_content"},
           Case{R"({"channel":"email","template":"x","content":{"email":{"text":"a"}}})", 400, "invalid_content"},
           Case{R"({"channel":"email","template":"nope"})", 422, "unknown_template"},
           Case{R"({"channel":"email","content":{"email":{"text":"{{#open}}"}}})", 422, "invalid_template"},
           Case{R"({"channel":"sms","content":{"email":{"text":"a"}}})", 422, "content_missing_channel"},
           Case{R"({"channel":"webhook","content":{"webhook":{"body":{}}},"webhook_url":"ftp://x"})", 400,
                "invalid_webhook_url"},
           Case{R"({"channel":"email","content":{"email":{"text":"a"}},"provider":"nope"})", 422, "unknown_provider"},
           Case{R"({"channel":"email","content":{"email":{"text":"a"}},"data":{}})", 400, "unknown_field"},
           Case{R"({"channel":"email","content":{"email":{"text":"a"}},"notification_group":"g"})", 400,
                "unknown_field"},
           Case{R"([1])", 400, "invalid_body"},
           Case{R"({"channel":)", 400, "invalid_json"},
       }) {
    auto r = put_group("g1", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " → " << r.body;
    EXPECT_EQ(error_code(r), c.code) << c.body;
    EXPECT_EQ(send("GET", "/v1/notification-groups/g1").status, 404) << c.body;
  }
  auto bad_id = put_group("not%20ok!");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_EQ(error_code(bad_id), "invalid_notification_group_id");
  auto wrong_type = request("PUT", "/v1/notification-groups/g1", kEmailGroup);
  wrong_type.content_type = "text/plain";
  EXPECT_EQ(send(std::move(wrong_type)).status, 415);
  EXPECT_EQ(jobs_of_tenant(), 0);  // validating never makes a job
}

TEST_F(NotificationGroupsTest, WrongMethodsAre405) {
  EXPECT_EQ(send("POST", "/v1/notification-groups").status, 405);
  auto r = send("POST", "/v1/notification-groups/g1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), std::optional<std::string>("GET, PUT, DELETE"));
}

// ---- jobs made from a group, natively ------------------------------------------------

TEST_F(NotificationGroupsTest, ANativeJobTakesTheGroupsMembers) {
  ASSERT_EQ(put_group("g1").status, 201);
  auto r = send("POST", "/v1/jobs",
                R"({"notification_group":"g1","correlation_id":"c-1","users":[{"email":"a@example.com","data":{"Amount":"5"}}],"run":true})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto job = body_of(r);
  EXPECT_EQ(text(job.at("channel")), "email");
  EXPECT_EQ(text(job.at("notification_group")), "g1");
  EXPECT_EQ(text(job.at("correlation_id")), "c-1");
  EXPECT_EQ(text(job.at("content").at("email").at("subject")), "Due {{Amount}}");
  EXPECT_EQ(wait_for_status(text(job.at("job_id")), "COMPLETED"), "COMPLETED");

  // A plain job has none.
  EXPECT_TRUE(get_job(create_job()).at("notification_group").is_null());
}

TEST_F(NotificationGroupsTest, ANativeJobMayNotOverrideTheGroupNorNameAnUnknownOne) {
  ASSERT_EQ(put_group("g1").status, 201);
  for (const char* member : {R"("channel":"sms")", R"("template":"t")", R"("content":{"sms":{"body":"x"}})",
                             R"("provider":"null")", R"("webhook_url":"https://example.com")"}) {
    auto r = send("POST", "/v1/jobs", fmt::format(R"({{"notification_group":"g1",{}}})", member));
    EXPECT_EQ(r.status, 400) << member;
    EXPECT_EQ(error_code(r), "conflicts_with_group") << member;
  }
  auto unknown = send("POST", "/v1/jobs", R"({"notification_group":"nope"})");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(error_code(unknown), "unknown_notification_group");
  auto other = send("POST", "/v1/jobs", R"({"notification_group":"g1"})", kKeyOther);
  EXPECT_EQ(error_code(other), "unknown_notification_group");
  EXPECT_EQ(error_code(send("POST", "/v1/jobs", R"({"notification_group":7})")), "invalid_field");
  EXPECT_EQ(jobs_of_tenant(), 0);
}

// ---- all or nothing -------------------------------------------------------------------

TEST_F(NotificationGroupsTest, AllOrNothingRefusesTheBatchAndStoresNothing) {
  auto r = send("POST", "/v1/jobs",
                email_job_body(R"("users":[{"email":"a@example.com"},{"email":"not-an-email"},)"
                               R"({"email":"b@example.com","user_id":"u1"},{"email":"c@example.com","user_id":"u1"}],)"
                               R"("run":true,"all_or_nothing":true)"));
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code(r), "users_refused");
  auto ingested = body_of(r).at("ingested").as_object();
  EXPECT_EQ(int_of(ingested, "accepted"), 0);
  ASSERT_EQ(ingested.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(int_of(ingested.at("rejected").as_array()[0].as_object(), "index"), 1);
  ASSERT_EQ(ingested.at("duplicated").as_array().size(), 1u);
  EXPECT_EQ(int_of(ingested.at("duplicated").as_array()[0].as_object(), "index"), 3);
  EXPECT_EQ(jobs_of_tenant(), 0);

  // Without it, the same batch stores what it can.
  auto partial = send("POST", "/v1/jobs",
                      email_job_body(R"("users":[{"email":"a@example.com"},{"email":"not-an-email"}],"run":true)"));
  ASSERT_EQ(partial.status, 201) << partial.body;
  EXPECT_EQ(int_of(body_of(partial).at("ingested").as_object(), "accepted"), 1);
  // A clean batch is stored whole.
  auto clean = send("POST", "/v1/jobs",
                    email_job_body(R"("users":[{"email":"a@example.com"},{"email":"b@example.com"}],"all_or_nothing":true)"));
  ASSERT_EQ(clean.status, 201) << clean.body;
  EXPECT_EQ(int_of(body_of(clean), "unique"), 2);
  EXPECT_EQ(error_code(send("POST", "/v1/jobs", email_job_body(R"("all_or_nothing":"yes")"))), "invalid_field");
}

}  // namespace
}  // namespace crier::testing
