// Names of the subscription states and requirements, as Braze spells them.
#include "engine/subscription.h"

#include "engine/enum_names.h"

namespace crier {
namespace {

constexpr std::string_view kStates[] = {"subscribed", "opted_in", "unsubscribed"};
constexpr std::string_view kRequirements[] = {"subscribed", "opted_in", "all"};

}  // namespace

std::string_view to_string(SubscriptionState s) { return kStates[static_cast<std::size_t>(s)]; }
std::optional<SubscriptionState> parse_subscription_state(std::string_view s) {
  return find_name<SubscriptionState>(kStates, s);
}

std::string_view to_string(SubscriptionRequirement r) {
  return kRequirements[static_cast<std::size_t>(r)];
}
std::optional<SubscriptionRequirement> parse_subscription_requirement(std::string_view s) {
  return find_name<SubscriptionRequirement>(kRequirements, s);
}

}  // namespace crier
