// Job, template and notification group records (JSON): everything written
// is read back.
#include "storage/job_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "engine/content_json.h"

namespace crier {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMs = 1'764'064'800'000;

LocalizedContent sample_content() {
  LocalizedContent c;
  c.base.email = EmailContent{"Hi {{name}}", "Hello {{name}} & co", "<p>Hello</p>"};
  c.base.webhook = WebhookContent{R"({"a":[1,"{{b}}"],"c":null})"};
  c.base.whatsapp = WhatsappContent{"promo", "pt_BR", {"{{name}}", "x"}};
  c.locales["fr"].email = EmailContent{"Salut", "Bonjour", ""};
  c.locales["pt-BR"].sms = SmsContent{"Oi"};
  return c;
}

Job full_job() {
  Job job;
  job.key = new_job_key(kMs);
  job.tenant = "acme";
  job.status = JobStatus::paused;
  job.created_at = kMs;
  job.updated_at = kMs + 10;
  job.started_at = kMs + 5;
  job.finished_at = std::nullopt;
  auto& s = job.spec;
  s.channel = Channel::whatsapp;
  s.template_id = "welcome";
  s.content = sample_content();
  s.data_json = R"({"name": "Zoë", "n": [1, 2]})";
  s.locale = "pt-BR";
  s.webhook_url = "https://hooks.example.com/in";
  s.correlation_id = "corr-1";
  s.callback_url = "https://cb.example.com";
  s.provider = "twilio";
  s.schedule_at = kMs + 60'000;
  s.expires_at = kMs + 3'600'000;
  s.rate_limit = 12.5;
  s.metadata_json = R"({"vendor":{"k":[1,2]}})";
  s.notification_group = "a844ede0-7a6a-4c00";
  return job;
}

void expect_same_content(const LocalizedContent& a, const LocalizedContent& b) {
  EXPECT_EQ(json::value(content_to_json(a)), json::value(content_to_json(b)));
}

TEST(JobCodecTest, RoundTripsEveryField) {
  Job job = full_job();
  auto back = records::decode_job(records::encode(job));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->key, job.key);
  EXPECT_EQ(back->id(), job.id());
  EXPECT_EQ(back->tenant, "acme");
  EXPECT_EQ(back->status, JobStatus::paused);
  EXPECT_EQ(back->created_at, job.created_at);
  EXPECT_EQ(back->updated_at, job.updated_at);
  EXPECT_EQ(back->started_at, job.started_at);
  EXPECT_EQ(back->finished_at, std::nullopt);
  const auto& s = back->spec;
  EXPECT_EQ(s.channel, Channel::whatsapp);
  EXPECT_EQ(s.template_id, "welcome");
  expect_same_content(s.content, job.spec.content);
  EXPECT_EQ(json::parse(s.data_json), json::parse(job.spec.data_json));
  EXPECT_EQ(s.locale, "pt-BR");
  EXPECT_EQ(s.webhook_url, job.spec.webhook_url);
  EXPECT_EQ(s.correlation_id, "corr-1");
  EXPECT_EQ(s.callback_url, job.spec.callback_url);
  EXPECT_EQ(s.provider, "twilio");
  EXPECT_EQ(s.schedule_at, job.spec.schedule_at);
  EXPECT_EQ(s.expires_at, job.spec.expires_at);
  EXPECT_DOUBLE_EQ(s.rate_limit, 12.5);
  EXPECT_EQ(json::parse(s.metadata_json), json::parse(job.spec.metadata_json));
  EXPECT_EQ(s.notification_group, "a844ede0-7a6a-4c00");
}

TEST(JobCodecTest, AbsentOptionalsStayAbsent) {
  Job job;
  job.key = new_job_key(kMs);
  job.tenant = "t";
  job.spec.channel = Channel::sms;
  job.spec.content.base.sms = SmsContent{"hi"};
  auto back = records::decode_job(records::encode(job));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->status, JobStatus::created);
  EXPECT_FALSE(back->started_at || back->finished_at || back->spec.schedule_at ||
               back->spec.expires_at);
  EXPECT_EQ(back->spec.rate_limit, 0.0);
  EXPECT_EQ(json::parse(back->spec.data_json), json::parse("{}"));
  EXPECT_TRUE(back->spec.content.locales.empty());
  EXPECT_TRUE(back->spec.metadata_json.empty());
  EXPECT_TRUE(back->spec.notification_group.empty());
}

TEST(JobCodecTest, EveryStatusAndChannelSurvives) {
  for (auto status :
       {JobStatus::created, JobStatus::scheduled, JobStatus::processing, JobStatus::paused,
        JobStatus::completed, JobStatus::partial, JobStatus::failed, JobStatus::cancelled,
        JobStatus::cancelling}) {
    for (auto channel :
         {Channel::email, Channel::sms, Channel::push, Channel::webhook, Channel::whatsapp}) {
      Job job;
      job.key = new_job_key(kMs);
      job.status = status;
      job.spec.channel = channel;
      job.spec.content = sample_content();
      auto back = records::decode_job(records::encode(job));
      ASSERT_TRUE(back.has_value());
      EXPECT_EQ(back->status, status);
      EXPECT_EQ(back->spec.channel, channel);
    }
  }
}

