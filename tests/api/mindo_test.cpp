// Mindo's WhatsApp send-bulk façade over the native jobs and senders, as its
// documentation page shows it: X-API-Key, the 202 answer (ids, dedupe by
// phone, quota), the error shapes (field lists, {"error": …}), over-quota
// refusal storing nothing, status and cancel.
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

constexpr const char* kPath = "/api/v1/meta-templates/send-bulk/";
constexpr const char* kNumber = "813497231850626";

// The page's example request, with a fourth recipient repeating the first phone.
constexpr const char* kExample = R"({
  "phone_number_id": "813497231850626",
  "template_name": "welcome_message",
  "language": "es",
  "recipients": [
    {"phone": "+5491112345678", "variables": {"name": "Juan Perez", "code": "ABC123"}, "button_variables": {"button_0": "ABC-123"}},
    {"phone": "+5491187654321", "variables": {"name": "Maria Garcia", "code": "DEF456"}, "button_variables": {"button_0": "DEF-456"}},
    {"phone": "+5491199887766", "variables": {"name": "Carlos Lopez", "code": "GHI789"}, "button_variables": {"button_0": "GHI-789"}},
    {"phone": "+54 9 11 1234-5678", "variables": {"name": "Juan again", "code": "XXX"}}
  ]
})";

class MindoTest : public ApiTest {
 protected:
  void SetUp() override {
    put_sender("log", "TIER_250");
    auto t = send("PUT", "/v1/templates/welcome_message",
                  R"({"content":{"whatsapp":{"template":"welcome_message","language":"es","parameters":["{{name}}","{{code}}"]},
                      "locales":{"pt":{"sms":{"body":"Olá {{name}}"}},
                                 "en":{"whatsapp":{"template":"welcome_message","language":"en","parameters":["{{name}}"]}}}}})");
    ASSERT_EQ(t.status, 201) << t.body;
  }

  void put_sender(std::string provider, std::string tier, double rate = 80) {
    auto r = send("PUT", std::string("/v1/senders/") + kNumber,
                  json::serialize(json::object{{"display_phone_number", "+54 9 223 675-0780"},
                                               {"verified_name", "Mindo Software"},
                                               {"quality_rating", "GREEN"},
                                               {"messaging_limit_tier", tier},
                                               {"provider", provider},
                                               {"messages_per_second", rate}}));
    ASSERT_LT(r.status, 300) << r.body;
  }

  // A request as Mindo's clients send it: the key in X-API-Key, no Authorization.
  api::ApiResponse mindo(std::string method, std::string target, std::string body = {}, std::string key = kKeyAcme) {
    auto req = request(std::move(method), std::move(target), std::move(body), "");
    if (!key.empty()) req.headers["x-api-key"] = key;
    return send(std::move(req));
  }

  std::size_t job_count() { return body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size(); }

  std::int64_t quota_used() { return int_of(body_of(send("GET", std::string("/v1/senders/") + kNumber)), "quota_used_24h"); }

  // A send-bulk body with `n` distinct recipients.
  static std::string bulk_of(int n) {
    json::array recipients;
    for (int i = 0; i < n; ++i)
      recipients.push_back(json::object{{"phone", fmt::format("+549111{:07}", i)}, {"variables", {{"name", "N"}, {"code", "C"}}}});
    return json::serialize(json::object{{"phone_number_id", kNumber},
                                        {"template_name", "welcome_message"},
                                        {"recipients", std::move(recipients)}});
  }

  json::object status_of(const std::string& bulk_id) {
    auto r = mindo("GET", std::string(kPath) + bulk_id + "/");
    EXPECT_EQ(r.status, 200) << r.body;
    return body_of(r);
  }

  std::string wait_for_mindo_status(const std::string& bulk_id, std::string_view status) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string seen;
    while (std::chrono::steady_clock::now() < deadline) {
      seen = text(status_of(bulk_id).at("status"));
      if (seen == status) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return seen;
  }
};

