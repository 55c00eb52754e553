#include "engine/user_validation.h"

#include <boost/url/parse.hpp>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace crier {
namespace {

Error invalid(std::string code, std::string message, std::string field) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::size_t json_depth(std::string_view json) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Result<std::string> normalize_phone(std::string_view phone) {
  std::string out;
  out.reserve(phone.size());
  for (char c : trim(phone)) {
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    out.push_back(c);
  }
  auto bad = [&] {
    return invalid("invalid_phone_number",
                   "phone must be in E.164 format: '+' then 2 to 15 digits, e.g. +14155550100",
                   "phone");
  };
  if (out.size() < 3 || out.size() > 16 || out[0] != '+' || out[1] == '0') return bad();
  if (!std::all_of(out.begin() + 1, out.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad();
  return out;
}

Result<std::string> normalize_email(std::string_view email) {
  email = trim(email);
  auto bad = [&](std::string why) {
    return invalid("invalid_email", "email " + why, "email");
  };
  if (email.size() > 254) return bad("is longer than 254 bytes");
  auto at = email.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == email.size())
    return bad("must look like name@example.com");
  std::string_view local = email.substr(0, at), domain = email.substr(at + 1);
  if (local.size() > 64) return bad("has a local part longer than 64 bytes");
  if (has_control_or_space(email) || local.find('@') != std::string_view::npos)
    return bad("must not contain spaces, control characters or a second '@'");
  auto dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos)
    return bad("must have a domain like example.com");
  std::string out(local);
  out.push_back('@');
  for (char c : domain) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

Result<std::string> normalize_webhook_url(std::string_view url) {
  url = trim(url);
  auto parsed = boost::urls::parse_absolute_uri(url);
  auto bad = [] {
    return invalid("invalid_webhook_url", "webhook_url must be an absolute http or https URL",
                   "webhook_url");
  };
  if (!parsed || url.size() > kMaxAddressBytes) return bad();
  auto scheme = parsed->scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) return bad();
  if (parsed->encoded_host().empty()) return bad();
  return std::string(url);
}

bool is_valid_locale(std::string_view locale) {
  // BCP 47 in the shape used in practice: a 2-3 letter language, then
  // subtags of 2-8 letters or digits, separated by '-' (or '_', normalised).
  if (locale.empty() || locale.size() > 35) return false;
  std::size_t start = 0;
  bool first = true;
  while (start <= locale.size()) {
    auto end = locale.find_first_of("-_", start);
    if (end == std::string_view::npos) end = locale.size();
    auto part = locale.substr(start, end - start);
    if (first) {
      if (part.size() < 2 || part.size() > 3 ||
          !std::all_of(part.begin(), part.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
        return false;
    } else if (part.size() < 1 || part.size() > 8 ||
               !std::all_of(part.begin(), part.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
      return false;
    }
    first = false;
    if (end == locale.size()) break;
    start = end + 1;
  }
  return true;
}

std::string canonical_locale(std::string_view locale) {
  std::string out;
  std::size_t start = 0;
  bool first = true;
  while (start <= locale.size()) {
    auto end = locale.find_first_of("-_", start);
    if (end == std::string_view::npos) end = locale.size();
    std::string part(locale.substr(start, end - start));
    for (auto& c : part) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!first && part.size() == 2) {
      for (auto& c : part) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));  // region
    } else if (!first && part.size() == 4 && std::isalpha(static_cast<unsigned char>(part[0]))) {
      part[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(part[0])));  // script
    }
    if (!first) out.push_back('-');
    out += part;
    first = false;
    if (end == locale.size()) break;
    start = end + 1;
  }
  return out;
}

