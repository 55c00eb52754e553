// Courier's Bulk API façade (api/compat/courier.cpp) through the router, on
// the real store and dispatcher: the mapping onto native jobs, users and
// counters, and Courier's error shape. The official client drives the same
// paths over HTTP in tests/compat/courier.test.mjs.
#include "engine/ids.h"
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

class CourierFacadeTest : public ApiTest {
 protected:
  std::string create_bulk(const std::string& body) {
    auto r = send("POST", "/bulk", body);
    EXPECT_EQ(r.status, 200) << r.body;
    auto b = body_of(r);
    return b.contains("jobId") ? std::string(b.at("jobId").as_string()) : "";
  }
  json::object bulk_job(const std::string& id) {
    auto r = send("GET", "/bulk/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    auto b = body_of(r);
    return b.contains("job") ? b.at("job").as_object() : json::object{};
  }
  // A Courier error: a string message, no native "error" object.
  static void expect_courier_error(const api::ApiResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    auto b = body_of(r);
    ASSERT_TRUE(b.contains("message") && b.at("message").is_string()) << r.body;
    EXPECT_FALSE(b.contains("error")) << r.body;
    EXPECT_EQ(text(b.at("request_id")), "req_test0000000000000001");
  }
};

constexpr const char* kEmailOnly =
    R"({"message":{"event":"welcome","content":{"title":"Hi {{name}}","body":"Hello {{name}} from {{company}}"},)"
    R"("routing":{"method":"single","channels":["email"]},"data":{"company":"Acme","name":"friend"}}})";

TEST_F(CourierFacadeTest, TheClientsFlatShapeMakesANativeJobWithElementalSugarOnEveryTextChannel) {
  auto id = create_bulk(kEmailOnly);
  ASSERT_FALSE(id.empty());
  auto native = get_job(id);
  EXPECT_EQ(text(native.at("channel")), "email");
  EXPECT_EQ(text(native.at("status")), "CREATED");
  const auto& content = native.at("content").as_object();
  EXPECT_EQ(text(content.at("email").at("subject")), "Hi {{name}}");
  EXPECT_EQ(text(content.at("email").at("text")), "Hello {{name}} from {{company}}");
  EXPECT_EQ(text(content.at("sms").at("body")), "Hello {{name}} from {{company}}");
  EXPECT_EQ(text(content.at("push").at("title")), "Hi {{name}}");
  EXPECT_EQ(text(native.at("data").at("company")), "Acme");

  auto job = bulk_job(id);
  EXPECT_EQ(text(job.at("status")), "CREATED");
  EXPECT_EQ(text(job.at("definition").at("event")), "welcome");
  EXPECT_EQ(int_of(job, "received"), 0);
}

TEST_F(CourierFacadeTest, WithoutARoutingEachUserGoesOnTheFirstChannelTheyCanBeReachedOn) {
  // Elemental sugar fits every text channel: email, sms, push, webhook.
  auto id = create_bulk(R"({"message":{"event":"e","content":{"title":"Hi","body":"Hello {{name}}"}}})");
  auto native = get_job(id);
  EXPECT_TRUE(native.at("channel").is_null());
  EXPECT_EQ(native.at("routing").at("channels"), json::value(json::array{"email", "sms", "push", "webhook"}));
  auto r = send("POST", "/bulk/" + id, R"({"users":[
      {"to":{"user_id":"a","phone_number":"+14155550100"},"profile":{"email":"a@example.com"}},
      {"to":{"user_id":"b","phone_number":"+14155550101"}},
      {"to":{"user_id":"c"}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "total"), 2);
  ASSERT_EQ(b.at("errors").as_array().size(), 1u);
  EXPECT_EQ(text(b.at("errors").at(0).at("code")), "missing_address");  // no address on any channel

  ASSERT_EQ(send("POST", "/bulk/" + id + "/run").status, 202);
  ASSERT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  auto items = body_of(send("GET", "/bulk/" + id + "/users")).at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(text(items[0].at("channel")), "email");  // both addresses: email comes first
  EXPECT_EQ(text(items[1].at("channel")), "sms");

  // Channel elements set the order, and each channel's own text.
  auto ordered = create_bulk(R"({"message":{"event":"e","content":{"version":"2022-01-01","elements":[
      {"type":"meta","title":"Title"},
      {"type":"channel","channel":"sms","elements":[{"type":"text","content":"short {{name}}"}]},
      {"type":"channel","channel":"email","elements":[{"type":"text","content":"long {{name}}"},
                                                       {"type":"action","content":"Pay","href":"https://x.example/pay"}]}]}}})");
  auto o = get_job(ordered);
  EXPECT_EQ(o.at("routing").at("channels"), json::value(json::array{"sms", "email"}));
  EXPECT_EQ(text(o.at("content").at("sms").at("body")), "short {{name}}");
  EXPECT_EQ(text(o.at("content").at("email").at("text")), "long {{name}}\n\nPay: https://x.example/pay");
  EXPECT_EQ(text(o.at("content").at("email").at("subject")), "Title");
}