TEST_F(MindoTest, SendBulkIsOneStartedJobWithTheSendersQuotaAndPace) {
  auto r = mindo("POST", kPath, kExample);
  ASSERT_EQ(r.status, 202) << r.body;
  auto b = body_of(r);
  const std::string bulk_id = text(b.at("bulk_send_id"));
  EXPECT_TRUE(std::regex_match(bulk_id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"))) << bulk_id;
  const std::string job_id = text(b.at("task_id"));
  EXPECT_EQ(job_id.rfind("job_", 0), 0u);
  EXPECT_EQ(b.at("status"), "queued");
  EXPECT_EQ(b.at("template_name"), "welcome_message");
  EXPECT_EQ(int_of(b, "total_recipients"), 4);
  EXPECT_EQ(int_of(b, "unique_recipients"), 3);  // the fourth is the first phone, written differently
  EXPECT_EQ(b.at("estimated_time_minutes").to_number<double>(), 0.01);  // 3 at 80/s, rounded up
  EXPECT_TRUE(b.at("created_at").is_string());
  const auto& number = b.at("whatsapp_phone_number").as_object();
  EXPECT_TRUE(number.at("id").is_int64());
  EXPECT_EQ(number.at("phone_number_id"), kNumber);
  EXPECT_EQ(number.at("display_phone_number"), "+54 9 223 675-0780");
  EXPECT_EQ(number.at("verified_name"), "Mindo Software");
  EXPECT_EQ(number.at("quality_rating"), "GREEN");
  EXPECT_EQ(number.at("messaging_limit_tier"), "TIER_250");
  EXPECT_EQ(b.at("quota_info"), (json::object{{"can_send", true},
                                              {"quota_needed", 3},
                                              {"quota_available", 247},
                                              {"quota_total", 250},
                                              {"tier", "TIER_250"}}));

  // The native job behind it: whatsapp, the sender's provider and pace, the
  // request kept as metadata, the buttons in each recipient's data.
  auto job = get_job(job_id);
  EXPECT_EQ(job.at("channel"), "whatsapp");
  EXPECT_EQ(job.at("template"), "welcome_message");
  EXPECT_EQ(job.at("locale"), "es");
  EXPECT_EQ(job.at("sender"), kNumber);
  EXPECT_EQ(job.at("provider"), "log");
  EXPECT_EQ(int_of(job, "rate_limit"), 80);
  const auto& meta = job.at("metadata").at("mindo").as_object();
  EXPECT_EQ(text(meta.at("bulk_send_id")), bulk_id);
  EXPECT_EQ(meta.at("phone_number_id"), kNumber);
  EXPECT_EQ(int_of(meta, "total_recipients"), 4);
  EXPECT_EQ(int_of(job, "received"), 4);
  EXPECT_EQ(int_of(job, "duplicates"), 1);
  EXPECT_EQ(quota_used(), 3);

  EXPECT_EQ(wait_for_mindo_status(bulk_id, "COMPLETED"), "COMPLETED");
  auto s = status_of(bulk_id);
  EXPECT_EQ(text(s.at("bulk_send_id")), bulk_id);
  EXPECT_EQ(text(s.at("task_id")), job_id);
  EXPECT_EQ(s.at("template_name"), "welcome_message");
  EXPECT_EQ(s.at("language"), "es");
  EXPECT_EQ(s.at("phone_number_id"), kNumber);
  EXPECT_EQ(int_of(s, "total_recipients"), 4);
  EXPECT_EQ(int_of(s, "unique_recipients"), 3);
  EXPECT_EQ(int_of(s, "sent"), 3);
  EXPECT_EQ(int_of(s, "delivered"), 0);
  EXPECT_EQ(int_of(s, "read"), 0);
  EXPECT_EQ(int_of(s, "failed"), 0);
  EXPECT_EQ(int_of(s, "pending"), 0);
  EXPECT_EQ(s.at("progress_percentage").to_number<double>(), 100.0);
  EXPECT_TRUE(s.at("completed_at").is_string());
  // Without the trailing slash, and in upper case, the id still works.
  std::string upper = bulk_id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(mindo("GET", "/api/v1/meta-templates/send-bulk/" + upper).status, 200);

  // What the provider got: the variables in the template's parameters, the
  // button variables as URL buttons (the log provider writes each message).
  std::ifstream in(dir_.path() / "delivery.log");
  std::map<std::string, json::object> by_phone;
  for (std::string line; std::getline(in, line);) {
    auto m = json::parse(line).as_object();
    by_phone[text(m.at("to"))] = m;
  }
  ASSERT_EQ(by_phone.size(), 3u);
  const auto& juan = by_phone.at("+5491112345678");
  EXPECT_EQ(juan.at("template"), "welcome_message");
  EXPECT_EQ(juan.at("language"), "es");
  EXPECT_EQ(juan.at("parameters"), (json::array{"Juan Perez", "ABC123"}));
  EXPECT_EQ(juan.at("buttons"), (json::array{json::object{{"index", 0}, {"sub_type", "url"}, {"text", "ABC-123"}}}));
}

TEST_F(MindoTest, TheLanguageChoosesTheTemplatesVariant) {
  auto en = mindo("POST", kPath,
                  R"({"phone_number_id":"813497231850626","template_name":"welcome_message","language":"en",
                      "recipients":[{"phone":"+5491112345678","variables":{"name":"Ann"}}]})");
  ASSERT_EQ(en.status, 202) << en.body;
  EXPECT_EQ(get_job(text(body_of(en).at("task_id"))).at("locale"), "en");
  // No language: Mindo's default, es (the base variant here).
  auto defaulted = mindo("POST", kPath,
                         R"({"phone_number_id":"813497231850626","template_name":"welcome_message",
                             "recipients":[{"phone":"+5491112345679"}]})");
  ASSERT_EQ(defaulted.status, 202) << defaulted.body;
  EXPECT_EQ(get_job(text(body_of(defaulted).at("task_id"))).at("locale"), "es");
}

