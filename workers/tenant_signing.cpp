#include "workers/tenant_signing.h"

#include <openssl/rand.h>

#include <stdexcept>

#include "workers/webhook_signature.h"

namespace crier {

std::string new_signing_secret() {
  std::string random(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(random.data()), static_cast<int>(random.size())) != 1)
    throw std::runtime_error("the system's random generator failed");
  return "whsec_" + base64_encode(random);
}

std::string TenantSigning::Keys::sign(std::string_view id, std::int64_t timestamp, std::string_view body,
                                      std::int64_t now_ms) const {
  std::string header = current_->sign(id, timestamp, body);
  if (previous_ && now_ms < secrets_.previous_expires_at) header.append(" ").append(previous_->sign(id, timestamp, body));
  return header;
}

TenantSigning::TenantSigning(SigningSecretStore& store, Clock clock, std::function<std::string()> make_secret)
    : store_(store), clock_(std::move(clock)), make_secret_(std::move(make_secret)) {
  if (!make_secret_) make_secret_ = new_signing_secret;
}

TenantSigning::~TenantSigning() = default;

Result<std::string> TenantSigning::make() const {
  try {
    return make_secret_();
  } catch (const std::exception& e) {
    return make_error(ErrorKind::internal, "secret_generation_failed", e.what());
  }
}

Result<std::shared_ptr<const TenantSigning::Keys>> TenantSigning::store_locked(std::string_view tenant,
                                                                               TenantSigningSecrets secrets) {
  auto keys = std::make_shared<Keys>();
  auto current = WebhookSigner::from_secret(secrets.current);
  if (!current) return current.error();
  keys->current_ = std::make_shared<const WebhookSigner>(std::move(*current));
  if (!secrets.previous.empty()) {
    auto previous = WebhookSigner::from_secret(secrets.previous);
    if (!previous) return previous.error();
    keys->previous_ = std::make_shared<const WebhookSigner>(std::move(*previous));
  }
  keys->secrets_ = std::move(secrets);
  std::shared_ptr<const Keys> shared = std::move(keys);
  cache_.insert_or_assign(std::string(tenant), shared);
  return shared;
}

Result<std::shared_ptr<const TenantSigning::Keys>> TenantSigning::load_locked(std::string_view tenant) {
  if (auto it = cache_.find(tenant); it != cache_.end()) return it->second;
  auto found = store_.find_signing_secrets(tenant);
  if (!found) return found.error();
  if (*found) return store_locked(tenant, std::move(**found));
  // First use: made and stored (synced) before anything is signed with it.
  TenantSigningSecrets made;
  auto secret = make();
  if (!secret) return secret.error();
  made.current = std::move(*secret);
  made.created_at = clock_();
  if (auto put = store_.put_signing_secrets(tenant, made); !put) return put.error();
  return store_locked(tenant, std::move(made));
}

Result<std::shared_ptr<const TenantSigning::Keys>> TenantSigning::keys(std::string_view tenant) {
  std::lock_guard lock(mu_);
  return load_locked(tenant);
}

Result<TenantSigningSecrets> TenantSigning::secrets(std::string_view tenant) {
  auto k = keys(tenant);
  if (!k) return k.error();
  TenantSigningSecrets s = (*k)->secrets();
  if (s.previous_expires_at <= clock_()) {
    s.previous.clear();
    s.previous_expires_at = 0;
  }
  return s;
}

Result<TenantSigningSecrets> TenantSigning::rotate(std::string_view tenant, std::chrono::seconds grace,
                                                   const AnswerOfRotation& answer) {
  std::lock_guard lock(mu_);
  auto old = load_locked(tenant);
  if (!old) return old.error();
  const std::int64_t now = clock_();
  TenantSigningSecrets next;
  auto secret = make();
  if (!secret) return secret.error();
  next.current = std::move(*secret);
  next.created_at = now;
  if (grace.count() > 0) {
    next.previous = (*old)->secrets().current;
    next.previous_expires_at = now + std::chrono::duration_cast<std::chrono::milliseconds>(grace).count();
  }
  std::optional<IdempotentRecord> record;
  if (answer) record = answer(next);
  if (auto put = store_.put_signing_secrets(tenant, next, record ? &*record : nullptr); !put) return put.error();
  auto stored = store_locked(tenant, next);
  if (!stored) return stored.error();
  return next;
}

Result<std::string> TenantSigning::sign(std::string_view tenant, std::string_view id, std::int64_t timestamp,
                                        std::string_view body) {
  auto k = keys(tenant);
  if (!k) return k.error();
  return (*k)->sign(id, timestamp, body, clock_());
}

}  // namespace crier
