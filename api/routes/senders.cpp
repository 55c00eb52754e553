// PUT/GET/DELETE /v1/senders/{phone_number_id}, GET /v1/senders: WhatsApp
// sender numbers, their tier and the quota they have left (engine/sender.h,
// engine/sender_quota.h).
#include <boost/json.hpp>
#include <fmt/format.h>

#include <cmath>

#include "api/cursor.h"
#include "api/routes/routes.h"
#include "api/views.h"

namespace crier::api {
namespace json = boost::json;
namespace {

Error bad(std::string code, std::string message, std::string field) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

Result<void> check_id(std::string_view id) {
  if (is_valid_sender_id(id)) return {};
  return bad("invalid_sender_id", "a sender id (the phone_number_id) is 1 to 64 letters, digits, '-' or '_'",
             "phone_number_id");
}

Error sender_not_found(std::string_view id) {
  return make_error(ErrorKind::not_found, "sender_not_found", fmt::format("no sender '{}'", id));
}

Result<SenderStore*> store_of(ApiContext& ctx) {
  if (!ctx.senders) return make_error(ErrorKind::internal, "storage_error", "no sender store is configured");
  return ctx.senders;
}

// A string member: absent or null is "", anything else but a string of at
// most `max` bytes is an error.
Result<std::string> opt_string(const json::object& o, std::string_view key, std::size_t max) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::string();
  if (!v->is_string()) return bad("invalid_field", fmt::format("{} must be a string", key), std::string(key));
  if (v->get_string().size() > max)
    return bad("invalid_field", fmt::format("{} must be at most {} bytes", key, max), std::string(key));
  return std::string(v->get_string());
}

// The sender a PUT body describes (tenant, id and times are the caller's).
Result<Sender> parse_sender(ApiContext& ctx, const json::value& body) {
  if (!body.is_object()) return bad("invalid_body", "the body must be a JSON object", "");
  const auto& o = body.get_object();
  static constexpr std::string_view kKnown[] = {"display_phone_number", "verified_name", "quality_rating",
                                                "messaging_limit_tier", "provider", "messages_per_second"};
  for (const auto& [k, v] : o)
    if (std::find(std::begin(kKnown), std::end(kKnown), std::string_view(k)) == std::end(kKnown))
      return bad("unknown_field", fmt::format("unknown field '{}'", std::string_view(k)), std::string(k));

  Sender s;
  for (auto [key, target, max] : {std::tuple{"display_phone_number", &s.display_phone_number, std::size_t{64}},
                                  std::tuple{"verified_name", &s.verified_name, std::size_t{256}}}) {
    auto v = opt_string(o, key, max);
    if (!v) return v.error();
    if (v->empty()) return bad("missing_field", fmt::format("{} is required (a non-empty string)", key), key);
    *target = std::move(*v);
  }
  auto rating = opt_string(o, "quality_rating", 16);
  if (!rating) return rating.error();
  if (!rating->empty()) {
    auto r = parse_quality_rating(*rating);
    if (!r) return bad("invalid_quality_rating", "quality_rating must be GREEN, YELLOW or RED", "quality_rating");
    s.quality_rating = *r;
  }
  auto tier = opt_string(o, "messaging_limit_tier", 32);
  if (!tier) return tier.error();
  if (!tier->empty()) {
    auto t = parse_messaging_tier(*tier);
    if (!t)
      return bad("invalid_messaging_limit_tier",
                 "messaging_limit_tier must be TIER_250, TIER_1K, TIER_10K, TIER_100K or TIER_UNLIMITED",
                 "messaging_limit_tier");
    s.tier = *t;
  }
  auto provider = opt_string(o, "provider", 64);
  if (!provider) return provider.error();
  if (!provider->empty() && !ctx.provider_exists(*provider))
    return make_error(ErrorKind::unprocessable, "unknown_provider",
                      fmt::format("no provider '{}' is configured", *provider), "provider");
  s.provider = std::move(*provider);
  if (auto* r = o.if_contains("messages_per_second"); r && !r->is_null()) {
    double rate = r->is_number() ? r->to_number<double>() : 0;
    if (!(rate > 0) || rate > kMaxSenderRate || !std::isfinite(rate))
      return bad("invalid_messages_per_second",
                 fmt::format("messages_per_second must be a number above 0 and at most {}", kMaxSenderRate),
                 "messages_per_second");
    s.messages_per_second = rate;
  }
  return s;
}

// The sender's view with its quota now.
Result<json::object> view_now(ApiContext& ctx, SenderStore& store, const Sender& s) {
  const std::int64_t now = ctx.jobs.now_ms();
  auto uses = store.quota_uses(s.tenant, s.phone_number_id, now - kQuotaWindowMs);
  if (!uses) return uses.error();
  return sender_view(s, quota_status(s.tier, *uses, now));
}

}  // namespace

