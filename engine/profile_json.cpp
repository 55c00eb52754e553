// Parsing, checking and writing profiles as JSON.
#include "engine/profile_json.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "engine/time_format.h"
#include "engine/user_validation.h"

namespace crier {
namespace json = boost::json;
namespace {

Error invalid(std::string code, std::string message, std::string field) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

// "Europe/Paris", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+3".
bool is_timezone_name(std::string_view tz) {
  if (tz.empty() || tz.size() > 64 || tz.front() == '/' || tz.back() == '/') return false;
  return std::all_of(tz.begin(), tz.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+';
  });
}

// A string member, or empty for a missing or null one.
Result<std::string_view> optional_string(const json::object& body, std::string_view name) {
  const auto* v = body.if_contains(name);
  if (!v || v->is_null()) return std::string_view();
  if (!v->is_string())
    return invalid("invalid_profile", fmt::format("{} must be a string or null", name), std::string(name));
  return std::string_view(v->get_string());
}

Result<void> read_push_tokens(const json::value* v, Profile& p) {
  if (!v || v->is_null()) return {};
  const auto* items = v->if_array();
  if (!items || items->size() > kMaxProfilePushTokens)
    return invalid("invalid_profile", fmt::format("push_tokens must be an array of at most {} tokens",
                                                  kMaxProfilePushTokens), "push_tokens");
  for (std::size_t i = 0; i < items->size(); ++i) {
    const auto* token = (*items)[i].if_string();
    const std::string field = fmt::format("push_tokens[{}]", i);
    if (!token || token->empty() || token->size() > kMaxAddressBytes ||
        std::any_of(token->begin(), token->end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; }))
      return invalid("invalid_push_token", "a push token is 1 to 2048 bytes without spaces or control characters",
                     field);
    if (std::find(p.push_tokens.begin(), p.push_tokens.end(), std::string_view(*token)) == p.push_tokens.end())
      p.push_tokens.emplace_back(*token);
  }
  return {};
}

Result<void> read_aliases(const json::value* v, Profile& p) {
  if (!v || v->is_null()) return {};
  const auto* items = v->if_array();
  if (!items || items->size() > kMaxProfileAliases)
    return invalid("invalid_profile",
                   fmt::format("aliases must be an array of at most {} aliases", kMaxProfileAliases), "aliases");
  for (std::size_t i = 0; i < items->size(); ++i) {
    const std::string field = fmt::format("aliases[{}]", i);
    const auto* o = (*items)[i].if_object();
    auto part = [&](std::string_view name) -> const json::string* {
      const auto* s = o ? o->if_contains(name) : nullptr;
      return s ? s->if_string() : nullptr;
    };
    const auto* name = part("alias_name");
    const auto* label = part("alias_label");
    auto good = [](const json::string* s) {
      return s && !s->empty() && s->size() <= kMaxAliasBytes && !has_control(*s);
    };
    if (!o || o->size() != 2 || !good(name) || !good(label))
      return invalid("invalid_alias",
                     "an alias is {\"alias_name\", \"alias_label\"}, each 1 to 256 bytes without control characters",
                     field);
    ProfileAlias alias{std::string(*name), std::string(*label)};
    if (std::find(p.aliases.begin(), p.aliases.end(), alias) == p.aliases.end()) p.aliases.push_back(alias);
  }
  return {};
}

Result<void> read_attributes(const json::value* v, Profile& p) {
  if (!v || v->is_null()) return {};
  const auto* o = v->if_object();
  if (!o) return invalid("invalid_profile", "attributes must be an object", "attributes");
  for (const auto& [name, value] : *o) {
    if (name.empty() || name.size() > kMaxAliasBytes || has_control(name))
      return invalid("invalid_profile", "an attribute name is 1 to 256 bytes without control characters",
                     "attributes");
  }
  const std::string text = json::serialize(*o);
  if (text.size() > kMaxProfileAttributesBytes)
    return invalid("invalid_profile",
                   fmt::format("attributes take at most {} bytes as JSON", kMaxProfileAttributesBytes),
                   "attributes");
  if (json_depth(text) > kMaxUserDataDepth)
    return invalid("invalid_profile", fmt::format("attributes nest deeper than {} levels", kMaxUserDataDepth),
                   "attributes");
  p.attributes = *o;
  return {};
}

Result<void> read_subscriptions(const json::value* v, Profile& p) {
  if (!v || v->is_null()) return {};
  const auto* o = v->if_object();
  if (!o) return invalid("invalid_profile", "subscriptions must be an object of channel: state", "subscriptions");
  for (const auto& [name, value] : *o) {
    const std::string field = fmt::format("subscriptions.{}", std::string_view(name));
    auto channel = parse_channel(name);
    if (!channel)
      return invalid("invalid_subscription", "subscriptions are keyed by channel: email, sms, push, webhook, whatsapp",
                     field);
    if (value.is_null()) continue;  // the default
    auto state = value.is_string() ? parse_subscription_state(value.get_string()) : std::nullopt;
    if (!state)
      return invalid("invalid_subscription", "a subscription is opted_in, subscribed or unsubscribed", field);
    p.subscriptions[static_cast<std::size_t>(*channel)] = *state;
  }
  return {};
}

// The server's times, as a stored record holds them; 0 when absent.
std::int64_t server_time(const json::object& body, std::string_view name) {
  const auto* v = body.if_contains(name);
  if (!v || !v->is_string()) return 0;
  return parse_rfc3339(v->get_string()).value_or(0);
}

