// POST /v1/profiles/import through the router, fed as the server feeds a
// streamed body (in pieces that cut lines and rows anywhere) or whole: the
// answer's counts, the bounded list of refused records in index order, the
// batches it commits as it goes, and the types it takes.
#include <variant>

#include "api/ingest/body_stream.h"
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

class ProfileImportTest : public ApiTest {
 protected:
  std::unique_ptr<api::BodyStream> open(std::string content_type) {
    auto req = request("POST", "/v1/profiles/import");
    req.content_type = std::move(content_type);
    auto opened = router_->open_stream(req);
    if (!std::holds_alternative<std::unique_ptr<api::BodyStream>>(opened))
      throw std::runtime_error("no stream: " + std::get<api::ApiResponse>(opened).body);
    return std::move(std::get<std::unique_ptr<api::BodyStream>>(opened));
  }
  // Feeds `body` in pieces of `piece` bytes, then finishes.
  api::ApiResponse stream(std::string content_type, std::string_view body, std::size_t piece) {
    auto s = open(std::move(content_type));
    for (std::size_t at = 0; at < body.size(); at += piece)
      if (auto r = s->feed(body.substr(at, piece)); !r) return s->abort(r.error());
    return s->finish();
  }
  static std::int64_t int_of(const json::object& o, std::string_view k) { return o.at(k).as_int64(); }
  json::object profile(std::string_view user_id) {
    auto r = send("GET", "/v1/profiles/" + std::string(user_id));
    EXPECT_EQ(r.status, 200) << r.body;
    return body_of(r);
  }
};

TEST_F(ProfileImportTest, LinesCutAnywhereAreImportedInBatchesWithTheirCounts) {
  ctx_->limits.stream_commit_users = 7;  // batches of 7
  std::string body;
  for (int i = 0; i < 50; ++i) body += fmt::format("{{\"user_id\":\"u{:02}\",\"email\":\"u{}@example.com\"}}\r\n", i, i);
  body += "\n   \n{\"user_id\":\"u03\",\"attributes\":{\"n\":3}}";  // blank lines, then no final newline
  auto r = stream("application/x-ndjson", body, 13);
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "received"), 51);
  EXPECT_EQ(int_of(b, "created"), 50);
  EXPECT_EQ(int_of(b, "updated"), 1);
  EXPECT_EQ(int_of(b, "rejected_count"), 0);
  auto u03 = profile("u03");
  EXPECT_EQ(u03.at("email"), "u3@example.com");
  EXPECT_EQ(u03.at("attributes"), (json::object{{"n", 3}}));
  auto listed = body_of(send("GET", "/v1/profiles?limit=100"));
  EXPECT_EQ(listed.at("profiles").as_array().size(), 50u);
}

TEST_F(ProfileImportTest, RefusedRecordsAreListedInOrderUpToTheLimitAndAllCounted) {
  ctx_->limits.stream_commit_users = 4;
  ctx_->limits.max_rejected_listed = 5;
  std::string body;
  // Every third record is refused: alternately by the parser (no user_id)
  // and by the profile's validation at commit (a bad email).
  for (int i = 0; i < 30; ++i) {
    if (i % 6 == 0) body += "{\"email\":\"x@example.com\"}\n";
    else if (i % 6 == 3) body += fmt::format("{{\"user_id\":\"u{}\",\"email\":\"nope\"}}\n", i);
    else body += fmt::format("{{\"user_id\":\"u{}\"}}\n", i);
  }
  auto r = stream("application/x-ndjson", body, 1000);
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "received"), 30);
  EXPECT_EQ(int_of(b, "created"), 20);
  EXPECT_EQ(int_of(b, "rejected_count"), 10);
  EXPECT_TRUE(b.at("rejected_truncated").as_bool());
  const auto& listed = b.at("rejected").as_array();
  ASSERT_EQ(listed.size(), 5u);
  const std::int64_t expected_index[] = {0, 3, 6, 9, 12};
  for (std::size_t k = 0; k < listed.size(); ++k) {
    const auto& o = listed[k].as_object();
    EXPECT_EQ(int_of(o, "index"), expected_index[k]) << json::serialize(listed);
    EXPECT_EQ(int_of(o, "line"), expected_index[k] + 1);
    EXPECT_EQ(o.at("code"), k % 2 == 0 ? "invalid_user_id" : "invalid_email") << json::serialize(o);
  }
  EXPECT_EQ(listed[1].as_object().at("user_id"), "u3");
  EXPECT_EQ(listed[1].as_object().at("field"), "email");
}