TEST_F(MindoTest, ErrorsHaveMindosShapesAndStoreNothing) {
  struct Case {
    const char* name;
    std::string body;
    int status;
    std::string expected;  // the whole answer
  };
  const std::string rcpt = R"("recipients":[{"phone":"+5491112345678"}])";
  const std::vector<Case> cases = {
      {"missing fields", R"({"template_name":"welcome_message"})", 400,
       R"({"phone_number_id":["This field is required."],"recipients":["This field is required."]})"},
      {"missing template", R"({"phone_number_id":"813497231850626",)" + rcpt + "}", 400,
       R"({"template_name":["This field is required."]})"},
      {"null and blank", R"({"phone_number_id":null,"template_name":"","recipients":"all"})", 400,
       R"({"phone_number_id":["This field may not be null."],"template_name":["This field may not be blank."],"recipients":["Expected a list of items."]})"},
      {"empty recipients", R"({"phone_number_id":"813497231850626","template_name":"welcome_message","recipients":[]})", 400,
       R"({"error":"recipients es requerido y no puede estar vacio"})"},
      {"bad recipients",
       R"({"phone_number_id":"813497231850626","template_name":"welcome_message","recipients":[
           {"phone":"+5491112345678"},{"phone":"12"},{"variables":[1]},{"phone":"+5491112345679","button_variables":{"link":"x"}},"x"]})",
       400,
       R"({"recipients":[{},{"phone":["phone must be in E.164 format: '+' then 2 to 15 digits, e.g. +14155550100"]},
           {"phone":["This field is required."],"variables":["Expected a dictionary of items."]},
           {"button_variables":["Expected a dictionary of button_0 … button_9 to strings."]},
           {"non_field_errors":["Invalid data. Expected a dictionary."]}]})"},
      {"unknown number", R"({"phone_number_id":"999","template_name":"welcome_message",)" + rcpt + "}", 404,
       R"({"error":"Numero de WhatsApp con ID '999' no encontrado"})"},
      {"unknown template", R"({"phone_number_id":"813497231850626","template_name":"nope",)" + rcpt + "}", 404,
       R"({"error":"Template 'nope' (language: es) no encontrado en este business account"})"},
      {"variant without whatsapp",
       R"({"phone_number_id":"813497231850626","template_name":"welcome_message","language":"pt",)" + rcpt + "}", 404,
       R"({"error":"Template 'welcome_message' (language: pt) no encontrado en este business account"})"},
      {"not a language",
       R"({"phone_number_id":"813497231850626","template_name":"welcome_message","language":"??",)" + rcpt + "}", 404,
       R"({"error":"Template 'welcome_message' (language: ??) no encontrado en este business account"})"},
  };
  for (const auto& c : cases) {
    auto r = mindo("POST", kPath, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(json::parse(r.body), json::parse(c.expected)) << c.name << ": " << r.body;
  }

  auto no_key = mindo("POST", kPath, kExample, "");
  EXPECT_EQ(no_key.status, 401);
  EXPECT_EQ(json::parse(no_key.body),
            json::parse(R"js({"error":"Este endpoint requiere autenticacion con API Key (header X-API-Key)"})js"));
  auto bearer_only = send("POST", kPath, kExample);  // the native auth style is not Mindo's
  EXPECT_EQ(bearer_only.status, 401);
  auto wrong_key = mindo("POST", kPath, kExample, "mindo_not_a_key");
  EXPECT_EQ(wrong_key.status, 401);
  EXPECT_TRUE(body_of(wrong_key).at("error").is_string());

  auto not_json = mindo("POST", kPath, "{");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_TRUE(body_of(not_json).at("error").is_string());
  auto wrong_method = mindo("GET", kPath);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_TRUE(body_of(wrong_method).at("error").is_string());
  auto no_route = mindo("GET", "/api/v1/meta-templates/whatever/");
  EXPECT_EQ(no_route.status, 404);
  EXPECT_TRUE(body_of(no_route).at("error").is_string());

  EXPECT_EQ(job_count(), 0u);
  EXPECT_EQ(quota_used(), 0);
}

