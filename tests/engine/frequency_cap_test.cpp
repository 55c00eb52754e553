// within_caps and prune_history: the rules against a user's send history.
#include "engine/frequency_cap.h"
#include "engine/ids.h"

#include <gtest/gtest.h>

namespace crier {
namespace {

constexpr std::int64_t kHour = 3600 * 1000;

TEST(FrequencyCapTest, ARuleCountsItsChannelsSendsInsideItsWindow) {
  std::vector<FrequencyRule> rules{{Channel::email, 2, 24 * kHour}};
  const std::int64_t now = 100 * kHour;
  std::vector<SendMark> history{{now - 30 * kHour, Channel::email}, {now - 2 * kHour, Channel::email}};
  EXPECT_TRUE(within_caps(rules, history, Channel::email, now)) << "one inside the day, one before it";
  history.push_back({now - kHour, Channel::email});
  EXPECT_FALSE(within_caps(rules, history, Channel::email, now));
  EXPECT_TRUE(within_caps(rules, history, Channel::sms, now)) << "an email rule does not cap sms";
}

TEST(FrequencyCapTest, AnAllChannelRuleCountsEveryChannel) {
  std::vector<FrequencyRule> rules{{std::nullopt, 2, kHour}};
  const std::int64_t now = 10 * kHour;
  std::vector<SendMark> history{{now - 10, Channel::email}, {now - 20, Channel::sms}};
  EXPECT_FALSE(within_caps(rules, history, Channel::push, now));
  EXPECT_TRUE(within_caps(rules, history, Channel::push, now + kHour)) << "both out of the window an hour later";
}

TEST(FrequencyCapTest, PruningKeepsTheLongestWindowARuleMayHave) {
  const std::int64_t now = 1000 * 24 * kHour;
  std::vector<SendMark> history{{now - kMaxFrequencyWindowMs - 1, Channel::email}, {now - 29 * 24 * kHour, Channel::sms},
                                {now, Channel::email}};
  prune_history(history, now);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].at_ms, now - 29 * 24 * kHour);
}

TEST(FrequencyCapTest, AMessagesMarkIsStableAndItsOwn) {
  JobKey a{}, b{};
  b[15] = 1;
  EXPECT_EQ(message_mark(a, 7), message_mark(a, 7));
  EXPECT_NE(message_mark(a, 7), message_mark(a, 8));
  EXPECT_NE(message_mark(a, 7), message_mark(b, 7));
}

}  // namespace
}  // namespace crier
