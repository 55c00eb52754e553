// A token bucket on a caller-supplied clock (seconds, monotonic): pure
// arithmetic, so the workers can wait on an Asio timer and tests can drive
// time by hand. `reserve` books tokens now and says how long to wait before
// using them, so callers pace themselves without polling.
#pragma once

#include <algorithm>

namespace crier {

class TokenBucket {
 public:
  // rate: tokens per second (> 0); burst: the most that may accumulate.
  TokenBucket(double rate, double burst) : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(burst_) {}

  void set_rate(double rate, double burst) {
    rate_ = rate;
    burst_ = std::max(burst, 1.0);
    tokens_ = std::min(tokens_, burst_);
  }
  double rate() const { return rate_; }

  // Books n tokens at time `now`; returns the seconds to wait before they may be used.
  double reserve(double now, double n) {
    refill(now);
    tokens_ -= n;
    return tokens_ >= 0 ? 0.0 : -tokens_ / rate_;
  }

 private:
  void refill(double now) {
    if (now > last_) {
      tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
      last_ = now;
    }
  }
  double rate_;
  double burst_;
  double tokens_;
  double last_ = 0;
};

}  // namespace crier
