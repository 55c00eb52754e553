// A recipient's standing on one channel, as Braze names it, and which
// standings a job accepts.
//
//   opted_in      explicitly asked for messages (double opt-in, a ticked box)
//   subscribed    may be sent marketing; the default of a profile that says
//                 nothing for a channel, as in Braze
//   unsubscribed  asked not to be sent marketing
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace crier {

enum class SubscriptionState : std::uint8_t { subscribed, opted_in, unsubscribed };

std::string_view to_string(SubscriptionState s);
std::optional<SubscriptionState> parse_subscription_state(std::string_view s);

// What a job sends to: `opted_in` only, `subscribed` (opted in or
// subscribed: the default), or `all`, unsubscribed included (transactional
// messages: receipts, password resets).
enum class SubscriptionRequirement : std::uint8_t { subscribed, opted_in, all };

std::string_view to_string(SubscriptionRequirement r);
std::optional<SubscriptionRequirement> parse_subscription_requirement(std::string_view s);

constexpr bool is_eligible(SubscriptionState state, SubscriptionRequirement requirement) {
  switch (requirement) {
    case SubscriptionRequirement::all: return true;
    case SubscriptionRequirement::opted_in: return state == SubscriptionState::opted_in;
    case SubscriptionRequirement::subscribed: return state != SubscriptionState::unsubscribed;
  }
  return false;
}

}  // namespace crier