Result<Recipient> validate_user(const RawUser& raw, const JobSpec& job, UserRules rules) {
  Recipient r;
  auto user_id = trim(raw.user_id);
  if (!raw.user_id.empty()) {
    if (user_id.empty() || user_id.size() > kMaxUserIdBytes ||
        std::any_of(user_id.begin(), user_id.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
      return invalid("invalid_user_id",
                     "user_id must be 1 to 256 bytes without control characters", "user_id");
    r.user_id = user_id;
  }
  if (!raw.email.empty()) {
    auto e = normalize_email(raw.email);
    if (!e) return e.error();
    r.email = std::move(*e);
  }
  if (!raw.phone.empty()) {
    auto p = normalize_phone(raw.phone);
    if (!p) return p.error();
    r.phone = std::move(*p);
  }
  if (!raw.push_token.empty()) {
    auto t = trim(raw.push_token);
    if (t.empty() || t.size() > kMaxAddressBytes || has_control_or_space(t))
      return invalid("invalid_push_token",
                     "push_token must be 1 to 2048 bytes without spaces or control characters",
                     "push_token");
    r.push_token = t;
  }
  if (!raw.webhook_url.empty()) {
    auto u = normalize_webhook_url(raw.webhook_url);
    if (!u) return u.error();
    r.webhook_url = std::move(*u);
  }
  if (!raw.locale.empty()) {
    if (!is_valid_locale(raw.locale))
      return invalid("invalid_locale", "locale must be a BCP 47 tag such as en or pt-BR", "locale");
    r.locale = canonical_locale(raw.locale);
  }
  if (!raw.data_json.empty()) {
    if (raw.data_json.size() > kMaxUserDataBytes)
      return invalid("invalid_data", "data must be at most 64 KiB of JSON", "data");
    if (raw.data_json.front() != '{')
      return invalid("invalid_data", "data must be a JSON object", "data");
    if (json_depth(raw.data_json) > kMaxUserDataDepth)
      return invalid("invalid_data", "data must be nested at most 32 levels deep (the object itself is 1)", "data");
    if (raw.data_json != "{}") r.data_json = raw.data_json;
  }
  if (!raw.preferences_json.empty()) {
    if (raw.preferences_json.size() > kMaxUserDataBytes || raw.preferences_json.front() != '{' ||
        json_depth(raw.preferences_json) > kMaxUserDataDepth)
      return invalid("invalid_preferences", "preferences must be a JSON object of at most 64 KiB, nested at most 32 levels deep",
                     "preferences");
    if (raw.preferences_json != "{}") r.preferences_json = raw.preferences_json;
  }

  // Every user needs an address on one of the job's channels (route_for
  // decides which, here and at dispatch), or a profile to take them from.
  if (rules.bare_user_ids && !r.user_id.empty()) return r;
  if (route_for(job, r)) {
    if (r.user_id.empty() && r.email.empty() && r.phone.empty() && r.push_token.empty() && r.webhook_url.empty())
      return invalid("missing_identity",
                     "the user needs a user_id or an address of its own, even when the job sends to its webhook_url",
                     "user_id");
    return r;
  }
  auto channels = routed_channels(job);
  std::string field(address_field(channels.front()));
  std::string message;
  if (!job.routing) {
    message = (job.channel == Channel::email ? "an " : "a ") + std::string(to_string(job.channel)) +
              " job needs " + field + " for every user";
  } else {
    message = "the user has no address on any of the job's channels (";
    for (std::size_t i = 0; i < channels.size(); ++i) {
      if (i > 0) message += ", ";
      message += std::string(to_string(channels[i])) + " needs " + std::string(address_field(channels[i]));
    }
    message += ")";
  }
  return invalid("missing_address", std::move(message), std::move(field));
}

std::optional<DedupeKey> dedupe_key(const Recipient& r, Channel channel) {
  // A one-byte tag keeps a user_id from colliding with an equal address.
  std::string_view identity;
  char tag = 'u';
  auto pick = [&](std::string_view value, char t) {
    if (identity.empty() && !value.empty()) {
      identity = value;
      tag = t;
    }
  };
  pick(r.user_id, 'u');
  // The channel's own address first, then any other the user has.
  switch (channel) {
    case Channel::email: pick(r.email, 'e'); break;
    case Channel::sms:
    case Channel::whatsapp: pick(r.phone, 'p'); break;
    case Channel::push: pick(r.push_token, 't'); break;
    case Channel::webhook: pick(r.webhook_url, 'w'); break;
  }
  pick(r.email, 'e');
  pick(r.phone, 'p');
  pick(r.push_token, 't');
  pick(r.webhook_url, 'w');
  if (identity.empty()) return std::nullopt;
  std::string buf;
  buf.reserve(identity.size() + 1);
  buf.push_back(tag);
  buf.append(identity);
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, XXH3_128bits(buf.data(), buf.size()));
  DedupeKey key;
  std::memcpy(key.data(), canon.digest, key.size());
  return key;
}

std::optional<DedupeKey> dedupe_key(const Recipient& r, const JobSpec& job) {
  return dedupe_key(r, route_for(job, r).value_or(job.channel));
}

}  // namespace crier