TEST(JobCodecTest, RefusesGarbage) {
  EXPECT_FALSE(records::decode_job("").has_value());
  EXPECT_FALSE(records::decode_job("not json").has_value());
  EXPECT_FALSE(records::decode_job("[1,2]").has_value());
  // A record whose id, status or channel cannot be read is not a job.
  auto o = json::parse(records::encode(full_job())).as_object();
  for (const char* field : {"id", "status", "channel"}) {
    auto broken = o;
    broken[field] = "nonsense";
    EXPECT_FALSE(records::decode_job(json::serialize(broken)).has_value()) << field;
  }
}

TEST(JobCodecTest, RoundTripsARouting) {
  Job job = full_job();
  job.spec.provider.clear();
  job.spec.routing = Routing{RoutingMethod::single, {Channel::push, Channel::email, Channel::webhook}};
  job.spec.channel = Channel::push;
  const std::string record = records::encode(job);
  auto stored = json::parse(record).as_object();
  EXPECT_EQ(stored.at("routing"), json::parse(R"({"method":"single","channels":["push","email","webhook"]})"));
  EXPECT_FALSE(stored.contains("channel")) << "a build without routing must not read it as a push job";
  auto back = records::decode_job(record);
  ASSERT_TRUE(back.has_value());
  ASSERT_TRUE(back->spec.routing.has_value());
  EXPECT_EQ(*back->spec.routing, *job.spec.routing);
  EXPECT_EQ(back->spec.channel, Channel::push) << "the routing's first channel";
  expect_same_content(back->spec.content, job.spec.content);
}

TEST(JobCodecTest, RecordsFromBeforeRoutingHaveNone) {
  // A record as the build before routing wrote it: a channel, no routing.
  auto o = json::parse(records::encode(full_job())).as_object();
  o.erase("routing");
  ASSERT_TRUE(o.contains("channel"));
  auto back = records::decode_job(json::serialize(o));
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->spec.routing.has_value());
  EXPECT_EQ(back->spec.channel, Channel::whatsapp);
  // A single-channel job writes no routing at all.
  EXPECT_FALSE(json::parse(records::encode(full_job())).as_object().contains("routing"));
}

TEST(JobCodecTest, RefusesABrokenRouting) {
  Job job = full_job();
  job.spec.routing = Routing{RoutingMethod::single, {Channel::sms, Channel::email}};
  auto o = json::parse(records::encode(job)).as_object();
  for (const char* broken : {R"({"channels":[]})", R"({"channels":["fax"]})", R"("sms")"}) {
    auto copy = o;
    copy["routing"] = json::parse(broken);
    EXPECT_FALSE(records::decode_job(json::serialize(copy)).has_value()) << broken;
  }
}

TEST(TemplateCodecTest, RoundTrips) {
  Template t;
  t.tenant = "acme";
  t.id = "welcome-email";
  t.content = sample_content();
  t.created_at = kMs;
  t.updated_at = kMs + 1;
  auto back = records::decode_template(records::encode(t));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->tenant, "acme");
  EXPECT_EQ(back->id, "welcome-email");
  EXPECT_EQ(back->created_at, kMs);
  EXPECT_EQ(back->updated_at, kMs + 1);
  expect_same_content(back->content, t.content);
  ASSERT_TRUE(back->content.locales.at("pt-BR").sms);
  EXPECT_EQ(back->content.locales.at("pt-BR").sms->body, "Oi");
}

TEST(TemplateCodecTest, RefusesARecordWithoutContent) {
  EXPECT_FALSE(records::decode_template(R"({"v":1,"tenant":"a","id":"x"})").has_value());
  EXPECT_FALSE(records::decode_template("{").has_value());
}

TEST(GroupCodecTest, RoundTrips) {
  NotificationGroup g;
  g.tenant = "acme";
  g.id = "a844ede0-7a6a-4c00-8d2a-9b69cd8b4d3b";
  g.spec_json = R"({"channel":"push","template":"due","provider":"fcm","webhook_url":null})";
  g.created_at = kMs;
  g.updated_at = kMs + 7;
  auto back = records::decode_group(records::encode(g));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->tenant, "acme");
  EXPECT_EQ(back->id, g.id);
  EXPECT_EQ(json::parse(back->spec_json), json::parse(g.spec_json));
  EXPECT_EQ(back->created_at, kMs);
  EXPECT_EQ(back->updated_at, kMs + 7);
}

TEST(GroupCodecTest, RefusesARecordWithoutItsSpecOrId) {
  EXPECT_FALSE(records::decode_group(R"({"v":1,"tenant":"a","id":"x"})").has_value());
  EXPECT_FALSE(records::decode_group(R"({"v":1,"tenant":"a","id":"x","spec":[]})").has_value());
  EXPECT_FALSE(records::decode_group(R"({"v":1,"tenant":"a","spec":{}})").has_value());
  EXPECT_FALSE(records::decode_group("{").has_value());
}

TEST(JobCodecTest, SigningSecretsRoundTrip) {
  TenantSigningSecrets s{"whsec_bmV3", kMs, "whsec_b2xk", kMs + 86'400'000};
  auto back = records::decode_signing_secrets(records::encode(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->current, s.current);
  EXPECT_EQ(back->created_at, s.created_at);
  EXPECT_EQ(back->previous, s.previous);
  EXPECT_EQ(back->previous_expires_at, s.previous_expires_at);
  TenantSigningSecrets only{"whsec_bmV3", kMs, "", 0};
  back = records::decode_signing_secrets(records::encode(only));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->previous.empty());
  EXPECT_FALSE(records::decode_signing_secrets("{}"));
  EXPECT_FALSE(records::decode_signing_secrets("not json"));
}

}  // namespace
}  // namespace crier