ApiResponse put_sender(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (auto r = check_id(id); !r) return fail(r.error(), req);
  auto store = store_of(ctx);
  if (!store) return fail(store.error(), req);
  if (auto r = expect_json(req); !r) return fail(r.error(), req);
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec) return fail(bad("invalid_json", "the body is not valid JSON (UTF-8): " + ec.message(), ""), req);
  auto s = parse_sender(ctx, body);
  if (!s) return fail(s.error(), req);
  auto existing = (*store)->find_sender(req.tenant, id);
  if (!existing) return fail(existing.error(), req);
  s->tenant = req.tenant;
  s->phone_number_id = id;
  s->updated_at = ctx.jobs.now_ms();
  s->created_at = *existing ? (*existing)->created_at : s->updated_at;
  if (auto r = (*store)->put_sender(*s); !r) return fail(r.error(), req);
  auto view = view_now(ctx, **store, *s);
  if (!view) return fail(view.error(), req);
  return json_response(*existing ? 200 : 201, *view);
}

ApiResponse get_sender(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (auto r = check_id(id); !r) return fail(r.error(), req);
  auto store = store_of(ctx);
  if (!store) return fail(store.error(), req);
  auto s = (*store)->find_sender(req.tenant, id);
  if (!s) return fail(s.error(), req);
  if (!*s) return fail(sender_not_found(id), req);
  auto view = view_now(ctx, **store, **s);
  if (!view) return fail(view.error(), req);
  return json_response(200, *view);
}

ApiResponse delete_sender(ApiContext& ctx, const ApiRequest& req, std::string_view id) {
  if (auto r = check_id(id); !r) return fail(r.error(), req);
  auto store = store_of(ctx);
  if (!store) return fail(store.error(), req);
  auto deleted = (*store)->delete_sender(req.tenant, id);
  if (!deleted) return fail(deleted.error(), req);
  if (!*deleted) return fail(sender_not_found(id), req);
  return json_response(200, json::object{{"phone_number_id", id}, {"deleted", true}});
}

ApiResponse list_senders(ApiContext& ctx, const ApiRequest& req) {
  auto store = store_of(ctx);
  if (!store) return fail(store.error(), req);
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  auto after = cursor_after(req, "senders:" + req.tenant);
  if (!after) return fail(after.error(), req);
  // One more than asked tells whether there is a next page.
  auto list = (*store)->list_senders(req.tenant, *after, *limit + 1);
  if (!list) return fail(list.error(), req);
  bool more = list->size() > *limit;
  if (more) list->pop_back();
  json::array items;
  for (const auto& s : *list) {
    auto view = view_now(ctx, **store, s);
    if (!view) return fail(view.error(), req);
    items.push_back(std::move(*view));
  }
  json::object paging{{"more", more},
                      {"cursor", more ? json::value(encode_bytes_cursor("senders:" + req.tenant, list->back().phone_number_id))
                                      : json::value(nullptr)}};
  return json_response(200, json::object{{"senders", std::move(items)}, {"paging", std::move(paging)}});
}

}  // namespace crier::api
