// POST /v1/jobs validation, GET /v1/jobs/{id}, GET /v1/jobs listing.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using JobsTest = ApiTest;

struct Invalid {
  const char* name;
  std::string body;
  int status;
  const char* code;
  const char* field;  // "" when the answer names none
};

TEST_F(JobsTest, CreateReturns201WithLocationAndView) {
  auto r = send("POST", "/v1/jobs",
                email_job_body(R"("data":{"brand":"Acme"},"locale":"pt_br","correlation_id":"c-1","rate_limit":250)"));
  ASSERT_EQ(r.status, 201) << r.body;
  auto b = body_of(r);
  std::string id(b.at("job_id").as_string());
  EXPECT_EQ(id.rfind("job_", 0), 0u);
  EXPECT_EQ(header(r, "Location"), std::optional<std::string>("/v1/jobs/" + id));
  EXPECT_EQ(b.at("status"), "CREATED");
  EXPECT_EQ(b.at("channel"), "email");
  EXPECT_EQ(b.at("data"), (json::object{{"brand", "Acme"}}));
  EXPECT_EQ(b.at("locale"), "pt-BR");
  EXPECT_EQ(b.at("correlation_id"), "c-1");
  EXPECT_EQ(b.at("rate_limit").to_number<double>(), 250.0);
  EXPECT_EQ(int_of(b, "received"), 0);

  auto again = get_job(id);
  EXPECT_EQ(text(again.at("job_id")), id);
  EXPECT_EQ(again.at("content").at("email").at("subject"), "Hi {{name}}");
}

