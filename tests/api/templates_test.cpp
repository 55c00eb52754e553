// PUT/GET/DELETE /v1/templates/{id}, GET /v1/templates.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using TemplatesTest = ApiTest;

const std::string kWelcome = R"({"content":{"email":{"subject":"Welcome {{name}}","text":"Hi {{name}}"},)"
                             R"("sms":{"body":"Hi {{name}}"},"locales":{"fr":{"email":{"subject":"Bienvenue","text":"Salut"}}}}})";

TEST_F(TemplatesTest, PutCreatesThenOverwrites) {
  auto created = send("PUT", "/v1/templates/welcome", kWelcome);
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = body_of(created);
  EXPECT_EQ(c.at("template_id"), "welcome");
  EXPECT_EQ(c.at("content").at("sms").at("body"), "Hi {{name}}");
  EXPECT_EQ(c.at("content").at("locales").at("fr").at("email").at("subject"), "Bienvenue");

  auto overwritten = send("PUT", "/v1/templates/welcome", R"({"content":{"push":{"title":"Yo"}}})");
  ASSERT_EQ(overwritten.status, 200) << overwritten.body;
  auto o = body_of(overwritten);
  EXPECT_EQ(o.at("created_at"), c.at("created_at"));  // kept from the first write
  EXPECT_FALSE(o.at("content").as_object().contains("email"));

  auto got = send("GET", "/v1/templates/welcome");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(body_of(got).at("content").at("push").at("title"), "Yo");
}

TEST_F(TemplatesTest, DeleteThenGetIs404) {
  ASSERT_EQ(send("PUT", "/v1/templates/t-1", kWelcome).status, 201);
  auto del = send("DELETE", "/v1/templates/t-1");
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(body_of(del).at("deleted"), true);
  auto got = send("GET", "/v1/templates/t-1");
  EXPECT_EQ(got.status, 404);
  EXPECT_EQ(error_code(got), "template_not_found");
  auto again = send("DELETE", "/v1/templates/t-1");
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(error_code(again), "template_not_found");
}

TEST_F(TemplatesTest, InvalidIdIs400) {
  for (const char* id : {"has space", "a*b", "caf\xc3\xa9"}) {
    auto put = send("PUT", std::string("/v1/templates/") + id, kWelcome);
    EXPECT_EQ(put.status, 400) << id;
    EXPECT_EQ(error_code(put), "invalid_template_id") << id;
    EXPECT_EQ(send("GET", std::string("/v1/templates/") + id).status, 400) << id;
    EXPECT_EQ(send("DELETE", std::string("/v1/templates/") + id).status, 400) << id;
  }
  auto too_long = send("PUT", "/v1/templates/" + std::string(129, 'a'), kWelcome);
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(send("PUT", "/v1/templates/" + std::string(128, 'a'), kWelcome).status, 201);
}

TEST_F(TemplatesTest, InvalidBodiesAreRefused) {
  struct Case {
    const char* name;
    std::string body;
    int status;
    const char* code;
  };
  for (const auto& c : {Case{"not JSON", "{", 400, "invalid_json"},
                        Case{"no content", R"({"email":{"text":"x"}})", 400, "missing_field"},
                        Case{"unknown field", R"({"content":{"sms":{"body":"x"}},"name":"n"})", 400, "unknown_field"},
                        Case{"unknown channel", R"({"content":{"fax":{"body":"x"}}})", 400, "invalid_content"},
                        Case{"bad syntax", R"({"content":{"sms":{"body":"Hi {{/close}}"}}})", 422, "invalid_template"},
                        Case{"bad syntax in a locale", R"({"content":{"sms":{"body":"ok"},"locales":{"fr":{"sms":{"body":"{{#x}}"}}}}})", 422, "invalid_template"}}) {
    auto r = send("PUT", "/v1/templates/t", c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(error_code(r), c.code) << c.name << ": " << r.body;
  }
  EXPECT_EQ(send("GET", "/v1/templates/t").status, 404);
}

TEST_F(TemplatesTest, ListPagesInIdOrder) {
  for (const char* id : {"e", "b", "d", "a", "c"}) ASSERT_EQ(send("PUT", std::string("/v1/templates/") + id, kWelcome).status, 201);
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (; pages < 10; ++pages) {
    std::string target = "/v1/templates?limit=2";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    auto r = send("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto b = body_of(r);
    for (const auto& t : b.at("templates").as_array()) seen.emplace_back(t.at("template_id").as_string());
    if (b.at("paging").at("cursor").is_null()) {
      EXPECT_EQ(b.at("paging").at("more"), false);
      break;
    }
    cursor = std::string(b.at("paging").at("cursor").as_string());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(pages + 1, 3);
  auto bad = send("GET", "/v1/templates?cursor=zzzz");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_code(bad), "invalid_cursor");
}

TEST_F(TemplatesTest, TemplatesAreScopedPerTenant) {
  ASSERT_EQ(send("PUT", "/v1/templates/welcome", kWelcome).status, 201);
  EXPECT_EQ(send("GET", "/v1/templates/welcome", "", kKeyOther).status, 404);
  EXPECT_TRUE(body_of(send("GET", "/v1/templates", "", kKeyOther)).at("templates").as_array().empty());
  // The other tenant's job cannot use it either.
  auto r = send("POST", "/v1/jobs", R"({"channel":"email","template":"welcome"})", kKeyOther);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_code(r), "unknown_template");
  EXPECT_EQ(send("DELETE", "/v1/templates/welcome", "", kKeyOther).status, 404);
  EXPECT_EQ(send("GET", "/v1/templates/welcome").status, 200);
}

TEST_F(TemplatesTest, ATemplateNestedTooDeepIs422) {
  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "{{#a}}";
  auto r = send("PUT", "/v1/templates/deep", R"({"content":{"sms":{"body":")" + deep + R"("}}})");
  EXPECT_EQ(r.status, 422) << r.body.substr(0, 300);
  EXPECT_EQ(error_code(r), "invalid_template");
  EXPECT_EQ(send("GET", "/v1/templates/deep").status, 404);
  auto job = send("POST", "/v1/jobs", R"({"channel":"sms","content":{"sms":{"body":")" + deep + R"("}}})");
  EXPECT_EQ(job.status, 422) << job.body.substr(0, 300);
  EXPECT_EQ(error_code(job), "invalid_template");
}

}  // namespace
}  // namespace crier::testing
