// GET /v1/webhook-secret, POST /v1/webhook-secret/rotate: the tenant's own
// webhook signing secret, so its receivers can verify what Crier sends on
// its behalf (webhooks and callbacks), and rotate it without losing a
// message: during the grace period both secrets sign.
#include <boost/json.hpp>
#include <fmt/format.h>

#include <chrono>

#include "api/idempotency.h"
#include "api/routes/routes.h"
#include "engine/time_format.h"

namespace crier::api {
namespace json = boost::json;
namespace {

constexpr std::int64_t kDefaultGraceSeconds = 86'400;
constexpr std::int64_t kMaxGraceSeconds = 30 * 86'400;

json::object secret_view(const TenantSigningSecrets& s) {
  const bool previous = !s.previous.empty();
  return json::object{
      {"secret", s.current},
      {"created_at", s.created_at ? json::value(format_rfc3339(s.created_at)) : json::value(nullptr)},
      {"previous_secret", previous ? json::value(s.previous) : json::value(nullptr)},
      {"previous_expires_at", previous ? json::value(format_rfc3339(s.previous_expires_at)) : json::value(nullptr)}};
}

Error unavailable() {
  return make_error(ErrorKind::unavailable, "signing_unavailable", "webhook signing is not configured on this server");
}

}  // namespace

ApiResponse get_webhook_secret(ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.signing) return fail(unavailable(), req);
  auto s = ctx.signing->secrets(req.tenant);
  if (!s) return fail(s.error(), req);
  return json_response(200, secret_view(*s));
}

ApiResponse rotate_webhook_secret(ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.signing) return fail(unavailable(), req);
  if (auto r = expect_json(req); !r) return fail(r.error(), req);
  std::int64_t grace = kDefaultGraceSeconds;
  if (!req.body.empty()) {
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec) return fail(make_error(ErrorKind::invalid, "invalid_json", "the body is not valid JSON (UTF-8): " + ec.message()), req);
    if (!v.is_object()) return fail(make_error(ErrorKind::invalid, "invalid_body", "the body must be a JSON object"), req);
    for (const auto& [k, value] : v.get_object()) {
      if (k != "grace_period_seconds")
        return fail(make_error(ErrorKind::invalid, "unknown_field",
                               fmt::format("unknown field '{}'", std::string_view(k)), std::string(k)),
                    req);
      if (value.is_null()) continue;
      const auto* n = value.if_int64();
      const auto* u = value.if_uint64();
      if ((!n && !u) || (n && (*n < 0 || *n > kMaxGraceSeconds)) || (u && *u > static_cast<std::uint64_t>(kMaxGraceSeconds)))
        return fail(make_error(ErrorKind::invalid, "invalid_grace_period",
                               fmt::format("grace_period_seconds must be a whole number from 0 to {}", kMaxGraceSeconds),
                               "grace_period_seconds"),
                    req);
      grace = n ? *n : static_cast<std::int64_t>(*u);
    }
  }
  // Under an Idempotency-Key the answer (the secret made) is stored in the
  // rotation's own write: a retry after a crash replays it rather than
  // rotating again.
  TenantSigning::AnswerOfRotation answer;
  if (req.idempotency)
    answer = [&](const TenantSigningSecrets& made) {
      return answer_record(*req.idempotency, json_response(200, secret_view(made)));
    };
  auto s = ctx.signing->rotate(req.tenant, std::chrono::seconds(grace), answer);
  if (!s) return fail(s.error(), req);
  return json_response(200, secret_view(*s));
}

}  // namespace crier::api