TEST_F(CourierFacadeTest, TheSeedsNestedShapeNamesAStoredTemplate) {
  auto put = send("PUT", "/v1/templates/invoice", R"({"content":{"sms":{"body":"Invoice for {{company_name}}"}}})");
  ASSERT_EQ(put.status, 201) << put.body;
  auto id = create_bulk(R"({"message":{"message":{"template":"invoice"},"data":{"company_name":"Acme Corp"}}})");
  ASSERT_FALSE(id.empty());
  auto native = get_job(id);
  EXPECT_EQ(text(native.at("channel")), "sms");  // the template's one channel
  EXPECT_EQ(text(native.at("template")), "invoice");
  EXPECT_EQ(text(native.at("data").at("company_name")), "Acme Corp");

  auto missing = send("POST", "/bulk", R"({"message":{"message":{"template":"nope"}}})");
  expect_courier_error(missing, 404);
}

TEST_F(CourierFacadeTest, UsersMapOntoRecipientsAndDuplicatesComeBackAsCourierErrors) {
  auto id = create_bulk(kEmailOnly);
  auto r = send("POST", "/bulk/" + id, R"({"users":[
      {"to":{"user_id":"spike","data":{"name":"Spike"}},"profile":{"email":"spike@bebop.example"}},
      {"to":{"user_id":"faye","email":"faye@bebop.example","locale":"pt_br"},"data":{"name":"Faye","x":1}},
      {"recipient":"spike","profile":{"email":"other@bebop.example"}},
      {"to":{"user_id":"jet"},"profile":{"email":"not-an-email"}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "total"), 2);
  const auto& errors = b.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u) << r.body;
  EXPECT_EQ(text(errors[0].at("error")), "Duplicate user");
  EXPECT_EQ(text(errors[0].at("user").at("recipient")), "spike");  // the user as sent
  EXPECT_EQ(text(errors[1].at("code")), "invalid_email");

  auto users = all_users(id);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(text(users[0].at("user_id")), "spike");
  EXPECT_EQ(text(users[0].at("email")), "spike@bebop.example");
  EXPECT_EQ(text(users[1].at("locale")), "pt-BR");
  EXPECT_EQ(text(users[1].at("data").at("name")), "Faye");

  auto job = bulk_job(id);
  EXPECT_EQ(int_of(job, "received"), 4);
}

TEST_F(CourierFacadeTest, RunIs202WithoutABodyAndASecondRunIsRefusedWithoutRetries) {
  auto id = create_bulk(kEmailOnly);
  ASSERT_EQ(send("POST", "/bulk/" + id, R"({"users":[{"to":{"user_id":"a","email":"a@example.com"}}]})").status, 200);
  auto req = request("POST", "/bulk/" + id + "/run");
  req.content_type.clear();  // the client sends no body and no Content-Type
  auto run = send(std::move(req));
  EXPECT_EQ(run.status, 202) << run.body;
  EXPECT_TRUE(run.body.empty());
  EXPECT_TRUE(run.content_type.empty());

  auto again = send("POST", "/bulk/" + id + "/run");
  expect_courier_error(again, 409);
  EXPECT_EQ(header(again, "x-should-retry"), "false");

  EXPECT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  auto job = bulk_job(id);
  EXPECT_EQ(text(job.at("status")), "COMPLETED");
  EXPECT_EQ(int_of(job, "enqueued"), 1);
  EXPECT_EQ(int_of(job, "failures"), 0);
}

