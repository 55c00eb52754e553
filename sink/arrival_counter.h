// Counts arrivals per millisecond, so the busiest window of any length can
// be read exactly afterwards: how the benchmarks check that a rate-limited
// job never put more than limit + burst into any one second at the receiver
// (sampling the job's counters cannot: they move once per committed window).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace crier {

class ArrivalCounter {
 public:
  // Millisecond buckets are kept for this long after the first arrival
  // (4 bytes each: 7 MB); later arrivals are not counted in windows.
  static constexpr std::int64_t kSpanMs = 30 * 60 * 1000;

  // One arrival at `ms` (any monotonic clock, in milliseconds).
  void add(std::int64_t ms) {
    if (buckets_.empty()) first_ms_ = ms;
    const std::int64_t at = ms - first_ms_;
    if (at < 0 || at >= kSpanMs) {
      ++outside_;
      return;
    }
    if (static_cast<std::size_t>(at) >= buckets_.size()) buckets_.resize(static_cast<std::size_t>(at) + 1, 0);
    ++buckets_[static_cast<std::size_t>(at)];
  }

  // The most arrivals in any `width_ms` consecutive milliseconds.
  std::uint64_t max_window(std::int64_t width_ms) const {
    const std::size_t width = static_cast<std::size_t>(std::max<std::int64_t>(width_ms, 1));
    std::uint64_t sum = 0, best = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      sum += buckets_[i];
      if (i >= width) sum -= buckets_[i - width];
      best = std::max(best, sum);
    }
    return best;
  }

  // Arrivals too late (or too early) for the buckets.
  std::uint64_t outside() const { return outside_; }

  void clear() {
    buckets_.clear();
    outside_ = 0;
  }

 private:
  std::int64_t first_ms_ = 0;
  std::vector<std::uint32_t> buckets_;
  std::uint64_t outside_ = 0;
};

}  // namespace crier
