#include "workers/rate_meter.h"

#include <algorithm>

namespace crier {

void RateMeter::add(std::int64_t n, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (samples_.empty()) samples_.emplace_back(now, total_);  // the start of measuring
  total_ += n;
  samples_.emplace_back(now, total_);
  // Keep one sample older than the window, as the base of the difference.
  while (samples_.size() > 2 && samples_[1].first < now - kWindow) samples_.pop_front();
}

double RateMeter::per_second(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  if (samples_.size() < 2) return 0;
  const auto& [t0, n0] = samples_.front();
  const auto& [t1, n1] = samples_.back();
  // A job that stopped moving has no rate, whatever it did before.
  if (now - t1 > kWindow) return 0;
  // Over a second at least: the first few messages of a job, divided by the
  // milliseconds since they left, would read as a rate it never had (one
  // message 35 ms in is not 28/s).
  const double seconds = std::max(1.0, std::chrono::duration<double>(now - t0).count());
  return static_cast<double>(n1 - n0) / seconds;
}

}  // namespace crier
