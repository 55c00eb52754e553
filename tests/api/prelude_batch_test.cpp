// Prelude's Notify batch façade (POST /v2/notify/batch) through the router:
// one native job per call, results in the order of `to`, message ids that
// name the job and the recipients' seqs, Prelude's error shape, and nothing
// stored for a refused request.
#include "engine/ids.h"
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

class PreludeBatchTest : public ApiTest {
 protected:
  PreludeBatchTest() {
    put_template("order", R"({"content":{"sms":{"body":"Order {{order_id}}: {{amount}}"}}})");
  }

  void put_template(const std::string& id, const std::string& body) {
    auto r = send("PUT", "/v1/templates/" + id, body);
    ASSERT_TRUE(r.status == 201 || r.status == 200) << r.body;
  }

  api::ApiResponse batch(const std::string& body, std::string key = kKeyAcme) {
    return send("POST", "/v2/notify/batch", body, std::move(key));
  }

  std::size_t job_count() {
    auto list = body_of(send("GET", "/v1/jobs"));
    return list.at("jobs").as_array().size();
  }

  // The job a message id names, as the native API shows it.
  json::object job_of(const std::string& message_id) {
    auto parsed = parse_message_id(message_id);
    EXPECT_TRUE(parsed) << message_id;
    if (!parsed) return {};
    return get_job(job_id_string(parsed->first));
  }

  // A Prelude error: at the top level, with code, message, type, request_id.
  static void expect_prelude_error(const api::ApiResponse& r, int status, std::string_view code, std::string_view type) {
    EXPECT_EQ(r.status, status) << r.body;
    auto b = body_of(r);
    EXPECT_FALSE(b.contains("error")) << r.body;
    ASSERT_TRUE(b.contains("code")) << r.body;
    EXPECT_EQ(text(b.at("code")), code) << r.body;
    EXPECT_EQ(text(b.at("type")), type) << r.body;
    EXPECT_TRUE(b.at("message").is_string()) << r.body;
    EXPECT_EQ(text(b.at("request_id")), "req_test0000000000000001");
  }
};

