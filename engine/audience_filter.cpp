// Parsing a connected-audience object into a flat tree, and matching it.
#include "engine/audience_filter.h"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cctype>
#include <fmt/format.h>
#include <utility>

#include "engine/time_format.h"

namespace crier {
namespace {

using Comparison = AudienceFilter::Comparison;

struct ComparisonName {
  std::string_view name;
  Comparison comparison;
};
// Braze writes both "greater_than_x_days_ago" and "more_than_x_days_ago".
constexpr std::array<ComparisonName, 18> kComparisons{{
    {"equals", Comparison::equals},
    {"not_equal", Comparison::not_equal},
    {"greater_than", Comparison::greater_than},
    {"greater_than_or_equal_to", Comparison::greater_than_or_equal_to},
    {"less_than", Comparison::less_than},
    {"less_than_or_equal_to", Comparison::less_than_or_equal_to},
    {"exists", Comparison::exists},
    {"does_not_exist", Comparison::does_not_exist},
    {"includes_value", Comparison::includes_value},
    {"does_not_include_value", Comparison::does_not_include_value},
    {"before", Comparison::before},
    {"after", Comparison::after},
    {"less_than_x_days_ago", Comparison::less_than_x_days_ago},
    {"more_than_x_days_ago", Comparison::more_than_x_days_ago},
    {"greater_than_x_days_ago", Comparison::more_than_x_days_ago},
    {"less_than_x_days_in_the_future", Comparison::less_than_x_days_in_the_future},
    {"more_than_x_days_in_the_future", Comparison::more_than_x_days_in_the_future},
    {"greater_than_x_days_in_the_future", Comparison::more_than_x_days_in_the_future},
}};

std::optional<Comparison> parse_comparison(std::string_view s) {
  for (const auto& c : kComparisons)
    if (c.name == s) return c.comparison;
  return std::nullopt;
}

bool is_days(Comparison c) {
  return c == Comparison::less_than_x_days_ago || c == Comparison::more_than_x_days_ago ||
         c == Comparison::less_than_x_days_in_the_future || c == Comparison::more_than_x_days_in_the_future;
}
bool is_ordering(Comparison c) {
  return c == Comparison::greater_than || c == Comparison::greater_than_or_equal_to ||
         c == Comparison::less_than || c == Comparison::less_than_or_equal_to;
}

constexpr std::int64_t kDayMs = 86'400'000;

// Equal as filters mean it: same type family and value; numbers by value
// whatever their JSON representation (2 == 2.0).
bool same_scalar(const boost::json::value& a, const boost::json::value& b) {
  // Integers beyond 2^53 (ids stored as numbers) must not meet as doubles.
  if ((a.is_int64() || a.is_uint64()) && (b.is_int64() || b.is_uint64())) {
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const auto signed_one = a.is_int64() ? a.get_int64() : b.get_int64();
    const auto unsigned_one = a.is_uint64() ? a.get_uint64() : b.get_uint64();
    return signed_one >= 0 && static_cast<std::uint64_t>(signed_one) == unsigned_one;
  }
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  if (a.is_string() && b.is_string()) return a.get_string() == b.get_string();
  if (a.is_bool() && b.is_bool()) return a.get_bool() == b.get_bool();
  return false;
}

}  // namespace

std::optional<std::int64_t> parse_audience_time(std::string_view s) {
  auto digits = [&](std::size_t from, std::size_t n) {
    return s.size() >= from + n && std::all_of(s.begin() + from, s.begin() + from + n, [](char c) {
             return std::isdigit(static_cast<unsigned char>(c));
           });
  };
  if (s.size() == 10 && digits(0, 4) && s[4] == '-' && digits(5, 2) && s[7] == '-' && digits(8, 2))
    return parse_rfc3339(std::string(s) + "T00:00:00Z");
  // "...+0000": RFC 3339 wants "+00:00".
  if (s.size() > 5 && (s[s.size() - 5] == '+' || s[s.size() - 5] == '-') && digits(s.size() - 4, 4) &&
      s.find('T') != std::string_view::npos) {
    return parse_rfc3339(fmt::format("{}:{}", s.substr(0, s.size() - 2), s.substr(s.size() - 2)));
  }
  return parse_rfc3339(s);
}

class AudienceFilter::Parser {
 public:
  explicit Parser(AudienceFilter& out) : out_(out) {}

