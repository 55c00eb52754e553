// Routing across channels: a job may carry an ordered list of channels
// instead of one, and each recipient goes on the FIRST of them for which it
// has an address. The choice is a pure function of the job and the stored
// recipient record (route_for), so ingest validation, dispatch and the users
// listing make the same choice without storing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/channel.h"
#include "engine/result.h"

namespace crier {

struct JobSpec;
struct Recipient;

// How a routing chooses among its channels. Only `single` exists: one
// message per recipient, on the first channel it can be reached on.
enum class RoutingMethod : std::uint8_t { single };
std::string_view to_string(RoutingMethod m);
std::optional<RoutingMethod> parse_routing_method(std::string_view s);  // exact, lower case

inline constexpr std::size_t kMaxRoutedChannels = kChannelCount;

struct Routing {
  RoutingMethod method = RoutingMethod::single;
  std::vector<Channel> channels;  // in order of preference

  bool operator==(const Routing&) const = default;
};

// 1 to 5 channels, none twice; else invalid_routing on field "routing".
Result<void> check_routing(const Routing& routing);

// The channels a job may send on, in order: its routing's, or its one
// channel. Never empty for a job that passed create. Points into `job`.
std::span<const Channel> routed_channels(const JobSpec& job);

// The recipient field that holds an address on `channel`: email, phone
// (sms and whatsapp), push_token, webhook_url.
std::string_view address_field(Channel channel);

// Where a message on `channel` goes: the recipient's own address, or for a
// webhook without one, the job's webhook_url. Empty when there is none.
// Points into `r` or `job`.
const std::string& address_on(const JobSpec& job, const Recipient& r, Channel channel);

// The channel `r` is sent on: the first of routed_channels(job) with a
// non-empty address_on. nullopt when there is none (ingest rejects such a
// user as missing_address, so a stored recipient always has a route).
// For a single-channel job: that channel, when the recipient has its address.
std::optional<Channel> route_for(const JobSpec& job, const Recipient& r);

}  // namespace crier
