// A WhatsApp sender's quota as arithmetic: tiers and their limits, the
// rolling 24-hour window, the check a send must pass, when a refused send
// would fit, and the time a send takes at a sender's pace.
#include "engine/sender_quota.h"

#include <gtest/gtest.h>

#include <vector>

namespace crier {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;  // an arbitrary "now", unix ms
constexpr std::int64_t kHour = 3600 * 1000;

TEST(SenderQuotaTest, TiersHaveMetasLimits) {
  EXPECT_EQ(tier_limit(MessagingTier::tier_250), 250);
  EXPECT_EQ(tier_limit(MessagingTier::tier_1k), 1000);
  EXPECT_EQ(tier_limit(MessagingTier::tier_10k), 10000);
  EXPECT_EQ(tier_limit(MessagingTier::tier_100k), 100000);
  EXPECT_EQ(tier_limit(MessagingTier::unlimited), std::nullopt);
}

TEST(SenderQuotaTest, TierAndRatingNamesRoundTripAndSpelledOutTiersParse) {
  for (auto t : {MessagingTier::tier_250, MessagingTier::tier_1k, MessagingTier::tier_10k, MessagingTier::tier_100k,
                 MessagingTier::unlimited})
    EXPECT_EQ(parse_messaging_tier(to_string(t)), t);
  EXPECT_EQ(to_string(MessagingTier::tier_1k), "TIER_1K");
  EXPECT_EQ(parse_messaging_tier("tier_1k"), MessagingTier::tier_1k);
  EXPECT_EQ(parse_messaging_tier("TIER_1000"), MessagingTier::tier_1k);
  EXPECT_EQ(parse_messaging_tier("TIER_10000"), MessagingTier::tier_10k);
  EXPECT_EQ(parse_messaging_tier("TIER_100000"), MessagingTier::tier_100k);
  EXPECT_FALSE(parse_messaging_tier("TIER_5"));
  EXPECT_FALSE(parse_messaging_tier(""));
  for (auto r : {QualityRating::green, QualityRating::yellow, QualityRating::red})
    EXPECT_EQ(parse_quality_rating(to_string(r)), r);
  EXPECT_EQ(parse_quality_rating("yellow"), QualityRating::yellow);
  EXPECT_FALSE(parse_quality_rating("BLUE"));
}

TEST(SenderQuotaTest, SenderIdsAreShortAndPlain) {
  EXPECT_TRUE(is_valid_sender_id("813497231850626"));
  EXPECT_TRUE(is_valid_sender_id("wa-main_2"));
  EXPECT_FALSE(is_valid_sender_id(""));
  EXPECT_FALSE(is_valid_sender_id(std::string(65, '1')));
  EXPECT_FALSE(is_valid_sender_id("a b"));
  EXPECT_FALSE(is_valid_sender_id(std::string("a\0b", 3)));
}

TEST(SenderQuotaTest, UsesCountForTwentyFourHoursExactly) {
  std::vector<QuotaUse> uses = {{kNow - 24 * kHour, 100},      // made exactly 24 h ago: rolled off
                                {kNow - 24 * kHour + 1, 10},   // a millisecond younger: counts
                                {kNow - kHour, 5},
                                {kNow, 1}};
  EXPECT_EQ(used_in_window(uses, kNow), 16);
  EXPECT_EQ(used_in_window(uses, kNow + 1), 6);  // the 10 has rolled off too
  EXPECT_EQ(used_in_window({}, kNow), 0);
}

TEST(SenderQuotaTest, StatusShowsTotalUsedAndAvailable) {
  std::vector<QuotaUse> uses = {{kNow - kHour, 200}};
  auto s = quota_status(MessagingTier::tier_250, uses, kNow);
  EXPECT_EQ(s.total, 250);
  EXPECT_EQ(s.used, 200);
  EXPECT_EQ(s.available, 50);
  // Over-use (a tier lowered after the sends) shows nothing available, not less.
  uses.push_back({kNow, 100});
  EXPECT_EQ(quota_status(MessagingTier::tier_250, uses, kNow).available, 0);
  auto unlimited = quota_status(MessagingTier::unlimited, uses, kNow);
  EXPECT_EQ(unlimited.total, std::nullopt);
  EXPECT_EQ(unlimited.available, std::nullopt);
  EXPECT_EQ(unlimited.used, 300);
}

TEST(SenderQuotaTest, ASendFitsUpToTheLastConversation) {
  std::vector<QuotaUse> uses = {{kNow - 2 * kHour, 240}};
  auto ok = check_quota(MessagingTier::tier_250, uses, 10, kNow);
  EXPECT_TRUE(ok.can_send);
  EXPECT_EQ(ok.needed, 10);
  EXPECT_EQ(ok.before.available, 10);
  auto over = check_quota(MessagingTier::tier_250, uses, 11, kNow);
  EXPECT_FALSE(over.can_send);
  EXPECT_EQ(over.needed, 11);
  EXPECT_EQ(over.before.used, 240);
  EXPECT_EQ(over.before.available, 10);
  // When the 240 roll off, 24 h after they were taken.
  EXPECT_EQ(over.fits_at_ms, kNow - 2 * kHour + 24 * kHour);
}

TEST(SenderQuotaTest, ARefusedSendFitsWhenEnoughOfTheOldestUsesRollOff) {
  // Out of order on purpose: the check sorts them.
  std::vector<QuotaUse> uses = {{kNow - 1 * kHour, 500}, {kNow - 3 * kHour, 300}, {kNow - 2 * kHour, 150}};
  auto c = check_quota(MessagingTier::tier_1k, uses, 400, kNow);  // 950 used, 50 left
  EXPECT_FALSE(c.can_send);
  // The 300 rolling off leaves 650 used (+400 > 1000); the 150 too: 500 used, fits.
  EXPECT_EQ(c.fits_at_ms, kNow - 2 * kHour + 24 * kHour);
}

TEST(SenderQuotaTest, ASendLargerThanTheTierNeverFits) {
  auto c = check_quota(MessagingTier::tier_250, {}, 251, kNow);
  EXPECT_FALSE(c.can_send);
  EXPECT_EQ(c.before.available, 250);
  EXPECT_EQ(c.fits_at_ms, std::nullopt);
}

TEST(SenderQuotaTest, UnlimitedAlwaysFits) {
  std::vector<QuotaUse> uses = {{kNow, 5'000'000}};
  auto c = check_quota(MessagingTier::unlimited, uses, 1'000'000, kNow);
  EXPECT_TRUE(c.can_send);
  EXPECT_EQ(c.before.available, std::nullopt);
}

TEST(SenderQuotaTest, EstimatedMinutesAreUniqueOverRateRoundedUpToAHundredth) {
  EXPECT_DOUBLE_EQ(estimated_minutes(4800, 80), 1.0);       // 60 s at 80/s
  EXPECT_DOUBLE_EQ(estimated_minutes(7200, 80), 1.5);
  EXPECT_DOUBLE_EQ(estimated_minutes(3, 80), 0.01);         // 37.5 ms still shows
  EXPECT_DOUBLE_EQ(estimated_minutes(1000, 1000.0 / 60), 1.0);
  EXPECT_DOUBLE_EQ(estimated_minutes(100, 1), 1.67);        // 1.666… rounds up
  EXPECT_DOUBLE_EQ(estimated_minutes(0, 80), 0.0);
  EXPECT_DOUBLE_EQ(estimated_minutes(100, 0), 0.0);         // no pace: no estimate
}

}  // namespace
}  // namespace crier
