// Every delivery channel end to end, through the real `crier serve` process:
// jobs go in over HTTP, messages come out at real receivers (WebhookSink in
// process, the aiosmtpd sink as a child), and what arrived is checked
// against what the users listing says was sent.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "tests/e2e/channels_fixture.h"
#include "tests/support/smtp_sink_process.h"

namespace crier::e2e {
namespace {

// A receiver gets its last message a moment after the server records it:
// how long a test waits for what it knows must arrive.
constexpr auto kArrivalTimeout = 20s;

json::object parse_object(std::string_view body) {
  auto v = json::parse(body);
  if (!v.is_object()) throw std::runtime_error("not a JSON object: " + std::string(body));
  return v.as_object();
}

// A webhook job to `url` through `provider`, whose body renders `name`,
// `plan` and `n` (the job's data says name=friend, plan=free).
json::object webhook_job(const std::string& url, std::string_view provider) {
  return json::object{
      {"channel", "webhook"},
      {"provider", provider},
      {"webhook_url", url},
      {"correlation_id", "campaign-7"},
      {"content",
       {{"webhook",
         {{"body", {{"text", "Hello {{name}}"}, {"plan", "{{plan}}"}, {"n", "{{n}}"}}}}}}},
      {"data", {{"name", "friend"}, {"plan", "free"}}}};
}

// Users user-000000.. with data n = their index; every third one also
// overrides the job's name.
json::array webhook_users(std::size_t count) {
  json::array users;
  for (std::size_t i = 0; i < count; ++i) {
    json::object data{{"n", std::to_string(i)}};
    if (i % 3 == 0) data["name"] = fmt::format("User {}", i);
    users.push_back(json::object{{"user_id", user_id_for(i)}, {"data", std::move(data)}});
  }
  return users;
}

std::string expected_name(std::size_t i) {
  return i % 3 == 0 ? fmt::format("User {}", i) : "friend";
}

// The index in "user-000042".
std::size_t index_of(std::string_view user_id) {
  return std::stoul(std::string(user_id.substr(5)));
}

// Creates the job, ingests `users` (all accepted) and runs it; returns its id.
std::string ingest_and_run(HttpClient& api, const json::object& spec, const json::array& users) {
  auto id = create_job(api, spec);
  auto answer = ingest_json(api, id, users);
  EXPECT_EQ(num(answer, "accepted"), static_cast<std::int64_t>(users.size()))
      << json::serialize(answer);
  run_job(api, id);
  return id;
}

// A provider with no secret of its own: it signs with each tenant's.
std::string provider_config(std::string_view name, std::string_view type, std::string_view extra) {
  return fmt::format("[providers.{}]\ntype = \"{}\"\n{}\n", name, type, extra);
}

// ---- webhook -------------------------------------------------------------------

// 2 000 recipients through the built-in webhook provider, signed with the
// tenant's own secret, as the tenant reads it from the API: each arrives
// once, verified, with its own rendered data, and the listing names the id
// the sink saw.
TEST_F(ChannelTest, WebhookFanOutArrivesOnceSignedWithTheTenantsSecret) {
  start_with_config("");
  const std::string secret = tenant_secret(api());
  ASSERT_TRUE(secret.starts_with("whsec_")) << secret;
  EXPECT_EQ(server().output_tail(100000).find(secret), std::string::npos) << "a tenant's secret is not logged";

  constexpr std::size_t kUsers = 2000;
  auto options = sink_options(secret);
  options.threads = 2;
  options.keep_requests = kUsers + 100;
  auto sink = start_sink(options);
  auto id =
      ingest_and_run(api(), webhook_job(sink->url("/hooks"), "webhook"), webhook_users(kUsers));
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  ASSERT_EQ(str(job, "status"), "COMPLETED") << counters_snapshot(job);
  EXPECT_EQ(num(job, "sent"), static_cast<std::int64_t>(kUsers));

  auto stats = sink->stats();
  EXPECT_EQ(stats.unique, kUsers);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_EQ(stats.bad_signatures, 0u);
  EXPECT_EQ(stats.requests, kUsers);

  std::map<std::string, std::string> id_of_user;  // user_id → the webhook-id the sink saw
  for (const auto& r : sink->requests()) {
    SCOPED_TRACE(r.body);
    ASSERT_EQ(r.method, "POST");
    ASSERT_EQ(r.target, "/hooks");
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.header("Content-Type"), "application/json");
    ASSERT_EQ(r.header("Idempotency-Key"), r.message_id);
    ASSERT_TRUE(r.header("webhook-signature").starts_with("v1,"));
    auto envelope = parse_object(r.body);
    ASSERT_EQ(str(envelope, "message_id"), std::string(r.header("webhook-id")));
    EXPECT_EQ(str(envelope, "job_id"), id);
    EXPECT_EQ(str(envelope, "channel"), "webhook");
    EXPECT_EQ(str(envelope, "correlation_id"), "campaign-7");
    auto user = str(envelope, "user_id");
    auto i = index_of(user);
    const auto& data = envelope.at("data").as_object();
    EXPECT_EQ(str(data, "text"), "Hello " + expected_name(i));
    EXPECT_EQ(str(data, "plan"), "free");
    EXPECT_EQ(str(data, "n"), std::to_string(i));
    EXPECT_TRUE(id_of_user.emplace(user, r.message_id).second) << user << " arrived twice";
  }
  ASSERT_EQ(id_of_user.size(), kUsers);