TEST_F(ProfileImportTest, ABufferedBodyIsImportedAndOtherTypesAreRefused) {
  auto req = request("POST", "/v1/profiles/import", "user_id,email\nann,ann@example.com\n");
  req.content_type = "text/csv";
  auto r = send(std::move(req));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(int_of(body_of(r), "created"), 1);
  EXPECT_EQ(profile("ann").at("email"), "ann@example.com");

  auto json_body = send("POST", "/v1/profiles/import", R"([{"user_id":"bob"}])");
  EXPECT_EQ(json_body.status, 415) << json_body.body;
  EXPECT_EQ(error_code(json_body), "unsupported_media_type");
  auto unauthenticated = send("POST", "/v1/profiles/import", "", "");
  EXPECT_EQ(unauthenticated.status, 401);
}

TEST_F(ProfileImportTest, CsvHeadersAreCheckedBeforeAnyRow) {
  auto no_id = stream("text/csv", "email,plan\na@example.com,pro\n", 5);
  EXPECT_EQ(no_id.status, 400);
  EXPECT_EQ(error_code(no_id), "invalid_csv_header");
  auto twice = stream("text/csv", "user_id,plan,attributes.plan\nu1,a,b\n", 5);
  EXPECT_EQ(error_code(twice), "invalid_csv_header");
  auto channel = stream("text/csv", "user_id,subscriptions.fax\nu1,subscribed\n", 5);
  EXPECT_EQ(error_code(channel), "invalid_csv_header");
  EXPECT_EQ(error_field(channel, "field"), "subscriptions.fax");
  auto empty = stream("text/csv", "", 5);
  EXPECT_EQ(error_code(empty), "invalid_csv_header");
  EXPECT_EQ(send("GET", "/v1/profiles/u1").status, 404) << "nothing imported";
}

TEST_F(ProfileImportTest, CsvCellsBecomeMembersAttributesAndSubscriptions) {
  // A BOM, CRLF, a quoted cell with a comma, and an attribute cell of each type.
  const std::string body =
      "\xEF\xBB\xBFuser_id,email,locale,timezone,push_token,subscriptions.email,plan,attributes.visits,vip,zip\r\n"
      "u1,u1@example.com,pt_br,Europe/Paris,tok-1,unsubscribed,\"pro, yearly\",12,true,007\r\n"
      "u2,,,,,,,-2.5e1,false,\r\n";
  auto r = stream("text/csv", body, 9);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(int_of(body_of(r), "created"), 2);
  auto u1 = profile("u1");
  EXPECT_EQ(u1.at("locale"), "pt-BR");
  EXPECT_EQ(u1.at("timezone"), "Europe/Paris");
  EXPECT_EQ(u1.at("push_tokens"), (json::array{"tok-1"}));
  EXPECT_EQ(u1.at("subscriptions"), (json::object{{"email", "unsubscribed"}}));
  EXPECT_EQ(u1.at("attributes"), (json::object{{"plan", "pro, yearly"}, {"visits", 12}, {"vip", true}, {"zip", "007"}}));
  auto u2 = profile("u2");
  EXPECT_TRUE(u2.at("email").is_null()) << "an empty cell sets nothing";
  EXPECT_EQ(u2.at("attributes"), (json::object{{"visits", -25.0}, {"vip", false}}));
}

}  // namespace
}  // namespace crier::testing
