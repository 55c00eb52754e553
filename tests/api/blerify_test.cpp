// The Blerify façade, called as the PHP client blerify/notifications calls
// it: a bulk of items makes one job from the stored notification group
// (created, ingested and run in one write), items read back by their id,
// a group's items listed with limit/offset, every error in Blerify's shape.
#include "engine/ids.h"
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

constexpr const char* kGroup = "a844ede0-7a6a-4c00-8d2a-9b69cd8b4d3b";

class BlerifyTest : public ApiTest {
 protected:
  void SetUp() override {
    auto r = send("PUT", std::string("/v1/notification-groups/") + kGroup,
                  R"({"channel":"email","content":{"email":{"subject":"Due {{Amount}}","text":"Pay {{Amount}} by {{due}}"}}})");
    ASSERT_EQ(r.status, 201) << r.body;
  }

  static std::string items_path(std::string org = "acme", std::string group = kGroup) {
    return "/api/v1/organizations/" + org + "/notifications/" + group + "/items";
  }

  // What the client sends: Content-Type JSON, a correlation-id, the bearer token.
  api::ApiResponse bulk(std::string body, std::string org = "acme", std::string group = kGroup,
                        std::string key = kKeyAcme) {
    auto req = request("POST", items_path(org, group) + "/bulk", std::move(body), std::move(key));
    req.headers["correlation-id"] = "3f0c7a52-2d1b-4d8e-9a57-0b1b5e0c1f00";
    return send(std::move(req));
  }

  // {"items":[{"receiverData":{"id":"r<i>","email":"r<i>@example.com","Amount":"<i>.5"}}...]}
  static std::string items(int from, int to) {
    json::array list;
    for (int i = from; i < to; ++i)
      list.push_back(json::object{{"receiverData", json::object{{"id", fmt::format("r{}", i)},
                                                                {"email", fmt::format("r{}@Example.com", i)},
                                                                {"Amount", fmt::format("{}.5", i)}}}});
    return json::serialize(json::object{{"items", std::move(list)}});
  }

  // Checks Blerify's error shape and returns the body.
  static json::object blerify_error(const api::ApiResponse& r, int status, std::string_view code) {
    auto b = body_of(r);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(int_of(b, "statusCode"), status) << r.body;
    EXPECT_TRUE(b.contains("message") && b.at("message").is_string()) << r.body;
    EXPECT_TRUE(b.contains("error") && b.at("error").is_string()) << r.body;
    EXPECT_EQ(text(b.at("code")), code) << r.body;
    EXPECT_EQ(text(b.at("requestId")), "req_test0000000000000001");
    return b;
  }

  int jobs_of_tenant() { return static_cast<int>(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size()); }

  // Polls the item until `status` or 10 s; returns the last read.
  json::object wait_for_item(const std::string& id, std::string_view status) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    json::object item;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = send("GET", items_path() + "/" + id);
      EXPECT_EQ(r.status, 200) << r.body;
      item = body_of(r);
      if (text(item.at("status")) == status) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return item;
  }
};