constexpr std::string_view kMembers[] = {"user_id",     "email",   "phone",      "webhook_url",
                                         "locale",      "timezone", "push_tokens", "aliases",
                                         "attributes",  "subscriptions", "created_at", "updated_at"};

}  // namespace

Result<void> check_profile_user_id(std::string_view user_id) {
  if (user_id.empty() || user_id.size() > kMaxUserIdBytes || has_control(user_id))
    return invalid("invalid_user_id", "user_id must be 1 to 256 bytes without control characters", "user_id");
  return {};
}

Result<Profile> profile_from_json(const json::object& body, std::string_view tenant, std::string_view user_id) {
  if (auto r = check_profile_user_id(user_id); !r) return r.error();
  for (const auto& [name, value] : body)
    if (std::find(std::begin(kMembers), std::end(kMembers), std::string_view(name)) == std::end(kMembers))
      return invalid("invalid_profile", fmt::format("unknown member '{}'", std::string_view(name)), std::string(name));
  Profile p;
  p.tenant = tenant;
  p.user_id = user_id;
  if (const auto* id = body.if_contains("user_id"); id && !id->is_null() &&
                                                     !(id->is_string() && id->get_string() == user_id))
    return invalid("invalid_profile", "the body's user_id differs from the path's", "user_id");

  auto email = optional_string(body, "email");
  if (!email) return email.error();
  if (!email->empty()) {
    auto e = normalize_email(*email);
    if (!e) return e.error();
    p.email = std::move(*e);
  }
  auto phone = optional_string(body, "phone");
  if (!phone) return phone.error();
  if (!phone->empty()) {
    auto n = normalize_phone(*phone);
    if (!n) return n.error();
    p.phone = std::move(*n);
  }
  auto url = optional_string(body, "webhook_url");
  if (!url) return url.error();
  if (!url->empty()) {
    auto u = normalize_webhook_url(*url);
    if (!u) return u.error();
    p.webhook_url = std::move(*u);
  }
  auto locale = optional_string(body, "locale");
  if (!locale) return locale.error();
  if (!locale->empty()) {
    if (!is_valid_locale(*locale))
      return invalid("invalid_locale", "locale must be a BCP 47 tag such as en or pt-BR", "locale");
    p.locale = canonical_locale(*locale);
  }
  auto tz = optional_string(body, "timezone");
  if (!tz) return tz.error();
  if (!tz->empty()) {
    if (!is_timezone_name(*tz))
      return invalid("invalid_timezone", "timezone must be an IANA name such as Europe/Paris", "timezone");
    p.timezone = *tz;
  }
  if (auto r = read_push_tokens(body.if_contains("push_tokens"), p); !r) return r.error();
  if (auto r = read_aliases(body.if_contains("aliases"), p); !r) return r.error();
  if (auto r = read_attributes(body.if_contains("attributes"), p); !r) return r.error();
  if (auto r = read_subscriptions(body.if_contains("subscriptions"), p); !r) return r.error();
  p.created_at = server_time(body, "created_at");
  p.updated_at = server_time(body, "updated_at");
  return p;
}

json::object profile_to_json(const Profile& p) {
  json::object o;
  auto text = [](const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); };
  o["user_id"] = p.user_id;
  o["email"] = text(p.email);
  o["phone"] = text(p.phone);
  o["webhook_url"] = text(p.webhook_url);
  o["locale"] = text(p.locale);
  o["timezone"] = text(p.timezone);
  json::array tokens;
  for (const auto& t : p.push_tokens) tokens.emplace_back(t);
  o["push_tokens"] = std::move(tokens);
  json::array aliases;
  for (const auto& a : p.aliases) aliases.emplace_back(json::object{{"alias_name", a.name}, {"alias_label", a.label}});
  o["aliases"] = std::move(aliases);
  o["attributes"] = p.attributes;
  json::object subscriptions;
  for (std::size_t c = 0; c < kChannelCount; ++c)
    if (p.subscriptions[c]) subscriptions[to_string(static_cast<Channel>(c))] = to_string(*p.subscriptions[c]);
  o["subscriptions"] = std::move(subscriptions);
  o["created_at"] = format_rfc3339(p.created_at);
  o["updated_at"] = format_rfc3339(p.updated_at);
  return o;
}

void merge_patch(json::value& target, const json::value& patch) {
  const auto* members = patch.if_object();
  if (!members) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = json::object();
  auto& into = target.as_object();
  for (const auto& [name, value] : *members) {
    if (value.is_null()) {
      into.erase(name);
    } else {
      merge_patch(into[name], value);
    }
  }
}

namespace {

// Whether merging `o` into nothing would drop a member: a null anywhere in
// its objects (a null of a member the profile does not know is dropped by
// the merge, and refused when read as it is).
bool holds_null(const json::object& o) {
  for (const auto& [name, v] : o) {
    if (v.is_null()) return true;
    if (const auto* inner = v.if_object(); inner && holds_null(*inner)) return true;
  }
  return false;
}

}  // namespace

Result<Profile> merge_into(const std::optional<Profile>& current, const json::object& patch, std::string_view tenant,
                           std::string_view user_id, std::int64_t now) {
  Result<Profile> p = [&]() -> Result<Profile> {
    // A new profile is the patch itself, unless merging would drop a null.
    if (!current && !holds_null(patch)) return profile_from_json(patch, tenant, user_id);
    json::value merged = current ? json::value(profile_to_json(*current)) : json::value(json::object());
    merge_patch(merged, patch);
    return profile_from_json(merged.as_object(), tenant, user_id);
  }();
  if (!p) return p;
  p->updated_at = now;
  p->created_at = current ? current->created_at : now;
  return p;
}

}  // namespace crier
