// The profile record's codec: what encode_profile writes reads back whole
// (decode_profile) and is the JSON the API's profile_to_json gives, so
// records written before the codec and after it read the same; a record
// that is not a profile's does not decode.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "engine/profile_json.h"
#include "storage/profile_codec.h"

namespace crier {
namespace {

Profile sample() {
  Profile p;
  p.tenant = "acme";
  p.user_id = "u\"1";
  p.email = "Ann@example.com";
  p.phone = "+14155550100";
  p.webhook_url = "https://hooks.example.com/a?b=1";
  p.locale = "pt-BR";
  p.timezone = "Europe/Paris";
  p.push_tokens = {"tok-1", "tok\\2"};
  p.aliases = {{"ann", "crm"}, {"éa\\b", "hash"}};
  p.attributes = boost::json::parse(R"({"plan":"pro","visits":3,"ratio":0.5,"vip":true,"tags":["a","b"],
      "nested":{"deep":{"x":null}},"when":"2026-03-01T10:00:00Z"})").as_object();
  p.subscriptions[static_cast<std::size_t>(Channel::email)] = SubscriptionState::opted_in;
  p.subscriptions[static_cast<std::size_t>(Channel::sms)] = SubscriptionState::unsubscribed;
  p.created_at = 1'764'064'800'123;
  p.updated_at = 1'764'064'900'456;
  return p;
}

void expect_same(const Profile& a, const Profile& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.user_id, b.user_id);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.phone, b.phone);
  EXPECT_EQ(a.webhook_url, b.webhook_url);
  EXPECT_EQ(a.locale, b.locale);
  EXPECT_EQ(a.timezone, b.timezone);
  EXPECT_EQ(a.push_tokens, b.push_tokens);
  EXPECT_EQ(a.aliases, b.aliases);
  EXPECT_EQ(a.attributes, b.attributes);
  EXPECT_EQ(a.subscriptions, b.subscriptions);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

TEST(ProfileCodec, ARecordReadsBackWholeAndIsTheApisJson) {
  const Profile p = sample();
  const std::string record = encode_profile(p);
  auto back = decode_profile("acme", p.user_id, record);
  ASSERT_TRUE(back) << record;
  expect_same(*back, p);
  // The same JSON as profile_to_json (member for member), so the API's
  // reader takes it too.
  EXPECT_EQ(boost::json::parse(record), boost::json::value(profile_to_json(p)));
  auto strict = profile_from_json(boost::json::parse(record).as_object(), "acme", p.user_id);
  ASSERT_TRUE(strict.ok()) << strict.error().message;
  // And a record written the old way (the API's JSON) reads the same.
  auto old = decode_profile("acme", p.user_id, boost::json::serialize(profile_to_json(p)));
  ASSERT_TRUE(old);
  expect_same(*old, p);
}

TEST(ProfileCodec, AnEmptyProfileHasNullsAndReadsBackEmpty) {
  Profile p;
  p.tenant = "t";
  p.user_id = "u";
  auto back = decode_profile("t", "u", encode_profile(p));
  ASSERT_TRUE(back);
  expect_same(*back, p);
}

TEST(ProfileCodec, WhatIsNotAProfileRecordDoesNotDecode) {
  for (std::string_view bad : {"", "\xff garbage", "[]", "{\"email\":3}", "{\"colour\":\"blue\"}",
                               "{\"attributes\":[]}", "{\"subscriptions\":{\"fax\":\"subscribed\"}}",
                               "{\"aliases\":[{\"alias_name\":\"a\"}]}", "{\"created_at\":\"yesterday\"}", "{} trailing"})
    EXPECT_FALSE(decode_profile("t", "u", bad)) << bad;
}

}  // namespace
}  // namespace crier
