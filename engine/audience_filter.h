// Who among a tenant's profiles a message is for: Braze's connected-audience
// object, the one filter language of Crier (segments, a job's `audience`,
// Braze's /messages/send). A filter is parsed and checked once, then matched
// against many profiles (matching allocates only to read a time written
// with a "+hhmm" offset or as a plain date).
//
//   {"AND": [f, ...]}  {"OR": [f, ...]}                      non-empty lists
//   {"custom_attribute": {"custom_attribute_name": n, "comparison": c, "value": v}}
//   {"email_subscription_status": {"comparison": "is"|"is_not", "value": state}}
//   {"push_subscription_status":  {...}}   as Braze names them
//   {"subscription_status": {"channel": ch, "comparison": ..., "value": state}}   any channel
//   {"list_membership": {"list_id": id, "comparison": "is"|"is_not"}}
//   {"last_used_app": {"comparison": c, "value": v}}   the profile's attribute
//                                                      `last_used_app` (a time)
//
// Comparisons, and what a profile without the attribute gives:
//   equals, not_equal (string, number or boolean; missing: false / true)
//   greater_than, greater_than_or_equal_to, less_than, less_than_or_equal_to (number)
//   exists, does_not_exist
//   includes_value, does_not_include_value (an array holds the value, or a
//     scalar equals it; missing: false / true)
//   before, after (a time: RFC 3339, "+hhmm" offsets or a date)
//   less_than_x_days_ago, more_than_x_days_ago (also greater_than_x_days_ago),
//   less_than_x_days_in_the_future, more_than_x_days_in_the_future (also
//     greater_than_...): the value is a number of days, counted from `now`
// A value of the wrong type for a comparison never matches (not_equal and
// does_not_include_value: always matches). Strings compare exactly; two
// integers exactly, other numbers as doubles.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/channel.h"
#include "engine/result.h"
#include "engine/subscription.h"

namespace crier {

// What a filter asks of one profile: implemented over a stored profile.
class AudienceSubject {
 public:
  virtual ~AudienceSubject() = default;
  // The custom attribute named so, or null when the profile has none.
  virtual const boost::json::value* attribute(std::string_view name) const = 0;
  virtual SubscriptionState subscription(Channel channel) const = 0;
  virtual bool in_list(std::string_view list_id) const = 0;
};

// Bounds on a filter, so one request cannot make matching expensive.
inline constexpr std::size_t kAudienceMaxDepth = 10;
inline constexpr std::size_t kAudienceMaxNodes = 200;
inline constexpr std::size_t kAudienceMaxStringBytes = 1024;

class AudienceFilter {
 public:
  // Checks the whole object; an error is `invalid_audience` with `field`
  // naming the offending part ("audience.AND[1].custom_attribute.comparison").
  static Result<AudienceFilter> parse(const boost::json::value& v, std::string_view field = "audience");

  bool matches(const AudienceSubject& subject, std::int64_t now_ms) const;

  // The lists the filter asks about, each once, in the order first named.
  const std::vector<std::string>& list_ids() const { return list_ids_; }

  enum class Comparison : std::uint8_t {
    equals, not_equal, greater_than, greater_than_or_equal_to, less_than, less_than_or_equal_to,
    exists, does_not_exist, includes_value, does_not_include_value, before, after,
    less_than_x_days_ago, more_than_x_days_ago, less_than_x_days_in_the_future,
    more_than_x_days_in_the_future,
  };

 private:
  enum class Kind : std::uint8_t { all_of, any_of, attribute, subscription, list };
  struct Node {
    Kind kind = Kind::all_of;
    Comparison comparison = Comparison::equals;
    bool negate = false;                    // subscription / list: "is_not"
    Channel channel = Channel::email;       // subscription
    SubscriptionState state = SubscriptionState::subscribed;
    std::string name;                       // attribute name or list id
    boost::json::value value;               // equals / includes: the operand
    double number = 0;                      // numeric comparisons, days
    std::int64_t time_ms = 0;               // before / after
    std::vector<std::uint32_t> children;    // AND / OR
  };
  class Parser;

  bool matches(const Node& node, const AudienceSubject& subject, std::int64_t now_ms) const;
  bool compare(const Node& node, const boost::json::value* attribute, std::int64_t now_ms) const;

  std::vector<Node> nodes_;  // nodes_[0] is the root
  std::vector<std::string> list_ids_;
};

// A time as filters and attributes write it: RFC 3339, an offset written
// "+hhmm" (as Braze's examples do), or a plain date (midnight UTC).
std::optional<std::int64_t> parse_audience_time(std::string_view s);

}  // namespace crier
