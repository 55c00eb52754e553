// The connected-audience filter: Braze's example object, every comparison
// (with a missing attribute and a wrong type), the native conditions, and
// the errors a bad filter gets.
#include "engine/audience_filter.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/json/parse.hpp>
#include <set>

#include "engine/time_format.h"

namespace crier {
namespace {

// A profile as filters see it.
struct Subject final : AudienceSubject {
  boost::json::object attributes;
  std::array<SubscriptionState, kChannelCount> states{};
  std::set<std::string, std::less<>> lists;

  const boost::json::value* attribute(std::string_view name) const override {
    return attributes.if_contains(name);
  }
  SubscriptionState subscription(Channel c) const override { return states[static_cast<std::size_t>(c)]; }
  bool in_list(std::string_view id) const override { return lists.find(id) != lists.end(); }
};

const std::int64_t kNow = *parse_rfc3339("2026-12-05T12:00:00Z");

AudienceFilter filter(std::string_view json) {
  auto f = AudienceFilter::parse(boost::json::parse(json));
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  return std::move(f).value();
}

Error error_of(std::string_view json) {
  auto f = AudienceFilter::parse(boost::json::parse(json));
  EXPECT_FALSE(f.ok());
  return f.ok() ? Error{} : f.error();
}

std::string attr(std::string_view comparison, std::string_view value_json, std::string_view name = "a") {
  return std::string(R"({"custom_attribute":{"custom_attribute_name":")") + std::string(name) +
         R"(","comparison":")" + std::string(comparison) + "\"" +
         (value_json.empty() ? "" : ",\"value\":" + std::string(value_json)) + "}}";
}

bool matches(std::string_view json, const boost::json::value& a) {
  Subject s;
  if (!a.is_null()) s.attributes["a"] = a;
  return filter(json).matches(s, kNow);
}
bool matches_missing(std::string_view json) { return filter(json).matches(Subject{}, kNow); }

TEST(AudienceFilter, BrazesExampleMatchesOnlyTheProfileItDescribes) {
  // The seed page's example, without last_used_app's app data: blue eyes,
  // likes pizza, bought in the last two days or opted in to push, and not
  // subscribed to email.
  const auto f = filter(R"({"AND":[
    {"custom_attribute":{"custom_attribute_name":"eye_color","comparison":"equals","value":"blue"}},
    {"custom_attribute":{"custom_attribute_name":"favorite_foods","comparison":"includes_value","value":"pizza"}},
    {"OR":[
      {"custom_attribute":{"custom_attribute_name":"last_purchase_time","comparison":"less_than_x_days_ago","value":2}},
      {"push_subscription_status":{"comparison":"is","value":"opted_in"}}]},
    {"email_subscription_status":{"comparison":"is_not","value":"subscribed"}},
    {"last_used_app":{"comparison":"after","value":"2019-07-22T13:17:55+0000"}}]})");
  Subject s;
  s.attributes = boost::json::parse(R"({"eye_color":"blue","favorite_foods":["sushi","pizza"],
      "last_purchase_time":"2026-12-04T09:00:00Z","last_used_app":"2026-12-01T00:00:00Z"})").as_object();
  s.states[static_cast<std::size_t>(Channel::email)] = SubscriptionState::unsubscribed;
  EXPECT_TRUE(f.matches(s, kNow));

  Subject brown = s;
  brown.attributes["eye_color"] = "brown";
  EXPECT_FALSE(f.matches(brown, kNow));

  Subject old_purchase = s;  // the OR's first branch fails, the second saves it
  old_purchase.attributes["last_purchase_time"] = "2026-11-01T00:00:00Z";
  EXPECT_FALSE(f.matches(old_purchase, kNow));
  old_purchase.states[static_cast<std::size_t>(Channel::push)] = SubscriptionState::opted_in;
  EXPECT_TRUE(f.matches(old_purchase, kNow));

  Subject subscribed = s;  // the default state of a channel is subscribed
  subscribed.states[static_cast<std::size_t>(Channel::email)] = SubscriptionState::subscribed;
  EXPECT_FALSE(f.matches(subscribed, kNow));

  Subject never_used = s;
  never_used.attributes.erase("last_used_app");
  EXPECT_FALSE(f.matches(never_used, kNow));
}

TEST(AudienceFilter, EqualityComparesByValueAndType) {
  EXPECT_TRUE(matches(attr("equals", R"("blue")"), "blue"));
  EXPECT_FALSE(matches(attr("equals", R"("blue")"), "Blue"));  // exact
  EXPECT_TRUE(matches(attr("equals", "2"), 2.0));              // 2 == 2.0
  EXPECT_FALSE(matches(attr("equals", "2"), "2"));             // a string is not a number
  EXPECT_FALSE(matches(attr("equals", "9007199254740993"), std::int64_t{9007199254740992}))
      << "integers past 2^53 compare exactly";
  EXPECT_TRUE(matches(attr("equals", "18446744073709551615"), std::uint64_t{18446744073709551615ULL}));
  EXPECT_TRUE(matches(attr("equals", "true"), true));
  EXPECT_FALSE(matches_missing(attr("equals", "true")));
  EXPECT_TRUE(matches(attr("not_equal", R"("blue")"), "green"));
  EXPECT_FALSE(matches(attr("not_equal", R"("blue")"), "blue"));
  EXPECT_TRUE(matches(attr("not_equal", R"("blue")"), 7));
  EXPECT_TRUE(matches_missing(attr("not_equal", R"("blue")")));
}