TEST_F(MindoTest, OverQuotaIsRefusedUpFrontWith429AndQuotaInfo) {
  ASSERT_EQ(mindo("POST", kPath, bulk_of(200)).status, 202);
  auto r = mindo("POST", kPath, bulk_of(51));
  ASSERT_EQ(r.status, 429) << r.body;
  auto b = body_of(r);
  EXPECT_TRUE(b.at("error").is_string());
  EXPECT_EQ(b.at("quota_info"), (json::object{{"can_send", false},
                                              {"quota_needed", 51},
                                              {"quota_available", 50},
                                              {"quota_total", 250},
                                              {"tier", "TIER_250"}}));
  EXPECT_TRUE(header(r, "Retry-After"));
  EXPECT_EQ(job_count(), 1u);
  EXPECT_EQ(quota_used(), 200);
  // What is left still goes.
  auto rest = mindo("POST", kPath, bulk_of(50));
  ASSERT_EQ(rest.status, 202) << rest.body;
  EXPECT_EQ(int_of(body_of(rest).at("quota_info").as_object(), "quota_available"), 0);
}

TEST_F(MindoTest, UnlimitedSendersShowNoTotal) {
  put_sender("null", "TIER_UNLIMITED");
  auto r = mindo("POST", kPath, bulk_of(2));
  ASSERT_EQ(r.status, 202) << r.body;
  auto q = body_of(r).at("quota_info").as_object();
  EXPECT_EQ(q.at("can_send"), true);
  EXPECT_EQ(q.at("quota_total"), nullptr);
  EXPECT_EQ(q.at("quota_available"), nullptr);
  EXPECT_EQ(q.at("tier"), "TIER_UNLIMITED");
}

