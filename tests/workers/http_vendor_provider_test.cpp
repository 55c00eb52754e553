// The HTTP vendor shapes (Twilio SMS, FCM push, WhatsApp Cloud) as they
// arrive at a real WebhookSink standing in for the vendor, and the shared
// outcome mapping on a vendor's refusal.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sink/webhook_sink.h"
#include "tests/workers/provider_send.h"
#include "workers/http_vendor_provider.h"
#include "workers/webhook_signature.h"

namespace crier::testing {
namespace {
namespace asio = boost::asio;
namespace json = boost::json;

OutboundMessage message(int i, Channel channel, std::string to) {
  OutboundMessage m;
  m.message_id = fmt::format("msg_vendor_{:016x}", i);
  m.job_id = "job_vendor";
  m.seq = static_cast<std::uint64_t>(i);
  m.channel = channel;
  m.to = std::move(to);
  return m;
}

class HttpVendorProviderTest : public ::testing::Test {
 protected:
  HttpVendorProviderTest() {
    SinkOptions so;
    so.permanent_marker = "REFUSE";
    so.permanent_status = 400;
    sink_ = std::make_unique<WebhookSink>(so);
    auto port = sink_->start();
    if (!port) throw std::runtime_error(port.error().message);
  }

  // The one request the sink recorded for this message id.
  SinkRequest received(const std::string& id) {
    for (auto& r : sink_->requests())
      if (r.header("X-Crier-Message-Id") == id) return r;
    ADD_FAILURE() << "no request for " << id;
    return {};
  }

  std::unique_ptr<WebhookSink> sink_;
};

TEST_F(HttpVendorProviderTest, TwilioSmsIsAFormPostWithBasicAuth) {
  HttpVendorOptions o;
  o.shape = VendorShape::twilio_sms;
  o.url = sink_->url("/2010-04-01/Accounts/AC123/Messages.json");
  o.account_sid = "AC123";
  o.auth_token = "s3cret";
  o.from = "+15005550006";
  auto provider = make_http_vendor_provider(o);
  EXPECT_EQ(provider->name(), "twilio_sms");
  std::vector<OutboundMessage> batch;
  for (int i = 0; i < 20; ++i) {
    batch.push_back(message(i, Channel::sms, fmt::format("+4915112345{:03}", i)));
    batch.back().content.body = fmt::format("Code {} & more: ü+100%", i);
  }
  for (const auto& out : send_all(*provider, batch)) EXPECT_TRUE(out.ok) << out.error_code << out.error_message;

  EXPECT_EQ(sink_->stats().unique, 20u);
  for (const auto& m : batch) {
    auto r = received(m.message_id);
    EXPECT_EQ(r.target, "/2010-04-01/Accounts/AC123/Messages.json");
    EXPECT_EQ(r.header("Content-Type"), "application/x-www-form-urlencoded");
    EXPECT_EQ(r.header("Authorization"), "Basic " + base64_encode("AC123:s3cret"));
    EXPECT_EQ(r.header("Idempotency-Key"), m.message_id);
    const std::string number = m.to.substr(1);
    EXPECT_EQ(r.body, fmt::format("To=%2B{}&From=%2B15005550006&Body=Code+{}+%26+more%3A+%C3%BC%2B100%25", number,
                                  m.seq));
  }
}

TEST_F(HttpVendorProviderTest, FcmPushIsAnHttpV1MessageWithBearerToken) {
  HttpVendorOptions o;
  o.shape = VendorShape::fcm_push;
  o.url = sink_->url("/v1/projects/demo/messages:send");
  o.auth_token = "ya29.token";
  auto provider = make_http_vendor_provider(o);
  auto m = message(1, Channel::push, "device-token-1");
  m.content.title = "Shipped";
  m.content.body = "Your order \"42\" is on its way";
  auto outcomes = send_all(*provider, {m});
  ASSERT_TRUE(outcomes[0].ok) << outcomes[0].error_code << outcomes[0].error_message;

  auto r = received(m.message_id);
  EXPECT_EQ(r.target, "/v1/projects/demo/messages:send");
  EXPECT_EQ(r.header("Authorization"), "Bearer ya29.token");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.header("Idempotency-Key"), m.message_id);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"message":{"token":"device-token-1",
      "notification":{"title":"Shipped","body":"Your order \"42\" is on its way"},
      "data":{"message_id":"msg_vendor_0000000000000001"}}})"));
}

