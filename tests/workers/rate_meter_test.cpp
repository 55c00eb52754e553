// workers/rate_meter: a job's rate over the last seconds, on given times.
#include "workers/rate_meter.h"

#include <gtest/gtest.h>

namespace crier {
namespace {

using namespace std::chrono_literals;

TEST(RateMeterTest, NoRateBeforeTwoSamples) {
  RateMeter m;
  const auto t0 = RateMeter::Clock::time_point{} + 100s;
  EXPECT_EQ(m.per_second(t0), 0);
}

TEST(RateMeterTest, CountsWhatReachedAFinalStatePerSecondSinceTheStart) {
  RateMeter m;
  const auto t0 = RateMeter::Clock::time_point{} + 100s;
  m.add(100, t0);
  m.add(100, t0 + 1s);
  m.add(100, t0 + 2s);
  EXPECT_DOUBLE_EQ(m.per_second(t0 + 2s), 150.0) << "300 - the 0 at the start, over 2 s";
}

TEST(RateMeterTest, AFirstMessageIsNotReadAsAHighRate) {
  RateMeter m;
  const auto t0 = RateMeter::Clock::time_point{} + 100s;
  m.add(0, t0);
  m.add(1, t0 + 35ms);  // a job limited to 2/s, one message in
  EXPECT_DOUBLE_EQ(m.per_second(t0 + 35ms), 1.0) << "not 1 / 0.035 s";
}

TEST(RateMeterTest, OnlyTheLastWindowCounts) {
  RateMeter m;
  const auto t0 = RateMeter::Clock::time_point{} + 100s;
  m.add(10'000, t0);  // a fast start...
  for (int s = 1; s <= 20; ++s) m.add(10, t0 + std::chrono::seconds(s));  // ...then 10/s
  const double rate = m.per_second(t0 + 20s);
  EXPECT_GT(rate, 9.0);
  EXPECT_LT(rate, 11.0) << "the first burst is out of the window";
}

TEST(RateMeterTest, AJobThatStoppedMovingHasNoRate) {
  RateMeter m;
  const auto t0 = RateMeter::Clock::time_point{} + 100s;
  m.add(50, t0);
  m.add(50, t0 + 1s);
  EXPECT_GT(m.per_second(t0 + 2s), 0);
  EXPECT_EQ(m.per_second(t0 + 30s), 0);
}

}  // namespace
}  // namespace crier
