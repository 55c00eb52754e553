#include "storage/profile_codec.h"

#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include "engine/time_format.h"
#include "engine/user_validation.h"

namespace crier {
namespace json = boost::json;
namespace {

// A JSON string of `s` (valid UTF-8, as everything stored is): quotes,
// backslashes and control characters escaped, the rest as it is.
void put_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // bytes copied as they are, in runs
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (u == '"' || u == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(u));
    } else {
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void put_member(std::string& out, std::string_view name) {
  if (out.size() > 1) out.push_back(',');
  put_string(out, name);
  out.push_back(':');
}

void put_text(std::string& out, std::string_view name, const std::string& s) {
  put_member(out, name);
  if (s.empty()) out += "null";
  else put_string(out, s);
}

const std::string* text_of(const json::value& v) {
  static thread_local std::string scratch;
  if (!v.is_string()) return nullptr;
  scratch.assign(v.get_string().data(), v.get_string().size());
  return &scratch;
}

}  // namespace

std::string encode_profile(const Profile& p) {
  std::string out;
  out.reserve(256);
  out.push_back('{');
  put_text(out, "user_id", p.user_id);
  put_text(out, "email", p.email);
  put_text(out, "phone", p.phone);
  put_text(out, "webhook_url", p.webhook_url);
  put_text(out, "locale", p.locale);
  put_text(out, "timezone", p.timezone);
  put_member(out, "push_tokens");
  out.push_back('[');
  for (std::size_t i = 0; i < p.push_tokens.size(); ++i) {
    if (i) out.push_back(',');
    put_string(out, p.push_tokens[i]);
  }
  out.push_back(']');
  put_member(out, "aliases");
  out.push_back('[');
  for (std::size_t i = 0; i < p.aliases.size(); ++i) {
    if (i) out.push_back(',');
    out += "{\"alias_name\":";
    put_string(out, p.aliases[i].name);
    out += ",\"alias_label\":";
    put_string(out, p.aliases[i].label);
    out.push_back('}');
  }
  out.push_back(']');
  put_member(out, "attributes");
  out += json::serialize(p.attributes);
  put_member(out, "subscriptions");
  out.push_back('{');
  bool first = true;
  for (std::size_t c = 0; c < kChannelCount; ++c) {
    if (!p.subscriptions[c]) continue;
    if (!first) out.push_back(',');
    first = false;
    put_string(out, to_string(static_cast<Channel>(c)));
    out.push_back(':');
    put_string(out, to_string(*p.subscriptions[c]));
  }
  out.push_back('}');
  put_member(out, "created_at");
  put_string(out, format_rfc3339(p.created_at));
  put_member(out, "updated_at");
  put_string(out, format_rfc3339(p.updated_at));
  out.push_back('}');
  return out;
}

std::optional<Profile> decode_profile(std::string_view tenant, std::string_view user_id, std::string_view record) {
  // One parser per thread: it keeps its buffers from record to record.
  // As deep as attributes may nest (kMaxUserDataDepth), inside the record.
  static thread_local json::parser parser(json::storage_ptr(), [] {
    json::parse_options o;
    o.max_depth = 2 * kMaxUserDataDepth;
    return o;
  }());
  boost::system::error_code ec;
  parser.reset();
  parser.write(record.data(), record.size(), ec);
  if (ec) return std::nullopt;  // write takes a whole text, trailing bytes refused
  json::value v = parser.release();
  auto* o = v.if_object();
  if (!o) return std::nullopt;
  Profile p;
  p.tenant = tenant;
  p.user_id = user_id;
  for (auto& [name, value] : *o) {
    const std::string_view key = name;
    if (value.is_null()) continue;
    if (key == "user_id") continue;  // the key's
    if (key == "email" || key == "phone" || key == "webhook_url" || key == "locale" || key == "timezone") {
      const auto* s = text_of(value);
      if (!s) return std::nullopt;
      (key == "email"         ? p.email
       : key == "phone"       ? p.phone
       : key == "webhook_url" ? p.webhook_url
       : key == "locale"      ? p.locale
                              : p.timezone) = *s;
    } else if (key == "push_tokens") {
      const auto* a = value.if_array();
      if (!a) return std::nullopt;
      for (const auto& t : *a) {
        if (!t.is_string()) return std::nullopt;
        p.push_tokens.emplace_back(t.get_string());
      }
    } else if (key == "aliases") {
      const auto* a = value.if_array();
      if (!a) return std::nullopt;
      for (const auto& item : *a) {
        const auto* ao = item.if_object();
        const auto* n = ao ? ao->if_contains("alias_name") : nullptr;
        const auto* l = ao ? ao->if_contains("alias_label") : nullptr;
        if (!n || !l || !n->is_string() || !l->is_string()) return std::nullopt;
        p.aliases.push_back({std::string(n->get_string()), std::string(l->get_string())});
      }
    } else if (key == "attributes") {
      auto* a = value.if_object();
      if (!a) return std::nullopt;
      p.attributes = std::move(*a);  // the same storage: a move, not a copy
    } else if (key == "subscriptions") {
      const auto* s = value.if_object();
      if (!s) return std::nullopt;
      for (const auto& [channel_name, state_value] : *s) {
        auto channel = parse_channel(channel_name);
        auto state = state_value.is_string() ? parse_subscription_state(state_value.get_string()) : std::nullopt;
        if (!channel || !state) return std::nullopt;
        p.subscriptions[static_cast<std::size_t>(*channel)] = *state;
      }
    } else if (key == "created_at" || key == "updated_at") {
      auto t = value.is_string() ? parse_rfc3339(value.get_string()) : std::nullopt;
      if (!t) return std::nullopt;
      (key == "created_at" ? p.created_at : p.updated_at) = *t;
    } else {
      return std::nullopt;
    }
  }
  return p;
}

}  // namespace crier
