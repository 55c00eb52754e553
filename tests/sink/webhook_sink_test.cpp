// sink/webhook_sink: the receiver most tests and benchmarks count deliveries
// with, checked on its own over real HTTP, so that what the other tests
// conclude from its counters holds: signatures are verified (401 otherwise),
// injected failures come per message id before success, the permanent
// marker is refused, and unique/duplicates count 2xx answers per id.
#include "sink/webhook_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/support/http_client.h"
#include "workers/webhook_signature.h"

namespace crier {
namespace {

using testing::HeaderList;
using testing::HttpClient;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A POST signed as Crier signs a webhook with `secret`, under message id `id`.
int post_signed(HttpClient& c, const std::string& id, const std::string& body, const char* secret = kSecret) {
  auto signer = WebhookSigner::from_secret(secret);
  EXPECT_TRUE(signer.ok());
  const std::int64_t ts = now_s();
  HeaderList h{{"webhook-id", id},
               {"webhook-timestamp", std::to_string(ts)},
               {"webhook-signature", signer->sign(id, ts, body)}};
  return c.post("/hook", body, "application/json", h).status;
}

std::unique_ptr<WebhookSink> started(SinkOptions o) {
  auto sink = std::make_unique<WebhookSink>(std::move(o));
  auto port = sink->start();
  EXPECT_TRUE(port.ok());
  return sink;
}

TEST(WebhookSinkTest, CountsUniqueIdsAndDuplicatesOfAcceptedPosts) {
  SinkOptions o;
  o.secret = kSecret;
  auto sink = started(o);
  HttpClient c(sink->port());
  EXPECT_EQ(post_signed(c, "msg_a", R"({"n":1})"), 200);
  EXPECT_EQ(post_signed(c, "msg_b", R"({"n":2})"), 200);
  EXPECT_EQ(post_signed(c, "msg_a", R"({"n":1})"), 200);
  auto s = sink->stats();
  EXPECT_EQ(s.requests, 3u);
  EXPECT_EQ(s.accepted, 3u);
  EXPECT_EQ(s.unique, 2u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.paths["/hook"], 3u);
  auto requests = sink->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].message_id, "msg_a");
  EXPECT_EQ(requests[0].body, R"({"n":1})");
  EXPECT_EQ(requests[1].header("webhook-id"), "msg_b");
}

TEST(WebhookSinkTest, RefusesWhatIsNotSignedWithItsSecret) {
  SinkOptions o;
  o.secret = kSecret;
  auto sink = started(o);
  HttpClient c(sink->port());
  EXPECT_EQ(post_signed(c, "msg_a", "{}", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 401);
  EXPECT_EQ(c.post("/hook", "{}", "application/json").status, 401) << "no signature at all";
  // Signed for another body: the signature covers the bytes.
  auto signer = WebhookSigner::from_secret(kSecret);
  ASSERT_TRUE(signer.ok());
  const std::int64_t ts = now_s();
  EXPECT_EQ(c.post("/hook", R"({"x":2})", "application/json",
                   {{"webhook-id", "msg_b"},
                    {"webhook-timestamp", std::to_string(ts)},
                    {"webhook-signature", signer->sign("msg_b", ts, R"({"x":1})")}})
                .status,
            401);
  // Too old: outside the tolerance.
  const std::int64_t old = ts - 3600;
  EXPECT_EQ(c.post("/hook", "{}", "application/json",
                   {{"webhook-id", "msg_c"},
                    {"webhook-timestamp", std::to_string(old)},
                    {"webhook-signature", signer->sign("msg_c", old, "{}")}})
                .status,
            401);
  auto s = sink->stats();
  EXPECT_EQ(s.bad_signatures, 4u);
  EXPECT_EQ(s.accepted, 0u);
  EXPECT_EQ(s.unique, 0u);
  EXPECT_EQ(post_signed(c, "msg_d", "{}"), 200);
}

TEST(WebhookSinkTest, FailsTheFirstAttemptsOfEachIdThenAccepts) {
  SinkOptions o;
  o.secret = kSecret;
  o.fail_first = 2;
  o.fail_status = 503;
  o.retry_after_s = 7;
  auto sink = started(o);
  HttpClient c(sink->port());
  for (const char* id : {"msg_a", "msg_b"}) {
    EXPECT_EQ(post_signed(c, id, "{}"), 503) << id;
    EXPECT_EQ(post_signed(c, id, "{}"), 503) << id;
    EXPECT_EQ(post_signed(c, id, "{}"), 200) << id;
    EXPECT_EQ(post_signed(c, id, "{}"), 200) << id << ": only the first attempts fail";
  }
  auto s = sink->stats();
  EXPECT_EQ(s.injected_failures, 4u);
  EXPECT_EQ(s.unique, 2u);
  EXPECT_EQ(s.duplicates, 2u);
  auto requests = sink->requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].status, 503);
  EXPECT_EQ(requests[0].header("webhook-id"), "msg_a");
  // The signature is checked before any injected failure.
  EXPECT_EQ(c.post("/hook", "{}", "application/json", {{"X-Crier-Message-Id", "msg_plain"}}).status, 401);
  EXPECT_EQ(sink->stats().injected_failures, 4u);
}

TEST(WebhookSinkTest, RefusesBodiesWithThePermanentMarker) {
  SinkOptions o;
  o.permanent_marker = "poison";
  o.permanent_status = 410;
  auto sink = started(o);  // no secret: signatures are not checked
  HttpClient c(sink->port());
  EXPECT_EQ(c.post("/hook", R"({"x":"poison"})", "application/json", {{"X-Crier-Message-Id", "m1"}}).status, 410);
  EXPECT_EQ(c.post("/hook", R"({"x":"fine"})", "application/json", {{"X-Crier-Message-Id", "m2"}}).status, 200);
  auto s = sink->stats();
  EXPECT_EQ(s.injected_failures, 1u);
  EXPECT_EQ(s.unique, 1u);
  EXPECT_EQ(s.bad_signatures, 0u);
}

TEST(WebhookSinkTest, ResetForgetsEverything) {
  auto sink = started({});
  HttpClient c(sink->port());
  EXPECT_EQ(c.post("/hook", "{}", "application/json", {{"X-Crier-Message-Id", "m1"}}).status, 200);
  sink->reset();
  auto s = sink->stats();
  EXPECT_EQ(s.requests, 0u);
  EXPECT_EQ(s.unique, 0u);
  EXPECT_TRUE(sink->requests().empty());
  EXPECT_EQ(c.post("/hook", "{}", "application/json", {{"X-Crier-Message-Id", "m1"}}).status, 200);
  EXPECT_EQ(sink->stats().duplicates, 0u) << "the id was forgotten too";
}

}  // namespace
}  // namespace crier
