// The webhook provider against a real WebhookSink on 127.0.0.1, through a
// real io_context: envelope, headers and signatures as they arrive, the
// keep-alive pool, and how every kind of failure maps to an outcome.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "sink/webhook_sink.h"
#include "tests/workers/provider_send.h"
#include "workers/http_client.h"
#include "workers/webhook_provider.h"
#include "workers/tenant_signing.h"
#include "workers/webhook_signature.h"

namespace crier::testing {
namespace {
namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Tenants' secrets kept in memory: what a provider with no secret of its own
// signs with (tenant_signing_test.cpp covers the stored ones).
class MemorySecrets final : public SigningSecretStore {
 public:
  Result<std::optional<TenantSigningSecrets>> find_signing_secrets(std::string_view tenant) override {
    std::lock_guard lock(mu_);
    auto it = secrets_.find(std::string(tenant));
    if (it == secrets_.end()) return std::optional<TenantSigningSecrets>();
    return std::optional<TenantSigningSecrets>(it->second);
  }
  Result<void> put_signing_secrets(std::string_view tenant, const TenantSigningSecrets& s,
                                   const IdempotentRecord* = nullptr) override {
    std::lock_guard lock(mu_);
    secrets_[std::string(tenant)] = s;
    return {};
  }

 private:
  std::mutex mu_;
  std::map<std::string, TenantSigningSecrets> secrets_;
};

TenantSigning& tenant_signing() {
  static MemorySecrets store;
  static TenantSigning signing(store, [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  });
  return signing;
}

OutboundMessage message(int i, std::string url) {
  OutboundMessage m;
  m.message_id = fmt::format("msg_test_{:016x}", i);
  m.job_id = "job_test";
  m.tenant = "acme";
  m.seq = static_cast<std::uint64_t>(i);
  m.channel = Channel::webhook;
  m.to = std::move(url);
  m.user_id = fmt::format("user{}", i);
  m.correlation_id = i % 2 ? "corr" : "";
  m.content.json_body = fmt::format(R"({{"event":"order.shipped","n":{},"name":"Zoë \"Z\""}})", i);
  return m;
}

std::vector<OutboundMessage> messages(int from, int to, const std::string& url) {
  std::vector<OutboundMessage> out;
  for (int i = from; i < to; ++i) out.push_back(message(i, url));
  return out;
}

std::unique_ptr<WebhookSink> start_sink(SinkOptions options = {}) {
  auto sink = std::make_unique<WebhookSink>(std::move(options));
  auto port = sink->start();
  if (!port) throw std::runtime_error(port.error().message);
  return sink;
}

// No secret of its own by default: it signs with the tenant's and sends
// where each message says. With a secret (a credential) it sends only to
// `url`.
WebhookProviderOptions provider_options(std::string secret = {}, std::string url = {}) {
  WebhookProviderOptions o;
  o.tenant_signing = &tenant_signing();
  o.egress = EgressPolicy::allowing_loopback();  // the sinks are on 127.0.0.1
  o.signing_secret = std::move(secret);
  o.default_url = std::move(url);
  o.pool_size = 4;
  o.timeout = std::chrono::seconds(10);
  return o;
}

