// The sink's busiest-second counter: exact sliding windows over per-millisecond
// arrivals, fed explicit timestamps (no clock involved).
#include "sink/arrival_counter.h"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(ArrivalCounterTest, FindsTheBusiestSlidingWindowToTheMillisecond) {
  ArrivalCounter c;
  EXPECT_EQ(c.max_window(1000), 0u);
  // 10 a second, evenly, for 5 s from t = 1 000 000 ms ...
  for (int i = 0; i < 50; ++i) c.add(1'000'000 + i * 100);
  EXPECT_EQ(c.max_window(1000), 10u);
  // ... and a burst of 7 more at 4 950-4 992 ms: the second [3 993, 4 992]
  // holds it and the 10 even arrivals of 4 000-4 900 ms.
  for (int i = 0; i < 7; ++i) c.add(1'004'950 + i * 7);
  EXPECT_EQ(c.max_window(1000), 17u);
  EXPECT_EQ(c.max_window(50), 7u);
  EXPECT_EQ(c.max_window(1), 1u);
  c.add(1'004'950);
  EXPECT_EQ(c.max_window(1), 2u);
  EXPECT_EQ(c.outside(), 0u);
}

TEST(ArrivalCounterTest, ArrivalsOutsideTheSpanAreCountedApartAndClearForgets) {
  ArrivalCounter c;
  c.add(5000);
  c.add(4999);  // before the first: no bucket
  c.add(5000 + ArrivalCounter::kSpanMs);
  EXPECT_EQ(c.max_window(1000), 1u);
  EXPECT_EQ(c.outside(), 2u);
  c.clear();
  EXPECT_EQ(c.max_window(1000), 0u);
  EXPECT_EQ(c.outside(), 0u);
  c.add(7);
  c.add(7);
  EXPECT_EQ(c.max_window(1), 2u);
}

}  // namespace
}  // namespace crier
