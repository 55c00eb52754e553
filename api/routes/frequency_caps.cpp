// PUT/GET /v1/frequency-caps: the tenant's frequency-capping rules
// (engine/frequency_cap.h), {"rules": [{"channel": "email" | null, "max": N,
// "window_seconds": S}]}. Replaced whole; an empty list turns capping off.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/routes/routes.h"

namespace crier::api {
namespace json = boost::json;
namespace {

Error caps_unavailable() {
  return make_error(ErrorKind::unavailable, "frequency_caps_unavailable", "this server keeps no frequency caps");
}

Error invalid_rule(std::size_t i, std::string message, std::string_view member) {
  return make_error(ErrorKind::invalid, "invalid_frequency_cap", std::move(message),
                    fmt::format("rules[{}].{}", i, member));
}

json::object rules_view(const std::vector<FrequencyRule>& rules) {
  json::array a;
  for (const auto& r : rules)
    a.push_back(json::object{{"channel", r.channel ? json::value(to_string(*r.channel)) : json::value(nullptr)},
                             {"max", r.max},
                             {"window_seconds", r.window_ms / 1000}});
  return json::object{{"rules", std::move(a)}};
}

Result<std::vector<FrequencyRule>> parse_rules(const json::value& body) {
  const auto* o = body.if_object();
  const json::value* list = o ? o->if_contains("rules") : nullptr;
  if (!list || !list->is_array() || o->size() != 1)
    return make_error(ErrorKind::invalid, "invalid_body", "the body is {\"rules\": [...]}", "rules");
  if (list->get_array().size() > kMaxFrequencyRules)
    return make_error(ErrorKind::invalid, "invalid_frequency_cap", fmt::format("at most {} rules", kMaxFrequencyRules),
                      "rules");
  std::vector<FrequencyRule> rules;
  for (std::size_t i = 0; i < list->get_array().size(); ++i) {
    const auto* r = list->get_array()[i].if_object();
    if (!r) return invalid_rule(i, "a rule is an object", "");
    for (const auto& [k, v] : *r)
      if (k != "channel" && k != "max" && k != "window_seconds")
        return invalid_rule(i, fmt::format("unknown member '{}'", std::string_view(k)), k);
    FrequencyRule rule;
    if (const auto* c = r->if_contains("channel"); c && !c->is_null()) {
      auto ch = c->is_string() ? parse_channel(c->get_string()) : std::nullopt;
      if (!ch) return invalid_rule(i, "channel is one of email, sms, push, webhook, whatsapp, or null for all", "channel");
      rule.channel = *ch;
    }
    const auto* max = r->if_contains("max");
    if (!max || !max->is_int64() || max->get_int64() < 1 || max->get_int64() > kMaxFrequencyCap)
      return invalid_rule(i, fmt::format("max is a whole number from 1 to {}", kMaxFrequencyCap), "max");
    rule.max = static_cast<std::uint32_t>(max->get_int64());
    const auto* window = r->if_contains("window_seconds");
    if (!window || !window->is_int64() || window->get_int64() < 1 || window->get_int64() * 1000 > kMaxFrequencyWindowMs)
      return invalid_rule(i, "window_seconds is a whole number from 1 to 2592000 (30 days)", "window_seconds");
    rule.window_ms = window->get_int64() * 1000;
    rules.push_back(rule);
  }
  return rules;
}

}  // namespace

ApiResponse put_frequency_caps(ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.frequency_caps) return fail(caps_unavailable(), req);
  auto body = parse_json_body(req);
  if (!body) return fail(body.error(), req);
  auto rules = parse_rules(*body);
  if (!rules) return fail(rules.error(), req);
  if (auto r = ctx.frequency_caps->put_frequency_rules(req.tenant, *rules); !r) return fail(r.error(), req);
  return json_response(200, rules_view(*rules));
}

ApiResponse get_frequency_caps(ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.frequency_caps) return fail(caps_unavailable(), req);
  auto rules = ctx.frequency_caps->frequency_rules(req.tenant);
  if (!rules) return fail(rules.error(), req);
  return json_response(200, rules_view(*rules));
}

}  // namespace crier::api