TEST_F(MindoTest, StatusAndCancel) {
  put_sender("null", "TIER_1K", 1);  // one a second: the send is still running when cancelled
  auto r = mindo("POST", kPath, bulk_of(20));
  ASSERT_EQ(r.status, 202) << r.body;
  auto b = body_of(r);
  const std::string bulk_id = text(b.at("bulk_send_id"));
  EXPECT_EQ(b.at("estimated_time_minutes").to_number<double>(), 0.34);  // 20 s, rounded up
  auto s = text(status_of(bulk_id).at("status"));
  EXPECT_TRUE(s == "QUEUED" || s == "PROCESSING") << s;

  auto c = mindo("POST", std::string(kPath) + bulk_id + "/cancel/");
  ASSERT_EQ(c.status, 200) << c.body;
  // Under way (Crier's CANCELLING) until the waiting recipients are swept,
  // then CANCELLED, with final counts.
  EXPECT_EQ(body_of(c).at("status"), "PROCESSING");
  EXPECT_EQ(wait_for_mindo_status(bulk_id, "CANCELLED"), "CANCELLED");
  EXPECT_EQ(job_status(text(b.at("task_id"))), "CANCELLED");
  auto again = mindo("POST", std::string(kPath) + bulk_id + "/cancel/");
  EXPECT_EQ(again.status, 409);
  EXPECT_TRUE(body_of(again).at("error").is_string());

  // Unknown, malformed and other tenants' ids are all not found.
  for (const std::string id : {std::string("00000000-0000-0000-0000-000000000000"), std::string("not-a-uuid"), bulk_id}) {
    auto req = request("GET", std::string(kPath) + id + "/", "", "");
    req.headers["x-api-key"] = id == bulk_id ? kKeyOther : kKeyAcme;
    auto nf = send(std::move(req));
    EXPECT_EQ(nf.status, 404) << id;
    EXPECT_EQ(json::parse(nf.body), (json::object{{"error", fmt::format("Envio masivo '{}' no encontrado", id)}}));
  }
  EXPECT_EQ(mindo("POST", std::string(kPath) + "not-a-uuid/cancel/").status, 404);
  EXPECT_EQ(mindo("DELETE", std::string(kPath) + bulk_id + "/").status, 405);
}

TEST_F(MindoTest, AnIdempotencyKeyReplaysTheAcceptedSend) {
  auto req = [&] {
    auto q = request("POST", kPath, kExample, "");
    q.headers["x-api-key"] = kKeyAcme;
    q.idempotency_key = "mindo-retry-1";
    return q;
  };
  auto first = send(req());
  ASSERT_EQ(first.status, 202) << first.body;
  auto second = send(req());
  EXPECT_EQ(second.status, 202);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(header(second, "Idempotent-Replayed"), std::optional<std::string>("true"));
  EXPECT_EQ(job_count(), 1u);
  EXPECT_EQ(quota_used(), 3);
}

// A send whose answer a crash lost: its retry is the same bulk, with the
// sender's quota taken once.
TEST_F(MindoTest, ASendRetriedAfterACrashIsTheSameBulk) {
  auto req = request("POST", kPath, kExample, "");
  req.headers["x-api-key"] = kKeyAcme;
  req.idempotency_key = "mindo-crash";
  crash_once_before_the_answer();
  ASSERT_EQ(send(req).status, 500);
  auto retry = send(req);
  ASSERT_EQ(retry.status, 202) << retry.body;
  EXPECT_EQ(job_count(), 1u);
  EXPECT_EQ(quota_used(), 3);
  // The answer names the bulk that exists, under its own ids.
  auto b = body_of(retry);
  EXPECT_EQ(b.at("task_id"), body_of(send("GET", "/v1/jobs")).at("jobs").at(0).at("job_id"));
  EXPECT_EQ(mindo("GET", std::string(kPath) + text(b.at("bulk_send_id")) + "/").status, 200);
}

}  // namespace
}  // namespace crier::testing
