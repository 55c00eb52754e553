// HTTPS through the real dispatcher: `crier serve` trusting a test CA by
// `[tls] ca_file`, a webhook provider, and TLS receivers on loopback (the
// in-process WebhookSink and `crier sink --tls-cert --tls-key`) with
// certificates made by openssl in the test. A trusted receiver gets every
// message; a receiver with an expired certificate gets nothing and its
// recipients fail with tls_certificate_expired.
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tests/e2e/channels_fixture.h"
#include "tests/support/child_process.h"
#include "tests/support/test_pki.h"
#include "workers/http_client.h"

namespace crier::e2e {
namespace {

class HttpsTest : public ChannelTest {
 protected:
  crier::testing::TempDir pki_dir_;
  crier::testing::TestPki pki_ = crier::testing::make_test_pki(pki_dir_.path());

  std::unique_ptr<WebhookSink> tls_sink(const crier::testing::CertAndKey& cert) {
    SinkOptions o;
    o.tls_cert_file = cert.cert.string();
    o.tls_key_file = cert.key.string();
    return start_sink(o);
  }

  // A webhook provider "hooks" that tries once (so a refusal fails the
  // recipient at once), and the test CA as the trust anchor.
  void start_trusting_test_ca() {
    start_with_config(fmt::format("[tls]\nca_file = \"{}\"\n\n[providers.hooks]\ntype = \"webhook\"\nmax_attempts = 1\n",
                                  pki_.ca_cert.string()));
  }

  std::string run_hook_job(const std::string& url, int users) {
    json::object spec{{"channel", "webhook"},
                      {"provider", "hooks"},
                      {"webhook_url", url},
                      {"content", {{"webhook", {{"body", {{"hello", "{{name}}"}}}}}}}};
    auto id = create_job(api(), spec);
    json::array list;
    for (int i = 0; i < users; ++i) list.push_back(json::object{{"user_id", fmt::format("u{}", i)}});
    EXPECT_EQ(num(ingest_json(api(), id, list), "accepted"), users);
    run_job(api(), id);
    return id;
  }
};

TEST_F(HttpsTest, AJobReachesATrustedTlsReceiver) {
  auto sink = tls_sink(pki_.localhost);
  start_trusting_test_ca();
  trust_tenant_secret(*sink, api());  // the sink checks every signature too
  auto id = run_hook_job(fmt::format("https://localhost:{}/tls-hook", sink->port()), 20);
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(job, "status"), "COMPLETED") << counters_snapshot(job);
  auto stats = sink->stats();
  EXPECT_EQ(stats.unique, 20u);
  EXPECT_EQ(stats.paths["/tls-hook"], 20u);
  EXPECT_EQ(stats.bad_signatures, 0u);
  EXPECT_EQ(stats.tls_handshake_failures, 0u);
}

TEST_F(HttpsTest, AnExpiredReceiverCertificateFailsEveryRecipientWithItsCode) {
  auto sink = tls_sink(pki_.expired);
  start_trusting_test_ca();
  auto id = run_hook_job(fmt::format("https://localhost:{}/expired", sink->port()), 3);
  auto job = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(job, "status"), "FAILED") << counters_snapshot(job);
  for (const auto& u : list_all_users(api(), id)) {
    SCOPED_TRACE(json::serialize(u));
    EXPECT_EQ(str(u, "status"), "FAILED");
    auto error = u.at("error").as_object();
    EXPECT_EQ(str(error, "code"), "tls_certificate_expired");
    EXPECT_NE(str(error, "message").find("localhost"), std::string::npos);
  }
  EXPECT_EQ(sink->stats().requests, 0u) << "nothing is sent to a receiver that failed the check";
  EXPECT_GE(sink->stats().tls_handshake_failures, 1u);
}

// `crier sink --tls-cert --tls-key`: the receiver from the shell speaks HTTPS.
TEST_F(HttpsTest, TheSinkCommandServesHttps) {
  crier::testing::TempDir dir;
  const auto log = dir.path() / "sink.log";
  int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(err, 0);
  auto child = crier::testing::spawn_child({CRIER_BINARY, "sink", "--listen", "127.0.0.1:0", "--tls-cert",
                                            pki_.localhost.cert.string(), "--tls-key", pki_.localhost.key.string()},
                                           err);
  std::string seen, why;
  auto first = crier::testing::read_first_line(child.stdout_fd, 30s, seen, why);
  ASSERT_TRUE(first) << why << " " << seen;
  EXPECT_NE(first->find("listening on https://127.0.0.1:"), std::string::npos) << *first;
  auto url = first->substr(first->find("https://")) + "/from-shell";

  HttpClientOptions options;
  options.network.ca_file = pki_.ca_cert.string();
  PooledHttpClient client(options);
  boost::asio::io_context io;
  std::optional<Result<crier::HttpResponse>> answer;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        HttpRequest req;
        req.url = url;
        req.body = "{}";
        answer.emplace(co_await client.request(std::move(req)));
      },
      boost::asio::detached);
  io.run();
  ::kill(child.pid, SIGKILL);
  ::waitpid(child.pid, nullptr, 0);
  ::close(child.stdout_fd);
  ::close(err);
  ASSERT_TRUE(answer && *answer) << (answer ? (*answer).error().code + ": " + (*answer).error().message : "none");
  EXPECT_EQ((**answer).status, 200);
}

}  // namespace
}  // namespace crier::e2e
