// GET /v1/jobs/{id}/users: paging with limit and cursor, status filter.
#include <set>

#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using UsersListingTest = ApiTest;

TEST_F(UsersListingTest, PagesCoverEveryUserOnceInSeqOrder) {
  std::string id = create_job();
  ASSERT_EQ(ingest(id, users_body(0, 25)).status, 200);

  std::vector<std::uint64_t> seqs;
  std::vector<std::string> emails;
  std::string cursor;
  int pages = 0;
  for (; pages < 50; ++pages) {
    std::string target = "/v1/jobs/" + id + "/users?limit=7";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    auto r = send("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto b = body_of(r);
    const auto& users = b.at("users").as_array();
    EXPECT_LE(users.size(), 7u);
    for (const auto& u : users) {
      seqs.push_back(u.at("seq").to_number<std::uint64_t>());
      emails.emplace_back(u.at("email").as_string());
    }
    const auto& paging = b.at("paging");
    if (paging.at("cursor").is_null()) {
      EXPECT_EQ(paging.at("more"), false);
      break;
    }
    EXPECT_EQ(paging.at("more"), true);
    cursor = std::string(paging.at("cursor").as_string());
  }
  EXPECT_EQ(pages + 1, 4);  // 7 + 7 + 7 + 4
  ASSERT_EQ(seqs.size(), 25u);
  for (std::uint64_t i = 0; i < 25; ++i) {
    EXPECT_EQ(seqs[i], i);
    EXPECT_EQ(emails[i], fmt::format("u{}@example.com", i));
  }
}

TEST_F(UsersListingTest, ExactMultipleOfLimitHasNoEmptyTrailingPage) {
  std::string id = create_job();
  ASSERT_EQ(ingest(id, users_body(0, 10)).status, 200);
  auto first = body_of(send("GET", "/v1/jobs/" + id + "/users?limit=5"));
  ASSERT_EQ(first.at("users").as_array().size(), 5u);
  std::string cursor(first.at("paging").at("cursor").as_string());
  auto second = body_of(send("GET", "/v1/jobs/" + id + "/users?limit=5&cursor=" + cursor));
  EXPECT_EQ(second.at("users").as_array().size(), 5u);
  EXPECT_EQ(second.at("paging").at("more"), false);
  EXPECT_TRUE(second.at("paging").at("cursor").is_null());
}

TEST_F(UsersListingTest, InvalidCursorIs400) {
  std::string id = create_job();
  ASSERT_EQ(ingest(id, users_body(0, 3)).status, 200);
  for (const char* cursor : {"garbage!", "AAAAAAAAAAAAAAAA", "x"}) {
    auto r = send("GET", "/v1/jobs/" + id + "/users?cursor=" + cursor);
    EXPECT_EQ(r.status, 400) << cursor;
    EXPECT_EQ(error_code(r), "invalid_cursor") << cursor;
    EXPECT_EQ(error_field(r, "field"), "cursor") << cursor;
  }
}

TEST_F(UsersListingTest, CursorFromAnotherJobIs400) {
  std::string a = create_job();
  std::string b = create_job();
  ASSERT_EQ(ingest(a, users_body(0, 5)).status, 200);
  ASSERT_EQ(ingest(b, users_body(0, 5)).status, 200);
  auto page = body_of(send("GET", "/v1/jobs/" + a + "/users?limit=2"));
  std::string cursor(page.at("paging").at("cursor").as_string());
  // Valid on its own job...
  EXPECT_EQ(send("GET", "/v1/jobs/" + a + "/users?cursor=" + cursor).status, 200);
  // ...refused on another.
  auto r = send("GET", "/v1/jobs/" + b + "/users?cursor=" + cursor);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_cursor");
}

TEST_F(UsersListingTest, StatusFilterFollowsDispatch) {
  std::string id = create_job(email_job_body(R"("provider":"null")"));
  ASSERT_EQ(ingest(id, users_body(0, 12)).status, 200);
  EXPECT_EQ(all_users(id, "PENDING").size(), 12u);
  EXPECT_TRUE(all_users(id, "SENT").empty());

  ASSERT_EQ(send("POST", "/v1/jobs/" + id + "/run").status, 202);
  ASSERT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  auto sent = all_users(id, "sent");
  EXPECT_EQ(sent.size(), 12u);
  std::set<std::string> ids;
  for (const auto& u : sent) {
    EXPECT_EQ(u.at("status"), "SENT");
    ids.emplace(u.at("message_id").as_string());
  }
  EXPECT_EQ(ids.size(), 12u);  // one message id per recipient
  EXPECT_TRUE(all_users(id, "PENDING").empty());

  auto bad = send("GET", "/v1/jobs/" + id + "/users?status=LOST");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_code(bad), "invalid_status");
}

TEST_F(UsersListingTest, CancelledJobListsCancelledUsersWithReason) {
  std::string id = create_job();
  ASSERT_EQ(ingest(id, users_body(0, 4)).status, 200);
  ASSERT_EQ(send("POST", "/v1/jobs/" + id + "/cancel").status, 200);
  // The sweep runs on the dispatcher: poll until every user is final.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<json::object> cancelled;
  while (std::chrono::steady_clock::now() < deadline) {
    cancelled = all_users(id, "CANCELLED");
    if (cancelled.size() == 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(cancelled.size(), 4u);
  EXPECT_EQ(cancelled[0].at("error").at("code"), "cancelled");
  EXPECT_TRUE(cancelled[0].at("message_id").is_null());
  auto b = get_job(id);
  EXPECT_EQ(int_of(b, "cancelled"), 4);
  EXPECT_EQ(int_of(b, "pending"), 0);
}

}  // namespace
}  // namespace crier::testing