TEST(WebhookProviderTest, DeliversEveryMessageOnceWithEnvelopeHeadersAndValidSignature) {
  SinkOptions so;
  so.secret = kSecret;  // the sink verifies every signature itself
  auto sink = start_sink(so);
  auto options = provider_options(std::string(kSecret), sink->url("/hooks/orders?src=crier"));
  options.extra_headers = {{"X-Tenant", "acme"}};
  auto provider = make_webhook_provider(options);
  EXPECT_EQ(provider->name(), "webhook");
  auto sent = messages(0, 60, sink->url("/hooks/orders?src=crier"));

  for (const auto& o : send_all(*provider, sent)) EXPECT_TRUE(o.ok) << o.error_code << " " << o.error_message;

  auto stats = sink->stats();
  EXPECT_EQ(stats.requests, 60u);
  EXPECT_EQ(stats.unique, 60u);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_EQ(stats.bad_signatures, 0u);
  EXPECT_EQ(stats.paths["/hooks/orders"], 60u);

  auto check = WebhookSigner::from_secret(kSecret);
  ASSERT_TRUE(check);
  std::map<std::string, const OutboundMessage*> by_id;
  for (const auto& m : sent) by_id[m.message_id] = &m;
  auto received = sink->requests();
  ASSERT_EQ(received.size(), 60u);
  for (const auto& r : received) {
    ASSERT_TRUE(by_id.count(r.message_id)) << r.message_id;
    const OutboundMessage& m = *by_id[r.message_id];
    by_id.erase(r.message_id);  // each id once
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hooks/orders?src=crier");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("idempotency-key"), m.message_id);
    EXPECT_EQ(r.header("webhook-id"), m.message_id);
    EXPECT_EQ(r.header("x-tenant"), "acme");
    // Verified again here, independently of the sink's own check.
    EXPECT_TRUE(check->verify(r.header("webhook-id"), r.header("webhook-timestamp"), r.header("webhook-signature"),
                              r.body, std::stoll(std::string(r.header("webhook-timestamp"))))
                    .ok());

    auto body = json::parse(r.body).as_object();
    EXPECT_EQ(body.at("message_id").as_string(), m.message_id);
    EXPECT_EQ(body.at("job_id").as_string(), "job_test");
    EXPECT_EQ(body.at("seq").to_number<std::uint64_t>(), m.seq);
    EXPECT_EQ(body.at("user_id").as_string(), m.user_id);
    if (m.correlation_id.empty()) EXPECT_TRUE(body.at("correlation_id").is_null());
    else EXPECT_EQ(body.at("correlation_id").as_string(), m.correlation_id);
    EXPECT_EQ(body.at("channel").as_string(), "webhook");
    EXPECT_EQ(body.at("data"), json::parse(m.content.json_body));
  }
  EXPECT_TRUE(by_id.empty());
}

TEST(WebhookProviderTest, AWrongSecretFailsVerificationAtTheReceiver) {
  SinkOptions so;
  so.secret = kSecret;
  auto sink = start_sink(so);
  auto provider = make_webhook_provider(provider_options("whsec_" + base64_encode("not the shared key"), sink->url("/h")));

  for (const auto& o : send_all(*provider, messages(0, 5, sink->url("/h")))) {
    EXPECT_FALSE(o.ok);
    EXPECT_FALSE(o.transient);
    EXPECT_EQ(o.error_code, "http_401");
  }
  EXPECT_EQ(sink->stats().bad_signatures, 5u);
  EXPECT_EQ(sink->stats().unique, 0u);
}

TEST(WebhookProviderTest, KeepAliveOpensNoMoreConnectionsThanThePoolHolds) {
  auto sink = start_sink();
  auto provider = make_webhook_provider(provider_options());  // pool of 4
  constexpr int kChunks = 5, kPerChunk = 100;
  for (int c = 0; c < kChunks; ++c)
    for (const auto& o : send_all(*provider, messages(c * kPerChunk, (c + 1) * kPerChunk, sink->url("/k"))))
      ASSERT_TRUE(o.ok) << o.error_code << " " << o.error_message;

  auto stats = sink->stats();
  EXPECT_EQ(stats.unique, static_cast<std::uint64_t>(kChunks * kPerChunk));
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_GE(stats.connections, 1u);
  EXPECT_LE(stats.connections, 4u);
}

