// PUT/GET/DELETE /v1/suppressions/{channel}/{address},
// GET /v1/suppressions/{channel}, POST /v1/suppressions (many at once): a
// tenant's addresses that are never sent to (engine/suppression.h).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/cursor.h"
#include "api/routes/routes.h"
#include "engine/suppression.h"
#include "engine/time_format.h"

namespace crier::api {
namespace json = boost::json;
namespace {

constexpr std::size_t kMaxBulkEntries = 10000;

Error unavailable() {
  return make_error(ErrorKind::unavailable, "suppressions_unavailable", "this server keeps no suppression list");
}

Result<Channel> channel_named(std::string_view name) {
  auto c = parse_channel(name);
  if (c) return *c;
  return make_error(ErrorKind::invalid, "invalid_channel",
                    fmt::format("'{}' is not a channel: email, sms, push, webhook or whatsapp", name), "channel");
}

json::object view(const Suppression& s) {
  return {{"channel", to_string(s.channel)},
          {"address", s.address},
          {"reason", s.reason.empty() ? json::value(nullptr) : json::value(s.reason)},
          {"created_at", format_rfc3339(s.created_at)}};
}

Result<std::string> reason_of(const json::value* v) {
  if (!v || v->is_null()) return std::string();
  if (!v->is_string() || v->get_string().size() > kMaxSuppressionReasonBytes)
    return make_error(ErrorKind::invalid, "invalid_reason", "reason must be a string of at most 256 bytes",
                      "reason");
  return std::string(v->get_string());
}

Result<json::object> optional_object_body(const ApiRequest& req) {
  if (auto r = expect_json(req); !r) return r.error();
  if (req.body.empty()) return json::object();
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec)
    return make_error(ErrorKind::invalid, "invalid_json", "the body is not valid JSON (UTF-8): " + ec.message());
  if (!body.is_object()) return make_error(ErrorKind::invalid, "invalid_body", "the body must be a JSON object");
  return std::move(body.as_object());
}

// The {channel}/{address} of a path, the address in the form it is kept.
struct Target {
  Channel channel;
  std::string address;
};
Result<Target> target_of(std::string_view channel, std::string_view address) {
  auto c = channel_named(channel);
  if (!c) return c.error();
  auto a = suppression_address(*c, address);
  if (!a) return a.error();
  return Target{*c, std::move(*a)};
}

Error not_found(Channel c, std::string_view address) {
  return make_error(ErrorKind::not_found, "suppression_not_found",
                    fmt::format("'{}' is not suppressed on {}", address, to_string(c)));
}

}  // namespace

ApiResponse put_suppression(ApiContext& ctx, const ApiRequest& req, std::string_view channel,
                            std::string_view address) {
  if (!ctx.suppressions) return fail(unavailable(), req);
  auto target = target_of(channel, address);
  if (!target) return fail(target.error(), req);
  const Channel c = target->channel;
  const std::string& a = target->address;
  auto body = optional_object_body(req);
  if (!body) return fail(body.error(), req);
  for (const auto& [k, v] : *body)
    if (k != "reason")
      return fail(make_error(ErrorKind::invalid, "unknown_field", fmt::format("unknown field '{}'", std::string_view(k)),
                             std::string(k)),
                  req);
  auto reason = reason_of(body->if_contains("reason"));
  if (!reason) return fail(reason.error(), req);
  Suppression s{req.tenant, c, a, *reason, ctx.jobs.now_ms()};
  auto created = ctx.suppressions->put_suppression(s);
  if (!created) return fail(created.error(), req);
  auto stored = ctx.suppressions->find_suppression(req.tenant, c, a);
  if (!stored) return fail(stored.error(), req);
  return json_response(*created ? 201 : 200, view(stored->value_or(s)));
}

ApiResponse get_suppression(ApiContext& ctx, const ApiRequest& req, std::string_view channel,
                            std::string_view address) {
  if (!ctx.suppressions) return fail(unavailable(), req);
  auto target = target_of(channel, address);
  if (!target) return fail(target.error(), req);
  const Channel c = target->channel;
  const std::string& a = target->address;
  auto s = ctx.suppressions->find_suppression(req.tenant, c, a);
  if (!s) return fail(s.error(), req);
  if (!*s) return fail(not_found(c, a), req);
  return json_response(200, view(**s));
}

