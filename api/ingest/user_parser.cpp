#include "api/ingest/user_parser.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>

namespace crier::api::ingest {
namespace {

bool recoverable(simdjson::error_code e) {
  return e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_ERROR ||
         e == simdjson::NUMBER_OUT_OF_RANGE;
}

// simdjson_result's implicit conversions throw simdjson_error, which nothing
// here catches (a 500 for a malformed line): values are read through these,
// which turn any error into the body's (or the line's) syntax error.
bool null_value(od::value& v) {
  bool null = false;
  if (auto e = v.is_null().get(null)) throw SyntaxError{simdjson::error_message(e)};
  return null;
}

od::json_type type_of(od::value& v) {
  od::json_type type{};
  if (auto e = v.type().get(type)) throw SyntaxError{simdjson::error_message(e)};
  return type;
}

// "-12", "0", "18446744073709551615": digits only, within int64 or uint64.
bool whole_64bit(std::string_view s) {
  if (s.empty() || s.find_first_not_of("-0123456789") != std::string_view::npos) return false;
  const char* end = s.data() + s.size();
  if (s.front() == '-') {
    std::int64_t i;
    auto [p, ec] = std::from_chars(s.data(), end, i);
    return ec == std::errc() && p == end;
  }
  std::uint64_t u;
  auto [p, ec] = std::from_chars(s.data(), end, u);
  return ec == std::errc() && p == end;
}

}  // namespace

Error bad_user(std::string code, std::string message, std::string field) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

void throw_if_fatal(simdjson::error_code e) {
  if (e && !recoverable(e)) throw SyntaxError{simdjson::error_message(e)};
}

Result<RawUser> UserParser::parse(od::value value) {
  od::object obj;
  auto e = value.get_object().get(obj);
  throw_if_fatal(e);
  if (e) {
    check_skipped(value);
    return bad_user("invalid_user", "each user must be a JSON object");
  }
  return parse(obj);
}

Result<RawUser> UserParser::parse(od::object& obj) {
  RawUser u;
  std::optional<Error> error;
  for (auto field : obj) {
    std::string_view key;
    throw_if_fatal(field.unescaped_key().get(key));
    od::value v;
    throw_if_fatal(field.value().get(v));
    if (error) {  // keep walking so the document stays in step
      check_skipped(v);
      continue;
    }
    if (key == "data" || key == "preferences") {
      auto r = raw_object(v, key == "data" ? data_ : prefs_, std::string(key));
      if (!r) error = r.error();
      else (key == "data" ? u.data_json : u.preferences_json) = *r;
    } else if (key == "user_id") {
      auto r = user_id(v);
      if (!r) error = r.error();
      else u.user_id = *r;
    } else {
      std::string_view* target = key == "email"         ? &u.email
                                 : key == "phone"       ? &u.phone
                                 : key == "push_token"  ? &u.push_token
                                 : key == "webhook_url" ? &u.webhook_url
                                 : key == "locale"      ? &u.locale
                                                        : nullptr;
      if (!target) {  // unknown fields are ignored (documented)
        check_skipped(v);
        continue;
      }
      if (null_value(v)) continue;
      std::string_view s;
      auto e = v.get_string().get(s);
      throw_if_fatal(e);
      if (e) {
        check_skipped(v);
        error = bad_user("invalid_field", fmt::format("{} must be a string", key), std::string(key));
      } else if (s.empty()) error = bad_user("invalid_field", fmt::format("{} must not be empty", key), std::string(key));
      else *target = s;
    }
  }
  if (error) return *error;
  return u;
}

void UserParser::check_skipped(od::value& v) {
  od::json_type type = type_of(v);
  std::string_view raw;
  if (type == od::json_type::object) {
    od::object o;
    throw_if_fatal(v.get_object().get(o));
    throw_if_fatal(o.raw_json().get(raw));
  } else if (type == od::json_type::array) {
    od::array a;
    throw_if_fatal(v.get_array().get(a));
    throw_if_fatal(a.raw_json().get(raw));
  } else {
    raw = v.raw_json_token();
  }
  skipped_.resize(raw.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(skipped_.data(), raw.data(), raw.size());
  simdjson::dom::element el;
  if (auto e = validator_.parse(skipped_.data(), raw.size(), false).get(el))
    throw SyntaxError{simdjson::error_message(e)};
  // A scalar is consumed too: ondemand skips an unread one by counting
  // brackets of any kind up to the next closing one, which swallowed
  // what follows it ({"users":[{...},"e":"z"}]} was accepted); read, the
  // next token must be a comma or the right closing bracket.
  switch (type) {
    case od::json_type::string: {
      od::raw_json_string unused;
      throw_if_fatal(v.get_raw_json_string().get(unused));
      break;
    }
    case od::json_type::number: {
      double unused;
      throw_if_fatal(v.get_double().get(unused));
      break;
    }
    case od::json_type::boolean: {
      bool unused;
      throw_if_fatal(v.get_bool().get(unused));
      break;
    }
    case od::json_type::null: null_value(v); break;
    default: break;  // objects and arrays: consumed by raw_json()
  }
}

Result<std::string_view> UserParser::user_id(od::value& v) {
  std::string_view s;
  auto e = v.get_string().get(s);
  if (!e) return s;
  throw_if_fatal(e);
  // Whole numbers that fit 64 bits are accepted as ids, as written. Any
  // other number (1.5, 1e3, 1e999, 2^64) has no one decimal form a client
  // would find it under again: refused rather than stored as something else.
  std::string_view raw = v.raw_json_token();
  if (type_of(v) == od::json_type::number) {
    id_buf_.assign(raw);
    while (!id_buf_.empty() && std::isspace(static_cast<unsigned char>(id_buf_.back()))) id_buf_.pop_back();
    if (whole_64bit(id_buf_)) return std::string_view(id_buf_);
    return bad_user("invalid_user_id", "a numeric user_id must be a whole number of at most 64 bits; send other ids as strings",
                    "user_id");
  }
  check_skipped(v);
  return bad_user("invalid_user_id", "user_id must be a string or a number", "user_id");
}

Result<std::string_view> UserParser::raw_object(od::value& v, std::string& buf, const std::string& field) {
  if (null_value(v)) return std::string_view();
  od::object o;
  auto e = v.get_object().get(o);
  throw_if_fatal(e);
  if (e) {
    check_skipped(v);
    return bad_user("invalid_" + field, field + " must be a JSON object", field);
  }
  std::string_view raw;
  throw_if_fatal(o.raw_json().get(raw));
  buf.resize(raw.size() + simdjson::SIMDJSON_PADDING);
  std::size_t n = 0;
  // Malformed JSON here is the body's syntax error (api.md: "any part
  // of it"), as anywhere else, not one user's invalid_data.
  if (auto e = simdjson::minify(raw.data(), raw.size(), buf.data(), n))
    throw SyntaxError{field + ": " + simdjson::error_message(e)};
  simdjson::dom::element el;
  if (auto e = validator_.parse(buf.data(), n, false).get(el))
    throw SyntaxError{field + ": " + simdjson::error_message(e)};
  return std::string_view(buf.data(), n);
}

od::parser& thread_parser() {
  thread_local od::parser p;
  return p;
}

}  // namespace crier::api::ingest