  auto users = list_all_users(api(), id);
  ASSERT_EQ(users.size(), kUsers);
  for (const auto& u : users) {
    ASSERT_EQ(str(u, "status"), "SENT") << json::serialize(u);
    ASSERT_EQ(num(u, "attempts"), 1) << json::serialize(u);
    ASSERT_EQ(str(u, "message_id"), id_of_user[str(u, "user_id")]) << json::serialize(u);
  }
}

// A receiver that answers 503 twice per message: every message is retried
// with the same id and body and lands once, on the third attempt.
TEST_F(ChannelTest, TransientFailuresAreRetriedUntilTheyArrive) {
  constexpr std::size_t kUsers = 50;
  auto options = sink_options();
  options.fail_first = 2;
  auto sink = start_sink(options);
  start_with_config(provider_config("webhook", "webhook",
                                    "backoff_base_ms = 5\nbackoff_max_ms = 20\nmax_attempts = 5"));
  trust_tenant_secret(*sink, api());
  auto id =
      ingest_and_run(api(), webhook_job(sink->url("/hooks"), "webhook"), webhook_users(kUsers));
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  ASSERT_EQ(str(job, "status"), "COMPLETED") << counters_snapshot(job);

  auto stats = sink->stats();
  EXPECT_EQ(stats.unique, kUsers);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_EQ(stats.bad_signatures, 0u);
  EXPECT_EQ(stats.injected_failures, 2 * kUsers);
  EXPECT_EQ(stats.requests, 3 * kUsers);

  std::map<std::string, std::vector<std::string>> bodies;  // message id → the body of each attempt
  for (const auto& r : sink->requests()) bodies[r.message_id].push_back(r.body);
  for (const auto& u : list_all_users(api(), id)) {
    SCOPED_TRACE(json::serialize(u));
    EXPECT_EQ(str(u, "status"), "SENT");
    EXPECT_EQ(num(u, "attempts"), 3);
    const auto& attempts = bodies[str(u, "message_id")];
    ASSERT_EQ(attempts.size(), 3u);
    EXPECT_EQ(attempts[0], attempts[1]);
    EXPECT_EQ(attempts[1], attempts[2]);
  }
}

// max_attempts = 2 against a receiver that fails five times: every
// recipient gives up after its second attempt with the last error.
TEST_F(ChannelTest, RetriesStopAtTheProvidersMaxAttempts) {
  constexpr std::size_t kUsers = 20;
  auto options = sink_options();
  options.fail_first = 5;
  auto sink = start_sink(options);
  start_with_config(provider_config("flaky", "webhook",
                                    "backoff_base_ms = 5\nbackoff_max_ms = 20\nmax_attempts = 2"));
  trust_tenant_secret(*sink, api());
  auto id = ingest_and_run(api(), webhook_job(sink->url("/hooks"), "flaky"), webhook_users(kUsers));
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  ASSERT_EQ(str(job, "status"), "FAILED") << counters_snapshot(job);
  EXPECT_EQ(num(job, "failed"), static_cast<std::int64_t>(kUsers));

  auto stats = sink->stats();
  EXPECT_EQ(stats.requests, 2 * kUsers);
  EXPECT_EQ(stats.unique, 0u);
  EXPECT_EQ(stats.bad_signatures, 0u) << "a provider with no secret of its own signs with the tenant's";
  for (const auto& u : list_all_users(api(), id)) {
    SCOPED_TRACE(json::serialize(u));
    EXPECT_EQ(str(u, "status"), "FAILED");
    EXPECT_EQ(num(u, "attempts"), 2);
    ASSERT_TRUE(u.at("error").is_object());
    const auto& error = u.at("error").as_object();
    EXPECT_EQ(str(error, "code"), "http_503");
    EXPECT_NE(str(error, "message").find("after 2 attempts"), std::string::npos);
  }
}

// A 400 is final: those recipients fail after one attempt, the others are
// sent, and the job ends PARTIAL.
TEST_F(ChannelTest, PermanentFailuresFailAtOnceAndTheJobIsPartial) {
  constexpr std::size_t kUsers = 30;
  auto options = sink_options();
  options.permanent_marker = "bounce";
  auto sink = start_sink(options);
  start_with_config(
      provider_config("webhook", "webhook", "backoff_base_ms = 5\nbackoff_max_ms = 20"));
  trust_tenant_secret(*sink, api());
  auto spec = webhook_job(sink->url("/hooks"), "webhook");
  spec["content"] = {{"webhook", {{"body", {{"tag", "{{tag}}"}}}}}};
  spec["data"] = {{"tag", "ok"}};
  json::array users;
  for (std::size_t i = 0; i < kUsers; ++i) {
    json::object u{{"user_id", user_id_for(i)}};
    if (i % 3 == 1) u["data"] = {{"tag", "bounce"}};
    users.push_back(std::move(u));
  }
  auto id = ingest_and_run(api(), spec, users);
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  ASSERT_EQ(str(job, "status"), "PARTIAL") << counters_snapshot(job);
  EXPECT_EQ(num(job, "failed"), static_cast<std::int64_t>(kUsers / 3));
  EXPECT_EQ(num(job, "sent"), static_cast<std::int64_t>(kUsers - kUsers / 3));

  EXPECT_EQ(sink->stats().requests, kUsers) << "nothing was retried";
  EXPECT_EQ(sink->stats().unique, kUsers - kUsers / 3);
  for (const auto& u : list_all_users(api(), id)) {
    SCOPED_TRACE(json::serialize(u));
    EXPECT_EQ(num(u, "attempts"), 1);
    if (index_of(str(u, "user_id")) % 3 == 1) {
      EXPECT_EQ(str(u, "status"), "FAILED");
      ASSERT_TRUE(u.at("error").is_object());
      EXPECT_EQ(str(u.at("error").as_object(), "code"), "http_400");
    } else {
      EXPECT_EQ(str(u, "status"), "SENT");
      EXPECT_TRUE(u.at("error").is_null());
    }
  }
}

// ---- smtp ------------------------------------------------------------------------

// The trailing line breaks a MIME writer may add to a text part.
std::string trim_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// An email job that names no provider, routed to the relay by
// [dispatch.channels]: every message arrives once at a real SMTP server,
// with the listing's message id and the rendered text.
TEST_F(ChannelTest, SmtpRelayDeliversEveryEmailOnce) {
  constexpr std::size_t kUsers = 40;
  testing::SmtpSinkProcess smtp(scratch_file("smtp-sink"));
  start_with_config(
      fmt::format("[providers.relay]\ntype = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nfrom = "
                  "\"bulk@crier.example\"\n"
                  "from_name = \"Crier E2E\"\ntls = \"none\"\npool_size = "
                  "4\ntenants = [\"acme\"]\n\n[dispatch.channels]\nemail = \"relay\"\n",
                  smtp.port()));
  auto id = create_job(api(), email_job_spec());
  auto users = email_users(0, kUsers);
  for (std::size_t i = 0; i < kUsers; i += 2)
    users[i].as_object()["data"] = {{"name", fmt::format("Name{}", i)}};
  ASSERT_EQ(num(ingest_json(api(), id, users), "accepted"), static_cast<std::int64_t>(kUsers));
  run_job(api(), id);
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  ASSERT_EQ(str(job, "status"), "COMPLETED") << counters_snapshot(job);

  ASSERT_TRUE(poll_until(kArrivalTimeout, [&] { return smtp.message_count() >= kUsers; }))
      << smtp.output_tail();
  std::map<std::string, json::object> by_id;  // x_crier_message_id → the message
  for (auto& m : smtp.messages()) {
    auto mid = str(m, "x_crier_message_id");
    EXPECT_TRUE(by_id.emplace(mid, std::move(m)).second) << mid << " arrived twice";
  }
  EXPECT_EQ(by_id.size(), kUsers);
  EXPECT_TRUE(read_delivery_log(delivery_log()).empty())
      << "the channel's provider, not the log, took the job";
  for (const auto& u : list_all_users(api(), id)) {
    SCOPED_TRACE(json::serialize(u));
    ASSERT_EQ(str(u, "status"), "SENT");
    auto mid = str(u, "message_id");
    auto it = by_id.find(mid);
    ASSERT_NE(it, by_id.end()) << "never arrived";
    const auto& m = it->second;
    auto i = index_of(str(u, "user_id"));
    std::string name = i % 2 == 0 ? fmt::format("Name{}", i) : "friend";
    EXPECT_EQ(str(m, "message_id"), "<" + mid + "@crier>");
    EXPECT_EQ(str(m, "mail_from"), "bulk@crier.example");
    EXPECT_EQ(json::serialize(m.at("rcpt_tos")),
              json::serialize(json::array{json::string(email_for(i))}));
    EXPECT_EQ(str(m, "subject"), "Hello " + name);
    EXPECT_EQ(trim_end(str(m, "text")), "Dear " + name);
    EXPECT_EQ(str(m, "from"), "Crier E2E <bulk@crier.example>");
  }
}

// ---- routing across channels --------------------------------------------------------

// One job routed ["email","webhook"]: users with an email (some with a
// webhook URL too) get an email through the SMTP relay, users with only a
// webhook URL get a signed webhook at the sink; the listing names each
// user's channel and the message id its receiver saw.
TEST_F(ChannelTest, RoutedJobSendsEachUserOnItsFirstReachableChannel) {
  constexpr std::size_t kUsers = 30;
  testing::SmtpSinkProcess smtp(scratch_file("smtp-sink"));
  auto options = sink_options();
  options.keep_requests = kUsers + 10;
  auto sink = start_sink(options);
  start_with_config(
      fmt::format("[providers.relay]\ntype = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nfrom = "
                  "\"bulk@crier.example\"\ntls = \"none\"\npool_size = 2\ntenants = [\"acme\"]\n\n{}\n"
                  "[dispatch.channels]\nemail = \"relay\"\nwebhook = \"webhook\"\n",
                  smtp.port(), provider_config("webhook", "webhook", "")));
  trust_tenant_secret(*sink, api());  // the webhook provider signs with the tenant's secret
  auto id = create_job(
      api(), json::object{{"routing", {{"method", "single"}, {"channels", json::array{"email", "webhook"}}}},
                          {"content",
                           {{"email", {{"subject", "Hello {{name}}"}, {"text", "Dear {{name}}"}}},
                            {"webhook", {{"body", {{"text", "Hook for {{name}}"}}}}}}},
                          {"data", {{"name", "friend"}}}});
  // Even users: an email. Odd users: a webhook URL, and every third of them
  // an email too (email comes first in the routing).
  auto emailed = [](std::size_t i) { return i % 2 == 0 || i % 3 == 0; };
  json::array users;
  for (std::size_t i = 0; i < kUsers; ++i) {
    json::object u{{"user_id", user_id_for(i)}, {"data", {{"name", fmt::format("Name{}", i)}}}};
    if (i % 2 == 0 || i % 3 == 0) u["email"] = email_for(i);
    if (i % 2 == 1) u["webhook_url"] = sink->url("/hooks");
    users.push_back(std::move(u));
  }
  std::size_t email_count = 0;
  for (std::size_t i = 0; i < kUsers; ++i) email_count += emailed(i) ? 1 : 0;
  const std::size_t webhook_count = kUsers - email_count;
  ASSERT_EQ(num(ingest_json(api(), id, users), "accepted"), static_cast<std::int64_t>(kUsers));

  // Before the run the listing already says where each user will go.
  for (const auto& u : list_all_users(api(), id))
    EXPECT_EQ(str(u, "channel"), emailed(index_of(str(u, "user_id"))) ? "email" : "webhook")
        << json::serialize(u);

  run_job(api(), id);
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  ASSERT_EQ(str(job, "status"), "COMPLETED") << counters_snapshot(job);
  EXPECT_EQ(num(job, "sent"), static_cast<std::int64_t>(kUsers));
  EXPECT_TRUE(job.at("channel").is_null());
  EXPECT_EQ(job.at("routing"), json::parse(R"({"method":"single","channels":["email","webhook"]})"));

  ASSERT_TRUE(poll_until(kArrivalTimeout, [&] { return smtp.message_count() >= email_count; }))
      << smtp.output_tail();
  std::map<std::string, json::object> emails;  // message id → the email
  for (auto& m : smtp.messages()) {
    auto mid = str(m, "x_crier_message_id");
    EXPECT_TRUE(emails.emplace(mid, std::move(m)).second) << mid << " arrived twice";
  }
  EXPECT_EQ(emails.size(), email_count);
  auto stats = sink->stats();
  EXPECT_EQ(stats.unique, webhook_count);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_EQ(stats.bad_signatures, 0u);
  std::map<std::string, json::object> hooks;  // message id → the webhook envelope
  for (const auto& r : sink->requests()) hooks.emplace(r.message_id, parse_object(r.body));
  EXPECT_EQ(hooks.size(), webhook_count);

  auto listed = list_all_users(api(), id);
  ASSERT_EQ(listed.size(), kUsers);
  for (const auto& u : listed) {
    SCOPED_TRACE(json::serialize(u));
    ASSERT_EQ(str(u, "status"), "SENT");
    const auto i = index_of(str(u, "user_id"));
    const auto mid = str(u, "message_id");
    const std::string name = fmt::format("Name{}", i);
    if (emailed(i)) {
      EXPECT_EQ(str(u, "channel"), "email");
      auto it = emails.find(mid);
      ASSERT_NE(it, emails.end()) << "no email arrived";
      EXPECT_EQ(json::serialize(it->second.at("rcpt_tos")),
                json::serialize(json::array{json::string(email_for(i))}));
      EXPECT_EQ(str(it->second, "subject"), "Hello " + name);
      EXPECT_EQ(hooks.count(mid), 0u) << "sent on both channels";
    } else {
      EXPECT_EQ(str(u, "channel"), "webhook");
      auto it = hooks.find(mid);
      ASSERT_NE(it, hooks.end()) << "no webhook arrived";
      EXPECT_EQ(str(it->second, "channel"), "webhook");
      EXPECT_EQ(str(it->second, "user_id"), str(u, "user_id"));
      EXPECT_EQ(str(it->second.at("data").as_object(), "text"), "Hook for " + name);
      EXPECT_EQ(emails.count(mid), 0u) << "sent on both channels";
    }
  }
}

// ---- HTTP vendors ----------------------------------------------------------------

// The message ids a job's listing names, all SENT.
std::set<std::string> sent_message_ids(HttpClient& api, const std::string& job_id) {
  std::set<std::string> ids;
  for (const auto& u : list_all_users(api, job_id)) {
    EXPECT_EQ(str(u, "status"), "SENT") << json::serialize(u);
    ids.insert(str(u, "message_id"));
  }
  return ids;
}

// Twilio, FCM and WhatsApp Cloud shapes at fakes of their endpoints: one
// request per recipient, with the vendor's auth, body shape and the
// rendered content, carrying the message id the listing shows.
TEST_F(ChannelTest, HttpVendorsGetTheirOwnRequestShapes) {
  constexpr std::size_t kUsers = 15;
  auto sink = start_sink(sink_options());  // vendors do not sign
  const std::string sms_path = "/2010-04-01/Accounts/AC123/Messages.json";
  const std::string push_path = "/v1/projects/crier-e2e/messages:send";
  const std::string wa_path = "/v19.0/1234567890/messages";
  start_with_config(fmt::format(
      "[providers.sms]\ntype = \"twilio_sms\"\nurl = \"{}\"\naccount_sid = \"AC123\"\nauth_token = "
      "\"tok\"\n"
      "from = \"+15550001111\"\ntenants = [\"acme\"]\n\n"
      "[providers.push]\ntype = \"fcm_push\"\nurl = \"{}\"\nauth_token = \"fcm-token\"\ntenants = [\"acme\"]\n\n"
      "[providers.wa]\ntype = \"whatsapp_cloud\"\nurl = \"{}\"\nauth_token = \"wa-token\"\ntenants = [\"*\"]\n",
      sink->url(sms_path), sink->url(push_path), sink->url(wa_path)));

  auto sms = sms_job_spec();
  sms["provider"] = "sms";
  json::object push{
      {"channel", "push"},
      {"provider", "push"},
      {"content", {{"push", {{"title", "Hi {{name}}"}, {"body", "Your code is {{code}}"}}}}},
      {"data", {{"name", "there"}, {"code", "0000"}}}};
  json::object wa{{"channel", "whatsapp"},
                  {"provider", "wa"},
                  {"content",
                   {{"whatsapp",
                     {{"template", "order_update"},
                      {"language", "en"},
                      {"parameters", json::array{"{{name}}", "{{order}}"}}}}}},
                  {"data", {{"name", "there"}, {"order", "none"}}}};
  json::array phone_users, push_users;
  for (std::size_t i = 0; i < kUsers; ++i) {
    json::object data{{"name", fmt::format("N{}", i)},
                      {"code", fmt::format("{:04}", i)},
                      {"order", fmt::format("A-{}", i)}};
    phone_users.push_back(
        json::object{{"user_id", user_id_for(i)}, {"phone", phone_for(i)}, {"data", data}});
    push_users.push_back(json::object{{"user_id", user_id_for(i)},
                                      {"push_token", fmt::format("fcm-token-{}", i)},
                                      {"data", data}});
  }
  auto sms_id = ingest_and_run(api(), sms, phone_users);
  auto push_id = ingest_and_run(api(), push, push_users);
  auto wa_id = ingest_and_run(api(), wa, phone_users);
  for (const auto& id : {sms_id, push_id, wa_id}) {
    auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
    ASSERT_EQ(str(job, "status"), "COMPLETED") << counters_snapshot(job);
  }

  auto stats = sink->stats();
  EXPECT_EQ(stats.requests, 3 * kUsers);
  EXPECT_EQ(stats.unique, 3 * kUsers);
  EXPECT_EQ(stats.paths[sms_path], kUsers);
  EXPECT_EQ(stats.paths[push_path], kUsers);
  EXPECT_EQ(stats.paths[wa_path], kUsers);

  std::map<std::string, std::set<std::string>> ids_at;  // path → X-Crier-Message-Id values
  for (const auto& r : sink->requests()) {
    SCOPED_TRACE(r.target + " " + r.body);
    ASSERT_EQ(r.method, "POST");
    ASSERT_FALSE(r.message_id.empty());
    EXPECT_EQ(r.header("Idempotency-Key"), r.message_id);
    EXPECT_TRUE(ids_at[r.target].insert(r.message_id).second) << "sent twice";
    if (r.target == sms_path) {
      EXPECT_EQ(r.header("Authorization"), "Basic QUMxMjM6dG9r");  // base64("AC123:tok")
      EXPECT_EQ(r.header("Content-Type"), "application/x-www-form-urlencoded");
      auto to = form_value(r.body, "To");
      ASSERT_TRUE(to.starts_with("+1415")) << to;
      auto i = std::stoul(to.substr(5));
      EXPECT_EQ(form_value(r.body, "From"), "+15550001111");
      EXPECT_EQ(form_value(r.body, "Body"), fmt::format("Hi N{}", i));
    } else if (r.target == push_path) {
      EXPECT_EQ(r.header("Authorization"), "Bearer fcm-token");
      EXPECT_EQ(r.header("Content-Type"), "application/json");
      auto body = parse_object(r.body);
      const auto& m = body.at("message").as_object();
      auto token = str(m, "token");
      ASSERT_TRUE(token.starts_with("fcm-token-")) << token;
      auto i = std::stoul(token.substr(10));
      EXPECT_EQ(json::serialize(m.at("notification")),
                json::serialize(json::object{{"title", fmt::format("Hi N{}", i)},
                                             {"body", fmt::format("Your code is {:04}", i)}}));
      EXPECT_EQ(str(m.at("data").as_object(), "message_id"), r.message_id);
    } else if (r.target == wa_path) {
      EXPECT_EQ(r.header("Authorization"), "Bearer wa-token");
      EXPECT_EQ(r.header("Content-Type"), "application/json");
      auto body = parse_object(r.body);
      auto to = str(body, "to");
      ASSERT_TRUE(to.starts_with("+1415")) << to;
      auto i = std::stoul(to.substr(5));
      json::object expected{
          {"messaging_product", "whatsapp"},
          {"to", to},
          {"type", "template"},
          {"template",
           {{"name", "order_update"},
            {"language", {{"code", "en"}}},
            {"components",
             json::array{json::object{
                 {"type", "body"},
                 {"parameters",
                  json::array{
                      json::object{{"type", "text"}, {"text", fmt::format("N{}", i)}},
                      json::object{{"type", "text"}, {"text", fmt::format("A-{}", i)}}}}}}}}}};
      EXPECT_EQ(body, expected);
    } else {
      ADD_FAILURE() << "a request to an unexpected path";
    }
  }
  EXPECT_EQ(ids_at[sms_path], sent_message_ids(api(), sms_id));
  EXPECT_EQ(ids_at[push_path], sent_message_ids(api(), push_id));
  EXPECT_EQ(ids_at[wa_path], sent_message_ids(api(), wa_id));
}

// ---- who may use which provider ---------------------------------------------------

// A provider that carries the operator's credentials (here a header) is its
// tenants' only, and sends only to its own url: another tenant's job naming
// it is 422 with nothing stored, and its tenant's job cannot point it at a
// URL of its choosing.
TEST_F(ChannelTest, AProviderWithCredentialsIsItsTenantsOnlyAndSendsOnlyToItsUrl) {
  auto vault = start_sink(sink_options());
  auto elsewhere = start_sink(sink_options());
  start_with_config(fmt::format("[providers.vault]\ntype = \"webhook\"\nurl = \"{}\"\ntenants = [\"{}\"]\n"
                                "headers = {{ Authorization = \"Bearer operator-token\" }}\n",
                                vault->url("/vault"), kTenantB));
  const auto spec = webhook_job(elsewhere->url("/steal"), "vault");
  auto refused = api().post_json("/v1/jobs", spec);
  auto e = expect_error(refused, 422, "provider_not_allowed");
  EXPECT_EQ(str(e, "field"), "provider");
  EXPECT_TRUE(require(api().get("/v1/jobs"), 200, "list").at("jobs").as_array().empty());

  auto id = ingest_and_run(api_b(), spec, webhook_users(5));
  auto job = wait_for_status(api_b(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  ASSERT_EQ(str(job, "status"), "COMPLETED") << counters_snapshot(job);
  EXPECT_EQ(vault->stats().accepted, 5u);
  EXPECT_EQ(elsewhere->stats().requests, 0u) << "the job's webhook_url redirected the operator's credentials";
  for (const auto& r : vault->requests()) {
    EXPECT_EQ(r.target, "/vault");
    EXPECT_EQ(r.header("Authorization"), "Bearer operator-token");
  }
}

// ---- callbacks -------------------------------------------------------------------

// A job with a callback_url: signed batches report every recipient once
// and end with the job's final status and counters.
TEST_F(ChannelTest, CallbacksReportEveryRecipientAndTheFinalStatus) {
  constexpr std::size_t kUsers = 200;
  auto sink = start_sink(sink_options());
  start_with_config(provider_config("webhook", "webhook", ""));
  trust_tenant_secret(*sink, api());
  auto spec = webhook_job(sink->url("/hooks"), "webhook");
  spec["callback_url"] = sink->url("/callbacks");
  auto id = ingest_and_run(api(), spec, webhook_users(kUsers));
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  ASSERT_EQ(str(job, "status"), "COMPLETED") << counters_snapshot(job);

  auto final_status_arrived = [&] {
    for (const auto& r : sink->requests())
      if (r.target == "/callbacks" && r.body.find(R"("type":"job.status","job_id":")" + id +
                                                  R"(","status":"COMPLETED")") != std::string::npos)
        return true;
    return false;
  };
  ASSERT_TRUE(poll_until(kArrivalTimeout, final_status_arrived)) << sink->stats_json();

  std::map<std::int64_t, int> reports;  // seq → recipient.status events
  std::map<std::int64_t, std::string> message_of;
  std::vector<json::object> job_events;
  std::set<std::int64_t> batches;
  std::size_t callback_posts = 0;
  for (const auto& r : sink->requests()) {
    if (r.target != "/callbacks") continue;
    ++callback_posts;
    SCOPED_TRACE(r.body);
    ASSERT_EQ(r.status, 200) << "the sink verified the batch's signature";
    auto batch = parse_object(r.body);
    EXPECT_EQ(str(batch, "type"), "crier.events");
    EXPECT_EQ(str(batch, "job_id"), id);
    EXPECT_EQ(num(batch, "dropped"), 0);
    EXPECT_EQ(r.header("webhook-id"), fmt::format("{}.{}", id, num(batch, "batch")));
    EXPECT_TRUE(batches.insert(num(batch, "batch")).second) << "a batch arrived twice";
    for (const auto& ev : batch.at("events").as_array()) {
      const auto& e = ev.as_object();
      EXPECT_EQ(str(e, "job_id"), id);
      if (str(e, "type") == "recipient.status") {
        ++reports[num(e, "seq")];
        message_of[num(e, "seq")] = str(e, "message_id");
        EXPECT_EQ(str(e, "status"), "SENT");
        EXPECT_EQ(num(e, "attempts"), 1);
      } else {
        ASSERT_EQ(str(e, "type"), "job.status");
        job_events.push_back(e);
      }
    }
  }
  EXPECT_GT(callback_posts, 0u);
  EXPECT_EQ(sink->stats().bad_signatures, 0u);

  auto users = list_all_users(api(), id);
  ASSERT_EQ(users.size(), kUsers);
  EXPECT_EQ(reports.size(), kUsers);
  for (const auto& u : users) {
    auto seq = num(u, "seq");
    EXPECT_EQ(reports[seq], 1) << "seq " << seq << " reported " << reports[seq] << " times";
    EXPECT_EQ(message_of[seq], str(u, "message_id"));
  }

  ASSERT_FALSE(job_events.empty());
  const auto& last = job_events.back();
  EXPECT_EQ(str(last, "status"), "COMPLETED");
  ASSERT_TRUE(last.contains("counters")) << json::serialize(last);
  const auto& counters = last.at("counters").as_object();
  EXPECT_EQ(num(counters, "sent"), static_cast<std::int64_t>(kUsers));
  EXPECT_EQ(num(counters, "unique"), static_cast<std::int64_t>(kUsers));
  EXPECT_EQ(num(counters, "failed"), 0);
  EXPECT_EQ(num(counters, "pending"), 0);
}

// A callback receiver that answers 503 to the first two POSTs of every batch
// (api.md: retried after 1 s, then 2 s, same webhook-id and body) gets each
// batch a third time and takes it: every recipient is reported once among
// the batches it took, and the final status arrives.
TEST_F(ChannelTest, CallbacksToAFailingReceiverAreRetriedUntilTaken) {
  constexpr std::size_t kUsers = 50;
  auto hooks = start_sink(sink_options());
  auto so = sink_options();
  so.fail_first = 2;
  auto callbacks = start_sink(so);
  start_with_config(provider_config("webhook", "webhook", ""));
  trust_tenant_secret(*hooks, api());
  trust_tenant_secret(*callbacks, api());
  auto spec = webhook_job(hooks->url("/hooks"), "webhook");
  spec["callback_url"] = callbacks->url("/callbacks");
  auto id = ingest_and_run(api(), spec, webhook_users(kUsers));
  ASSERT_EQ(str(wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"}), "status"), "COMPLETED");

  const std::string final_status = R"("type":"job.status","job_id":")" + id + R"(","status":"COMPLETED")";
  auto final_status_taken = [&] {
    for (const auto& r : callbacks->requests())
      if (r.status == 200 && r.body.find(final_status) != std::string::npos) return true;
    return false;
  };
  ASSERT_TRUE(poll_until(kArrivalTimeout, final_status_taken)) << callbacks->stats_json();

  std::map<std::string, std::vector<const SinkRequest*>> posts_of_batch;
  const auto requests = callbacks->requests();
  for (const auto& r : requests) posts_of_batch[std::string(r.header("webhook-id"))].push_back(&r);
  std::map<std::int64_t, int> reports;  // seq -> reports in the batches taken
  for (const auto& [batch_id, posts] : posts_of_batch) {
    ASSERT_EQ(posts.size(), 3u) << batch_id << " was not retried as documented";
    EXPECT_EQ(posts[0]->status, 503);
    EXPECT_EQ(posts[1]->status, 503);
    EXPECT_EQ(posts[2]->status, 200);
    EXPECT_EQ(posts[1]->body, posts[0]->body) << "a retry is the same batch";
    EXPECT_EQ(posts[2]->body, posts[0]->body);
    const auto taken = parse_object(posts[2]->body);
    for (const auto& ev : taken.at("events").as_array())
      if (str(ev.as_object(), "type") == "recipient.status") ++reports[num(ev.as_object(), "seq")];
  }
  EXPECT_EQ(reports.size(), kUsers);
  for (const auto& [seq, n] : reports) EXPECT_EQ(n, 1) << "seq " << seq;
  EXPECT_EQ(callbacks->stats().bad_signatures, 0u);
}

// ---- receipts --------------------------------------------------------------------

// Delivery receipts move a sent message on; bad ones are rejected one by
// one; a repeat changes nothing; another tenant cannot touch the message.
TEST_F(ChannelTest, ReceiptsMoveCountersAndStayWithinTheTenant) {
  constexpr std::size_t kUsers = 10;
  auto sink = start_sink(sink_options());
  start_with_config(provider_config("webhook", "webhook", ""));
  trust_tenant_secret(*sink, api());
  auto id =
      ingest_and_run(api(), webhook_job(sink->url("/hooks"), "webhook"), webhook_users(kUsers));
  ASSERT_EQ(str(wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"}), "status"),
            "COMPLETED");
  auto users = list_all_users(api(), id);
  ASSERT_EQ(users.size(), kUsers);
  std::vector<std::string> mid;
  for (const auto& u : users) mid.push_back(str(u, "message_id"));

  json::object receipts{{"receipts",
                         {{{"message_id", mid[0]}, {"status", "delivered"}},
                          {{"message_id", mid[1]}, {"status", "read"}},
                          {{"message_id", mid[2]},
                           {"status", "failed"},
                           {"error", {{"code", "bounced"}, {"message", "mailbox full"}}}},
                          {{"message_id", "msg_bogus"}, {"status", "delivered"}}}}};
  auto answer = require(api().post_json("/v1/receipts/webhook", receipts), 200, "receipts");
  EXPECT_EQ(num(answer, "applied"), 3) << json::serialize(answer);
  const auto& rejected = answer.at("rejected").as_array();
  ASSERT_EQ(rejected.size(), 1u) << json::serialize(answer);
  EXPECT_EQ(num(rejected[0].as_object(), "index"), 3);
  EXPECT_EQ(str(rejected[0].as_object(), "code"), "message_not_found");

  auto job = get_job(api(), id);
  EXPECT_TRUE(counters_add_up(job));
  EXPECT_EQ(num(job, "sent"), static_cast<std::int64_t>(kUsers - 3));
  EXPECT_EQ(num(job, "delivered"), 2);
  EXPECT_EQ(num(job, "read"), 1);
  EXPECT_EQ(num(job, "failed"), 1);
  auto after = list_all_users(api(), id);
  EXPECT_EQ(str(after[0], "status"), "DELIVERED");
  EXPECT_EQ(str(after[1], "status"), "DELIVERED");
  EXPECT_FALSE(after[1].at("read_at").is_null());
  EXPECT_EQ(str(after[2], "status"), "FAILED");
  ASSERT_TRUE(after[2].at("error").is_object());
  EXPECT_EQ(str(after[2].at("error").as_object(), "code"), "bounced");
  EXPECT_EQ(str(after[3], "status"), "SENT");

  // The same receipts again: nothing moves.
  const auto before = counters_snapshot(job) + fmt::format(" read={}", num(job, "read"));
  require(api().post_json("/v1/receipts/webhook", receipts), 200, "repeated receipts");
  auto again = get_job(api(), id);
  EXPECT_EQ(counters_snapshot(again) + fmt::format(" read={}", num(again, "read")), before);

  // Tenant B cannot report on tenant A's message.
  json::object foreign{{"receipts", {{{"message_id", mid[3]}, {"status", "delivered"}}}}};
  auto b = require(api_b().post_json("/v1/receipts/webhook", foreign), 200, "foreign receipt");
  EXPECT_EQ(num(b, "applied"), 0) << json::serialize(b);
  ASSERT_EQ(b.at("rejected").as_array().size(), 1u) << json::serialize(b);
  EXPECT_EQ(str(b.at("rejected").as_array()[0].as_object(), "code"), "message_not_found");
  EXPECT_EQ(str(list_all_users(api(), id)[3], "status"), "SENT");
  EXPECT_EQ(num(get_job(api(), id), "delivered"), 2);
}

// ---- PATCH rate_limit ------------------------------------------------------------

// A running job's rate limit can be tightened and lifted; the job then
// finishes. A finished job's limit cannot change; only rate_limit can.
TEST_F(ChannelTest, RateLimitChangesWhileRunningAndNotAfter) {
  constexpr std::size_t kUsers = 3000;
  start_with_config("");
  auto spec = email_job_spec();
  spec["provider"] = "null";
  spec["rate_limit"] = 200;
  auto id = create_job(api(), spec);
  ASSERT_EQ(num(ingest_ndjson(api(), id, email_users_ndjson(0, kUsers)), "accepted"),
            static_cast<std::int64_t>(kUsers));
  run_job(api(), id);
  wait_for_job(api(), id, [](const json::object& j) { return num(j, "sent") > 0; });

  auto slow = api().request("PATCH", "/v1/jobs/" + id, R"({"rate_limit": 1})",
                            {{"Content-Type", "application/json"}});
  auto view = require(slow, 200, "PATCH rate_limit 1");
  EXPECT_EQ(json::serialize(view.at("rate_limit")), "1") << json::serialize(view);
  EXPECT_EQ(str(view, "status"), "PROCESSING")
      << "the job was still running when its limit changed";

  auto lifted = api().request("PATCH", "/v1/jobs/" + id, R"({"rate_limit": null})",
                              {{"Content-Type", "application/json"}});
  view = require(lifted, 200, "PATCH rate_limit null");
  EXPECT_TRUE(view.at("rate_limit").is_null()) << json::serialize(view);

  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(job, "status"), "COMPLETED");
  EXPECT_EQ(num(job, "sent"), static_cast<std::int64_t>(kUsers));

  auto late = api().request("PATCH", "/v1/jobs/" + id, R"({"rate_limit": 5})",
                            {{"Content-Type", "application/json"}});
  auto e = expect_error(late, 409, "invalid_state_transition");
  EXPECT_EQ(str(e, "status"), "COMPLETED") << json::serialize(e);

  auto other = create_job(api(), spec);
  auto unknown =
      api().request("PATCH", "/v1/jobs/" + other, R"({"rate_limit": 5, "channel": "sms"})",
                    {{"Content-Type", "application/json"}});
  e = expect_error(unknown, 400, "unknown_field");
  EXPECT_EQ(str(e, "field"), "channel");
  auto wrong_type = api().request("PATCH", "/v1/jobs/" + other, R"({"rate_limit": "fast"})",
                                  {{"Content-Type", "application/json"}});
  expect_error(wrong_type, 400, "invalid_rate_limit");
  EXPECT_EQ(json::serialize(get_job(api(), other).at("rate_limit")), "200")
      << "a refused PATCH changes nothing";
}

// A PATCHed limit does slow the job: the same unlimited job through the null
// provider finishes its 2 000 users at once, but PATCHed to 1/s before its
// run it has sent only a handful when it is read, and lifting the limit lets
// it finish.
TEST_F(ChannelTest, APatchedRateLimitSlowsTheJobAndLiftingItLetsItFinish) {
  constexpr std::size_t kUsers = 2000;
  start_with_config("");
  auto spec = email_job_spec();
  spec["provider"] = "null";
  auto make = [&] {
    auto id = create_job(api(), spec);
    EXPECT_EQ(num(ingest_ndjson(api(), id, email_users_ndjson(0, kUsers)), "accepted"),
              static_cast<std::int64_t>(kUsers));
    return id;
  };
  auto unlimited = make();
  run_job(api(), unlimited);
  EXPECT_EQ(str(wait_for_status(api(), unlimited, {"COMPLETED", "PARTIAL", "FAILED"}), "status"), "COMPLETED");

  auto id = make();
  auto slow = api().request("PATCH", "/v1/jobs/" + id, R"({"rate_limit": 1})",
                            {{"Content-Type", "application/json"}});
  require(slow, 200, "PATCH rate_limit 1 before the run");
  run_job(api(), id);
  auto running = wait_for_job(api(), id, [](const json::object& j) { return num(j, "sent") > 0; });
  // At 1/s, 100 messages take over a minute and a half: far more than the
  // few milliseconds the unlimited twin needed for all 2 000.
  EXPECT_EQ(str(running, "status"), "PROCESSING") << json::serialize(running);
  EXPECT_LT(num(running, "sent"), 100) << json::serialize(running);

  auto lifted = api().request("PATCH", "/v1/jobs/" + id, R"({"rate_limit": null})",
                              {{"Content-Type", "application/json"}});
  require(lifted, 200, "PATCH rate_limit null");
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(done, "status"), "COMPLETED");
  EXPECT_EQ(num(done, "sent"), static_cast<std::int64_t>(kUsers));
}

// ---- configuration -----------------------------------------------------------------

// A config with a mistake stops the server at start-up, non-zero, with a
// message that names the offending key.
TEST_F(ChannelTest, ABadConfigStopsTheServerNamingTheKey) {
  struct Case {
    const char* toml;
    const char* says;
  };
  const Case cases[] = {
      {"[providers.pigeon]\ntype = \"carrier_pigeon\"\n",
       "providers.pigeon.type 'carrier_pigeon' is not a provider type"},
      {"[providers.webhook]\nurll = \"http://127.0.0.1:9/\"\n",
       "providers.webhook.urll is not a known setting"},
      {"[providers.relay]\ntype = \"smtp\"\nfrom = \"a@b.example\"\nport = 70000\n",
       "providers.relay.port"},
      {"[providers.sms]\ntype = \"twilio_sms\"\n", "providers.sms.url is required"},
      {"[providers.webhook]\nsigning_secret = \"whsec_***\"\n", "providers.webhook"},
      {"[providers.webhook]\nsigning_secret = \"whsec_xsqMk3QFQW+ENIEA3ZT5mvwbknfKxPKT\"\n",
       "providers.webhook: url is required"},
      {"[providers.partner]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { X-Key = \"k\" }\n",
       "providers.partner carries credentials: name the tenants"},
      {"[providers.relay]\ntype = \"smtp\"\nfrom = \"a@b.example\"\n", "providers.relay carries credentials"},
      {"[providers.null]\ntenants = [\"not a tenant\"]\n", "providers.null.tenants"},
      {"[providers.null]\ntenants = \"acme\"\n", "providers.null.tenants must be an array of strings"},
      {"[egress]\nallow = [\"10.0.0.0/33\"]\n", "egress allow entry '10.0.0.0/33' is not a CIDR"},
      {"[egress]\nallowed = [\"10.0.0.0/8\"]\n", "egress.allowed is not a known setting"},
      {"[tenants.acme]\nrate = 5\n", "tenants.acme.rate is not a known setting"},
      {"[dispatch.channels]\nemail = \"nowhere\"\n", "nowhere"},
      {"[providers.webhook\n", "crier.toml"},
      {"[server]\nthreds = 2\n", "server.threds is not a known setting"},
      {"[server]\nthreads = -1\n", "server.threads must be an integer"},
      {"[limits]\nmax_page = \"many\"\n", "limits.max_page must be an integer"},
      {"[dispatch]\nwindow = 0\n", "dispatch.window must be an integer"},
      {"[dispatch]\nnice = 20\n", "dispatch.nice must be an integer from 0 to 19"},
      {"[storage]\nsync_writes = \"yes\"\n", "storage.sync_writes must be true or false"},
      {"[serverr]\nlisten = \"127.0.0.1:0\"\n", "[serverr] is not a known section"},
  };
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.toml);
    auto config = scratch_file("crier.toml");
    std::ofstream(config, std::ios::trunc) << c.toml;
    auto data = scratch_file(fmt::format("data-{}", n++));
    auto r =
        run_crier({"serve", "--listen", "127.0.0.1:0", "--data-dir", data.string(), "--api-key",
                   fmt::format("{}={}", kKeyA, kTenantA), "--config", config.string()},
                  scratch_file("crier-output.txt"));
    EXPECT_GT(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("crier listening on"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace crier::e2e
