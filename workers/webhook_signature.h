// Standard Webhooks signatures (https://www.standardwebhooks.com): a request
// carries `webhook-id`, `webhook-timestamp` (unix seconds) and
// `webhook-signature: v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>`.
// Receivers verify with the shared secret and reject stale timestamps, which
// stops replays; `webhook-id` lets them drop duplicates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/result.h"

namespace crier {

// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);
// nullopt for anything that is not padded standard base64.
std::optional<std::string> base64_decode(std::string_view text);

class WebhookSigner {
 public:
  // The secret is "whsec_<base64 key>" (the key is the decoded bytes) or, with
  // no such prefix, the raw key bytes. Errors: empty secret, bad base64.
  static Result<WebhookSigner> from_secret(std::string_view secret);

  // "v1,<base64 signature>" for the message. Thread-safe (no state changes).
  std::string sign(std::string_view id, std::int64_t timestamp, std::string_view body) const;

  // Checks a received message. `signatures` is the header's space-separated
  // list ("v1,abc v1,def"): one matching v1 entry suffices; other versions
  // are ignored. The timestamp must be within `tolerance_s` of `now_s`, either
  // way. Error codes: missing_signature, bad_timestamp, stale_timestamp,
  // bad_signature. Comparison is constant-time.
  Result<void> verify(std::string_view id, std::string_view timestamp, std::string_view signatures,
                      std::string_view body, std::int64_t now_s, std::int64_t tolerance_s = 300) const;

 private:
  explicit WebhookSigner(std::string key) : key_(std::move(key)) {}
  std::string mac(std::string_view id, std::string_view timestamp, std::string_view body) const;  // raw bytes
  std::string key_;
};

}  // namespace crier
