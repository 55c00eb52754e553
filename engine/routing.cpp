#include "engine/routing.h"

#include <algorithm>

#include "engine/job.h"
#include "engine/recipient.h"

namespace crier {

std::string_view to_string(RoutingMethod) { return "single"; }

std::optional<RoutingMethod> parse_routing_method(std::string_view s) {
  if (s == "single") return RoutingMethod::single;
  return std::nullopt;
}

Result<void> check_routing(const Routing& routing) {
  auto bad = [](std::string message) {
    return make_error(ErrorKind::invalid, "invalid_routing", std::move(message), "routing");
  };
  if (routing.channels.empty() || routing.channels.size() > kMaxRoutedChannels)
    return bad("routing.channels must list 1 to 5 channels (email, sms, push, webhook, whatsapp)");
  for (std::size_t i = 0; i < routing.channels.size(); ++i)
    if (std::find(routing.channels.begin(), routing.channels.begin() + static_cast<std::ptrdiff_t>(i),
                  routing.channels[i]) != routing.channels.begin() + static_cast<std::ptrdiff_t>(i))
      return bad("routing.channels lists " + std::string(to_string(routing.channels[i])) + " twice");
  return {};
}

std::span<const Channel> routed_channels(const JobSpec& job) {
  if (job.routing) return job.routing->channels;
  return {&job.channel, 1};
}

std::string_view address_field(Channel channel) {
  switch (channel) {
    case Channel::email: return "email";
    case Channel::sms:
    case Channel::whatsapp: return "phone";
    case Channel::push: return "push_token";
    case Channel::webhook: return "webhook_url";
  }
  return "email";  // unreachable: every channel is handled above
}

const std::string& address_on(const JobSpec& job, const Recipient& r, Channel channel) {
  switch (channel) {
    case Channel::email: return r.email;
    case Channel::sms:
    case Channel::whatsapp: return r.phone;
    case Channel::push: return r.push_token;
    case Channel::webhook: return r.webhook_url.empty() ? job.webhook_url : r.webhook_url;
  }
  return r.email;  // unreachable: every channel is handled above
}

std::optional<Channel> route_for(const JobSpec& job, const Recipient& r) {
  for (Channel c : routed_channels(job))
    if (!address_on(job, r, c).empty()) return c;
  return std::nullopt;
}

}  // namespace crier