TEST(AudienceFilter, OrderingNeedsNumbers) {
  EXPECT_TRUE(matches(attr("greater_than", "10"), 11));
  EXPECT_FALSE(matches(attr("greater_than", "10"), 10));
  EXPECT_TRUE(matches(attr("greater_than_or_equal_to", "10"), 10));
  EXPECT_TRUE(matches(attr("less_than", "10.5"), 10));
  EXPECT_FALSE(matches(attr("less_than", "10"), 10));
  EXPECT_TRUE(matches(attr("less_than_or_equal_to", "10"), 10));
  EXPECT_FALSE(matches(attr("less_than", "10"), "5"));
  EXPECT_FALSE(matches_missing(attr("less_than", "10")));
}

TEST(AudienceFilter, ExistenceTreatsNullAsMissing) {
  EXPECT_TRUE(matches(attr("exists", ""), "x"));
  EXPECT_TRUE(matches(attr("exists", ""), false));
  EXPECT_FALSE(matches_missing(attr("exists", "")));
  EXPECT_TRUE(matches_missing(attr("does_not_exist", "")));
  Subject with_null;
  with_null.attributes["a"] = nullptr;
  EXPECT_TRUE(filter(attr("does_not_exist", "")).matches(with_null, kNow));
}

TEST(AudienceFilter, IncludesLooksInsideArraysAndAtScalars) {
  const boost::json::value foods = boost::json::array{"pizza", "sushi", 3};
  EXPECT_TRUE(matches(attr("includes_value", R"("sushi")"), foods));
  EXPECT_TRUE(matches(attr("includes_value", "3"), foods));
  EXPECT_FALSE(matches(attr("includes_value", R"("tacos")"), foods));
  EXPECT_TRUE(matches(attr("includes_value", R"("pizza")"), "pizza"));
  EXPECT_FALSE(matches_missing(attr("includes_value", R"("pizza")")));
  EXPECT_TRUE(matches(attr("does_not_include_value", R"("tacos")"), foods));
  EXPECT_FALSE(matches(attr("does_not_include_value", R"("pizza")"), foods));
  EXPECT_TRUE(matches_missing(attr("does_not_include_value", R"("pizza")")));
}

TEST(AudienceFilter, TimesCompareAsInstantsWhateverTheirNotation) {
  EXPECT_TRUE(matches(attr("after", R"("2026-01-01T00:00:00Z")"), "2026-06-01T00:00:00+02:00"));
  EXPECT_TRUE(matches(attr("before", R"("2026-01-01T00:00:00+0000")"), "2025-12-31"));
  EXPECT_FALSE(matches(attr("before", R"("2026-01-01")"), "2026-01-01T00:00:00Z"));  // not before itself
  // 01:00+02:00 is 23:00 UTC the day before.
  EXPECT_TRUE(matches(attr("before", R"("2026-01-01")"), "2026-01-01T01:00:00+0200"));
  EXPECT_FALSE(matches(attr("after", R"("2026-01-01")"), "not a time"));
  EXPECT_FALSE(matches(attr("after", R"("2026-01-01")"), 1767225600000));
  EXPECT_FALSE(matches_missing(attr("after", R"("2026-01-01")")));
}

TEST(AudienceFilter, DaysAreCountedFromNow) {
  // kNow is 2026-12-05T12:00:00Z.
  EXPECT_TRUE(matches(attr("less_than_x_days_ago", "2"), "2026-12-04T00:00:00Z"));
  EXPECT_FALSE(matches(attr("less_than_x_days_ago", "2"), "2026-12-03T11:00:00Z"));
  EXPECT_FALSE(matches(attr("less_than_x_days_ago", "2"), "2026-12-06T00:00:00Z"));  // the future
  EXPECT_TRUE(matches(attr("more_than_x_days_ago", "2"), "2026-12-03T11:00:00Z"));
  EXPECT_TRUE(matches(attr("greater_than_x_days_ago", "2"), "2026-12-03T11:00:00Z"));
  EXPECT_FALSE(matches(attr("more_than_x_days_ago", "2"), "2026-12-04T00:00:00Z"));
  EXPECT_TRUE(matches(attr("less_than_x_days_in_the_future", "1"), "2026-12-06T00:00:00Z"));
  EXPECT_FALSE(matches(attr("less_than_x_days_in_the_future", "1"), "2026-12-07T00:00:00Z"));
  EXPECT_TRUE(matches(attr("more_than_x_days_in_the_future", "1"), "2026-12-07T00:00:00Z"));
  EXPECT_FALSE(matches_missing(attr("more_than_x_days_ago", "2")));
}

