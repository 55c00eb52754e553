// Courier's list patterns as the façade reads them: `*` is any run of
// characters (dots included), the rest matches itself.
#include <gtest/gtest.h>

#include "api/compat/courier_lists.h"

namespace crier::api::compat {
namespace {

TEST(CourierListPattern, AStarIsAnyRunAndTheRestMatchesItself) {
  EXPECT_TRUE(matches_list_pattern("orders.*", "orders.shipped"));
  EXPECT_TRUE(matches_list_pattern("orders.*", "orders.eu.shipped")) << "dots included";
  EXPECT_TRUE(matches_list_pattern("orders.*", "orders.")) << "an empty run";
  EXPECT_FALSE(matches_list_pattern("orders.*", "orders"));
  EXPECT_FALSE(matches_list_pattern("orders.*", "orders-x.shipped"));
  EXPECT_TRUE(matches_list_pattern("*.shipped", "orders.eu.shipped"));
  EXPECT_FALSE(matches_list_pattern("*.shipped", "orders.shipped.late"));
  EXPECT_TRUE(matches_list_pattern("a*b*c", "a-xb-yc"));
  EXPECT_FALSE(matches_list_pattern("a*b*c", "a-xc-yb"));
  EXPECT_TRUE(matches_list_pattern("news", "news"));
  EXPECT_FALSE(matches_list_pattern("news", "newsletter"));
  EXPECT_TRUE(matches_list_pattern("*", "anything.at.all"));
}

TEST(CourierListPattern, APatternIsListIdCharactersAndStars) {
  EXPECT_TRUE(valid_list_pattern("orders.*"));
  EXPECT_TRUE(valid_list_pattern("*"));
  EXPECT_FALSE(valid_list_pattern(""));
  EXPECT_FALSE(valid_list_pattern("orders/*"));
  EXPECT_FALSE(valid_list_pattern("orders.?"));
  EXPECT_FALSE(valid_list_pattern(std::string(129, 'a')));
}

}  // namespace
}  // namespace crier::api::compat
