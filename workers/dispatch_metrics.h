// What dispatch counts for /metrics: relaxed atomics in slots fixed when a
// provider is registered, so counting costs a few uncontended adds per
// chunk (outcomes are tallied per commit, then added once per slot), no
// lock, no string. The api layer reads them at scrape time; nothing here
// knows of Prometheus.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <utility>

#include "engine/channel.h"

namespace crier {

// What one attempt at a message came to.
enum class AttemptOutcome : std::uint8_t {
  sent,     // the provider accepted it
  retried,  // a transient failure; the recipient waits in the retry queue
  failed,   // a permanent failure, or a transient one with no attempt left
};
inline constexpr std::size_t kAttemptOutcomeCount = 3;

struct ProviderMetrics {
  // [channel][outcome]: attempts by their outcome.
  std::array<std::array<std::atomic<std::uint64_t>, kAttemptOutcomeCount>, kChannelCount>
      attempts{};
  // Attempts that were a recipient's second or later (re-sends after a
  // transient failure).
  std::atomic<std::uint64_t> retries{0};
  // Messages handed to the provider and not answered yet.
  std::atomic<std::int64_t> in_flight{0};
};

// A commit's attempts by channel and outcome, counted in plain integers and
// added to the provider's atomics once per slot (not once per message).
struct AttemptTally {
  std::array<std::array<std::uint64_t, kAttemptOutcomeCount>, kChannelCount> counts{};
  std::uint64_t retries = 0;
  void count(Channel channel, AttemptOutcome outcome) {
    ++counts[static_cast<std::size_t>(channel)][static_cast<std::size_t>(outcome)];
  }
  void flush(ProviderMetrics& m) {
    for (std::size_t c = 0; c < kChannelCount; ++c)
      for (std::size_t o = 0; o < kAttemptOutcomeCount; ++o)
        if (counts[c][o])
          m.attempts[c][o].fetch_add(std::exchange(counts[c][o], 0), std::memory_order_relaxed);
    if (retries) m.retries.fetch_add(std::exchange(retries, 0), std::memory_order_relaxed);
  }
};

// The three token-bucket levels a chunk passes, innermost first.
enum class RateLevel : std::uint8_t { job, tenant, provider };
inline constexpr std::size_t kRateLevelCount = 3;

struct DispatchMetrics {
  // Chunks that had to wait for tokens, and the seconds they waited, by level.
  std::array<std::atomic<std::uint64_t>, kRateLevelCount> rate_waits{};
  std::array<std::atomic<std::uint64_t>, kRateLevelCount> rate_wait_ns{};
};

}  // namespace crier
