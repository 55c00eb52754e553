// For tests only: CRIER_HOLD_AT=<point>:<file> makes `crier serve` wait at
// the named point of its start-up until <file> exists, so a test can look at
// a state that otherwise passes too quickly to be seen reliably: "recovery"
// is between the callbacks' recovery and the dispatcher's, while the server
// already answers and /readyz says not_ready (tests/e2e/readyz_test.cpp).
// Unset, or naming another point, it costs one getenv. The wait is announced
// on stderr, never on stdout, whose first line must stay "crier listening".
#pragma once

#include <string_view>

namespace crier {

void hold_at(std::string_view point);

}  // namespace crier
