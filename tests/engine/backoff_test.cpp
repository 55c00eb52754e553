// engine/backoff: the retry delay's formula, with fixed random draws.
#include "engine/backoff.h"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(RetryDelayTest, DoublesPerAttemptWithinTheUpperHalfOfItsStep) {
  // base 1 s: attempt n waits in [2^(n-1)/2, 2^(n-1)] seconds.
  EXPECT_EQ(retry_delay_ms(1000, 60000, 1, 0.0), 500);
  EXPECT_EQ(retry_delay_ms(1000, 60000, 1, 1.0), 1000);
  EXPECT_EQ(retry_delay_ms(1000, 60000, 2, 0.0), 1000);
  EXPECT_EQ(retry_delay_ms(1000, 60000, 3, 0.5), 3000);
  EXPECT_EQ(retry_delay_ms(1000, 60000, 4, 1.0), 8000);
  // Attempt 0 (none made yet) is treated as the first.
  EXPECT_EQ(retry_delay_ms(1000, 60000, 0, 1.0), 1000);
}

TEST(RetryDelayTest, TheCapHoldsForAnyNumberOfAttempts) {
  EXPECT_EQ(retry_delay_ms(1000, 60000, 7, 1.0), 60000) << "64 s capped at 60 s";
  EXPECT_EQ(retry_delay_ms(1000, 60000, 7, 0.0), 30000);
  EXPECT_EQ(retry_delay_ms(1000, 60000, 4'000'000'000u, 1.0), 60000) << "2^n overflows to infinity, still capped";
  EXPECT_EQ(retry_delay_ms(1000, 60000, 5, 7.0), 16000) << "a draw outside [0, 1] is clamped";
}

TEST(RetryDelayTest, SpreadsRetriesOfOneWindow) {
  // Different draws give different delays for the same attempt: a window's
  // retries do not come back all at once.
  EXPECT_LT(retry_delay_ms(1000, 60000, 3, 0.1), retry_delay_ms(1000, 60000, 3, 0.9));
}

}  // namespace
}  // namespace crier
