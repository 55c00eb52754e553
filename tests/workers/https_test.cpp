// HTTPS as the providers meet it: a TLS WebhookSink on loopback with
// certificates the test makes (tests/support/test_pki.h), a webhook provider
// and a vendor provider that trust the test CA through NetworkOptions::ca_file
// or SSL_CERT_FILE. Delivery works; a wrong host name, an expired
// certificate and an unknown CA are refused with their own codes, and
// nothing reaches the receiver.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "sink/webhook_sink.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tests/workers/provider_send.h"
#include "workers/http_vendor_provider.h"
#include "workers/webhook_provider.h"

namespace crier::testing {
namespace {

OutboundMessage hook(int i, std::string url) {
  OutboundMessage m;
  m.message_id = fmt::format("msg_https_{:016x}", i);
  m.job_id = "job_https";
  m.tenant = "acme";
  m.seq = static_cast<std::uint64_t>(i);
  m.channel = Channel::webhook;
  m.to = std::move(url);
  m.content.json_body = R"({"over":"tls"})";
  return m;
}

class HttpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(make_test_pki(dir_->path()));
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  static const TestPki& pki() { return *pki_; }

  static std::unique_ptr<WebhookSink> tls_sink(const CertAndKey& cert) {
    SinkOptions o;
    o.tls_cert_file = cert.cert.string();
    o.tls_key_file = cert.key.string();
    auto sink = std::make_unique<WebhookSink>(o);
    auto port = sink->start();
    if (!port) throw std::runtime_error(port.error().message);
    return sink;
  }

  // An unsigned webhook provider that may reach loopback and trusts `ca_file`.
  static std::unique_ptr<Provider> provider(std::string ca_file) {
    WebhookProviderOptions o;
    o.egress = EgressPolicy::allowing_loopback();
    o.pool_size = 2;
    o.network.ca_file = std::move(ca_file);
    return make_webhook_provider(o);
  }

  static std::string https_url(const WebhookSink& sink, std::string_view host) {
    return fmt::format("https://{}:{}/hooks", host, sink.port());
  }

  // Sends one message to `url` and returns its outcome.
  static DeliveryOutcome send_one(Provider& p, std::string url) {
    return send_all(p, {hook(1, std::move(url))}).at(0);
  }

 private:
  static inline TempDir* dir_ = nullptr;
  static inline TestPki* pki_ = nullptr;
};

TEST_F(HttpsTest, DeliversToATrustedReceiverByNameAndByAddress) {
  auto sink = tls_sink(pki().localhost);
  EXPECT_EQ(sink->url("/x").substr(0, 8), "https://");
  auto p = provider(pki().ca_cert.string());
  std::vector<OutboundMessage> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(hook(i, https_url(*sink, i % 2 ? "localhost" : "127.0.0.1")));
  for (const auto& o : send_all(*p, batch)) EXPECT_TRUE(o.ok) << o.error_code << ": " << o.error_message;
  auto stats = sink->stats();
  EXPECT_EQ(stats.accepted, 10u);
  EXPECT_EQ(stats.paths["/hooks"], 10u);
  EXPECT_EQ(stats.tls_handshake_failures, 0u);
}

TEST_F(HttpsTest, TrustsTheCaNamedBySslCertFile) {
  auto sink = tls_sink(pki().localhost);
  ::setenv("SSL_CERT_FILE", pki().ca_cert.c_str(), 1);
  auto p = provider("");  // read when the client is made
  ::unsetenv("SSL_CERT_FILE");
  auto o = send_one(*p, https_url(*sink, "localhost"));
  EXPECT_TRUE(o.ok) << o.error_code << ": " << o.error_message;
  EXPECT_EQ(sink->stats().accepted, 1u);
}

TEST_F(HttpsTest, WithoutTheCaTheReceiverIsAnUnknownCa) {
  auto sink = tls_sink(pki().localhost);
  auto p = provider("");  // the system store only, which does not know the test CA
  auto o = send_one(*p, https_url(*sink, "localhost"));
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.transient);
  EXPECT_EQ(o.error_code, "tls_unknown_ca") << o.error_message;
  EXPECT_EQ(sink->stats().requests, 0u);
  // The sink counts the failed handshake when its side of it ends, which may
  // be after the client has read the alert: waited for, not read at once.
  EXPECT_TRUE(poll_until(std::chrono::seconds(10), [&] { return sink->stats().tls_handshake_failures >= 1; }))
      << sink->stats_json();
  EXPECT_EQ(sink->stats().tls_handshake_failures, 1u);
}

