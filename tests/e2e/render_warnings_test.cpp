// Missing variables through the real server and its log provider: by
// default a variable with no value renders empty, the message is sent, and
// the job's render_warnings counts the recipient once; a job with
// strict_variables fails those recipients (missing_variable) and sends
// nothing for them. A user's locale with no variant falls back to the job's.
#include <fmt/format.h>

#include <map>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

class RenderWarningsTest : public CrierTest {
 protected:
  static json::object spec(bool strict) {
    json::object s{{"channel", "email"},
                   {"content", {{"email", {{"subject", "Hi {{name}}"}, {"text", "{{coupon}}"}, {"html", ""}}},
                                {"locales", {{"de", {{"email", {{"subject", "Hallo {{name}}{{#vip}} VIP{{/vip}}"},
                                                                {"text", "Code: {{coupon}}"},
                                                                {"html", ""}}}}},
                                             {"fr", {{"email", {{"subject", "Salut {{name}}"},
                                                                {"text", "Code : {{coupon}}"},
                                                                {"html", ""}}}}}}}}},
                   {"data", {{"coupon", nullptr}}},
                   {"locale", "fr"}};
    if (strict) s["strict_variables"] = true;
    return s;
  }

  // ann has both variables (the job's coupon is null: present), bob lacks
  // name, cid lacks name (vip is a section: no warning); dan's locale has no
  // variant, so the job's (fr) is used, not the base content.
  static json::array users() {
    return json::array{
        json::object{{"email", "ann@example.com"}, {"locale", "de"}, {"data", {{"name", "Ann"}, {"coupon", "A1"}}}},
        json::object{{"email", "bob@example.com"}, {"locale", "de"}},
        json::object{{"email", "cid@example.com"}, {"locale", "de"}, {"data", {{"coupon", "C3"}, {"vip", true}}}},
        json::object{{"email", "dan@example.com"}, {"locale", "it"}, {"data", {{"name", "Dan"}}}}};
  }

  json::object run(bool strict, std::string& id) {
    id = create_job(api(), spec(strict));
    auto ingested = ingest_json(api(), id, users());
    EXPECT_EQ(num(ingested, "accepted"), 4) << json::serialize(ingested);
    run_job(api(), id);
    return wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  }

  std::map<std::string, json::object> sent_by_address(const std::string& id) {
    std::map<std::string, json::object> out;
    for (auto& line : read_delivery_log(delivery_log()))
      if (str(line, "job_id") == id) out[str(line, "to")] = line;
    return out;
  }
};

TEST_F(RenderWarningsTest, MissingVariablesRenderEmptyAndCountEachRecipientOnce) {
  std::string id;
  auto done = run(false, id);
  EXPECT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_EQ(num(done, "sent"), 4);
  // bob and cid lack name; dan has what the fr variant asks.
  EXPECT_EQ(num(done, "render_warnings"), 2) << json::serialize(done);
  EXPECT_EQ(done.at("strict_variables"), json::value(false));
  auto sent = sent_by_address(id);
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(str(sent["ann@example.com"], "subject"), "Hallo Ann");
  EXPECT_EQ(str(sent["bob@example.com"], "subject"), "Hallo ");
  EXPECT_EQ(str(sent["bob@example.com"], "text"), "Code: ");
  EXPECT_EQ(str(sent["cid@example.com"], "subject"), "Hallo  VIP");
  EXPECT_EQ(str(sent["dan@example.com"], "subject"), "Salut Dan");
}

TEST_F(RenderWarningsTest, StrictVariablesFailsTheRecipientsAndSendsThemNothing) {
  std::string id;
  auto done = run(true, id);
  EXPECT_EQ(str(done, "status"), "PARTIAL") << json::serialize(done);
  EXPECT_EQ(num(done, "sent"), 2);
  EXPECT_EQ(num(done, "failed"), 2);
  EXPECT_EQ(num(done, "render_warnings"), 0);
  EXPECT_EQ(done.at("strict_variables"), json::value(true));
  std::map<std::string, std::pair<std::string, std::string>> outcome;
  for (const auto& u : list_all_users(api(), id)) {
    std::string code, message;
    if (auto* e = u.if_contains("error"); e && e->is_object()) {
      code = str(e->as_object(), "code");
      message = str(e->as_object(), "message");
    }
    outcome[str(u, "email")] = {str(u, "status"), code};
    if (str(u, "email") == "bob@example.com")
      EXPECT_NE(message.find("'name'"), std::string::npos) << message;
  }
  EXPECT_EQ(outcome["ann@example.com"], (std::pair<std::string, std::string>{"SENT", ""}));
  EXPECT_EQ(outcome["bob@example.com"], (std::pair<std::string, std::string>{"FAILED", "missing_variable"}));
  EXPECT_EQ(outcome["cid@example.com"], (std::pair<std::string, std::string>{"FAILED", "missing_variable"}));
  EXPECT_EQ(outcome["dan@example.com"], (std::pair<std::string, std::string>{"SENT", ""}));
  auto sent = sent_by_address(id);
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_FALSE(sent.contains("bob@example.com"));
  EXPECT_FALSE(sent.contains("cid@example.com"));
}

}  // namespace
}  // namespace crier::e2e