  // Appends the node for `v` (and its children) and returns its index.
  Result<std::uint32_t> node(const boost::json::value& v, const std::string& field, std::size_t depth) {
    if (depth > kAudienceMaxDepth)
      return invalid(field, fmt::format("nests deeper than {} levels", kAudienceMaxDepth));
    if (out_.nodes_.size() >= kAudienceMaxNodes)
      return invalid(field, fmt::format("has more than {} conditions", kAudienceMaxNodes));
    const auto* object = v.if_object();
    if (!object || object->size() != 1)
      return invalid(field, "must be an object with exactly one key (AND, OR or a condition)");
    const auto& [key, body] = *object->begin();
    const auto index = static_cast<std::uint32_t>(out_.nodes_.size());
    out_.nodes_.emplace_back();
    const std::string here = fmt::format("{}.{}", field, std::string_view(key));
    if (key == "AND" || key == "OR") {
      out_.nodes_[index].kind = key == "AND" ? Kind::all_of : Kind::any_of;
      const auto* items = body.if_array();
      if (!items || items->empty()) return invalid(here, "must be a non-empty array of filters");
      std::vector<std::uint32_t> children;
      for (std::size_t i = 0; i < items->size(); ++i) {
        auto child = node((*items)[i], fmt::format("{}[{}]", here, i), depth + 1);
        if (!child) return child.error();
        children.push_back(*child);
      }
      out_.nodes_[index].children = std::move(children);
      return index;
    }
    const auto* fields = body.if_object();
    if (!fields) return invalid(here, "must be an object");
    Result<void> filled = Error{};
    if (key == "custom_attribute") {
      filled = attribute(index, *fields, here, string_field(*fields, "custom_attribute_name"));
    } else if (key == "last_used_app") {
      filled = attribute(index, *fields, here, std::string("last_used_app"));
    } else if (key == "email_subscription_status") {
      filled = subscription(index, *fields, here, Channel::email);
    } else if (key == "push_subscription_status") {
      filled = subscription(index, *fields, here, Channel::push);
    } else if (key == "subscription_status") {
      auto channel = parse_channel(string_field(*fields, "channel").value_or(""));
      if (!channel) return invalid(here + ".channel", "must name a channel: email, sms, push, webhook or whatsapp");
      filled = subscription(index, *fields, here, *channel);
    } else if (key == "list_membership") {
      filled = list(index, *fields, here);
    } else {
      return invalid(here, fmt::format("'{}' is not a filter Crier knows", std::string_view(key)));
    }
    if (!filled) return filled.error();
    return index;
  }

 private:
  static Error invalid(const std::string& field, std::string_view what) {
    return make_error(ErrorKind::invalid, "invalid_audience", fmt::format("{} {}", field, what), field);
  }

  static std::optional<std::string> string_field(const boost::json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
  }

  Result<void> attribute(std::uint32_t index, const boost::json::object& fields, const std::string& here,
                         std::optional<std::string> name) {
    if (!name || name->empty() || name->size() > kAudienceMaxStringBytes)
      return invalid(here + ".custom_attribute_name", "must be a non-empty string");
    auto comparison = parse_comparison(string_field(fields, "comparison").value_or(""));
    if (!comparison) return invalid(here + ".comparison", "is not a comparison Crier knows");
    Node& n = out_.nodes_[index];
    n.kind = Kind::attribute;
    n.name = std::move(*name);
    n.comparison = *comparison;
    const auto* value = fields.if_contains("value");
    const std::string value_field = here + ".value";
    const Comparison c = *comparison;
    if (c == Comparison::exists || c == Comparison::does_not_exist) return {};
    if (!value) return invalid(value_field, "is required for this comparison");
    if (is_ordering(c) || is_days(c)) {
      if (!value->is_number()) return invalid(value_field, "must be a number");
      n.number = value->to_number<double>();
      if (is_days(c) && !(n.number >= 0 && n.number <= 1e6))
        return invalid(value_field, "must be a number of days from 0 to 1000000");
      return {};
    }
    if (c == Comparison::before || c == Comparison::after) {
      auto t = value->is_string() ? parse_audience_time(value->get_string()) : std::nullopt;
      if (!t) return invalid(value_field, "must be a time (RFC 3339, e.g. 2026-07-22T13:17:55Z)");
      n.time_ms = *t;
      return {};
    }
    // equals, not_equal, includes_value, does_not_include_value
    if (!value->is_string() && !value->is_number() && !value->is_bool())
      return invalid(value_field, "must be a string, a number or a boolean");
    if (value->is_string() && value->get_string().size() > kAudienceMaxStringBytes)
      return invalid(value_field, fmt::format("is longer than {} bytes", kAudienceMaxStringBytes));
    n.value = *value;
    return {};
  }

  Result<void> subscription(std::uint32_t index, const boost::json::object& fields, const std::string& here,
                            Channel channel) {
    auto negate = is_or_is_not(fields);
    if (!negate) return invalid(here + ".comparison", "must be \"is\" or \"is_not\"");
    auto state = parse_subscription_state(string_field(fields, "value").value_or(""));
    if (!state) return invalid(here + ".value", "must be opted_in, subscribed or unsubscribed");
    Node& n = out_.nodes_[index];
    n.kind = Kind::subscription;
    n.channel = channel;
    n.negate = *negate;
    n.state = *state;
    return {};
  }

