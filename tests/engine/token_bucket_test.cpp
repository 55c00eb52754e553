// engine/token_bucket: pacing arithmetic on a hand-driven clock.
#include "engine/token_bucket.h"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(TokenBucketTest, ABurstIsFreeThenEachTokenWaitsOneOverTheRate) {
  TokenBucket b(10, 5);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(b.reserve(0, 1), 0.0) << i;
  EXPECT_DOUBLE_EQ(b.reserve(0, 1), 0.1);
  EXPECT_DOUBLE_EQ(b.reserve(0, 1), 0.2) << "reservations queue up behind each other";
}

TEST(TokenBucketTest, TokensRefillWithTimeUpToTheBurst) {
  TokenBucket b(10, 5);
  EXPECT_DOUBLE_EQ(b.reserve(0, 5), 0.0);
  EXPECT_DOUBLE_EQ(b.reserve(0.5, 5), 0.0) << "0.5 s at 10/s made 5 tokens";
  EXPECT_DOUBLE_EQ(b.reserve(100, 5), 0.0) << "an idle bucket holds at most its burst";
  EXPECT_NEAR(b.reserve(100, 1), 0.1, 1e-9);
}

TEST(TokenBucketTest, ABatchBiggerThanTheBurstWaitsForWhatItLacks) {
  TokenBucket b(100, 10);
  EXPECT_DOUBLE_EQ(b.reserve(0, 60), 0.5) << "50 tokens short at 100/s";
}

TEST(TokenBucketTest, ANewRateAppliesToTheNextReservation) {
  TokenBucket b(10, 1);
  EXPECT_DOUBLE_EQ(b.reserve(0, 1), 0.0);
  b.set_rate(2, 1);
  EXPECT_DOUBLE_EQ(b.rate(), 2);
  EXPECT_DOUBLE_EQ(b.reserve(0, 1), 0.5);
  TokenBucket shrunk(10, 50);
  shrunk.set_rate(10, 2);
  EXPECT_DOUBLE_EQ(shrunk.reserve(0, 3), 0.1) << "a smaller burst caps the tokens held";
}

TEST(TokenBucketTest, TimeGoingBackwardsAddsNothing) {
  TokenBucket b(10, 1);
  EXPECT_DOUBLE_EQ(b.reserve(5, 1), 0.0);
  EXPECT_DOUBLE_EQ(b.reserve(4, 1), 0.1);
}

}  // namespace
}  // namespace crier
