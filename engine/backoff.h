// How long a transient failure waits before its next attempt: exponential
// (base · 2^(attempts − 1), capped at `max_ms`), then a point of that delay's
// upper half, so the retries of one window spread out instead of coming back
// together. `draw` is the caller's uniform random number in [0, 1): pure, so
// the formula is tested with fixed draws.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace crier {

inline std::int64_t retry_delay_ms(std::int64_t base_ms, std::int64_t max_ms, std::uint32_t attempts_made,
                                   double draw) {
  double d = static_cast<double>(base_ms) *
             std::pow(2.0, static_cast<double>(std::max<std::uint32_t>(attempts_made, 1) - 1));
  d = std::min(d, static_cast<double>(max_ms));
  return static_cast<std::int64_t>(d / 2 + std::clamp(draw, 0.0, 1.0) * (d / 2));
}

}  // namespace crier