  Result<void> list(std::uint32_t index, const boost::json::object& fields, const std::string& here) {
    auto negate = is_or_is_not(fields);
    if (!negate) return invalid(here + ".comparison", "must be \"is\" or \"is_not\"");
    auto id = string_field(fields, "list_id");
    if (!id || id->empty() || id->size() > kAudienceMaxStringBytes)
      return invalid(here + ".list_id", "must be a non-empty string");
    Node& n = out_.nodes_[index];
    n.kind = Kind::list;
    n.negate = *negate;
    if (std::find(out_.list_ids_.begin(), out_.list_ids_.end(), *id) == out_.list_ids_.end())
      out_.list_ids_.push_back(*id);
    n.name = std::move(*id);
    return {};
  }

  static std::optional<bool> is_or_is_not(const boost::json::object& fields) {
    auto c = string_field(fields, "comparison");
    if (c == "is") return false;
    if (c == "is_not") return true;
    return std::nullopt;
  }

  AudienceFilter& out_;
};

Result<AudienceFilter> AudienceFilter::parse(const boost::json::value& v, std::string_view field) {
  AudienceFilter filter;
  Parser parser(filter);
  auto root = parser.node(v, std::string(field), 1);
  if (!root) return root.error();
  return filter;
}

bool AudienceFilter::matches(const AudienceSubject& subject, std::int64_t now_ms) const {
  return !nodes_.empty() && matches(nodes_.front(), subject, now_ms);
}

bool AudienceFilter::matches(const Node& node, const AudienceSubject& subject, std::int64_t now_ms) const {
  switch (node.kind) {
    case Kind::all_of:
      return std::all_of(node.children.begin(), node.children.end(),
                         [&](std::uint32_t i) { return matches(nodes_[i], subject, now_ms); });
    case Kind::any_of:
      return std::any_of(node.children.begin(), node.children.end(),
                         [&](std::uint32_t i) { return matches(nodes_[i], subject, now_ms); });
    case Kind::subscription: return (subject.subscription(node.channel) == node.state) != node.negate;
    case Kind::list: return subject.in_list(node.name) != node.negate;
    case Kind::attribute: return compare(node, subject.attribute(node.name), now_ms);
  }
  return false;
}

bool AudienceFilter::compare(const Node& node, const boost::json::value* a, std::int64_t now_ms) const {
  const bool present = a && !a->is_null();
  auto time = [&]() -> std::optional<std::int64_t> {
    if (!present || !a->is_string()) return std::nullopt;
    return parse_audience_time(a->get_string());
  };
  auto days_ms = [&] { return static_cast<std::int64_t>(node.number * static_cast<double>(kDayMs)); };
  switch (node.comparison) {
    case Comparison::exists: return present;
    case Comparison::does_not_exist: return !present;
    case Comparison::equals: return present && same_scalar(*a, node.value);
    case Comparison::not_equal: return !present || !same_scalar(*a, node.value);
    case Comparison::includes_value:
    case Comparison::does_not_include_value: {
      bool holds = false;
      if (present) {
        if (const auto* items = a->if_array())
          holds = std::any_of(items->begin(), items->end(),
                              [&](const boost::json::value& item) { return same_scalar(item, node.value); });
        else
          holds = same_scalar(*a, node.value);
      }
      return (node.comparison == Comparison::includes_value) == holds;
    }
    case Comparison::greater_than:
    case Comparison::greater_than_or_equal_to:
    case Comparison::less_than:
    case Comparison::less_than_or_equal_to: {
      if (!present || !a->is_number()) return false;
      const double x = a->to_number<double>();
      switch (node.comparison) {
        case Comparison::greater_than: return x > node.number;
        case Comparison::greater_than_or_equal_to: return x >= node.number;
        case Comparison::less_than: return x < node.number;
        default: return x <= node.number;
      }
    }
    case Comparison::before: {
      auto t = time();
      return t && *t < node.time_ms;
    }
    case Comparison::after: {
      auto t = time();
      return t && *t > node.time_ms;
    }
    // "Less than 2 days ago": within the last two days, not in the future.
    case Comparison::less_than_x_days_ago: {
      auto t = time();
      return t && *t <= now_ms && *t > now_ms - days_ms();
    }
    case Comparison::more_than_x_days_ago: {
      auto t = time();
      return t && *t < now_ms - days_ms();
    }
    case Comparison::less_than_x_days_in_the_future: {
      auto t = time();
      return t && *t >= now_ms && *t < now_ms + days_ms();
    }
    case Comparison::more_than_x_days_in_the_future: {
      auto t = time();
      return t && *t > now_ms + days_ms();
    }
  }
  return false;
}

}  // namespace crier
