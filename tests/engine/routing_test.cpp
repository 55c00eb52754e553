// Routing across channels: which channel each recipient goes on (route_for),
// the routing's rules and JSON shape, and what ingest validation, dedupe and
// rendering make of a routed job.
#include "engine/routing.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "engine/job.h"
#include "engine/recipient.h"
#include "engine/render.h"
#include "engine/routing_json.h"
#include "engine/user_validation.h"

namespace crier {
namespace {

namespace json = boost::json;

JobSpec routed(std::vector<Channel> channels, std::string webhook_url = {}) {
  JobSpec spec;
  spec.routing = Routing{RoutingMethod::single, std::move(channels)};
  spec.channel = spec.routing->channels.front();
  spec.webhook_url = std::move(webhook_url);
  return spec;
}

Recipient with(std::string email, std::string phone, std::string push_token, std::string webhook_url) {
  Recipient r;
  r.email = std::move(email);
  r.phone = std::move(phone);
  r.push_token = std::move(push_token);
  r.webhook_url = std::move(webhook_url);
  return r;
}

// ---- route_for ----------------------------------------------------------------

TEST(RouteForTest, TheFirstChannelWithAnAddressWins) {
  const auto spec = routed({Channel::push, Channel::sms, Channel::email, Channel::webhook});
  const Recipient everything = with("a@example.com", "+14155550100", "tok", "https://h.example.com/");
  const Recipient no_push = with("a@example.com", "+14155550100", "", "https://h.example.com/");
  const Recipient email_and_hook = with("a@example.com", "", "", "https://h.example.com/");
  const Recipient hook_only = with("", "", "", "https://h.example.com/");
  EXPECT_EQ(route_for(spec, everything), Channel::push);
  EXPECT_EQ(route_for(spec, no_push), Channel::sms);
  EXPECT_EQ(route_for(spec, email_and_hook), Channel::email);
  EXPECT_EQ(route_for(spec, hook_only), Channel::webhook);
  EXPECT_EQ(route_for(spec, Recipient{}), std::nullopt);
}

TEST(RouteForTest, EveryChannelReadsItsOwnAddress) {
  const auto spec = routed({Channel::whatsapp, Channel::email});
  EXPECT_EQ(route_for(spec, with("a@example.com", "+14155550100", "", "")), Channel::whatsapp)
      << "whatsapp goes to the phone";
  EXPECT_EQ(route_for(spec, with("a@example.com", "", "tok", "")), Channel::email)
      << "a push token is no address for whatsapp nor email";
  EXPECT_EQ(route_for(spec, with("", "", "tok", "https://h.example.com/")), std::nullopt);
}

TEST(RouteForTest, AJobsWebhookUrlReachesEveryRecipientOnTheWebhookChannel) {
  const auto spec = routed({Channel::email, Channel::webhook, Channel::sms}, "https://job.example.com/in");
  Recipient phone_only = with("", "+14155550100", "", "");
  EXPECT_EQ(route_for(spec, phone_only), Channel::webhook) << "webhook comes before sms";
  EXPECT_EQ(address_on(spec, phone_only, Channel::webhook), "https://job.example.com/in");
  Recipient own = with("", "", "", "https://own.example.com/");
  EXPECT_EQ(address_on(spec, own, Channel::webhook), "https://own.example.com/") << "the recipient's own URL wins";
  EXPECT_EQ(route_for(spec, Recipient{}), Channel::webhook);
}

TEST(RouteForTest, ASingleChannelJobRoutesToItsChannel) {
  JobSpec spec;
  spec.channel = Channel::sms;
  EXPECT_EQ(routed_channels(spec).size(), 1u);
  EXPECT_EQ(routed_channels(spec).front(), Channel::sms);
  EXPECT_EQ(route_for(spec, with("a@example.com", "+14155550100", "", "")), Channel::sms);
  EXPECT_EQ(route_for(spec, with("a@example.com", "", "", "")), std::nullopt);
}

TEST(RouteForTest, AddressFieldsNameTheRecipientsFields) {
  EXPECT_EQ(address_field(Channel::email), "email");
  EXPECT_EQ(address_field(Channel::sms), "phone");
  EXPECT_EQ(address_field(Channel::whatsapp), "phone");
  EXPECT_EQ(address_field(Channel::push), "push_token");
  EXPECT_EQ(address_field(Channel::webhook), "webhook_url");
}

// ---- check_routing and JSON ------------------------------------------------------

TEST(RoutingRulesTest, OneToFiveDistinctChannels) {
  EXPECT_TRUE(check_routing(Routing{RoutingMethod::single, {Channel::sms}}).ok());
  EXPECT_TRUE(check_routing(Routing{RoutingMethod::single,
                                    {Channel::email, Channel::sms, Channel::push, Channel::webhook,
                                     Channel::whatsapp}})
                  .ok());
  for (const auto& channels : {std::vector<Channel>{}, std::vector<Channel>{Channel::sms, Channel::email, Channel::sms}}) {
    auto r = check_routing(Routing{RoutingMethod::single, channels});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
    EXPECT_EQ(r.error().code, "invalid_routing");
    EXPECT_EQ(r.error().field, "routing");
  }
}

TEST(RoutingJsonTest, RoundTripsAndTheMethodDefaultsToSingle) {
  auto r = routing_from_json(json::parse(R"({"channels":["push","email"]})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, RoutingMethod::single);
  EXPECT_EQ(r->channels, (std::vector<Channel>{Channel::push, Channel::email}));
  EXPECT_EQ(json::value(routing_to_json(*r)), json::parse(R"({"method":"single","channels":["push","email"]})"));
  auto back = routing_from_json(routing_to_json(*r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *r);
}

TEST(RoutingJsonTest, AnythingElseIsInvalidRouting) {
  for (const char* text : {
           R"("email")",
           R"(["email"])",
           R"({})",
           R"({"channels":[]})",
           R"({"channels":"email"})",
           R"({"channels":["email","fax"]})",
           R"({"channels":["email",1]})",
           R"({"channels":["email","email"]})",
           R"({"channels":["email","sms","push","webhook","whatsapp","email"]})",
           R"({"method":"all","channels":["email"]})",
           R"({"method":1,"channels":["email"]})",
           R"({"channels":["email"],"fallback":true})",
       }) {
    SCOPED_TRACE(text);
    auto r = routing_from_json(json::parse(text));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_routing");
    EXPECT_EQ(r.error().field, "routing");
    EXPECT_FALSE(r.error().message.empty());
  }
}

// ---- ingest validation and dedupe of a routed job --------------------------------

TEST(RoutedValidationTest, AUserNeedsAnAddressOnOneOfTheChannels) {
  const auto spec = routed({Channel::email, Channel::webhook});
  RawUser email_only, hook_only, phone_only;
  email_only.email = "a@example.com";
  hook_only.webhook_url = "https://h.example.com/in";
  phone_only.phone = "+14155550100";
  EXPECT_TRUE(validate_user(email_only, spec).ok());
  EXPECT_TRUE(validate_user(hook_only, spec).ok());
  auto r = validate_user(phone_only, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "missing_address");
  EXPECT_EQ(r.error().field, "email") << "the first channel's address";
  EXPECT_NE(r.error().message.find("email needs email"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("webhook needs webhook_url"), std::string::npos) << r.error().message;
}

TEST(RoutedValidationTest, AddressesAreStillValidated) {
  const auto spec = routed({Channel::email, Channel::sms});
  RawUser bad_phone;
  bad_phone.email = "a@example.com";
  bad_phone.phone = "not a number";
  auto r = validate_user(bad_phone, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_phone_number");
}

TEST(RoutedDedupeTest, WithoutUserIdTheRoutedChannelsAddressDecides) {
  const auto spec = routed({Channel::sms, Channel::email});
  // Routed to sms: the phone is the identity, whatever the email.
  Recipient a = with("one@example.com", "+14155550100", "", "");
  Recipient b = with("two@example.com", "+14155550100", "", "");
  // Routed to email: the email is the identity.
  Recipient c = with("one@example.com", "", "", "");
  ASSERT_EQ(route_for(spec, a), Channel::sms);
  ASSERT_EQ(route_for(spec, c), Channel::email);
  EXPECT_EQ(dedupe_key(a, spec), dedupe_key(b, spec));
  EXPECT_NE(dedupe_key(a, spec), dedupe_key(c, spec));
  EXPECT_EQ(dedupe_key(a, spec), dedupe_key(a, Channel::sms));
  EXPECT_EQ(dedupe_key(c, spec), dedupe_key(c, Channel::email));
  Recipient by_id = c;
  by_id.user_id = "user-1";
  Recipient by_id_too = a;
  by_id_too.user_id = "user-1";
  EXPECT_EQ(dedupe_key(by_id, spec), dedupe_key(by_id_too, spec)) << "a user_id wins over any address";
}

// ---- rendering a routed job ---------------------------------------------------------

TEST(RoutedRenderTest, EveryRoutedChannelNeedsBaseContent) {
  auto spec = routed({Channel::email, Channel::sms});
  spec.content.base.email = EmailContent{"s", "t", ""};
  spec.content.locales["fr"].sms = SmsContent{"Salut"};  // a variant does not count
  auto r = JobRenderer::compile(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unprocessable);
  EXPECT_EQ(r.error().code, "content_missing_channel");
  EXPECT_EQ(r.error().field, "content.sms");
  EXPECT_NE(r.error().message.find("sms"), std::string::npos);
}

TEST(RoutedRenderTest, RendersTheChannelOfEachRecipient) {
  auto spec = routed({Channel::email, Channel::webhook, Channel::sms}, "");
  spec.content.base.email = EmailContent{"Hi {{name}}", "Dear {{name}}", ""};
  spec.content.base.webhook = WebhookContent{R"({"text":"Hook for {{name}}"})"};
  spec.content.base.sms = SmsContent{"SMS for {{name}}"};
  spec.content.locales["fr"].sms = SmsContent{"SMS pour {{name}}"};
  spec.data_json = R"({"name":"friend"})";
  auto compiled = JobRenderer::compile(spec);
  ASSERT_TRUE(compiled.ok()) << compiled.error().message;
  auto& renderer = **compiled;

  RenderedMessage m;
  Recipient emailed = with("a@example.com", "+14155550100", "", "");
  ASSERT_TRUE(renderer.render_into(emailed, m).ok());
  EXPECT_EQ(m.subject, "Hi friend");
  EXPECT_EQ(m.text, "Dear friend");
  EXPECT_TRUE(m.json_body.empty());

  Recipient hooked = with("", "+14155550100", "", "https://h.example.com/");
  hooked.data_json = R"({"name":"Ada"})";
  ASSERT_TRUE(renderer.render_into(hooked, m).ok());
  EXPECT_TRUE(m.subject.empty()) << "nothing of the email before";
  EXPECT_EQ(json::parse(m.json_body), json::parse(R"({"text":"Hook for Ada"})"));

  Recipient texted = with("", "+14155550100", "", "");
  texted.locale = "fr";
  ASSERT_TRUE(renderer.render_into(texted, m).ok());
  EXPECT_EQ(m.body, "SMS pour friend");
  EXPECT_TRUE(m.json_body.empty());

  // Named explicitly, any routed channel renders; another one does not.
  ASSERT_TRUE(renderer.render_into(emailed, Channel::sms, m).ok());
  EXPECT_EQ(m.body, "SMS for friend");
  auto push = renderer.render_into(emailed, Channel::push, m);
  ASSERT_FALSE(push.ok());
  EXPECT_EQ(push.error().code, "render_failed");
}

}  // namespace
}  // namespace crier
