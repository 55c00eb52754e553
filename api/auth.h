// Authentication, in one place: the API keys (kept as SHA-256 digests, never
// as the keys themselves) and the ways a request presents one. The router
// uses it for the native API (authenticate_native), and the vendors' façades
// (compat/common.*) for their auth styles, so every path checks a key the
// same way.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "api/http_types.h"
#include "engine/result.h"

namespace crier::api {

// API key -> tenant. Only the SHA-256 digest of each key is kept, and a
// presented key is compared with every stored digest in constant time
// (CRYPTO_memcmp, no early exit), so neither memory nor timing gives a key
// away. Keys never appear in errors or logs. Not thread-safe to modify;
// lookups from any thread once built.
class ApiKeys {
 public:
  using Digest = std::array<unsigned char, 32>;

  ApiKeys() = default;
  // {key, tenant} pairs, as tests and tools build them.
  ApiKeys(std::initializer_list<std::pair<std::string_view, std::string_view>> keys);  // NOLINT: implicit by design

  // Adds a key; the same key again takes the last tenant.
  void add(std::string_view key, std::string tenant);
  bool empty() const { return by_digest_.empty(); }
  std::size_t size() const { return by_digest_.size(); }

  // The tenant of `key`, or nullptr. Time depends only on the number of
  // keys, not on which (if any) matches.
  const std::string* tenant_of(std::string_view key) const;

  static Digest digest(std::string_view key);

 private:
  std::map<Digest, std::string> by_digest_;
};

// "Authorization: Bearer <key>" (the scheme's case is not significant):
// sets req.tenant. Errors: missing_api_key, invalid_api_key (unauthorized).
Result<void> authenticate_bearer(const ApiKeys& keys, ApiRequest& req);

// The key alone in a header, e.g. "x-api-key" (lower-case name; the server
// copies it into req.headers): sets req.tenant.
Result<void> authenticate_key_header(const ApiKeys& keys, ApiRequest& req, std::string_view header_name);

// The native API's check (Bearer), on the headers alone: nullopt when the
// request may go on (req.tenant set), else the 401 to answer in the native
// error shape.
std::optional<ApiResponse> authenticate_native(const ApiKeys& keys, ApiRequest& req);

}  // namespace crier::api