TEST_F(HttpsTest, ACertificateSignedByAnotherCaIsAnUnknownCa) {
  auto sink = tls_sink(pki().unknown_ca);
  auto p = provider(pki().ca_cert.string());
  auto o = send_one(*p, https_url(*sink, "localhost"));
  EXPECT_EQ(o.error_code, "tls_unknown_ca") << o.error_message;
  EXPECT_NE(o.error_message.find("localhost"), std::string::npos) << o.error_message;
  EXPECT_EQ(sink->stats().requests, 0u);
}

TEST_F(HttpsTest, AnExpiredCertificateIsRefused) {
  auto sink = tls_sink(pki().expired);
  auto p = provider(pki().ca_cert.string());
  auto o = send_one(*p, https_url(*sink, "localhost"));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error_code, "tls_certificate_expired") << o.error_message;
  EXPECT_EQ(sink->stats().requests, 0u);
}

TEST_F(HttpsTest, ACertificateForAnotherNameIsAHostnameMismatch) {
  auto sink = tls_sink(pki().other_host);  // valid, trusted, but for other.example
  auto p = provider(pki().ca_cert.string());
  for (std::string_view host : {"localhost", "127.0.0.1"}) {
    SCOPED_TRACE(host);
    auto o = send_one(*p, https_url(*sink, host));
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error_code, "tls_hostname_mismatch") << o.error_message;
  }
  EXPECT_EQ(sink->stats().requests, 0u);
}

TEST_F(HttpsTest, AnUnreadableCaFileFailsRequestsNotTheProcess) {
  auto sink = tls_sink(pki().localhost);
  auto p = provider((pki().ca_cert.parent_path() / "no-such-ca.pem").string());
  auto o = send_one(*p, https_url(*sink, "localhost"));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error_code, "tls_failed");
  EXPECT_NE(o.error_message.find("no-such-ca.pem"), std::string::npos) << o.error_message;
  EXPECT_EQ(sink->stats().connections, 0u) << "nothing is connected with a trust store that is not the configured one";
}

TEST_F(HttpsTest, AVendorProviderSpeaksHttpsToo) {
  auto sink = tls_sink(pki().localhost);
  HttpVendorOptions o;
  o.shape = VendorShape::twilio_sms;
  o.url = fmt::format("https://localhost:{}/2010-04-01/Accounts/AC1/Messages.json", sink->port());
  o.account_sid = "AC1";
  o.auth_token = "token";
  o.from = "+15005550006";
  o.network.ca_file = pki().ca_cert.string();
  auto p = make_http_vendor_provider(o);
  OutboundMessage m;
  m.message_id = "msg_vendor_tls";
  m.job_id = "job_https";
  m.channel = Channel::sms;
  m.to = "+15005550001";
  m.content.body = "over TLS";
  auto outcome = send_all(*p, {m}).at(0);
  EXPECT_TRUE(outcome.ok) << outcome.error_code << ": " << outcome.error_message;
  ASSERT_EQ(sink->requests().size(), 1u);
  EXPECT_EQ(sink->requests()[0].target, "/2010-04-01/Accounts/AC1/Messages.json");
  EXPECT_NE(sink->requests()[0].body.find("over+TLS"), std::string::npos) << sink->requests()[0].body;
}

}  // namespace
}  // namespace crier::testing
