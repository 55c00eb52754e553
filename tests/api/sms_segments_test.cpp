// SMS segments in the native API: POST /v1/sms/segments and the `sms` member
// of an sms job's users listing.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using SmsSegmentsApiTest = ApiTest;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string segments_body(std::string_view text) {
  return json::serialize(json::object{{"body", text}});
}

TEST_F(SmsSegmentsApiTest, MeasuresABody) {
  struct Case {
    std::string body;
    std::string encoding;
    std::int64_t characters, segments;
  };
  const std::vector<Case> cases = {
      {"Your code is 123456. Total: 5€", "GSM-7", 31, 1},
      {"", "GSM-7", 0, 1},
      {"^", "GSM-7", 2, 1},
      {"Hi 😀", "UCS-2", 5, 1},
      {"ça", "UCS-2", 2, 1},
      {repeat("a", 160), "GSM-7", 160, 1},
      {repeat("a", 161), "GSM-7", 161, 2},
      {repeat("a", 152) + "€" + repeat("a", 152), "GSM-7", 306, 3},
      {repeat("ж", 70), "UCS-2", 70, 1},
      {repeat("ж", 71), "UCS-2", 71, 2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = send("POST", "/v1/sms/segments", segments_body(c.body));
    ASSERT_EQ(r.status, 200) << r.body;
    auto b = body_of(r);
    EXPECT_EQ(b.size(), 3u) << r.body;
    EXPECT_EQ(text(b.at("encoding")), c.encoding);
    EXPECT_EQ(int_of(b, "characters"), c.characters);
    EXPECT_EQ(int_of(b, "segments"), c.segments);
  }
}

TEST_F(SmsSegmentsApiTest, JsonEscapesAreDecodedBeforeMeasuring) {
  // \u20ac is the euro sign (2 septets); \ud83d\ude00 one emoji (a surrogate pair).
  auto euro = body_of(send("POST", "/v1/sms/segments", R"({"body":"\u20ac"})"));
  EXPECT_EQ(text(euro.at("encoding")), "GSM-7");
  EXPECT_EQ(int_of(euro, "characters"), 2);
  auto emoji = body_of(send("POST", "/v1/sms/segments", R"({"body":"\ud83d\ude00"})"));
  EXPECT_EQ(text(emoji.at("encoding")), "UCS-2");
  EXPECT_EQ(int_of(emoji, "characters"), 2);
}

TEST_F(SmsSegmentsApiTest, BadBodiesAreNativeErrors) {
  struct Case {
    std::string body;
    int status;
    std::string code, field;
  };
  const std::vector<Case> cases = {
      {"", 400, "missing_field", "body"},
      {"{}", 400, "missing_field", "body"},
      {R"({"body":null})", 400, "missing_field", "body"},
      {R"({"body":42})", 400, "invalid_field", "body"},
      {R"({"body":"hi","to":"+14155550100"})", 400, "unknown_field", "to"},
      {R"(["hi"])", 400, "invalid_body", ""},
      {R"({"body":)", 400, "invalid_json", ""},
      {"{\"body\":\"\xC3\"}", 400, "invalid_json", ""},  // not UTF-8
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = send("POST", "/v1/sms/segments", c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(error_code(r), c.code);
    EXPECT_EQ(error_field(r, "field"), c.field);
    EXPECT_EQ(error_field(r, "request_id"), "req_test0000000000000001");
  }
}

TEST_F(SmsSegmentsApiTest, MediaTypeMethodAndKeyAreChecked) {
  auto req = request("POST", "/v1/sms/segments", segments_body("hi"));
  req.content_type = "text/plain";
  auto r = send(std::move(req));
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(error_code(r), "unsupported_media_type");

  r = send("GET", "/v1/sms/segments");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "POST");

  r = send("POST", "/v1/sms/segments", segments_body("hi"), "");
  EXPECT_EQ(r.status, 401);

  r = send("POST", "/v1/sms", segments_body("hi"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "route_not_found");
}

TEST_F(SmsSegmentsApiTest, ListingOfAnSmsJobMeasuresEachRecipientsMessage) {
  std::string id = create_job(
      R"({"channel":"sms","data":{"shop":"Acme"},"content":{"sms":{"body":"{{shop}}: hi {{name}}"},)"
      R"("locales":{"ru":{"sms":{"body":"{{shop}}: привет {{name}}"}}}}})");
  json::array users{
      json::object{{"phone", "+14155550100"}, {"data", json::object{{"name", "Bo"}}}},
      json::object{{"phone", "+14155550101"}, {"data", json::object{{"name", "Zo\u00eb"}}}},
      json::object{{"phone", "+14155550102"}, {"data", json::object{{"name", repeat("x", 150)}}}},
      json::object{{"phone", "+14155550103"}, {"data", json::object{{"name", "€"}}}},
      json::object{{"phone", "+14155550104"}, {"locale", "ru"}, {"data", json::object{{"name", "Ива"}}}},
  };
  auto ingested = ingest(id, json::serialize(json::object{{"users", std::move(users)}}));
  ASSERT_EQ(ingested.status, 200) << ingested.body;

  auto listed = all_users(id);
  ASSERT_EQ(listed.size(), 5u);
  auto sms_of = [&](std::size_t i) -> json::object {
    EXPECT_TRUE(listed[i].contains("sms")) << json::serialize(listed[i]);
    return listed[i].contains("sms") ? listed[i].at("sms").as_object() : json::object{};
  };
  // "Acme: hi Bo"
  EXPECT_EQ(sms_of(0), (json::object{{"encoding", "GSM-7"}, {"segments", 1}, {"characters", 11}}));
  // "ë" is not in the GSM alphabet.
  EXPECT_EQ(sms_of(1), (json::object{{"encoding", "UCS-2"}, {"segments", 1}, {"characters", 12}}));
  // "Acme: hi " and 150 more: 159 septets, one segment.
  EXPECT_EQ(sms_of(2), (json::object{{"encoding", "GSM-7"}, {"segments", 1}, {"characters", 159}}));
  // The euro sign counts two septets.
  EXPECT_EQ(sms_of(3), (json::object{{"encoding", "GSM-7"}, {"segments", 1}, {"characters", 11}}));
  // The recipient's locale picks the Russian variant: "Acme: привет Ива".
  EXPECT_EQ(sms_of(4), (json::object{{"encoding", "UCS-2"}, {"segments", 1}, {"characters", 16}}));
}

TEST_F(SmsSegmentsApiTest, ListingCountsMultiPartMessages) {
  std::string id = create_job(R"({"channel":"sms","content":{"sms":{"body":"{{text}}"}}})");
  json::array users{
      json::object{{"phone", "+14155550100"}, {"data", json::object{{"text", repeat("a", 161)}}}},
      json::object{{"phone", "+14155550101"}, {"data", json::object{{"text", repeat("😀", 36)}}}},
  };
  ASSERT_EQ(ingest(id, json::serialize(json::object{{"users", std::move(users)}})).status, 200);
  auto listed = all_users(id);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].at("sms"), (json::object{{"encoding", "GSM-7"}, {"segments", 2}, {"characters", 161}}));
  // 72 units; 33 pairs fill a 67-unit part (66), the 34th opens the second.
  EXPECT_EQ(listed[1].at("sms"), (json::object{{"encoding", "UCS-2"}, {"segments", 2}, {"characters", 72}}));
}

TEST_F(SmsSegmentsApiTest, ListingOfOtherChannelsHasNoSmsMember) {
  std::string id = create_job();
  ASSERT_EQ(ingest(id, users_body(0, 3)).status, 200);
  for (const auto& u : all_users(id)) EXPECT_FALSE(u.contains("sms")) << json::serialize(u);
}

}  // namespace
}  // namespace crier::testing
