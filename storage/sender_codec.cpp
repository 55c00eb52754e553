#include "storage/sender_codec.h"

#include <boost/json.hpp>

#include "storage/keys.h"

namespace crier::records {
namespace json = boost::json;
namespace {

std::string get_str(const json::object& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
}

}  // namespace

std::string encode(const Sender& s) {
  json::object o;
  o["v"] = 1;
  o["tenant"] = s.tenant;
  o["phone_number_id"] = s.phone_number_id;
  o["display_phone_number"] = s.display_phone_number;
  o["verified_name"] = s.verified_name;
  o["quality_rating"] = to_string(s.quality_rating);
  o["messaging_limit_tier"] = to_string(s.tier);
  o["provider"] = s.provider;
  o["messages_per_second"] = s.messages_per_second;
  o["created_at"] = s.created_at;
  o["updated_at"] = s.updated_at;
  return json::serialize(o);
}

std::optional<Sender> decode_sender(std::string_view in) {
  boost::system::error_code ec;
  auto v = json::parse(in, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  Sender s;
  s.tenant = get_str(o, "tenant");
  s.phone_number_id = get_str(o, "phone_number_id");
  s.display_phone_number = get_str(o, "display_phone_number");
  s.verified_name = get_str(o, "verified_name");
  auto rating = parse_quality_rating(get_str(o, "quality_rating"));
  auto tier = parse_messaging_tier(get_str(o, "messaging_limit_tier"));
  if (s.phone_number_id.empty() || !rating || !tier) return std::nullopt;
  s.quality_rating = *rating;
  s.tier = *tier;
  s.provider = get_str(o, "provider");
  if (auto* r = o.if_contains("messages_per_second"); r && r->is_number()) s.messages_per_second = r->to_number<double>();
  if (auto* t = o.if_contains("created_at"); t && t->is_int64()) s.created_at = t->get_int64();
  if (auto* t = o.if_contains("updated_at"); t && t->is_int64()) s.updated_at = t->get_int64();
  return s;
}

std::string encode_quota_count(std::int64_t count) {
  std::string out;
  keys::put_u64(out, static_cast<std::uint64_t>(count));
  return out;
}

std::optional<std::int64_t> decode_quota_count(std::string_view in) {
  if (in.size() != 8) return std::nullopt;
  return static_cast<std::int64_t>(keys::get_u64(in));
}

}  // namespace crier::records