TEST_F(HttpVendorProviderTest, WhatsappCloudIsATemplateMessage) {
  HttpVendorOptions o;
  o.shape = VendorShape::whatsapp_cloud;
  o.name = "wa";
  o.url = sink_->url("/v19.0/1234/messages");
  o.auth_token = "EAAG";
  auto provider = make_http_vendor_provider(o);
  EXPECT_EQ(provider->name(), "wa");
  auto m = message(2, Channel::whatsapp, "+4915112345678");
  m.content.template_name = "order_update";
  m.content.language = "de";
  m.content.parameters = {"Zoë", "42"};
  auto outcomes = send_all(*provider, {m});
  ASSERT_TRUE(outcomes[0].ok) << outcomes[0].error_code << outcomes[0].error_message;

  auto r = received(m.message_id);
  EXPECT_EQ(r.header("Authorization"), "Bearer EAAG");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"messaging_product":"whatsapp","to":"+4915112345678",
      "type":"template","template":{"name":"order_update","language":{"code":"de"},
      "components":[{"type":"body","parameters":[{"type":"text","text":"Zoë"},{"type":"text","text":"42"}]}]}})"));
}

// Dynamic buttons go out as button components after the body, one per
// button, in Meta's shape: a URL button's suffix as text, a quick reply's
// as a payload, the index as a string.
TEST_F(HttpVendorProviderTest, WhatsappCloudButtonsAreButtonComponents) {
  HttpVendorOptions o;
  o.shape = VendorShape::whatsapp_cloud;
  o.url = sink_->url("/v19.0/813497231850626/messages");
  o.auth_token = "EAAG";
  auto provider = make_http_vendor_provider(o);
  auto m = message(3, Channel::whatsapp, "+5491112345678");
  m.content.template_name = "welcome_message";
  m.content.language = "es";
  m.content.parameters = {"Juan Perez", "ABC123"};
  m.content.buttons = {{"url", 0, "ABC-123"}, {"quick_reply", 1, "STOP"}};
  auto outcomes = send_all(*provider, {m});
  ASSERT_TRUE(outcomes[0].ok) << outcomes[0].error_code << outcomes[0].error_message;

  auto r = received(m.message_id);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"messaging_product":"whatsapp","to":"+5491112345678",
      "type":"template","template":{"name":"welcome_message","language":{"code":"es"},
      "components":[{"type":"body","parameters":[{"type":"text","text":"Juan Perez"},{"type":"text","text":"ABC123"}]},
                    {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"ABC-123"}]},
                    {"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"STOP"}]}]}})"));
}

TEST_F(HttpVendorProviderTest, AVendorRefusalIsPermanentAndAMissingAddressInvalid) {
  HttpVendorOptions o;
  o.shape = VendorShape::twilio_sms;
  o.url = sink_->url("/sms");
  auto provider = make_http_vendor_provider(o);
  std::vector<OutboundMessage> batch{message(0, Channel::sms, "+15551234567"), message(1, Channel::sms, ""),
                                     message(2, Channel::sms, "+15551234568")};
  batch[0].content.body = "fine";
  batch[2].content.body = "REFUSE this";
  auto outcomes = send_all(*provider, batch);
  EXPECT_TRUE(outcomes[0].ok);
  EXPECT_EQ(outcomes[1].error_code, "invalid_address");
  EXPECT_FALSE(outcomes[1].transient);
  EXPECT_EQ(outcomes[2].error_code, "http_400");
  EXPECT_FALSE(outcomes[2].transient);
  EXPECT_EQ(sink_->stats().requests, 2u);
}

TEST(HttpVendorShapeTest, NamesRoundTrip) {
  for (auto s : {VendorShape::twilio_sms, VendorShape::fcm_push, VendorShape::whatsapp_cloud})
    EXPECT_EQ(parse_vendor_shape(to_string(s)), s);
  EXPECT_FALSE(parse_vendor_shape("smtp"));
}

}  // namespace
}  // namespace crier::testing