ApiResponse delete_suppression(ApiContext& ctx, const ApiRequest& req, std::string_view channel,
                               std::string_view address) {
  if (!ctx.suppressions) return fail(unavailable(), req);
  auto target = target_of(channel, address);
  if (!target) return fail(target.error(), req);
  const Channel c = target->channel;
  const std::string& a = target->address;
  auto deleted = ctx.suppressions->delete_suppression(req.tenant, c, a);
  if (!deleted) return fail(deleted.error(), req);
  if (!*deleted) return fail(not_found(c, a), req);
  return json_response(200, json::object{{"channel", to_string(c)}, {"address", a}, {"deleted", true}});
}

ApiResponse list_suppressions(ApiContext& ctx, const ApiRequest& req, std::string_view channel) {
  if (!ctx.suppressions) return fail(unavailable(), req);
  auto c = channel_named(channel);
  if (!c) return fail(c.error(), req);
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  const std::string scope = fmt::format("suppressions:{}:{}", req.tenant, to_string(*c));
  auto after = cursor_after(req, scope);
  if (!after) return fail(after.error(), req);
  auto list = ctx.suppressions->list_suppressions(req.tenant, *c, *after, *limit + 1);
  if (!list) return fail(list.error(), req);
  const bool more = list->size() > *limit;
  if (more) list->pop_back();
  json::array items;
  for (const auto& s : *list) items.push_back(view(s));
  json::object paging{{"more", more},
                      {"cursor", more ? json::value(encode_bytes_cursor(scope, list->back().address))
                                      : json::value(nullptr)}};
  return json_response(200, json::object{{"suppressions", std::move(items)}, {"paging", std::move(paging)}});
}

// {"add": [{"channel", "address", "reason"?}], "remove": [{"channel", "address"}]}: each entry on its own
// (a refused one is listed, the others apply), adds before removes.
ApiResponse bulk_suppressions(ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.suppressions) return fail(unavailable(), req);
  auto body = optional_object_body(req);
  if (!body) return fail(body.error(), req);
  std::size_t total = 0;
  for (const auto& [k, v] : *body) {
    if (k != "add" && k != "remove")
      return fail(make_error(ErrorKind::invalid, "unknown_field", fmt::format("unknown field '{}'", std::string_view(k)),
                             std::string(k)),
                  req);
    if (!v.is_array())
      return fail(make_error(ErrorKind::invalid, "invalid_body", fmt::format("{} must be an array", std::string_view(k)),
                             std::string(k)),
                  req);
    total += v.get_array().size();
  }
  if (total > kMaxBulkEntries)
    return fail(make_error(ErrorKind::too_large, "too_many_entries",
                           fmt::format("at most {} entries per request", kMaxBulkEntries)),
                req);
  const std::int64_t now = ctx.jobs.now_ms();
  std::int64_t added = 0, removed = 0;
  json::array rejected;
  for (const bool adding : {true, false}) {
    const auto* list = body->if_contains(adding ? "add" : "remove");
    if (!list) continue;
    const auto& entries = list->get_array();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      auto refuse = [&](const Error& e) {
        rejected.push_back(json::object{{"list", adding ? "add" : "remove"}, {"index", i}, {"code", e.code},
                                        {"message", e.message}});
      };
      const auto* o = entries[i].if_object();
      const auto* ch = o ? o->if_contains("channel") : nullptr;
      const auto* ad = o ? o->if_contains("address") : nullptr;
      if (!ch || !ch->is_string() || !ad || !ad->is_string()) {
        refuse(make_error(ErrorKind::invalid, "invalid_entry", "an entry is {\"channel\", \"address\"}"));
        continue;
      }
      auto target = target_of(ch->get_string(), ad->get_string());
      if (!target) {
        refuse(target.error());
        continue;
      }
      if (adding) {
        auto reason = reason_of(o->if_contains("reason"));
        if (!reason) {
          refuse(reason.error());
          continue;
        }
        auto r = ctx.suppressions->put_suppression(
            Suppression{req.tenant, target->channel, target->address, *reason, now});
        if (!r) return fail(r.error(), req);
        added += *r ? 1 : 0;
      } else {
        auto r = ctx.suppressions->delete_suppression(req.tenant, target->channel, target->address);
        if (!r) return fail(r.error(), req);
        removed += *r ? 1 : 0;
      }
    }
  }
  return json_response(200, json::object{{"added", added}, {"removed", removed}, {"rejected", std::move(rejected)}});
}

}  // namespace crier::api
