// A job's counters. They are persisted as deltas in the same write batch as
// the changes they count, so they are exact after any crash and a status read
// costs one lookup whatever the job size.
// Invariants: received = unique + duplicates + rejected;
//             unique = pending + enqueued + sent + delivered + failed + skipped + cancelled.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "engine/recipient.h"

namespace crier {

enum class Counter : std::uint8_t {
  received,
  unique,
  duplicates,
  rejected,
  pending,
  enqueued,
  sent,
  delivered,
  failed,
  skipped,
  cancelled,
  read,
  // Not a state: recipients whose message was sent with a variable that
  // had no value (rendered empty), counted once, at their final attempt.
  render_warnings,
  count_,  // not a counter: the number of them
};

inline constexpr std::size_t kCounterCount = static_cast<std::size_t>(Counter::count_);

std::string_view to_string(Counter c);  // lower case, as the API shows it

struct JobCounters {
  std::array<std::int64_t, kCounterCount> values{};

  std::int64_t& operator[](Counter c) { return values[static_cast<std::size_t>(c)]; }
  std::int64_t operator[](Counter c) const { return values[static_cast<std::size_t>(c)]; }
  JobCounters& operator+=(const JobCounters& o) {
    for (std::size_t i = 0; i < kCounterCount; ++i) values[i] += o.values[i];
    return *this;
  }
  bool empty() const {
    for (auto v : values)
      if (v != 0) return false;
    return true;
  }
  // The recipients not yet in a final state.
  std::int64_t outstanding() const { return (*this)[Counter::pending] + (*this)[Counter::enqueued]; }
};

// The counter that holds recipients in a given state.
Counter counter_for(RecipientStatus s);

// The delta of moving one recipient from one state to another.
inline void count_transition(JobCounters& delta, RecipientStatus from, RecipientStatus to) {
  delta[counter_for(from)] -= 1;
  delta[counter_for(to)] += 1;
}

}  // namespace crier
