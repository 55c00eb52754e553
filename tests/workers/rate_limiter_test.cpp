// workers/rate_limiter: the named token buckets of providers and tenants, on
// a hand-driven clock. The e2e rate tests lean on the bound checked last
// here: whatever the times and sizes of the reservations, n tokens are never
// usable sooner than (n - burst) / rate after the first.
#include "workers/rate_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>
#include <vector>

namespace crier {
namespace {

TEST(RateLimiterTest, ANameWithoutALimitNeverWaits) {
  RateLimiter l;
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(l.reserve("nobody", 0, 100), 0.0);
  EXPECT_EQ(l.get("nobody").rate, 0.0);
}

TEST(RateLimiterTest, EachNameHasABucketOfItsOwn) {
  RateLimiter l;
  l.set("acme", {10, 2});
  l.set("globex", {10, 2});
  EXPECT_EQ(l.reserve("acme", 0, 2), 0.0);
  EXPECT_DOUBLE_EQ(l.reserve("acme", 0, 1), 0.1) << "acme's burst is spent";
  EXPECT_EQ(l.reserve("globex", 0, 2), 0.0) << "globex's is not";
}

TEST(RateLimiterTest, AnUnsetBurstIsATenthOfTheRateAndAtLeastOne) {
  RateLimiter l;
  l.set("fast", {100, 0});
  EXPECT_EQ(l.reserve("fast", 0, 10), 0.0) << "100/s saves up 10";
  EXPECT_DOUBLE_EQ(l.reserve("fast", 0, 1), 0.01);
  l.set("slow", {5, 0});
  EXPECT_EQ(l.reserve("slow", 0, 1), 0.0) << "5/s saves up 1, not 0.5";
  EXPECT_DOUBLE_EQ(l.reserve("slow", 0, 1), 0.2);
  EXPECT_EQ(effective_burst({5, 0}), 1.0);
  EXPECT_EQ(effective_burst({100, 7}), 7.0);
}

TEST(RateLimiterTest, ARateOfZeroRemovesTheLimit) {
  RateLimiter l;
  l.set("acme", {1, 1});
  EXPECT_EQ(l.reserve("acme", 0, 1), 0.0);
  EXPECT_DOUBLE_EQ(l.reserve("acme", 0, 1), 1.0);
  l.set("acme", {0, 0});
  EXPECT_EQ(l.get("acme").rate, 0.0);
  EXPECT_EQ(l.reserve("acme", 0, 1000), 0.0);
}

// A reload (SIGHUP) changes the rate of the bucket in place: what was booked
// stays booked, so changing a limit never hands out a fresh burst.
TEST(RateLimiterTest, ANewLimitKeepsWhatWasBooked) {
  RateLimiter l;
  l.set("acme", {10, 10});
  EXPECT_DOUBLE_EQ(l.reserve("acme", 0, 20), 1.0) << "10 free, 10 more at 10/s";
  l.set("acme", {20, 10});
  EXPECT_EQ(l.get("acme").rate, 20.0);
  EXPECT_DOUBLE_EQ(l.reserve("acme", 0, 1), 0.55) << "the 10 owed and this one, at 20/s";
  l.set("acme", {20, 1});
  EXPECT_DOUBLE_EQ(l.reserve("acme", 0, 1), 0.6) << "a smaller burst does not forgive a debt";
}

// Reservations from many threads at once: each token is booked exactly once,
// so the waits handed out are 0 for the burst and then k / rate, each once.
TEST(RateLimiterTest, ConcurrentReservationsBookEveryTokenOnce) {
  constexpr int kThreads = 8, kEach = 500;
  constexpr double kRate = 1000, kBurst = 50;
  RateLimiter l;
  l.set("shared", {kRate, kBurst});
  std::vector<std::vector<double>> waits(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) waits[t].push_back(l.reserve("shared", 1.0, 1));
    });
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (const auto& w : waits) all.insert(all.end(), w.begin(), w.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
  for (std::size_t k = 0; k < all.size(); ++k) {
    const double expected = std::max(0.0, (static_cast<double>(k) + 1 - kBurst) / kRate);
    ASSERT_NEAR(all[k], expected, 1e-9) << "token " << k;
  }
}

// The property the rate tests rely on: reservations of any size at any
// times; the k-th token becomes usable (its reservation time plus the wait)
// no sooner than (k - burst) / rate after the first reservation.
TEST(RateLimiterTest, NoTokenIsUsableSoonerThanTheRateAllows) {
  std::mt19937 rng(20261205);
  std::uniform_int_distribution<int> size(1, 40);
  std::uniform_real_distribution<double> gap(0, 0.05);
  for (const RateLimit limit : {RateLimit{200, 5}, RateLimit{300, 0}, RateLimit{7, 1}, RateLimit{20000, 0}}) {
    RateLimiter l;
    l.set("p", limit);
    const double burst = effective_burst(limit);
    const double start = 100;
    double now = start, booked = 0;
    for (int i = 0; i < 5000; ++i) {
      now += gap(rng);
      const int n = size(rng);
      const double usable = now + l.reserve("p", now, n);
      booked += n;
      ASSERT_GE(usable - start + 1e-9, (booked - burst) / limit.rate)
          << "rate " << limit.rate << ": " << booked << " tokens usable after " << usable - start << " s";
    }
  }
}

}  // namespace
}  // namespace crier
