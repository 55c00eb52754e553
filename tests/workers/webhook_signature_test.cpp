// Standard Webhooks signing: the spec's own example, an independent HMAC
// computed here with OpenSSL's one-shot HMAC(), and every way verification
// must refuse.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "workers/webhook_signature.h"

namespace crier::testing {
namespace {

// The example from the Standard Webhooks specification.
constexpr std::string_view kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kSpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kSpecTimestamp = 1614265330;
constexpr std::string_view kSpecBody = R"({"test": 2432232314})";
constexpr std::string_view kSpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

WebhookSigner signer(std::string_view secret) {
  auto s = WebhookSigner::from_secret(secret);
  if (!s) throw std::runtime_error(s.error().message);
  return std::move(*s);
}

// HMAC-SHA256 computed without the code under test (but for base64).
std::string reference_signature(std::string_view key, std::string_view content) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), digest, &len);
  return "v1," + base64_encode(std::string(reinterpret_cast<const char*>(digest), len));
}

TEST(SignatureTest, MatchesTheSpecificationExample) {
  EXPECT_EQ(signer(kSpecSecret).sign(kSpecId, kSpecTimestamp, kSpecBody), kSpecSignature);
}

TEST(SignatureTest, WhsecKeyIsTheDecodedBase64AndRawSecretsAreUsedAsIs) {
  auto key = base64_decode(kSpecSecret.substr(6));
  ASSERT_TRUE(key);
  EXPECT_EQ(reference_signature(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330." + std::string(kSpecBody)),
            kSpecSignature);

  const std::string raw = "a raw shared secret";
  EXPECT_EQ(signer(raw).sign("m1", 1700000000, "{}"), reference_signature(raw, "m1.1700000000.{}"));
  EXPECT_NE(signer(raw).sign("m1", 1700000000, "{}"), signer(raw).sign("m2", 1700000000, "{}"));
}

TEST(SignatureTest, VerifyAcceptsAMatchingEntryAmongSeveral) {
  auto s = signer(kSpecSecret);
  const std::string ts = std::to_string(kSpecTimestamp);
  EXPECT_TRUE(s.verify(kSpecId, ts, kSpecSignature, kSpecBody, kSpecTimestamp).ok());
  std::string list = "v1,bm90IGl0 v2,whatever " + std::string(kSpecSignature);
  EXPECT_TRUE(s.verify(kSpecId, ts, list, kSpecBody, kSpecTimestamp + 60).ok());
}

TEST(SignatureTest, VerifyRefusesWrongSecretTamperingAndStaleTimestamps) {
  auto s = signer(kSpecSecret);
  const std::string ts = std::to_string(kSpecTimestamp);
  auto code = [](const Result<void>& r) { return r.ok() ? std::string("ok") : r.error().code; };

  EXPECT_EQ(code(signer("whsec_" + base64_encode("another key")).verify(kSpecId, ts, kSpecSignature, kSpecBody,
                                                                           kSpecTimestamp)),
            "bad_signature");
  EXPECT_EQ(code(s.verify(kSpecId, ts, kSpecSignature, R"({"test": 2432232315})", kSpecTimestamp)), "bad_signature");
  EXPECT_EQ(code(s.verify("msg_other", ts, kSpecSignature, kSpecBody, kSpecTimestamp)), "bad_signature");
  EXPECT_EQ(code(s.verify(kSpecId, ts, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", kSpecBody, kSpecTimestamp)),
            "bad_signature");
  EXPECT_EQ(code(s.verify(kSpecId, ts, kSpecSignature, kSpecBody, kSpecTimestamp + 301)), "stale_timestamp");
  EXPECT_EQ(code(s.verify(kSpecId, ts, kSpecSignature, kSpecBody, kSpecTimestamp - 301)), "stale_timestamp");
  EXPECT_EQ(code(s.verify(kSpecId, "16142x", kSpecSignature, kSpecBody, kSpecTimestamp)), "bad_timestamp");
  EXPECT_EQ(code(s.verify(kSpecId, ts, "", kSpecBody, kSpecTimestamp)), "missing_signature");
  EXPECT_EQ(code(s.verify("", ts, kSpecSignature, kSpecBody, kSpecTimestamp)), "missing_signature");
}

TEST(SignatureTest, RejectsUnusableSecrets) {
  EXPECT_FALSE(WebhookSigner::from_secret("").ok());
  EXPECT_FALSE(WebhookSigner::from_secret("whsec_").ok());
  EXPECT_FALSE(WebhookSigner::from_secret("whsec_not*base64").ok());
  EXPECT_EQ(WebhookSigner::from_secret("whsec_abc").error().code, "invalid_secret");
}

TEST(SignatureTest, Base64RoundTripsEveryPaddingLength) {
  std::string bytes;
  for (int n = 0; n < 8; ++n) {
    auto text = base64_encode(bytes);
    EXPECT_EQ(text.size() % 4, 0u);
    auto back = base64_decode(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(0xF0 + n));  // high bytes too
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm8"));
  EXPECT_FALSE(base64_decode("Zm$="));
}

}  // namespace
}  // namespace crier::testing
