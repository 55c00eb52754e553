// A tenant's stored recipient: who they are, how to reach them, what they
// agreed to, and the attributes segments filter on. Jobs name profiles by
// user_id or alias; the addresses are looked up when a message is sent.
#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/channel.h"
#include "engine/subscription.h"

namespace crier {

// Braze's user alias: a name unique within its label ("email_hash", "crm_id").
struct ProfileAlias {
  std::string name;
  std::string label;
  bool operator==(const ProfileAlias&) const = default;
};

struct Profile {
  std::string tenant;
  std::string user_id;
  std::string email;        // normalised; empty: none
  std::string phone;        // E.164; empty: none
  std::string webhook_url;  // empty: none
  std::string locale;       // canonical BCP 47; empty: none
  std::string timezone;     // IANA name; empty: none
  std::vector<std::string> push_tokens;
  std::vector<ProfileAlias> aliases;
  boost::json::object attributes;
  // Unset: the channel's default, subscribed.
  std::array<std::optional<SubscriptionState>, kChannelCount> subscriptions{};
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;

  SubscriptionState subscription(Channel c) const {
    return subscriptions[static_cast<std::size_t>(c)].value_or(SubscriptionState::subscribed);
  }
};

// Bounds on one profile.
inline constexpr std::size_t kMaxProfilePushTokens = 10;
inline constexpr std::size_t kMaxProfileAliases = 10;
inline constexpr std::size_t kMaxAliasBytes = 256;
inline constexpr std::size_t kMaxProfileAttributesBytes = 64 * 1024;  // serialised

}  // namespace crier