TEST_F(BlerifyTest, BulkCreatesOneRunningJobAndAnswersTheItems) {
  auto r = bulk(items(0, 3));
  ASSERT_EQ(r.status, 201) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "total"), 3);
  EXPECT_EQ(int_of(b, "limit"), 3);
  EXPECT_EQ(int_of(b, "offset"), 0);
  const auto& list = b.at("items").as_array();
  ASSERT_EQ(list.size(), 3u);
  std::optional<JobKey> job;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& item = list[i].as_object();
    // The id is the Crier message id of (job, seq), in the order of the items.
    auto id = parse_message_id(text(item.at("id")));
    ASSERT_TRUE(id) << item;
    EXPECT_EQ(id->second, i);
    if (job) {
      EXPECT_EQ(id->first, *job);
    }
    job = id->first;
    EXPECT_EQ(text(item.at("notificationGroupId")), kGroup);
    const auto& receiver = item.at("receiverData").as_object();
    EXPECT_EQ(text(receiver.at("id")), fmt::format("r{}", i));
    EXPECT_EQ(text(receiver.at("email")), fmt::format("r{}@example.com", i));  // as stored: the domain lower-cased
    EXPECT_EQ(text(receiver.at("Amount")), fmt::format("{}.5", i));
    auto status = text(item.at("status"));
    EXPECT_TRUE(status == "PENDING" || status == "SENT") << status;
    EXPECT_FALSE(text(item.at("createdAt")).empty());
    EXPECT_TRUE(item.at("receivedAt").is_null());
    EXPECT_TRUE(item.at("readAt").is_null());
  }

  // Natively: an ordinary job of the tenant, made from the group, started,
  // with the correlation-id header as its correlation_id.
  auto native = get_job(job_id_string(*job));
  EXPECT_EQ(text(native.at("notification_group")), kGroup);
  EXPECT_EQ(text(native.at("correlation_id")), "3f0c7a52-2d1b-4d8e-9a57-0b1b5e0c1f00");
  EXPECT_EQ(text(native.at("channel")), "email");
  EXPECT_EQ(int_of(native, "unique"), 3);
  EXPECT_EQ(wait_for_status(job_id_string(*job), "COMPLETED"), "COMPLETED");
  auto users = all_users(job_id_string(*job));
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(text(users[1].at("user_id")), "r1");
  EXPECT_EQ(text(users[1].at("data").at("Amount")), "1.5");
}

TEST_F(BlerifyTest, ItemsReadBackByIdWithTheirProgress) {
  auto created = body_of(bulk(items(0, 2)));
  auto id = text(created.at("items").as_array()[1].at("id"));
  auto item = wait_for_item(id, "SENT");
  EXPECT_EQ(text(item.at("status")), "SENT");
  EXPECT_EQ(text(item.at("id")), id);
  EXPECT_EQ(text(item.at("notificationGroupId")), kGroup);
  EXPECT_EQ(text(item.at("receiverData").at("id")), "r1");
  EXPECT_EQ(item.at("createdAt"), created.at("items").as_array()[1].at("createdAt"));
  EXPECT_FALSE(item.at("sentAt").is_null());
  EXPECT_TRUE(item.at("receivedAt").is_null());

  // Receipts move it on: delivered, then read, each with its time.
  auto delivered = send("POST", "/v1/receipts/log", fmt::format(R"({{"message_id":"{}","status":"delivered"}})", id));
  ASSERT_EQ(delivered.status, 200) << delivered.body;
  item = body_of(send("GET", items_path() + "/" + id));
  EXPECT_EQ(text(item.at("status")), "RECEIVED");
  EXPECT_FALSE(item.at("receivedAt").is_null());
  EXPECT_FALSE(item.at("sentAt").is_null());
  ASSERT_EQ(send("POST", "/v1/receipts/log", fmt::format(R"({{"message_id":"{}","status":"read"}})", id)).status, 200);
  auto read = body_of(send("GET", items_path() + "/" + id));
  EXPECT_EQ(text(read.at("status")), "READ");
  EXPECT_FALSE(read.at("readAt").is_null());
  EXPECT_EQ(read.at("receivedAt"), item.at("receivedAt"));
  EXPECT_EQ(read.at("sentAt"), item.at("sentAt"));
}

TEST_F(BlerifyTest, AnItemIsFoundOnlyInItsGroupAndOrganization) {
  auto id = text(body_of(bulk(items(0, 1))).at("items").as_array()[0].at("id"));
  ASSERT_EQ(send("PUT", "/v1/notification-groups/other-group",
                 R"({"channel":"email","content":{"email":{"text":"x"}}})").status, 201);
  blerify_error(send("GET", items_path("acme", "other-group") + "/" + id), 404, "item_not_found");
  blerify_error(send("GET", items_path() + "/msg_bogus"), 404, "item_not_found");
  // A message id of a job that is not the group's (a plain native job).
  auto plain = create_job();
  blerify_error(send("GET", items_path() + "/" + message_id(std::string_view(plain), 0)), 404, "item_not_found");
  // Another tenant's key: its organization is "other", and has no such group.
  blerify_error(send("GET", items_path("other") + "/" + id, "", kKeyOther), 404, "notification_group_not_found");
  blerify_error(send("GET", items_path() + "/" + id, "", kKeyOther), 404, "organization_not_found");
}