TEST(AudienceFilter, SubscriptionOfAnyChannelAndListMembership) {
  const auto f = filter(R"({"OR":[
    {"subscription_status":{"channel":"sms","comparison":"is","value":"opted_in"}},
    {"AND":[{"list_membership":{"list_id":"vip","comparison":"is"}},
            {"list_membership":{"list_id":"churned","comparison":"is_not"}}]}]})");
  EXPECT_EQ(f.list_ids(), (std::vector<std::string>{"vip", "churned"}));
  Subject s;
  EXPECT_FALSE(f.matches(s, kNow));
  s.states[static_cast<std::size_t>(Channel::sms)] = SubscriptionState::opted_in;
  EXPECT_TRUE(f.matches(s, kNow));
  Subject vip;
  vip.lists = {"vip"};
  EXPECT_TRUE(f.matches(vip, kNow));
  vip.lists.insert("churned");
  EXPECT_FALSE(f.matches(vip, kNow));
}

TEST(AudienceFilter, ErrorsNameTheOffendingPart) {
  auto e = error_of(R"({"AND":[{"custom_attribute":{"custom_attribute_name":"a","comparison":"equals","value":1}},
                               {"custom_attribute":{"custom_attribute_name":"a","comparison":"roughly","value":1}}]})");
  EXPECT_EQ(e.code, "invalid_audience");
  EXPECT_EQ(e.kind, ErrorKind::invalid);
  EXPECT_EQ(e.field, "audience.AND[1].custom_attribute.comparison");

  EXPECT_EQ(error_of(R"({"AND":[]})").field, "audience.AND");
  EXPECT_EQ(error_of(R"({"AND":[{}]})").field, "audience.AND[0]");
  EXPECT_EQ(error_of(R"([1])").field, "audience");
  EXPECT_EQ(error_of(R"({"OR":[1],"AND":[1]})").field, "audience");
  EXPECT_EQ(error_of(R"({"interests":{"comparison":"is"}})").field, "audience.interests");
  EXPECT_EQ(error_of(attr("greater_than", R"("10")")).field, "audience.custom_attribute.value");
  EXPECT_EQ(error_of(attr("equals", "")).field, "audience.custom_attribute.value");
  EXPECT_EQ(error_of(attr("equals", R"({"x":1})")).field, "audience.custom_attribute.value");
  EXPECT_EQ(error_of(attr("before", R"("yesterday")")).field, "audience.custom_attribute.value");
  EXPECT_EQ(error_of(attr("less_than_x_days_ago", "-1")).field, "audience.custom_attribute.value");
  EXPECT_EQ(error_of(attr("exists", "", "")).field, "audience.custom_attribute.custom_attribute_name");
  EXPECT_EQ(error_of(R"({"email_subscription_status":{"comparison":"equals","value":"opted_in"}})").field,
            "audience.email_subscription_status.comparison");
  EXPECT_EQ(error_of(R"({"push_subscription_status":{"comparison":"is","value":"maybe"}})").field,
            "audience.push_subscription_status.value");
  EXPECT_EQ(error_of(R"({"subscription_status":{"channel":"fax","comparison":"is","value":"opted_in"}})").field,
            "audience.subscription_status.channel");
  EXPECT_EQ(error_of(R"({"list_membership":{"comparison":"is"}})").field, "audience.list_membership.list_id");
}

TEST(AudienceFilter, DepthAndSizeAreBounded) {
  const std::string leaf = attr("exists", "");
  std::string deep = leaf;
  for (std::size_t i = 1; i < kAudienceMaxDepth; ++i) deep = R"({"AND":[)" + deep + "]}";
  EXPECT_TRUE(AudienceFilter::parse(boost::json::parse(deep)).ok());
  const std::string too_deep = R"({"AND":[)" + deep + "]}";
  auto e = error_of(too_deep);
  EXPECT_NE(e.message.find("deeper"), std::string::npos) << e.message;

  std::string wide = R"({"OR":[)";
  for (std::size_t i = 0; i < kAudienceMaxNodes; ++i) wide += (i ? "," : "") + leaf;
  wide += "]}";
  auto w = error_of(wide);
  EXPECT_NE(w.message.find("more than"), std::string::npos) << w.message;

  EXPECT_EQ(error_of(attr("equals", "\"" + std::string(kAudienceMaxStringBytes + 1, 'x') + "\"")).field,
            "audience.custom_attribute.value");
}

TEST(AudienceFilter, TimesInTheNotationsFiltersUse) {
  EXPECT_EQ(parse_audience_time("2019-07-22T13:17:55+0000"), parse_rfc3339("2019-07-22T13:17:55Z"));
  EXPECT_EQ(parse_audience_time("2019-07-22T15:17:55+0200"), parse_rfc3339("2019-07-22T13:17:55Z"));
  EXPECT_EQ(parse_audience_time("2019-07-22"), parse_rfc3339("2019-07-22T00:00:00Z"));
  EXPECT_EQ(parse_audience_time("2019-07-22T13:17:55.250-01:00"), parse_rfc3339("2019-07-22T14:17:55.250Z"));
  EXPECT_FALSE(parse_audience_time("2019-07-2"));
  EXPECT_FALSE(parse_audience_time("-0000"));
  EXPECT_FALSE(parse_audience_time(""));
}

}  // namespace
}  // namespace crier
