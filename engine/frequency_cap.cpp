#include "engine/frequency_cap.h"

#include <algorithm>

namespace crier {

bool within_caps(std::span<const FrequencyRule> rules, std::span<const SendMark> history, Channel channel,
                 std::int64_t now_ms) {
  for (const auto& rule : rules) {
    if (rule.channel && *rule.channel != channel) continue;
    std::uint32_t count = 0;
    for (const auto& m : history)
      if (m.at_ms > now_ms - rule.window_ms && (!rule.channel || m.channel == *rule.channel)) ++count;
    if (count >= rule.max) return false;
  }
  return true;
}

void prune_history(std::vector<SendMark>& history, std::int64_t now_ms) {
  std::erase_if(history, [&](const SendMark& m) { return m.at_ms <= now_ms - kMaxFrequencyWindowMs; });
}

std::uint64_t message_mark(std::span<const std::uint8_t> job_key, std::uint64_t seq) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::uint8_t b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  for (auto b : job_key) mix(b);
  for (int i = 0; i < 8; ++i) mix(static_cast<std::uint8_t>(seq >> (8 * i)));
  return h;
}

}  // namespace crier