TEST_F(BlerifyTest, UnknownOrganizationOrGroupIs404) {
  blerify_error(bulk(items(0, 1), "globex"), 404, "organization_not_found");
  blerify_error(bulk(items(0, 1), "acme", "no-such-group"), 404, "notification_group_not_found");
  blerify_error(bulk(items(0, 1), "acme", "not*an*id"), 404, "notification_group_not_found");
  blerify_error(send("GET", "/api/v1/organizations/acme/notifications"), 404, "route_not_found");
  blerify_error(send("GET", items_path() + "/x/y"), 404, "route_not_found");
  EXPECT_EQ(jobs_of_tenant(), 0);
}

TEST_F(BlerifyTest, WrongOrMissingTokenIs401InBlerifysShape) {
  auto wrong = bulk(items(0, 1), "acme", kGroup, "key-zzzzzzzz");
  blerify_error(wrong, 401, "invalid_api_key");
  EXPECT_EQ(header(wrong, "WWW-Authenticate"), std::optional<std::string>("Bearer"));
  blerify_error(bulk(items(0, 1), "acme", kGroup, ""), 401, "missing_api_key");
  blerify_error(send("GET", items_path(), "", ""), 401, "missing_api_key");
  EXPECT_EQ(jobs_of_tenant(), 0);
}

TEST_F(BlerifyTest, BadInputIsRefusedWholeAndStoresNothing) {
  struct Case {
    std::string body;
    const char* code;
    int index;  // the item named in errors, or -1
    const char* field;
  };
  for (const auto& c : {
           Case{R"({"items":[]})", "missing_field", -1, ""},
           Case{R"({"items":{}})", "missing_field", -1, ""},
           Case{R"({})", "missing_field", -1, ""},
           Case{R"([1])", "invalid_body", -1, ""},
           Case{R"({"items":[)", "invalid_json", -1, ""},
           Case{R"({"items":[{"receiverData":{"id":"a","email":"a@example.com"}},{"receiver":{}}]})", "items_refused", 1,
                "items[1].receiverData"},
           Case{R"({"items":[{"receiverData":{"email":"a@example.com"}}]})", "items_refused", 0,
                "items[0].receiverData.id"},
           Case{R"({"items":[{"receiverData":{"id":"a","email":"a@example.com"}},{"receiverData":{"id":"b","email":"nope"}}]})",
                "users_refused", 1, "items[1].receiverData.email"},
           Case{R"({"items":[{"receiverData":{"id":"a","email":"a@example.com"}},{"receiverData":{"id":"b"}}]})",
                "users_refused", 1, "items[1].receiverData.email"},
           Case{R"({"items":[{"receiverData":{"id":true,"email":"a@example.com"}}]})", "users_refused", 0,
                "items[0].receiverData.id"},
           Case{R"({"items":[{"receiverData":{"id":"a","email":"a@example.com"}},{"receiverData":{"id":"a","email":"b@example.com"}}]})",
                "users_refused", 1, "items[1].receiverData.id"},
       }) {
    auto r = bulk(c.body);
    auto b = blerify_error(r, 400, c.code);
    if (c.index >= 0) {
      ASSERT_TRUE(b.contains("errors")) << c.body;
      const auto& errors = b.at("errors").as_array();
      ASSERT_EQ(errors.size(), 1u) << r.body;
      EXPECT_EQ(int_of(errors[0].as_object(), "index"), c.index) << r.body;
      EXPECT_EQ(text(errors[0].at("field")), c.field) << r.body;
    }
  }
  auto wrong_type = request("POST", items_path() + "/bulk", items(0, 1));
  wrong_type.content_type = "text/plain";
  blerify_error(send(std::move(wrong_type)), 415, "unsupported_media_type");
  EXPECT_EQ(jobs_of_tenant(), 0);
  EXPECT_EQ(int_of(body_of(send("GET", items_path())), "total"), 0);
}

TEST_F(BlerifyTest, WrongMethodsAre405InBlerifysShape) {
  blerify_error(send("GET", items_path() + "/bulk"), 405, "method_not_allowed");
  blerify_error(send("POST", items_path()), 405, "method_not_allowed");
  blerify_error(send("DELETE", items_path() + "/msg_x"), 405, "method_not_allowed");
}

