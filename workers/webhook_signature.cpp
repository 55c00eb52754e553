#include "workers/webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <string>

namespace crier {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4, '\0');
  // EVP_DecodeBlock skips no padding: it writes zero bytes for each '='.
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

Result<WebhookSigner> WebhookSigner::from_secret(std::string_view secret) {
  constexpr std::string_view prefix = "whsec_";
  if (secret.empty()) return make_error(ErrorKind::invalid, "invalid_secret", "the signing secret is empty");
  if (secret.substr(0, prefix.size()) != prefix) return WebhookSigner(std::string(secret));
  auto key = base64_decode(secret.substr(prefix.size()));
  if (!key || key->empty())
    return make_error(ErrorKind::invalid, "invalid_secret", "a whsec_ secret must be followed by base64");
  return WebhookSigner(std::move(*key));
}

std::string WebhookSigner::mac(std::string_view id, std::string_view timestamp, std::string_view body) const {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), digest, &len);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string WebhookSigner::sign(std::string_view id, std::int64_t timestamp, std::string_view body) const {
  return "v1," + base64_encode(mac(id, std::to_string(timestamp), body));
}

Result<void> WebhookSigner::verify(std::string_view id, std::string_view timestamp, std::string_view signatures,
                                   std::string_view body, std::int64_t now_s, std::int64_t tolerance_s) const {
  auto fail = [](const char* code, std::string message) {
    return make_error(ErrorKind::unauthorized, code, std::move(message));
  };
  if (id.empty() || timestamp.empty() || signatures.empty())
    return fail("missing_signature", "webhook-id, webhook-timestamp and webhook-signature are required");
  std::int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size())
    return fail("bad_timestamp", "webhook-timestamp is not an integer");
  if (ts < now_s - tolerance_s || ts > now_s + tolerance_s)
    return fail("stale_timestamp", "webhook-timestamp is outside the tolerance");

  const std::string expected = base64_encode(mac(id, timestamp, body));
  while (!signatures.empty()) {
    auto space = signatures.find(' ');
    auto entry = signatures.substr(0, space);
    signatures = space == std::string_view::npos ? std::string_view{} : signatures.substr(space + 1);
    if (entry.substr(0, 3) != "v1,") continue;
    auto sig = entry.substr(3);
    if (sig.size() == expected.size() && CRYPTO_memcmp(sig.data(), expected.data(), sig.size()) == 0) return {};
  }
  return fail("bad_signature", "no webhook-signature entry matches");
}

}  // namespace crier