TEST_F(PreludeBatchTest, ResultsFollowTheOrderOfTo) {
  auto r = batch(R"({"template_id":"order","variables":{"order_id":"12345","amount":"$49.99"},)"
                 R"("to":["+33612345678","12345","+1 (555) 123-4567","+33 6 12 34 56 78",""]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "total_count"), 5);
  EXPECT_EQ(int_of(b, "success_count"), 2);
  EXPECT_EQ(int_of(b, "error_count"), 3);
  EXPECT_EQ(text(b.at("request_id")), "req_test0000000000000001");
  EXPECT_EQ(text(b.at("template_id")), "order");
  EXPECT_EQ(b.at("variables"), json::value(json::object{{"order_id", "12345"}, {"amount", "$49.99"}}));

  const auto& results = b.at("results").as_array();
  ASSERT_EQ(results.size(), 5u);
  const char* given[] = {"+33612345678", "12345", "+1 (555) 123-4567", "+33 6 12 34 56 78", ""};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(text(results[i].at("phone_number")), given[i]) << i;

  const auto& first = results[0].as_object();
  EXPECT_EQ(first.at("success"), true);
  EXPECT_FALSE(first.contains("error"));
  EXPECT_EQ(text(first.at("message").at("to")), "+33612345678");
  const auto& second = results[2].as_object();
  EXPECT_EQ(second.at("success"), true);
  EXPECT_EQ(text(second.at("message").at("to")), "+15551234567");  // E.164, as sent

  EXPECT_EQ(results[1].at("success"), false);
  EXPECT_FALSE(results[1].as_object().contains("message"));
  EXPECT_EQ(text(results[1].at("error").at("code")), "invalid_phone_number");
  EXPECT_EQ(text(results[3].at("error").at("code")), "duplicate_recipient");
  EXPECT_NE(text(results[3].at("error").at("message")).find("to[0]"), std::string::npos);
  EXPECT_EQ(text(results[4].at("error").at("code")), "invalid_phone_number");

  // Both ids name the same job, with the seqs the recipients were stored at.
  std::string id0 = text(first.at("message").at("id")), id1 = text(second.at("message").at("id"));
  auto m0 = parse_message_id(id0), m1 = parse_message_id(id1);
  ASSERT_TRUE(m0 && m1) << id0 << " " << id1;
  EXPECT_EQ(m0->first, m1->first);
  EXPECT_EQ(m0->second, 0u);
  EXPECT_EQ(m1->second, 1u);
  std::string job_id = job_id_string(m0->first);
  auto job = get_job(job_id);
  EXPECT_EQ(text(job.at("channel")), "sms");
  EXPECT_EQ(text(job.at("template")), "order");
  EXPECT_EQ(int_of(job, "received"), 5);
  EXPECT_EQ(int_of(job, "unique"), 2);
  EXPECT_EQ(int_of(job, "duplicates"), 1);
  EXPECT_EQ(int_of(job, "rejected"), 2);
  EXPECT_EQ(job_count(), 1u);

  // Run in the same write: it completes, and the native listing shows the
  // same message ids on the same numbers.
  EXPECT_EQ(wait_for_status(job_id, "COMPLETED"), "COMPLETED");
  auto users = all_users(job_id);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(text(users[0].at("phone")), "+33612345678");
  EXPECT_EQ(text(users[0].at("message_id")), id0);
  EXPECT_EQ(text(users[1].at("phone")), "+15551234567");
  EXPECT_EQ(text(users[1].at("message_id")), id1);
}

TEST_F(PreludeBatchTest, EchoesTheRequestOnEveryMessageAndKeepsItOnTheJob) {
  std::int64_t now = now_unix_ms();
  std::string schedule = format_rfc3339(now + 3600 * 1000), expires = format_rfc3339(now + 7200 * 1000);
  std::string correlation(80, 'c');
  auto r = batch(fmt::format(R"({{"template_id":"order","to":["+33612345678"],"from":"Acme","locale":"fr-fr",)"
                             R"("schedule_at":"{}","expires_at":"{}","correlation_id":"{}",)"
                             R"("callback_url":"https://hooks.example.com/notify","preferred_channel":"sms",)"
                             R"("document":{{"url":"https://example.com/invoice.pdf","filename":"invoice.pdf"}}}})",
                             schedule, expires, correlation));
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(text(b.at("callback_url")), "https://hooks.example.com/notify");
  EXPECT_FALSE(b.contains("variables"));
  const auto& m = b.at("results").at(0).at("message").as_object();
  EXPECT_EQ(text(m.at("from")), "Acme");
  EXPECT_EQ(text(m.at("locale")), "fr-FR");
  EXPECT_EQ(text(m.at("schedule_at")), schedule);
  EXPECT_EQ(text(m.at("expires_at")), expires);
  EXPECT_EQ(text(m.at("correlation_id")), correlation);
  EXPECT_TRUE(parse_rfc3339(text(m.at("created_at"))));

  auto job = job_of(text(m.at("id")));
  EXPECT_EQ(text(job.at("status")), "SCHEDULED");  // run, waiting for schedule_at
  EXPECT_EQ(text(job.at("callback_url")), "https://hooks.example.com/notify");  // delivery events go there
  EXPECT_EQ(text(job.at("correlation_id")), correlation);
  EXPECT_EQ(text(job.at("schedule_at")), schedule);
  const auto& kept = job.at("metadata").at("prelude");
  EXPECT_EQ(text(kept.at("from")), "Acme");
  EXPECT_EQ(text(kept.at("preferred_channel")), "sms");
  EXPECT_EQ(text(kept.at("document").at("url")), "https://example.com/invoice.pdf");
}

TEST_F(PreludeBatchTest, NoValidNumberAnswersEveryErrorAndStoresNoJob) {
  auto r = batch(R"({"template_id":"order","to":["nope","","+0123"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(int_of(b, "total_count"), 3);
  EXPECT_EQ(int_of(b, "success_count"), 0);
  EXPECT_EQ(int_of(b, "error_count"), 3);
  for (const auto& res : b.at("results").as_array()) {
    EXPECT_EQ(res.at("success"), false);
    EXPECT_EQ(text(res.at("error").at("code")), "invalid_phone_number");
  }
  EXPECT_EQ(job_count(), 0u);

  // The rest of the request is still checked as if a job were created.
  auto bad_url = batch(R"({"template_id":"order","to":["nope"],"callback_url":"ftp://x"})");
  expect_prelude_error(bad_url, 400, "invalid_callback_url", "bad_request");
  EXPECT_EQ(job_count(), 0u);
}

TEST_F(PreludeBatchTest, RefusedRequestsArePreludeErrorsAndStoreNothing) {
  std::string past = format_rfc3339(now_unix_ms() - 3600 * 1000);
  struct Case {
    std::string body;
    int status;
    std::string code;
  } cases[] = {
      {"{not json", 400, "invalid_json"},
      {"[]", 400, "invalid_body"},
      {R"({"template_id":"order"})", 400, "missing_field"},
      {R"({"to":["+33612345678"]})", 400, "missing_field"},
      {R"({"to":[],"template_id":"order"})", 400, "empty_batch"},
      {R"({"to":"+33612345678","template_id":"order"})", 400, "invalid_field"},
      {R"({"to":[33612345678],"template_id":"order"})", 400, "invalid_field"},
      {R"({"to":["+33612345678"],"template_id":"nope"})", 400, "template_not_found"},
      {R"({"to":["+33612345678"],"template_id":7})", 400, "invalid_template_id"},
      {R"({"to":["+33612345678"],"template_id":"order","correlation_id":")" + std::string(81, 'c') + "\"}", 400,
       "invalid_correlation_id"},
      {R"({"to":["+33612345678"],"template_id":"order","preferred_channel":"email"})", 400, "invalid_field"},
      {R"({"to":["+33612345678"],"template_id":"order","schedule_at":"tomorrow"})", 400, "invalid_date_format"},
      {R"({"to":["+33612345678"],"template_id":"order","expires_at":")" + past + "\"}", 422, "invalid_expires_at"},
      {R"({"to":["+33612345678"],"template_id":"order","callback_url":"ftp://x"})", 400, "invalid_callback_url"},
      {R"({"to":["+33612345678"],"template_id":"order","locale":"!!"})", 400, "invalid_locale"},
      {R"({"to":["+33612345678"],"template_id":"order","variables":"x"})", 400, "invalid_template_variables"},
      {R"({"to":["+33612345678"],"template_id":"order","from":12})", 400, "invalid_sender_id"},
      {R"({"to":["+33612345678"],"template_id":"order","document":{}})", 400, "invalid_field"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = batch(c.body);
    expect_prelude_error(r, c.status, c.code, "bad_request");
    EXPECT_EQ(header(r, "x-should-retry"), std::optional<std::string>("false"));
  }
  auto typed = request("POST", "/v2/notify/batch", R"({"to":["+33612345678"],"template_id":"order"})");
  typed.content_type = "text/plain";
  expect_prelude_error(send(std::move(typed)), 415, "unsupported_media_type", "bad_request");
  // Another tenant's template is no template at all.
  expect_prelude_error(batch(R"({"to":["+33612345678"],"template_id":"order"})", kKeyOther), 400, "template_not_found",
                       "bad_request");
  EXPECT_EQ(job_count(), 0u);
}

TEST_F(PreludeBatchTest, AuthAndRoutingErrorsArePreludeShaped) {
  std::string body = R"({"to":["+33612345678"],"template_id":"order"})";
  auto wrong = batch(body, "key-wrong");
  expect_prelude_error(wrong, 401, "invalid_api_key", "unauthorized");
  EXPECT_EQ(header(wrong, "WWW-Authenticate"), std::optional<std::string>("Bearer"));
  expect_prelude_error(batch(body, ""), 401, "missing_api_key", "unauthorized");
  expect_prelude_error(send("POST", "/v2/notify/nope", body), 404, "route_not_found", "not_found");
  auto get = send("GET", "/v2/notify/batch");
  expect_prelude_error(get, 405, "method_not_allowed", "method_not_allowed");
  EXPECT_EQ(header(get, "Allow"), std::optional<std::string>("POST"));
  EXPECT_EQ(job_count(), 0u);
}

TEST_F(PreludeBatchTest, PreferredChannelFallsBackToWhatTheTemplateHas) {
  put_template("wa-only", R"({"content":{"whatsapp":{"template":"order_update","language":"en","parameters":["{{order_id}}"]}}})");
  put_template("email-only", R"({"content":{"email":{"subject":"Hi","text":"Hi"}}})");
  struct Case {
    std::string template_id, preferred, channel;
  } cases[] = {
      {"order", "rcs", "sms"},          // Crier has no RCS
      {"order", "whatsapp", "sms"},     // no WhatsApp content: SMS
      {"order", "", "sms"},             // the default
      {"wa-only", "sms", "whatsapp"},   // no SMS content: WhatsApp
      {"wa-only", "whatsapp", "whatsapp"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.template_id + " " + c.preferred);
    std::string preferred = c.preferred.empty() ? "" : R"(,"preferred_channel":")" + c.preferred + "\"";
    auto r = batch(R"({"to":["+33612345678"],"template_id":")" + c.template_id + "\"" + preferred + "}");
    ASSERT_EQ(r.status, 200) << r.body;
    auto job = job_of(text(body_of(r).at("results").at(0).at("message").at("id")));
    EXPECT_EQ(text(job.at("channel")), c.channel);
  }
  auto none = batch(R"({"to":["+33612345678"],"template_id":"email-only"})");
  expect_prelude_error(none, 400, "invalid_template_id", "bad_request");
}

TEST_F(PreludeBatchTest, WhatsappPreferredRoutesWhatsappThenSms) {
  put_template("both", R"({"content":{"sms":{"body":"Order {{order_id}}"},)"
                       R"("whatsapp":{"template":"order_update","language":"en","parameters":["{{order_id}}"]}}})");
  auto r = batch(R"({"to":["+33612345678"],"template_id":"both","preferred_channel":"whatsapp","variables":{"order_id":"1"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto id = text(body_of(r).at("results").at(0).at("message").at("id"));
  auto job = job_of(id);
  EXPECT_EQ(job.at("routing").at("channels"), json::value(json::array{"whatsapp", "sms"}));
  auto job_id = text(job.at("job_id"));
  EXPECT_EQ(wait_for_status(job_id, "COMPLETED"), "COMPLETED");
  auto users = all_users(job_id);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(text(users[0].at("channel")), "whatsapp");  // reachable on WhatsApp: the preferred one
}

TEST_F(PreludeBatchTest, SmsMessagesCarryEncodingAndSegmentCount) {
  put_template("emoji", R"({"content":{"sms":{"body":"Your order ships today \ud83d\ude9a"}}})");
  auto gsm = body_of(batch(R"({"to":["+33612345678"],"template_id":"order","variables":{"order_id":"1","amount":"2"}})"));
  const auto& g = gsm.at("results").at(0).at("message");
  EXPECT_EQ(text(g.at("encoding")), "GSM-7");
  EXPECT_EQ(g.at("estimated_segment_count").to_number<int>(), 1);
  auto ucs = body_of(batch(R"({"to":["+33612345678"],"template_id":"emoji"})"));
  const auto& u = ucs.at("results").at(0).at("message");
  EXPECT_EQ(text(u.at("encoding")), "UCS-2");
  EXPECT_EQ(u.at("estimated_segment_count").to_number<int>(), 1);
}

TEST_F(PreludeBatchTest, IdempotencyKeyReplaysTheAnswer) {
  std::string body = R"({"to":["+33612345678","+15551234567"],"template_id":"order"})";
  auto first = request("POST", "/v2/notify/batch", body);
  first.idempotency_key = "batch-1";
  auto a = send(std::move(first));
  ASSERT_EQ(a.status, 200) << a.body;
  auto again = request("POST", "/v2/notify/batch", body);
  again.idempotency_key = "batch-1";
  auto b = send(std::move(again));
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, a.body);
  EXPECT_EQ(header(b, "Idempotent-Replayed"), std::optional<std::string>("true"));
  EXPECT_EQ(job_count(), 1u);

  auto other = request("POST", "/v2/notify/batch", R"({"to":["+33612345678"],"template_id":"order"})");
  other.idempotency_key = "batch-1";
  expect_prelude_error(send(std::move(other)), 409, "idempotency_key_reused", "conflict");
}

// A batch whose answer a crash lost: its retry answers the same messages
// of the one job the first attempt made.
TEST_F(PreludeBatchTest, ABatchRetriedAfterACrashAnswersTheSameMessages) {
  const std::string body = R"({"to":["+33612345678","+15551234567"],"template_id":"order"})";
  auto req = request("POST", "/v2/notify/batch", body);
  req.idempotency_key = "batch-crash";
  crash_once_before_the_answer();
  ASSERT_EQ(send(req).status, 500);
  auto retry = send(req);
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(job_count(), 1u);
  const auto answer = body_of(retry);
  const auto& results = answer.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  const auto job_id = text(body_of(send("GET", "/v1/jobs")).at("jobs").at(0).at("job_id"));
  for (const auto& r : results) {
    const auto id = text(r.at("message").at("id"));
    auto parsed = parse_message_id(id);
    ASSERT_TRUE(parsed) << id;
    EXPECT_EQ(job_id_string(parsed->first), job_id);
  }
  EXPECT_NE(results[0].at("message").at("id"), results[1].at("message").at("id"));
}

}  // namespace
}  // namespace crier::testing