TEST_F(JobsTest, CreateRejectsInvalidSpecs) {
  const std::string content = R"("content":{"email":{"subject":"s","text":"t"}})";
  const std::vector<Invalid> cases = {
      {"missing channel", "{" + content + "}", 400, "missing_field", "channel"},
      {"bad channel", R"({"channel":"fax",)" + content + "}", 400, "invalid_channel", "channel"},
      {"channel not a string", R"({"channel":5,)" + content + "}", 400, "invalid_field", "channel"},
      {"template and content", R"({"channel":"email","template":"welcome",)" + content + "}", 400,
       "invalid_content", "template"},
      {"neither template nor content", R"({"channel":"email"})", 400, "invalid_content", "content"},
      {"unknown field", email_job_body(R"("colour":"blue")"), 400, "unknown_field", "colour"},
      {"schedule_at not RFC 3339", email_job_body(R"("schedule_at":"tomorrow at nine")"), 400,
       "invalid_timestamp", "schedule_at"},
      {"expires_at not RFC 3339", email_job_body(R"("expires_at":"2026-13-45")"), 400, "invalid_timestamp",
       "expires_at"},
      {"expires_at in the past", email_job_body(R"("expires_at":"2020-01-01T00:00:00Z")"), 422,
       "invalid_expires_at", "expires_at"},
      {"expires_at before schedule_at",
       email_job_body(R"("schedule_at":"2099-01-02T00:00:00Z","expires_at":"2099-01-01T00:00:00Z")"), 422,
       "invalid_expires_at", "expires_at"},
      {"rate_limit zero", email_job_body(R"("rate_limit":0)"), 400, "invalid_rate_limit", "rate_limit"},
      {"rate_limit negative", email_job_body(R"("rate_limit":-5)"), 400, "invalid_rate_limit", "rate_limit"},
      {"rate_limit a string", email_job_body(R"("rate_limit":"fast")"), 400, "invalid_rate_limit", "rate_limit"},
      {"unknown provider", email_job_body(R"("provider":"carrier-pigeon")"), 422, "unknown_provider",
       "provider"},
      {"webhook_url ftp", email_job_body(R"("webhook_url":"ftp://example.com/hook")"), 400,
       "invalid_webhook_url", "webhook_url"},
      {"webhook_url relative", email_job_body(R"("webhook_url":"/hook")"), 400, "invalid_webhook_url",
       "webhook_url"},
      {"callback_url not http", email_job_body(R"("callback_url":"mailto:a@example.com")"), 400,
       "invalid_callback_url", "callback_url"},
      {"content missing the job's channel", R"({"channel":"sms",)" + content + "}", 422,
       "content_missing_channel", "content.sms"},
      {"unknown template", R"({"channel":"email","template":"nope"})", 422, "unknown_template", "template"},
      {"data not an object", email_job_body(R"("data":[1,2])"), 400, "invalid_data", "data"},
      {"bad locale", email_job_body(R"("locale":"english please")"), 400, "invalid_locale", "locale"},
      {"body not an object", "[1,2,3]", 400, "invalid_body", ""},
      {"body not JSON", R"({"channel":"email",)", 400, "invalid_json", ""},
  };
  for (const auto& c : cases) {
    auto r = send("POST", "/v1/jobs", c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(error_code(r), c.code) << c.name << ": " << r.body;
    EXPECT_EQ(error_field(r, "field"), c.field) << c.name << ": " << r.body;
  }
  // None of them created a job.
  auto list = body_of(send("GET", "/v1/jobs"));
  EXPECT_TRUE(list.at("jobs").as_array().empty()) << json::serialize(list);
}

TEST_F(JobsTest, InvalidTemplateSyntaxIs422) {
  auto r = send("POST", "/v1/jobs", R"({"channel":"email","content":{"email":{"subject":"Hi {{#open}}","text":"t"}}})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_code(r), "invalid_template");
  auto sms = send("POST", "/v1/jobs", R"({"channel":"sms","content":{"sms":{"body":"{{/never-opened}}"}}})");
  EXPECT_EQ(sms.status, 422) << sms.body;
  EXPECT_EQ(error_code(sms), "invalid_template");
  EXPECT_TRUE(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().empty());
}

// The field of a template error is the path of the offending input, as for
// every other content error ("content.email.text", "content.sms"...).
TEST_F(JobsTest, InvalidTemplateErrorNamesTheInputPath) {
  auto r = send("POST", "/v1/jobs", R"({"channel":"email","content":{"email":{"subject":"Hi {{#open}}","text":"t"}}})");
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_field(r, "field"), "content.email.subject") << r.body;
  auto fr = send("POST", "/v1/jobs",
                 R"({"channel":"email","content":{"email":{"text":"t"},"locales":{"fr":{"email":{"text":"{{#x}}"}}}}})");
  ASSERT_EQ(fr.status, 422) << fr.body;
  EXPECT_EQ(error_field(fr, "field"), "content.locales.fr.email.text") << fr.body;
}

TEST_F(JobsTest, CreateAcceptsEveryOptionalField) {
  std::string id = create_job(
      R"({"channel":"webhook","content":{"webhook":{"body":{"hello":"{{name}}"}}},)"
      R"("webhook_url":"https://example.com/hook","callback_url":"http://example.com/cb",)"
      R"("schedule_at":"2099-01-01T00:00:00Z","expires_at":"2099-01-02T00:00:00+02:00","provider":"null"})");
  ASSERT_FALSE(id.empty());
  auto b = get_job(id);
  EXPECT_EQ(b.at("webhook_url"), "https://example.com/hook");
  EXPECT_EQ(b.at("callback_url"), "http://example.com/cb");
  EXPECT_EQ(b.at("provider"), "null");
  EXPECT_EQ(b.at("schedule_at"), "2099-01-01T00:00:00.000Z");
  EXPECT_EQ(b.at("expires_at"), "2099-01-01T22:00:00.000Z");
}

TEST_F(JobsTest, GetUnknownOrMalformedIdIs404) {
  for (const char* id : {"job_00000000000000000000000000", "job_nope", "12345"}) {
    auto r = send("GET", std::string("/v1/jobs/") + id);
    EXPECT_EQ(r.status, 404) << id;
    EXPECT_EQ(error_code(r), "job_not_found") << id;
  }
}

TEST_F(JobsTest, ListIsNewestFirst) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(create_job_after_clock_tick());
  auto b = body_of(send("GET", "/v1/jobs"));
  const auto& jobs = b.at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(text(jobs[i].at("job_id")), ids[3 - i]) << i;
  EXPECT_EQ(b.at("paging").at("more"), false);
  EXPECT_TRUE(b.at("paging").at("cursor").is_null());
}

TEST_F(JobsTest, ListPagesCoverEveryJobOnce) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(create_job_after_clock_tick());
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (; pages < 20; ++pages) {
    std::string target = "/v1/jobs?limit=3";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    auto r = send("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto b = body_of(r);
    const auto& jobs = b.at("jobs").as_array();
    EXPECT_LE(jobs.size(), 3u);
    for (const auto& j : jobs) seen.emplace_back(j.at("job_id").as_string());
    if (b.at("paging").at("cursor").is_null()) {
      EXPECT_EQ(b.at("paging").at("more"), false);
      break;
    }
    EXPECT_EQ(b.at("paging").at("more"), true);
    cursor = std::string(b.at("paging").at("cursor").as_string());
  }
  std::vector<std::string> expected(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(pages + 1, 3);
}

TEST_F(JobsTest, ListFiltersByStatus) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(create_job_after_clock_tick());
  ASSERT_EQ(send("POST", "/v1/jobs/" + ids[1] + "/cancel").status, 200);
  ASSERT_EQ(send("POST", "/v1/jobs/" + ids[3] + "/cancel").status, 200);

  auto cancelled = body_of(send("GET", "/v1/jobs?status=cancelled"));
  const auto& c = cancelled.at("jobs").as_array();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(text(c[0].at("job_id")), ids[3]);
  EXPECT_EQ(text(c[1].at("job_id")), ids[1]);
  for (const auto& j : c) EXPECT_EQ(j.at("status"), "CANCELLED");

  auto created = body_of(send("GET", "/v1/jobs?status=CREATED"));
  EXPECT_EQ(created.at("jobs").as_array().size(), 3u);

  auto bad = send("GET", "/v1/jobs?status=DONE");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_code(bad), "invalid_status");
}

TEST_F(JobsTest, ListRejectsBadLimitAndCursor) {
  for (const char* q : {"limit=0", "limit=1001", "limit=abc", "limit=-1"}) {
    auto r = send("GET", std::string("/v1/jobs?") + q);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_EQ(error_code(r), "invalid_limit") << q;
  }
  auto r = send("GET", "/v1/jobs?cursor=not-a-cursor");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_cursor");

  // A cursor of another tenant's listing is refused too.
  for (int i = 0; i < 3; ++i) create_job_after_clock_tick();
  auto page = body_of(send("GET", "/v1/jobs?limit=1"));
  std::string cursor(page.at("paging").at("cursor").as_string());
  auto other = send("GET", "/v1/jobs?cursor=" + cursor, "", kKeyOther);
  EXPECT_EQ(other.status, 400);
  EXPECT_EQ(error_code(other), "invalid_cursor");
}

TEST_F(JobsTest, JobFromStoredTemplateSnapshotsItsContent) {
  auto put = send("PUT", "/v1/templates/welcome", R"({"content":{"email":{"subject":"Welcome","text":"Hi {{name}}"}}})");
  ASSERT_EQ(put.status, 201) << put.body;
  std::string id = create_job(R"({"channel":"email","template":"welcome"})");
  ASSERT_FALSE(id.empty());
  // Changing the template later does not change the job.
  ASSERT_EQ(send("PUT", "/v1/templates/welcome", R"({"content":{"email":{"subject":"Changed","text":"x"}}})").status, 200);
  auto b = get_job(id);
  EXPECT_EQ(b.at("template"), "welcome");
  EXPECT_EQ(b.at("content").at("email").at("subject"), "Welcome");
}

TEST_F(JobsTest, RunWithNoUsersCompletes) {
  std::string id = create_job();
  auto r = send("POST", "/v1/jobs/" + id + "/run");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  auto b = get_job(id);
  EXPECT_FALSE(b.at("started_at").is_null());
  EXPECT_FALSE(b.at("finished_at").is_null());
  EXPECT_EQ(b.at("estimated_seconds_remaining").to_number<double>(), 0.0);
}

TEST_F(JobsTest, RunDeliversEveryUserAndCountersAddUp) {
  std::string id = create_job(email_job_body(R"("provider":"null")"));
  ASSERT_EQ(ingest(id, users_body(0, 150)).status, 200);
  ASSERT_EQ(send("POST", "/v1/jobs/" + id + "/run").status, 202);
  ASSERT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  auto b = get_job(id);
  EXPECT_EQ(int_of(b, "received"), 150);
  EXPECT_EQ(int_of(b, "unique"), 150);
  EXPECT_EQ(int_of(b, "sent"), 150);
  EXPECT_EQ(int_of(b, "pending"), 0);
  EXPECT_EQ(int_of(b, "enqueued"), 0);
  auto users = all_users(id);
  ASSERT_EQ(users.size(), 150u);
  for (const auto& u : users) {
    EXPECT_EQ(u.at("status"), "SENT");
    EXPECT_EQ(int_of(u, "attempts"), 1);
    EXPECT_EQ(text(u.at("message_id")).substr(0, 4), "msg_");
  }
}

}  // namespace
}  // namespace crier::testing