TEST(WebhookProviderTest, ConcurrentSendsFromSeveralThreadsShareOneBoundedPool) {
  auto sink = start_sink();
  auto provider = make_webhook_provider(provider_options());
  asio::io_context io;
  constexpr int kSends = 6, kPerSend = 50;
  std::vector<std::vector<DeliveryOutcome>> results(kSends);
  std::vector<std::vector<OutboundMessage>> batches;
  for (int s = 0; s < kSends; ++s) batches.push_back(messages(s * kPerSend, (s + 1) * kPerSend, sink->url("/c")));
  for (int s = 0; s < kSends; ++s)
    asio::co_spawn(
        io, [&, s]() -> asio::awaitable<void> { results[s] = co_await provider->send(batches[s]); },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
  std::thread second([&] { io.run(); });
  io.run();
  second.join();

  for (const auto& r : results) {
    ASSERT_EQ(r.size(), static_cast<std::size_t>(kPerSend));
    for (const auto& o : r) EXPECT_TRUE(o.ok) << o.error_code;
  }
  EXPECT_EQ(sink->stats().unique, static_cast<std::uint64_t>(kSends * kPerSend));
  EXPECT_LE(sink->stats().connections, 4u);
}

TEST(WebhookProviderTest, ServiceUnavailableIsTransientAndHonoursRetryAfter) {
  SinkOptions so;
  so.fail_first = 1;
  so.fail_status = 503;
  so.retry_after_s = 7;
  auto sink = start_sink(so);
  auto provider = make_webhook_provider(provider_options());
  auto batch = messages(0, 10, sink->url("/r"));

  for (const auto& o : send_all(*provider, batch)) {
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.transient);
    EXPECT_EQ(o.error_code, "http_503");
    EXPECT_EQ(o.retry_after_ms, 7000);
  }
  // The second attempt, with the same ids, goes through.
  for (const auto& o : send_all(*provider, batch)) EXPECT_TRUE(o.ok) << o.error_code;
  auto stats = sink->stats();
  EXPECT_EQ(stats.requests, 20u);
  EXPECT_EQ(stats.injected_failures, 10u);
  EXPECT_EQ(stats.unique, 10u);
}

TEST(WebhookProviderTest, TooManyRequestsIsTransientRateLimited) {
  SinkOptions so;
  so.fail_first = 1;
  so.fail_status = 429;
  so.retry_after_s = 3;
  auto sink = start_sink(so);
  auto provider = make_webhook_provider(provider_options());
  auto outcomes = send_all(*provider, messages(0, 1, sink->url("/r")));
  EXPECT_TRUE(outcomes[0].transient);
  EXPECT_EQ(outcomes[0].error_code, "rate_limited");
  EXPECT_EQ(outcomes[0].retry_after_ms, 3000);
}

TEST(WebhookProviderTest, BadRequestIsPermanentAndShowsOnlyTheStatusLine) {
  SinkOptions so;
  so.permanent_marker = "\"n\":3,";
  so.permanent_status = 400;
  auto sink = start_sink(so);
  auto provider = make_webhook_provider(provider_options());
  auto outcomes = send_all(*provider, messages(0, 6, sink->url("/p")));
  for (int i = 0; i < 6; ++i) {
    if (i == 3) {
      EXPECT_FALSE(outcomes[i].ok);
      EXPECT_FALSE(outcomes[i].transient);
      EXPECT_EQ(outcomes[i].error_code, "http_400");
      // The receiver's answer is not the tenant's to read: the status line only.
      EXPECT_EQ(outcomes[i].error_message, "HTTP 400 Bad Request");
    } else {
      EXPECT_TRUE(outcomes[i].ok) << i << " " << outcomes[i].error_code;
    }
  }
  EXPECT_EQ(sink->stats().unique, 5u);
}

TEST(WebhookProviderTest, AClosedPortIsATransientConnectFailure) {
  auto sink = start_sink();
  std::string url = sink->url("/gone");
  sink->stop();  // nothing listens there any more
  auto provider = make_webhook_provider(provider_options());
  for (const auto& o : send_all(*provider, messages(0, 3, url))) {
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.transient);
    EXPECT_EQ(o.error_code, "connect_failed");
  }
}

TEST(WebhookProviderTest, ASlowReceiverIsATransientTimeout) {
  SinkOptions so;
  so.response_delay = std::chrono::seconds(30);
  auto sink = start_sink(so);
  auto options = provider_options();
  options.timeout = std::chrono::milliseconds(200);
  auto provider = make_webhook_provider(options);
  for (const auto& o : send_all(*provider, messages(0, 2, sink->url("/slow")))) {
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.transient);
    EXPECT_EQ(o.error_code, "timeout");
  }
  EXPECT_EQ(sink->stats().requests, 2u);  // they did arrive; the answer was late
}

