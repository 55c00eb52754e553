// Shared token buckets by name (one per provider, one per tenant), safe to
// use from every dispatch thread. A limit set to 0 removes the bucket: no
// limit at that level. Limits can change at any time and apply to the next
// reservation, so a changed limit takes effect within one chunk.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "engine/token_bucket.h"

namespace crier {

struct RateLimit {
  double rate = 0;   // messages per second; 0 = unlimited
  double burst = 0;  // tokens that may accumulate; 0 = rate / 10 (at least 1)
};

// The burst a limit uses when it names none.
inline double effective_burst(const RateLimit& l) {
  return l.burst > 0 ? l.burst : std::max(1.0, l.rate / 10);
}

class RateLimiter {
 public:
  void set(std::string_view name, RateLimit limit);
  RateLimit get(std::string_view name) const;
  // Books n tokens from the named bucket at `now` (steady seconds); returns
  // the seconds to wait before using them (0 when the name has no limit).
  double reserve(std::string_view name, double now, double n);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::pair<RateLimit, TokenBucket>, std::less<>> buckets_;
};

}  // namespace crier
