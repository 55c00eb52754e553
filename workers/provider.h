// A delivery channel's client. The dispatcher hands it a window of rendered
// messages and awaits one outcome per message, in order.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/job.h"
#include "engine/render.h"

namespace crier {

struct OutboundMessage {
  std::string message_id;  // the same on every attempt: receivers dedupe on it
  std::string job_id;
  std::uint64_t seq = 0;
  Channel channel = Channel::email;
  std::string to;  // the address on the channel (email, E.164 phone, token, URL)
  std::string user_id;
  std::string correlation_id;
  RenderedMessage content;
};

struct DeliveryOutcome {
  bool ok = true;
  bool transient = false;  // worth retrying (later issue: retries)
  std::string error_code;
  std::string error_message;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;
  virtual boost::asio::awaitable<std::vector<DeliveryOutcome>> send(
      std::span<const OutboundMessage> messages) = 0;
};

// Accepts every message and does nothing: dry runs and benchmarks.
std::unique_ptr<Provider> make_null_provider();

// Appends every message as one JSON line to a file ("-" for stdout), flushed
// per window: a dry run whose output can be read back.
std::unique_ptr<Provider> make_log_provider(std::string path);

}  // namespace crier