TEST(WebhookProviderTest, UnusableMessagesFailPermanentlyWithoutHoldingUpTheRest) {
  auto sink = start_sink();
  auto provider = make_webhook_provider(provider_options());  // no default URL
  std::vector<OutboundMessage> batch{message(0, sink->url("/ok")), message(1, ""), message(2, "ftp://example.com/x"),
                                     message(3, "not a url"), message(4, sink->url("/ok"))};
  batch.push_back(message(5, sink->url("/ok")));
  batch.back().content.json_body = "{not json";
  auto outcomes = send_all(*provider, batch);
  EXPECT_TRUE(outcomes[0].ok);
  for (int i : {1, 2, 3}) {
    EXPECT_FALSE(outcomes[i].ok) << i;
    EXPECT_FALSE(outcomes[i].transient) << i;
    EXPECT_EQ(outcomes[i].error_code, "invalid_address") << i;
  }
  EXPECT_TRUE(outcomes[4].ok);
  EXPECT_EQ(outcomes[5].error_code, "invalid_body");
  EXPECT_EQ(sink->stats().unique, 2u);
}

TEST(WebhookProviderTest, AnEmptyAddressUsesTheDefaultUrl) {
  auto sink = start_sink();
  auto options = provider_options();
  options.tenant_signing = nullptr;  // unsigned
  options.default_url = sink->url("/default");
  auto provider = make_webhook_provider(options);
  auto outcomes = send_all(*provider, {message(0, "")});
  EXPECT_TRUE(outcomes[0].ok) << outcomes[0].error_code;
  auto received = sink->requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].target, "/default");
  EXPECT_EQ(received[0].header("webhook-signature"), "");
  EXPECT_EQ(received[0].message_id, "");  // unsigned: no webhook-id header
  EXPECT_EQ(received[0].header("idempotency-key"), message(0, "").message_id);
}

// A provider with credentials (its own secret, headers, a user:password in
// its URL) sends only to its own URL: a recipient's or job's webhook_url
// never points the operator's credentials somewhere else.
TEST(WebhookProviderTest, AProviderWithCredentialsSendsOnlyToItsOwnUrl) {
  auto own = start_sink();
  auto elsewhere = start_sink();
  auto with_secret = provider_options(std::string(kSecret), own->url("/own"));
  auto with_headers = provider_options({}, own->url("/own"));
  with_headers.extra_headers = {{"Authorization", "Bearer operator-token"}};
  auto with_userinfo = provider_options({}, "http://user:pw@" + own->url("/own").substr(std::string("http://").size()));
  int n = 0;
  for (const auto& options : {with_secret, with_headers, with_userinfo}) {
    SCOPED_TRACE(n);
    ASSERT_TRUE(carries_credentials(options));
    ASSERT_TRUE(validate_webhook_options(options).ok());
    auto provider = make_webhook_provider(options);
    for (const auto& o : send_all(*provider, {message(n, elsewhere->url("/steal")), message(n + 100, "")}))
      EXPECT_TRUE(o.ok) << o.error_code << " " << o.error_message;
    ++n;
  }
  EXPECT_EQ(elsewhere->stats().requests, 0u) << "redirected by a message's URL";
  EXPECT_EQ(own->stats().requests, 6u);
  for (const auto& r : own->requests()) EXPECT_EQ(r.target, "/own");

  // Without a URL of its own such a provider is a configuration error.
  EXPECT_FALSE(validate_webhook_options(provider_options(std::string(kSecret))).ok());
  auto headers_only = provider_options();
  headers_only.extra_headers = {{"X-Api-Key", "k"}};
  EXPECT_FALSE(validate_webhook_options(headers_only).ok());
  // And one with none goes where each message says.
  EXPECT_FALSE(carries_credentials(provider_options({}, own->url("/own"))));
}