TEST_F(BlerifyTest, TheGroupsItemsListOldestFirstWithLimitAndOffset) {
  std::vector<std::string> ids;
  for (auto [from, to] : {std::pair{0, 2}, std::pair{2, 5}, std::pair{5, 6}}) {
    // Calls are ordered by their job's key: its creation millisecond, then
    // random bits. Calls in one millisecond have no order between them, so
    // each call here waits for the clock to move on.
    auto start = now_unix_ms();
    while (now_unix_ms() == start) std::this_thread::yield();
    auto b = body_of(bulk(items(from, to)));
    for (const auto& item : b.at("items").as_array()) ids.push_back(text(item.at("id")));
  }
  ASSERT_EQ(ids.size(), 6u);
  auto page = [&](std::string query) {
    auto r = send("GET", items_path() + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return body_of(r);
  };
  auto ids_of = [](const json::object& b) {
    std::vector<std::string> out;
    for (const auto& item : b.at("items").as_array()) out.push_back(text(item.at("id")));
    return out;
  };
  auto all = page("");
  EXPECT_EQ(int_of(all, "total"), 6);
  EXPECT_EQ(int_of(all, "offset"), 0);
  EXPECT_EQ(int_of(all, "limit"), 100);
  EXPECT_EQ(ids_of(all), ids);
  EXPECT_EQ(text(all.at("items").as_array()[3].at("receiverData").at("id")), "r3");

  auto first = page("?limit=4");
  EXPECT_EQ(ids_of(first), std::vector<std::string>(ids.begin(), ids.begin() + 4));
  EXPECT_EQ(int_of(first, "total"), 6);
  EXPECT_EQ(ids_of(page("?limit=4&offset=4")), std::vector<std::string>(ids.begin() + 4, ids.end()));
  // Across the end of one bulk call into the next.
  EXPECT_EQ(ids_of(page("?limit=3&offset=1")), std::vector<std::string>(ids.begin() + 1, ids.begin() + 4));
  EXPECT_TRUE(ids_of(page("?offset=6")).empty());
  EXPECT_TRUE(ids_of(page("?offset=600")).empty());

  blerify_error(send("GET", items_path() + "?offset=-1"), 400, "invalid_offset");
  blerify_error(send("GET", items_path() + "?limit=0"), 400, "invalid_limit");
  // Another group's listing has none of them.
  ASSERT_EQ(send("PUT", "/v1/notification-groups/g2", R"({"channel":"email","content":{"email":{"text":"x"}}})").status, 201);
  EXPECT_EQ(int_of(body_of(send("GET", items_path("acme", "g2"))), "total"), 0);
  // A deleted group is unknown, and made again it starts empty.
  ASSERT_EQ(send("DELETE", std::string("/v1/notification-groups/") + kGroup).status, 200);
  blerify_error(send("GET", items_path()), 404, "notification_group_not_found");
  SetUp();
  EXPECT_EQ(int_of(page(""), "total"), 0);
  blerify_error(send("GET", items_path() + "/" + ids[0]), 404, "item_not_found");
}

TEST_F(BlerifyTest, AnIdempotencyKeyReplaysTheBulkAnswer) {
  auto req = request("POST", items_path() + "/bulk", items(0, 2));
  req.idempotency_key = "bulk-1";
  auto first = send(req);
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = send(req);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(jobs_of_tenant(), 1);
}

// A bulk whose answer a crash lost: its retry answers the items of the one
// job the first attempt made.
TEST_F(BlerifyTest, ABulkRetriedAfterACrashAnswersTheSameItems) {
  auto req = request("POST", items_path() + "/bulk", items(0, 2));
  req.idempotency_key = "bulk-crash";
  crash_once_before_the_answer();
  ASSERT_EQ(send(req).status, 500);
  auto retry = send(req);
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(jobs_of_tenant(), 1);
  EXPECT_EQ(int_of(get_job(text(body_of(send("GET", "/v1/jobs")).at("jobs").at(0).at("job_id"))), "unique"), 2);
}

}  // namespace
}  // namespace crier::testing