TEST_F(CourierFacadeTest, TheUsersListingPagesInCourierTermsWithStableMessageIds) {
  auto id = create_bulk(kEmailOnly);
  json::array users;
  for (int i = 0; i < 150; ++i)
    users.push_back(json::object{{"to", json::object{{"user_id", fmt::format("u{}", i)}}},
                                 {"profile", json::object{{"email", fmt::format("u{}@example.com", i)}}}});
  ASSERT_EQ(send("POST", "/bulk/" + id, json::serialize(json::object{{"users", users}})).status, 200);

  auto before = body_of(send("GET", "/bulk/" + id + "/users"));
  const auto& first = before.at("items").as_array();
  ASSERT_EQ(first.size(), 100u);
  EXPECT_EQ(text(first[0].at("status")), "PENDING");
  EXPECT_FALSE(first[0].as_object().contains("messageId"));
  EXPECT_EQ(text(first[0].at("recipient")), "u0");
  EXPECT_EQ(text(first[0].at("profile").at("email")), "u0@example.com");
  ASSERT_TRUE(before.at("paging").at("more").as_bool());

  ASSERT_EQ(send("POST", "/bulk/" + id + "/run").status, 202);
  ASSERT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  std::vector<std::string> ids;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto r = send("GET", "/bulk/" + id + "/users" + (cursor.empty() ? "" : "?cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    auto b = body_of(r);
    for (const auto& item : b.at("items").as_array()) {
      EXPECT_EQ(text(item.at("status")), "ENQUEUED");
      ids.push_back(text(item.at("messageId")));
    }
    if (!b.at("paging").at("more").as_bool()) break;
    cursor = text(b.at("paging").at("cursor"));
  }
  ASSERT_EQ(ids.size(), 150u);
  EXPECT_EQ(ids[0], message_id(*parse_job_id(id), 0));
  EXPECT_EQ(ids[149], message_id(*parse_job_id(id), 149));

  auto bad = send("GET", "/bulk/" + id + "/users?cursor=garbage");
  expect_courier_error(bad, 400);
}

TEST_F(CourierFacadeTest, ErrorsAreCourierShapedAndStoreNothing) {
  expect_courier_error(send("POST", "/bulk", kEmailOnly, "wrong-key-123"), 401);
  expect_courier_error(send("POST", "/bulk", "{not json"), 400);
  expect_courier_error(send("POST", "/bulk", R"({"message":{"data":{}}})"), 400);
  expect_courier_error(send("POST", "/bulk", R"({"message":{"event":"e","content":{"title":"t","body":"b"},"routing":{"method":"all","channels":["email"]}}})"), 400);
  expect_courier_error(send("POST", "/bulk", R"({"message":{"event":"e","content":{"title":"t","body":"b"},"routing":{"channels":["inbox"]}}})"), 400);
  expect_courier_error(send("GET", "/bulk/job_00000000000000000000000000"), 404);
  expect_courier_error(send("POST", "/bulk/job_00000000000000000000000000", R"({"users":[]})"), 404);
  expect_courier_error(send("DELETE", "/bulk"), 405);
  expect_courier_error(send("GET", "/bulk/x/y/z"), 404);
  // Another tenant's job is unknown here too.
  auto id = create_bulk(kEmailOnly);
  expect_courier_error(send("GET", "/bulk/" + id, "", kKeyOther), 404);
  // Nothing but that one job was stored.
  auto list = body_of(send("GET", "/v1/jobs"));
  EXPECT_EQ(list.at("jobs").as_array().size(), 1u);
  // The native API keeps its own shape.
  EXPECT_EQ(error_code(send("GET", "/v1/jobs/nope")), "job_not_found");
}

TEST_F(CourierFacadeTest, AnIdempotencyKeyReplaysTheCreate) {
  auto a = request("POST", "/bulk", kEmailOnly);
  a.idempotency_key = "create-once";
  auto first = send(a);
  auto second = send(a);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(header(second, "Idempotent-Replayed"), "true");
  EXPECT_EQ(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size(), 1u);
}

// The engine capability the façades build on, in the native API.
TEST_F(CourierFacadeTest, ANativeJobCanBeCreatedWithItsUsersAndStartedInOneRequest) {
  auto r = send("POST", "/v1/jobs", email_job_body(
      R"("run":true,"users":[{"email":"a@example.com"},{"email":"b@example.com"},{"email":"a@example.com"},{"email":"bad"}])"));
  ASSERT_EQ(r.status, 201) << r.body;
  auto b = body_of(r);
  EXPECT_NE(text(b.at("status")), "CREATED");
  EXPECT_EQ(int_of(b, "unique"), 2);
  const auto& ingested = b.at("ingested").as_object();
  EXPECT_EQ(int_of(ingested, "accepted"), 2);
  ASSERT_EQ(ingested.at("duplicated").as_array().size(), 1u);
  EXPECT_EQ(int_of(ingested.at("duplicated").as_array()[0].as_object(), "index"), 2);
  EXPECT_EQ(ingested.at("rejected").as_array().size(), 1u);
  auto id = text(b.at("job_id"));
  EXPECT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  EXPECT_EQ(int_of(get_job(id), "sent"), 2);

  // Without run the job is stored CREATED with its users.
  auto created = body_of(send("POST", "/v1/jobs", email_job_body(R"("users":[{"email":"c@example.com"}])")));
  EXPECT_EQ(text(created.at("status")), "CREATED");
  EXPECT_EQ(int_of(created, "pending"), 1);
  // A bad spec stores nothing.
  auto bad = send("POST", "/v1/jobs", R"({"channel":"email","run":true,"users":[{"email":"d@example.com"}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size(), 2u);
}

// A create whose answer a crash lost: its retry names the job the first
// attempt made (tests/api/idempotency_crash_test.cpp has the native ones).
TEST_F(CourierFacadeTest, ACreateRetriedAfterACrashAnswersTheSameJob) {
  auto a = request("POST", "/bulk", kEmailOnly);
  a.idempotency_key = "create-crash";
  crash_once_before_the_answer();
  ASSERT_EQ(send(a).status, 500);
  auto retry = send(a);
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(jobs_of(), 1u);
  const auto listed = body_of(send("GET", "/v1/jobs")).at("jobs").at(0).at("job_id");
  EXPECT_EQ(body_of(retry).at("jobId"), listed);
}

}  // namespace
}  // namespace crier::testing