// The egress guard, on by default: a receiver on loopback is refused,
// whether the URL names the address or a name that resolves to it (the
// address connected to is what is judged), permanently, with nothing sent.
TEST(WebhookProviderTest, TheEgressGuardRefusesInternalAddressesAfterResolving) {
  auto sink = start_sink();
  auto options = provider_options();
  options.egress = EgressPolicy();  // the default: loopback refused
  auto provider = make_webhook_provider(options);
  const std::string port = std::to_string(sink->port());
  auto outcomes = send_all(*provider, {message(0, "http://127.0.0.1:" + port + "/x"),
                                       message(1, "http://localhost:" + port + "/x"),
                                       message(2, "http://[::ffff:127.0.0.1]:" + port + "/x"),
                                       message(3, "http://2130706433:" + port + "/x")});
  for (const auto& o : outcomes) {
    EXPECT_FALSE(o.ok);
    EXPECT_FALSE(o.transient) << "a refused destination is final";
    EXPECT_EQ(o.error_code, "egress_denied") << o.error_message;
  }
  EXPECT_EQ(sink->stats().requests, 0u);
  EXPECT_EQ(sink->stats().connections, 0u) << "nothing was even connected to";

  // Allowed explicitly, the same receiver gets them.
  options.egress = *EgressPolicy::allowing({"127.0.0.0/8"});
  auto allowed = make_webhook_provider(options);
  for (const auto& o : send_all(*allowed, {message(4, "http://localhost:" + port + "/x")}))
    EXPECT_TRUE(o.ok) << o.error_code << " " << o.error_message;
}

TEST(WebhookProviderTest, AnInvalidSecretFailsEveryMessageRatherThanSendingUnsigned) {
  auto options = provider_options("whsec_!!");
  EXPECT_FALSE(validate_webhook_options(options).ok());
  auto sink = start_sink();
  auto provider = make_webhook_provider(options);
  auto outcomes = send_all(*provider, messages(0, 2, sink->url("/x")));
  for (const auto& o : outcomes) EXPECT_EQ(o.error_code, "invalid_secret");
  EXPECT_EQ(sink->stats().requests, 0u);
}

TEST(HttpClientTest, AKeptAliveConnectionTheServerClosedIsReplacedOnce) {
  auto first = start_sink();
  const unsigned short port = first->port();
  PooledHttpClient client;
  auto run = [&](std::string url) {
    asio::io_context io;
    std::optional<Result<HttpResponse>> out;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          HttpRequest req{"POST", url, {}, "{}"};
          auto r = co_await client.request(std::move(req));
          out.emplace(std::move(r));
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io.run();
    return std::move(*out);
  };
  auto r1 = run(first->url("/a"));
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_EQ(r1->status, 200);
  first->stop();  // closes the connection the client keeps idle

  SinkOptions so;
  so.port = port;
  auto second = start_sink(so);
  auto r2 = run(second->url("/b"));
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(r2->header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(second->stats().requests, 1u);
  EXPECT_EQ(client.stats().connections_opened, 2u);
  EXPECT_EQ(client.stats().stale_retries, 1u);
}

TEST(HttpClientTest, AHeaderThatWouldBreakTheFramingIsRefusedAndTheRestGoOut) {
  auto sink = start_sink();
  PooledHttpClient client;
  asio::io_context io;
  std::vector<Result<HttpResponse>> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<HttpRequest> reqs;
        reqs.push_back({"POST", sink->url("/ok"), {{"X-Note", "fine"}}, "{}"});
        reqs.push_back({"POST", sink->url("/bad"), {{"X-Note", "a\r\nX-Injected: 1"}}, "{}"});
        reqs.push_back({"POST", sink->url("/bad"), {{"Bad Name", "v"}}, "{}"});
        reqs.push_back({"GET", sink->url("/_sink/stats"), {}, ""});
        out = co_await client.request_all(std::move(reqs));
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  ASSERT_EQ(out.size(), 4u);
  ASSERT_TRUE(out[0].ok()) << out[0].error().message;
  EXPECT_EQ(out[0]->status, 200);
  for (int i : {1, 2}) {
    ASSERT_FALSE(out[i].ok());
    EXPECT_EQ(out[i].error().code, "invalid_header");
  }
  // A GET goes without a body and reads the answer whole.
  ASSERT_TRUE(out[3].ok()) << out[3].error().message;
  EXPECT_EQ(out[3]->status, 200);
  EXPECT_NE(out[3]->body.find("\"requests\""), std::string::npos);
  EXPECT_EQ(sink->stats().paths.count("/bad"), 0u);
  EXPECT_EQ(http_delivery_outcome(out[1]).transient, false);
}

}  // namespace
}  // namespace crier::testing
