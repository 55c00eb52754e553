// Frequency capping: a tenant's rules "at most `max` messages per user per
// channel (or over every channel) per window", checked as each message is
// built against a compact per-user history of what was sent. A capped
// recipient is SKIPPED `frequency_capped` unless its job sets
// override_frequency_capping. Users are known by user_id: a recipient
// without one is not capped (it could not be recognised in another job).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/channel.h"
#include "engine/result.h"

namespace crier {

struct FrequencyRule {
  std::optional<Channel> channel;  // nullopt: messages on every channel count
  std::uint32_t max = 1;
  std::int64_t window_ms = 0;
  bool operator==(const FrequencyRule&) const = default;
};

inline constexpr std::size_t kMaxFrequencyRules = 20;
inline constexpr std::uint32_t kMaxFrequencyCap = 1000;
inline constexpr std::int64_t kMaxFrequencyWindowMs = 30LL * 24 * 3600 * 1000;

// One send in a user's history, and which message it was (message_mark),
// so that the message's retry or re-send does not take a second slot.
struct SendMark {
  std::int64_t at_ms = 0;
  Channel channel = Channel::email;
  std::uint64_t message = 0;
};

// A stable 64-bit name of a job's message (FNV-1a over the job key and seq).
std::uint64_t message_mark(std::span<const std::uint8_t> job_key, std::uint64_t seq);

// Whether one more message on `channel` at `now_ms` keeps the user within
// every rule, given its history.
bool within_caps(std::span<const FrequencyRule> rules, std::span<const SendMark> history, Channel channel,
                 std::int64_t now_ms);
// The history worth keeping: the marks of the last 30 days, the longest
// window a rule may have (kept whatever today's rules say, so a window
// lengthened later still sees the sends it covers).
void prune_history(std::vector<SendMark>& history, std::int64_t now_ms);

// Declared here, implemented in storage/. Thread-safe; writes synced.
class FrequencyCapStore {
 public:
  virtual ~FrequencyCapStore() = default;
  // Replaces the tenant's rules (none: no capping).
  virtual Result<void> put_frequency_rules(std::string_view tenant, const std::vector<FrequencyRule>& rules) = 0;
  // The tenant's rules (remembered in memory after the first read).
  virtual Result<std::vector<FrequencyRule>> frequency_rules(std::string_view tenant) = 0;
  // For each user, about to be sent message `messages[i]`: whether it stays
  // within the tenant's rules; those that do are recorded as sent, in one
  // synced write, and a tenant's reservations never interleave (two jobs
  // cannot both take a user's last slot). A message already recorded (its
  // retry, or its re-send after a crash) is allowed again without a new mark.
  virtual Result<std::vector<bool>> reserve_sends(std::string_view tenant, Channel channel,
                                                  std::span<const std::string_view> user_ids,
                                                  std::span<const std::uint64_t> messages, std::int64_t now_ms) = 0;
};

}  // namespace crier
