#include "api/auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "api/errors.h"

namespace crier::api {
namespace {

Error invalid_key(std::string message) {
  return make_error(ErrorKind::unauthorized, "invalid_api_key", std::move(message));
}

Result<void> tenant_of_key(const ApiKeys& keys, ApiRequest& req, std::string_view key) {
  const std::string* tenant = keys.tenant_of(key);
  if (!tenant) return invalid_key("the API key is not valid");
  req.tenant = *tenant;
  return {};
}

}  // namespace

ApiKeys::ApiKeys(std::initializer_list<std::pair<std::string_view, std::string_view>> keys) {
  for (const auto& [key, tenant] : keys) add(key, std::string(tenant));
}

ApiKeys::Digest ApiKeys::digest(std::string_view key) {
  Digest d{};
  unsigned int n = 0;
  EVP_Digest(key.data(), key.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

void ApiKeys::add(std::string_view key, std::string tenant) { by_digest_[digest(key)] = std::move(tenant); }

const std::string* ApiKeys::tenant_of(std::string_view key) const {
  const Digest presented = digest(key);
  const std::string* found = nullptr;
  // Every digest is compared, whatever matched before: the time taken says
  // nothing about which key (or how much of a digest) matched.
  for (const auto& [stored, tenant] : by_digest_) {
    const bool same = CRYPTO_memcmp(stored.data(), presented.data(), stored.size()) == 0;
    found = same ? &tenant : found;
  }
  return found;
}

Result<void> authenticate_bearer(const ApiKeys& keys, ApiRequest& req) {
  std::string_view auth = req.authorization;
  constexpr std::string_view kBearer = "bearer ";
  if (auth.empty())
    return make_error(ErrorKind::unauthorized, "missing_api_key", "send your API key as 'Authorization: Bearer <key>'");
  if (auth.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), auth.begin(),
                  [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
    return invalid_key("the Authorization header must be 'Bearer <key>'");
  return tenant_of_key(keys, req, auth.substr(kBearer.size()));
}

Result<void> authenticate_key_header(const ApiKeys& keys, ApiRequest& req, std::string_view header_name) {
  auto key = header(req, header_name);
  if (key.empty())
    return make_error(ErrorKind::unauthorized, "missing_api_key",
                      fmt::format("send your API key in the {} header", header_name));
  return tenant_of_key(keys, req, key);
}

std::optional<ApiResponse> authenticate_native(const ApiKeys& keys, ApiRequest& req) {
  if (auto r = authenticate_bearer(keys, req); !r) return error_response(r.error(), req.request_id);
  return std::nullopt;
}

}  // namespace crier::api
