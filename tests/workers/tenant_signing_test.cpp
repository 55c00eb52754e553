// Per-tenant webhook signing: each tenant's own secret, made once and kept
// in the store, rotation with a grace period during which both signatures
// are sent, and the webhook provider signing each message with its
// tenant's secret, so one tenant's receivers never trust another's bodies.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "sink/webhook_sink.h"
#include "storage/rocks_store.h"
#include "engine/time_format.h"
#include "tests/support/temp_dir.h"
#include "tests/workers/provider_send.h"
#include "workers/tenant_signing.h"
#include "workers/webhook_provider.h"
#include "workers/webhook_signature.h"

namespace crier::testing {
namespace {

class TenantSigningTest : public ::testing::Test {
 protected:
  TenantSigningTest() {
    auto opened = RocksStore::open(StoreOptions{(dir_.path() / "data").string()});
    if (!opened) throw std::runtime_error(opened.error().message);
    store_ = std::move(*opened);
  }

  bool verifies(std::string_view secret, std::string_view header, std::int64_t ts, std::string_view body) {
    auto signer = WebhookSigner::from_secret(secret);
    EXPECT_TRUE(signer.ok());
    return signer && signer->verify("msg_1", std::to_string(ts), header, body, ts).ok();
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
  std::int64_t now_ms_ = 1'700'000'000'000;
  TenantSigning::Clock clock_ = [this] { return now_ms_; };
};

TEST_F(TenantSigningTest, EachTenantHasItsOwnSecretMadeOnceAndKept) {
  std::string acme, globex;
  {
    TenantSigning signing(*store_, clock_);
    auto a = signing.secrets("acme");
    auto g = signing.secrets("globex");
    ASSERT_TRUE(a.ok() && g.ok());
    acme = a->current;
    globex = g->current;
    EXPECT_TRUE(acme.starts_with("whsec_")) << acme;
    EXPECT_NE(acme, globex);
    EXPECT_EQ(a->created_at, now_ms_);
    EXPECT_EQ(signing.secrets("acme")->current, acme) << "made once";
  }
  TenantSigning again(*store_, clock_);  // a restart: read back from the store
  EXPECT_EQ(again.secrets("acme")->current, acme);
  EXPECT_EQ(again.secrets("globex")->current, globex);

  const std::int64_t ts = now_ms_ / 1000;
  auto header = again.sign("acme", "msg_1", ts, "{}");
  ASSERT_TRUE(header.ok());
  EXPECT_TRUE(verifies(acme, *header, ts, "{}"));
  EXPECT_FALSE(verifies(globex, *header, ts, "{}")) << "another tenant's secret must not verify it";
}

TEST_F(TenantSigningTest, RotationSignsWithBothSecretsDuringTheGracePeriodOnly) {
  TenantSigning signing(*store_, clock_);
  const std::string old_secret = signing.secrets("acme")->current;
  auto rotated = signing.rotate("acme", std::chrono::seconds(60));
  ASSERT_TRUE(rotated.ok());
  EXPECT_NE(rotated->current, old_secret);
  EXPECT_EQ(rotated->previous, old_secret);
  EXPECT_EQ(rotated->previous_expires_at, now_ms_ + 60'000);

  const std::int64_t ts = now_ms_ / 1000;
  auto both = signing.sign("acme", "msg_1", ts, "body");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(std::count(both->begin(), both->end(), ' '), 1) << *both;
  EXPECT_TRUE(verifies(old_secret, *both, ts, "body")) << "receivers not yet switched keep verifying";
  EXPECT_TRUE(verifies(rotated->current, *both, ts, "body"));

  now_ms_ += 60'000;  // the grace period is over
  auto one = signing.sign("acme", "msg_1", ts, "body");
  EXPECT_EQ(std::count(one->begin(), one->end(), ' '), 0) << *one;
  EXPECT_FALSE(verifies(old_secret, *one, ts, "body"));
  EXPECT_TRUE(signing.secrets("acme")->previous.empty());

  // Kept across a restart, and a rotation without grace drops the old one at once.
  TenantSigning again(*store_, clock_);
  EXPECT_EQ(again.secrets("acme")->current, rotated->current);
  auto now = again.rotate("acme", std::chrono::seconds(0));
  ASSERT_TRUE(now.ok());
  EXPECT_TRUE(now->previous.empty());
  EXPECT_FALSE(verifies(rotated->current, *again.sign("acme", "msg_1", ts, "body"), ts, "body"));
}

OutboundMessage message_of(std::string tenant, int i, std::string url) {
  OutboundMessage m;
  m.message_id = fmt::format("msg_{}_{}", tenant, i);
  m.job_id = "job_" + tenant;
  m.tenant = std::move(tenant);
  m.seq = static_cast<std::uint64_t>(i);
  m.channel = Channel::webhook;
  m.to = std::move(url);
  m.content.json_body = R"({"event":"x"})";
  return m;
}

TEST_F(TenantSigningTest, TheWebhookProviderSignsEachMessageWithItsTenantsSecret) {
  TenantSigning signing(*store_, now_unix_ms);
  // A receiver of acme's that trusts acme's secret only.
  SinkOptions so;
  so.secret = signing.secrets("acme")->current;
  WebhookSink sink(so);
  ASSERT_TRUE(sink.start().ok());

  WebhookProviderOptions o;  // no secret of its own
  o.tenant_signing = &signing;
  o.egress = EgressPolicy::allowing_loopback();  // the sink is on 127.0.0.1
  auto provider = make_webhook_provider(o);

  auto acme = send_all(*provider, {message_of("acme", 1, sink.url("/a")), message_of("acme", 2, sink.url("/a"))});
  for (const auto& out : acme) EXPECT_TRUE(out.ok) << out.error_code << " " << out.error_message;
  // globex points its job at acme's receiver: its bodies are signed with
  // globex's secret, which acme's receiver does not trust.
  auto globex = send_all(*provider, {message_of("globex", 1, sink.url("/a"))});
  EXPECT_FALSE(globex[0].ok);
  EXPECT_EQ(globex[0].error_code, "http_401");
  auto stats = sink.stats();
  EXPECT_EQ(stats.accepted, 2u);
  EXPECT_EQ(stats.bad_signatures, 1u);
}

}  // namespace
}  // namespace crier::testing
