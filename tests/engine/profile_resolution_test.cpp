// apply_profile and ineligible: what a stored profile makes of a recipient
// that names it, and who a job's subscription_state lets through.
#include "engine/profile_resolution.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace crier {
namespace {
namespace json = boost::json;

Profile ann() {
  Profile p;
  p.user_id = "ann";
  p.email = "ann@example.com";
  p.phone = "+14155550100";
  p.push_tokens = {"token-1", "token-2"};
  p.locale = "pt-BR";
  p.attributes = json::object{{"name", "Ann"}, {"tier", "gold"}};
  return p;
}

TEST(ApplyProfileTest, FillsWhatTheRecipientLacksAndKeepsWhatItWasGiven) {
  Recipient r;
  r.user_id = "ann";
  r.email = "given@example.com";
  apply_profile(r, ann(), JobSpec{});
  EXPECT_EQ(r.email, "given@example.com");
  EXPECT_EQ(r.phone, "+14155550100");
  EXPECT_EQ(r.push_token, "token-1");
  EXPECT_EQ(r.locale, "pt-BR");
  EXPECT_EQ(json::parse(r.data_json), json::parse(R"({"name":"Ann","tier":"gold"})"));
}

TEST(ApplyProfileTest, AJobsWebhookUrlComesBeforeAProfiles) {
  Profile p = ann();
  p.webhook_url = "https://profile.example.com/hook";
  Recipient r;
  JobSpec job;
  job.webhook_url = "https://job.example.com/hook";
  apply_profile(r, p, job);
  EXPECT_TRUE(r.webhook_url.empty()) << "the job's URL is used";
  Recipient own;
  apply_profile(own, p, JobSpec{});
  EXPECT_EQ(own.webhook_url, "https://profile.example.com/hook");
}

TEST(ApplyProfileTest, TheRecipientsOwnDataWinsOverAttributes) {
  Recipient r;
  r.data_json = R"({"name":"Annie","order":7})";
  apply_profile(r, ann(), JobSpec{});
  EXPECT_EQ(json::parse(r.data_json), json::parse(R"({"name":"Annie","tier":"gold","order":7})"));
}

TEST(ApplyProfileTest, AProfileWithoutAttributesLeavesTheDataAlone) {
  Recipient r;
  r.data_json = R"({"order":7})";
  Profile p;
  p.email = "x@example.com";
  apply_profile(r, p, JobSpec{});
  EXPECT_EQ(r.data_json, R"({"order":7})");
  EXPECT_EQ(r.email, "x@example.com");
}

TEST(IneligibleTest, TheJobsRequirementAgainstTheUsersStandingOnTheChannel) {
  Profile p;
  p.subscriptions[static_cast<std::size_t>(Channel::email)] = SubscriptionState::unsubscribed;
  p.subscriptions[static_cast<std::size_t>(Channel::sms)] = SubscriptionState::opted_in;
  using R = SubscriptionRequirement;
  EXPECT_EQ(ineligible(R::subscribed, &p, Channel::email)->code, "unsubscribed");
  EXPECT_FALSE(ineligible(R::all, &p, Channel::email)) << "transactional";
  EXPECT_FALSE(ineligible(R::opted_in, &p, Channel::sms));
  EXPECT_FALSE(ineligible(R::subscribed, &p, Channel::sms));
  EXPECT_FALSE(ineligible(R::subscribed, &p, Channel::push)) << "unset: subscribed";
  EXPECT_EQ(ineligible(R::opted_in, &p, Channel::push)->code, "not_opted_in");
  EXPECT_FALSE(ineligible(R::subscribed, nullptr, Channel::email)) << "no profile: subscribed";
  EXPECT_EQ(ineligible(R::opted_in, nullptr, Channel::email)->code, "not_opted_in");
}

}  // namespace
}  // namespace crier
