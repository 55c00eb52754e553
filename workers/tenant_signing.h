// Webhook signatures per tenant: every tenant signs with a secret of its own
// (engine/signing_secrets.h), made from the system's CSPRNG on first use and
// stored in the store (synced), so one tenant can never get a body signed
// with a key another tenant's receivers trust. The webhook providers that
// carry no secret of their own and the job callbacks sign through it; the
// API lets a tenant read its secret and rotate it.
//
// Thread-safe. The secrets of the tenants seen are cached in memory; a
// signature costs a map look-up and the HMACs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "engine/result.h"
#include "engine/signing_secrets.h"

namespace crier {

class WebhookSigner;

class TenantSigning {
 public:
  using Clock = std::function<std::int64_t()>;  // unix ms
  // `make_secret` makes a new secret (tests give a deterministic one);
  // the default is "whsec_" + base64 of 32 random bytes.
  TenantSigning(SigningSecretStore& store, Clock clock, std::function<std::string()> make_secret = {});
  ~TenantSigning();

  // One tenant's signers, fixed at the moment they were looked up: sign a
  // chunk of messages with one look-up.
  class Keys {
   public:
    // The webhook-signature header value: "v1,<sig>" with the current
    // secret, then " v1,<sig>" with the previous one while its grace period
    // runs at `now_ms`.
    std::string sign(std::string_view id, std::int64_t timestamp, std::string_view body, std::int64_t now_ms) const;
    const TenantSigningSecrets& secrets() const { return secrets_; }

   private:
    friend class TenantSigning;
    TenantSigningSecrets secrets_;
    std::shared_ptr<const WebhookSigner> current_, previous_;
  };

  // The tenant's keys, made and stored on first use. Errors: the store's.
  Result<std::shared_ptr<const Keys>> keys(std::string_view tenant);
  // The tenant's secrets as a tenant may read them (previous one only while
  // it still signs).
  Result<TenantSigningSecrets> secrets(std::string_view tenant);
  // A new current secret; the old one keeps signing too for `grace` (0: it
  // stops at once). Stored before it returns; with `answer`, the
  // Idempotency-Key's answer it makes of the new secrets in the same write.
  using AnswerOfRotation = std::function<IdempotentRecord(const TenantSigningSecrets&)>;
  Result<TenantSigningSecrets> rotate(std::string_view tenant, std::chrono::seconds grace,
                                      const AnswerOfRotation& answer = {});
  // A webhook-signature header value for one message of the tenant.
  Result<std::string> sign(std::string_view tenant, std::string_view id, std::int64_t timestamp,
                           std::string_view body);

  std::int64_t now_ms() const { return clock_(); }

 private:
  Result<std::string> make() const;  // make_secret_, its exception turned into an Error
  Result<std::shared_ptr<const Keys>> load_locked(std::string_view tenant);
  Result<std::shared_ptr<const Keys>> store_locked(std::string_view tenant, TenantSigningSecrets secrets);

  SigningSecretStore& store_;
  Clock clock_;
  std::function<std::string()> make_secret_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Keys>, std::less<>> cache_;
};

// "whsec_" + base64 of 32 bytes from the system's CSPRNG (OpenSSL's RAND_bytes).
std::string new_signing_secret();

}  // namespace crier
