// Mindo's WhatsApp send-bulk end to end: the real `crier serve`, a sender
// carried by a whatsapp_cloud provider pointed at a loopback WebhookSink
// standing in for Meta's Graph API, the page's example request over HTTP
// with X-API-Key, and what arrived at the "Graph API": one template message
// per unique phone, with its variables and its URL button.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

#include "tests/e2e/channels_fixture.h"

namespace crier::e2e {
namespace {

constexpr const char* kNumber = "813497231850626";

TEST_F(ChannelTest, MindoSendBulkReachesTheWhatsappProviderWithButtons) {
  auto sink = start_sink(sink_options());  // Meta does not sign
  const std::string wa_path = fmt::format("/v19.0/{}/messages", kNumber);
  start_with_config(fmt::format("[providers.wa]\ntype = \"whatsapp_cloud\"\nurl = \"{}\"\nauth_token = \"wa-token\"\ntenants = [\"acme\"]\n",
                                sink->url(wa_path)));

  require(api().put_json(std::string("/v1/senders/") + kNumber,
                         json::object{{"display_phone_number", "+54 9 223 675-0780"},
                                      {"verified_name", "Mindo Software"},
                                      {"messaging_limit_tier", "TIER_1K"},
                                      {"provider", "wa"}}),
          201, "put sender");
  require(api().put_json("/v1/templates/welcome_message",
                         json::object{{"content",
                                       {{"whatsapp",
                                         {{"template", "welcome_message"},
                                          {"language", "es"},
                                          {"parameters", json::array{"{{name}}", "{{code}}"}}}}}}}),
          201, "put template");

  // The page's example, plus the first phone again (deduped).
  const std::string body = R"({
    "phone_number_id": "813497231850626", "template_name": "welcome_message", "language": "es",
    "recipients": [
      {"phone": "+5491112345678", "variables": {"name": "Juan Perez", "code": "ABC123"}, "button_variables": {"button_0": "ABC-123"}},
      {"phone": "+5491187654321", "variables": {"name": "Maria Garcia", "code": "DEF456"}, "button_variables": {"button_0": "DEF-456"}},
      {"phone": "+5491199887766", "variables": {"name": "Carlos Lopez", "code": "GHI789"}, "button_variables": {"button_0": "GHI-789"}},
      {"phone": "+5491112345678", "variables": {"name": "Juan again", "code": "XXX"}}]})";
  // Mindo's clients send the key in X-API-Key only.
  HttpClient mindo(port());
  const HeaderList mindo_key = {{"X-API-Key", kKeyA}};
  auto accepted = require(mindo.post("/api/v1/meta-templates/send-bulk/", body, "application/json", mindo_key), 202,
                          "send-bulk");
  EXPECT_EQ(num(accepted, "total_recipients"), 4);
  EXPECT_EQ(num(accepted, "unique_recipients"), 3);
  EXPECT_EQ(str(accepted, "status"), "queued");
  const std::string bulk_id = str(accepted, "bulk_send_id");

  json::object status;
  bool done = poll_until(kStateTimeout, [&] {
    status = require(mindo.get("/api/v1/meta-templates/send-bulk/" + bulk_id + "/", mindo_key), 200, "status");
    return str(status, "status") == "COMPLETED" || str(status, "status") == "FAILED" || str(status, "status") == "PARTIAL";
  });
  ASSERT_TRUE(done) << json::serialize(status);
  EXPECT_EQ(str(status, "status"), "COMPLETED") << json::serialize(status);
  EXPECT_EQ(num(status, "sent"), 3);
  EXPECT_EQ(num(status, "failed"), 0);

  ASSERT_TRUE(poll_until(20s, [&] { return sink->stats().requests >= 3; }));
  EXPECT_EQ(sink->stats().requests, 3u);
  std::map<std::string, json::object> by_phone;
  for (const auto& r : sink->requests()) {
    EXPECT_EQ(r.target, wa_path);
    EXPECT_EQ(r.header("Authorization"), "Bearer wa-token");
    auto b = json::parse(r.body).as_object();
    by_phone[str(b, "to")] = b;
  }
  auto expected = [](const char* to, const char* name, const char* code, const char* button) {
    return json::object{
        {"messaging_product", "whatsapp"},
        {"to", to},
        {"type", "template"},
        {"template",
         {{"name", "welcome_message"},
          {"language", {{"code", "es"}}},
          {"components",
           json::array{json::object{{"type", "body"},
                                    {"parameters", json::array{json::object{{"type", "text"}, {"text", name}},
                                                               json::object{{"type", "text"}, {"text", code}}}}},
                       json::object{{"type", "button"},
                                    {"sub_type", "url"},
                                    {"index", "0"},
                                    {"parameters", json::array{json::object{{"type", "text"}, {"text", button}}}}}}}}}};
  };
  EXPECT_EQ(by_phone["+5491112345678"], expected("+5491112345678", "Juan Perez", "ABC123", "ABC-123"));
  EXPECT_EQ(by_phone["+5491187654321"], expected("+5491187654321", "Maria Garcia", "DEF456", "DEF-456"));
  EXPECT_EQ(by_phone["+5491199887766"], expected("+5491199887766", "Carlos Lopez", "GHI789", "GHI-789"));

  auto sender = require(api().get(std::string("/v1/senders/") + kNumber), 200, "get sender");
  EXPECT_EQ(num(sender, "quota_used_24h"), 3);
  EXPECT_EQ(num(sender, "quota_available"), 997);
}

}  // namespace
}  // namespace crier::e2e
