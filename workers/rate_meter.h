// Measures a job's delivery rate over the last few seconds, for status.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>

namespace crier {

class RateMeter {
 public:
  using Clock = std::chrono::steady_clock;
  // Records that n more recipients reached a final state.
  void add(std::int64_t n, Clock::time_point now = Clock::now());
  // Recipients per second over the last window (0 with fewer than two
  // samples), over one second at least.
  double per_second(Clock::time_point now = Clock::now()) const;

 private:
  static constexpr auto kWindow = std::chrono::seconds(5);
  mutable std::mutex mu_;
  std::deque<std::pair<Clock::time_point, std::int64_t>> samples_;  // (time, running total)
  std::int64_t total_ = 0;
};

}  // namespace crier
