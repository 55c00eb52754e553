// A profile's JSON: what is accepted and normalised, what is refused (with
// the member named), the round trip, and JSON Merge Patch as PATCH uses it.
#include "engine/profile_json.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "engine/user_validation.h"

namespace crier {
namespace {

Result<Profile> parse(std::string_view body, std::string_view user_id = "u1") {
  boost::json::parse_options deep;
  deep.max_depth = 64;  // as the API reads bodies: the profile's own limit is the one met
  return profile_from_json(boost::json::parse(body, {}, deep).as_object(), "acme", user_id);
}

Error error_of(std::string_view body, std::string_view user_id = "u1") {
  auto p = parse(body, user_id);
  EXPECT_FALSE(p.ok()) << body;
  return p.ok() ? Error{} : p.error();
}

TEST(ProfileJson, RoundTripsEveryMember) {
  auto p = parse(R"({"user_id":"u1","email":"a@example.com","phone":"+33 6 12 34 56 78","webhook_url":"https://h.example/x",
      "locale":"en-gb","timezone":"Europe/Paris","push_tokens":["t1","t2","t1"],
      "aliases":[{"alias_name":"n","alias_label":"l"}],"attributes":{"a":[1,{"b":null}]},
      "subscriptions":{"email":"opted_in","whatsapp":"unsubscribed","sms":null}})");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->phone, "+33612345678");
  EXPECT_EQ(p->locale, "en-GB");
  EXPECT_EQ(p->push_tokens, (std::vector<std::string>{"t1", "t2"})) << "a repeated token is kept once";
  EXPECT_FALSE(p->subscriptions[static_cast<std::size_t>(Channel::sms)]) << "null is the default";
  p->created_at = 1000;
  p->updated_at = 2000;
  auto again = profile_from_json(profile_to_json(*p), "acme", "u1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(boost::json::serialize(profile_to_json(*again)), boost::json::serialize(profile_to_json(*p)));
  EXPECT_EQ(again->created_at, 1000);
}

TEST(ProfileJson, RefusalsNameTheMember) {
  EXPECT_EQ(error_of(R"({"emial":"a@example.com"})").field, "emial");
  EXPECT_EQ(error_of(R"({"email":"nope"})").code, "invalid_email");
  EXPECT_EQ(error_of(R"({"email":5})").field, "email");
  EXPECT_EQ(error_of(R"({"phone":"12"})").code, "invalid_phone_number");
  EXPECT_EQ(error_of(R"({"webhook_url":"ftp://x"})").code, "invalid_webhook_url");
  EXPECT_EQ(error_of(R"({"locale":"english please"})").code, "invalid_locale");
  EXPECT_EQ(error_of(R"({"timezone":"Mars/Olympus Mons"})").code, "invalid_timezone");
  EXPECT_EQ(error_of(R"({"push_tokens":["a b"]})").field, "push_tokens[0]");
  EXPECT_EQ(error_of(R"({"push_tokens":"t"})").field, "push_tokens");
  EXPECT_EQ(error_of(R"({"aliases":[{"alias_name":"n"}]})").field, "aliases[0]");
  EXPECT_EQ(error_of(R"({"aliases":[{"alias_name":"n","alias_label":"l","x":1}]})").code, "invalid_alias");
  EXPECT_EQ(error_of(R"({"attributes":[1]})").field, "attributes");
  EXPECT_EQ(error_of(R"({"subscriptions":{"fax":"opted_in"}})").field, "subscriptions.fax");
  EXPECT_EQ(error_of(R"({"subscriptions":{"sms":"maybe"}})").field, "subscriptions.sms");
  EXPECT_EQ(error_of(R"({"user_id":"u2"})").field, "user_id");
  EXPECT_EQ(error_of("{}", "").code, "invalid_user_id");
  EXPECT_EQ(error_of("{}", std::string("a\0b", 3)).code, "invalid_user_id");
}

TEST(ProfileJson, AttributesAreBounded) {
  std::string deep = "1";
  for (std::size_t i = 0; i < kMaxUserDataDepth; ++i) deep = "[" + deep + "]";
  EXPECT_NE(error_of(R"({"attributes":{"a":)" + deep + "}}").message.find("deeper"), std::string::npos);
  const std::string big(kMaxProfileAttributesBytes, 'x');
  EXPECT_EQ(error_of(R"({"attributes":{"a":")" + big + "\"}}").field, "attributes");
  std::string tokens = "[";
  for (std::size_t i = 0; i <= kMaxProfilePushTokens; ++i) tokens += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  EXPECT_EQ(error_of(R"({"push_tokens":)" + tokens + "]}").field, "push_tokens");
}

TEST(ProfileJson, MergePatchFollowsRfc7396) {
  // The RFC's own example (appendix A's first case and its section 3 one).
  boost::json::value target = boost::json::parse(
      R"({"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"x"})");
  merge_patch(target, boost::json::parse(
                          R"({"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]})"));
  EXPECT_EQ(target, boost::json::parse(
                        R"({"title":"Hello!","author":{"givenName":"John"},"tags":["example"],"content":"x","phoneNumber":"+01-123-456-7890"})"));
  boost::json::value scalar = 1;
  merge_patch(scalar, boost::json::parse(R"({"a":{"b":null,"c":2}})"));
  EXPECT_EQ(scalar, boost::json::parse(R"({"a":{"c":2}})"));
}

// merge_into: PATCH's (and an import record's) merge, with the server's
// times; a new profile is the patch merged into nothing, whichever path
// computes it (the patch read as it is when no null would be dropped).
TEST(ProfileJson, MergeIntoKeepsWhatThePatchLeavesOutAndStampsTimes) {
  auto patch = [](std::string_view s) { return boost::json::parse(s).as_object(); };
  auto created = merge_into(std::nullopt, patch(R"({"email":"A@Example.COM","attributes":{"plan":"pro","x":{"y":1}}})"),
                            "acme", "u1", 1000);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->email, "A@example.com");
  EXPECT_EQ(created->created_at, 1000);
  EXPECT_EQ(created->updated_at, 1000);

  auto merged = merge_into(*created, patch(R"({"phone":"+1 415 555 0100","attributes":{"x":{"y":null,"z":2}}})"),
                           "acme", "u1", 2000);
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->email, "A@example.com");
  EXPECT_EQ(merged->phone, "+14155550100");
  EXPECT_EQ(merged->attributes, patch(R"({"plan":"pro","x":{"z":2}})"));
  EXPECT_EQ(merged->created_at, 1000);
  EXPECT_EQ(merged->updated_at, 2000);

  // Nulls in a new profile's patch are dropped as the merge drops them,
  // an unknown member's included; an unknown member with a value is refused.
  auto with_nulls = merge_into(std::nullopt, patch(R"({"colour":null,"attributes":{"a":null,"b":{"c":null}}})"),
                               "acme", "u2", 3000);
  ASSERT_TRUE(with_nulls.ok()) << with_nulls.error().message;
  EXPECT_EQ(with_nulls->attributes, patch(R"({"b":{}})"));
  auto unknown = merge_into(std::nullopt, patch(R"({"colour":"blue"})"), "acme", "u3", 3000);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "invalid_profile");
  // A change the profile refuses is the merge's error.
  auto bad = merge_into(*created, patch(R"({"email":"nope"})"), "acme", "u1", 4000);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid_email");
}

}  // namespace
}  // namespace crier
