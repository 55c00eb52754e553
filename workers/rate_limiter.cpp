#include "workers/rate_limiter.h"

namespace crier {

void RateLimiter::set(std::string_view name, RateLimit limit) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(name);
  if (limit.rate <= 0) {
    if (it != buckets_.end()) buckets_.erase(it);
    return;
  }
  if (it == buckets_.end()) {
    buckets_.emplace(std::string(name),
                     std::pair{limit, TokenBucket(limit.rate, effective_burst(limit))});
  } else {
    it->second.first = limit;
    it->second.second.set_rate(limit.rate, effective_burst(limit));
  }
}

RateLimit RateLimiter::get(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(name);
  return it == buckets_.end() ? RateLimit{} : it->second.first;
}

double RateLimiter::reserve(std::string_view name, double now, double n) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(name);
  return it == buckets_.end() ? 0.0 : it->second.second.reserve(now, n);
}

}  // namespace crier
