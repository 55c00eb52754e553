// A delivery channel's client. The dispatcher hands it a chunk of rendered
// messages and awaits one outcome per message, in order. send() may be called
// concurrently from several dispatch threads and jobs: implementations are
// thread-safe and send a chunk's messages concurrently where they can (a pool
// of keep-alive connections). Rate limits and retries are the dispatcher's
// business, not the provider's: a provider makes one attempt per message.
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
  std::string tenant;  // the job's: whose signing secret signs it
  std::uint64_t seq = 0;
  Channel channel = Channel::email;
  std::string to;  // the address on the channel (email, E.164 phone, token, URL)
  std::string user_id;
  std::string correlation_id;
  RenderedMessage content;
};

// What became of one message. A failure is either transient (connect error,
// timeout, HTTP 429 or 5xx, SMTP 4xx: the dispatcher retries it with backoff
// up to the provider's max_attempts) or permanent (any other refusal, an
// invalid address: failed at once). error_code is stable snake_case
// (connect_failed, timeout, rate_limited, http_500, smtp_550, ...);
// error_message is for people and may quote the peer's answer.
struct DeliveryOutcome {
  bool ok = true;
  bool transient = false;
  std::string error_code;
  std::string error_message;
  std::int64_t retry_after_ms = 0;  // the peer asked for at least this wait (Retry-After)
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;
  virtual boost::asio::awaitable<std::vector<DeliveryOutcome>> send(
      std::span<const OutboundMessage> messages) = 0;
};

// Accepts every message and does nothing: dry runs and benchmarks.
std::unique_ptr<Provider> make_null_provider(std::string name = "null");

// Appends every message as one JSON line to a file ("-" for stdout), flushed
// per window: a dry run whose output can be read back.
std::unique_ptr<Provider> make_log_provider(std::string path, std::string name = "log");

}  // namespace crier
