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

void prune_history(std::vector<SendMark>& history, std::span<const FrequencyRule> rules, std::int64_t now_ms) {
  std::int64_t longest = 0;
  for (const auto& rule : rules) longest = std::max(longest, rule.window_ms);
  std::erase_if(history, [&](const SendMark& m) { return m.at_ms <= now_ms - longest; });
}

}  // namespace crier
