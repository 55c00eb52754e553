// How an accept loop waits after a failed accept. Out of descriptors
// (EMFILE, ENFILE) or buffers (ENOBUFS, ENOMEM), accept fails at once and
// keeps failing until something closes: retrying at once would spin a core
// and flood the log while starving the sessions that could free them. So
// each failure in a row doubles the pause (10 ms up to 1 s) and one success
// resets it. Used by the API server and the webhook sink.
#pragma once

#include <algorithm>
#include <chrono>

namespace crier {

class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{10};
  static constexpr std::chrono::milliseconds kMax{1000};

  // The pause before the next attempt, after one more failure in a row.
  std::chrono::milliseconds after_failure() {
    next_ = failures_++ == 0 ? kFirst : std::min(next_ * 2, kMax);
    return next_;
  }
  void after_success() { failures_ = 0; }
  unsigned failures_in_a_row() const { return failures_; }

 private:
  unsigned failures_ = 0;
  std::chrono::milliseconds next_{0};
};

}  // namespace crier
