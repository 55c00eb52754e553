// Each tenant's webhook signing secrets, so that no tenant can have JSON
// signed that another tenant's receivers would trust. A tenant has one
// current secret and, for the grace period after a rotation, the previous
// one: both sign meanwhile (Standard Webhooks' space-separated list of
// signatures), so receivers can switch without losing a message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/job_store.h"
#include "engine/result.h"

namespace crier {

struct TenantSigningSecrets {
  std::string current;                   // "whsec_<base64>"
  std::int64_t created_at = 0;           // unix ms, when `current` was made
  std::string previous;                  // "" when none
  std::int64_t previous_expires_at = 0;  // unix ms: `previous` signs until then
};

// Where the secrets are kept. Writes are durable (synced) before they
// return: a secret given out must never be lost on a crash.
class SigningSecretStore {
 public:
  virtual ~SigningSecretStore() = default;
  virtual Result<std::optional<TenantSigningSecrets>> find_signing_secrets(std::string_view tenant) = 0;
  // Stores the tenant's secrets, synced; with `answer`, an Idempotency-Key's
  // answer in the same atomic write (a rotation under a key).
  virtual Result<void> put_signing_secrets(std::string_view tenant, const TenantSigningSecrets& secrets,
                                           const IdempotentRecord* answer = nullptr) = 0;
};

}  // namespace crier
