// engine/provider_access: which provider a job uses, and whether its
// tenant may use it.
#include <gtest/gtest.h>

#include "engine/provider_access.h"
#include "engine/routing.h"

namespace crier {
namespace {

JobSpec spec(Channel channel, std::string provider = {}) {
  JobSpec s;
  s.channel = channel;
  s.provider = std::move(provider);
  return s;
}

ProviderAccess access() {
  return ProviderAccess({{"log", true, {}, false},
                         {"relay", false, {"acme", "globex"}, true},
                         {"twilio", true, {}, true},
                         {"vault", false, {}, true}},
                        "log", {{Channel::email, "relay"}});
}

TEST(ProviderAccessTest, AJobsProviderIsItsOwnElseItsChannelsElseTheDefault) {
  auto a = access();
  EXPECT_EQ(a.provider_for(spec(Channel::sms, "twilio"), Channel::sms), "twilio");
  EXPECT_EQ(a.provider_for(spec(Channel::email), Channel::email), "relay");
  EXPECT_EQ(a.provider_for(spec(Channel::push), Channel::push), "log");
}

TEST(ProviderAccessTest, OnlyGrantedTenantsMayUseAProvider) {
  auto a = access();
  EXPECT_TRUE(a.check("acme", spec(Channel::email)).ok());
  EXPECT_TRUE(a.check("acme", spec(Channel::sms, "twilio")).ok()) << "granted to every tenant";
  auto routed = a.check("initech", spec(Channel::email));
  ASSERT_FALSE(routed.ok());
  EXPECT_EQ(routed.error().code, "provider_not_allowed");
  EXPECT_EQ(routed.error().kind, ErrorKind::unprocessable);
  EXPECT_EQ(routed.error().field, "provider");
  EXPECT_EQ(a.check("acme", spec(Channel::webhook, "vault")).error().code, "provider_not_allowed")
      << "a provider granted to nobody is nobody's";
  EXPECT_EQ(a.check("acme", spec(Channel::webhook, "nope")).error().code, "unknown_provider");
  EXPECT_TRUE(a.may_use("globex", "relay"));
  EXPECT_FALSE(a.may_use("initech", "relay"));
  EXPECT_FALSE(a.may_use("acme", "nope"));
}

// A routed job sends through each channel's provider: every one of them must
// be the tenant's, not only the first channel's.
TEST(ProviderAccessTest, EveryRoutedChannelsProviderIsChecked) {
  auto a = access();
  JobSpec routed = spec(Channel::push);
  routed.routing = Routing{RoutingMethod::single, {Channel::push, Channel::email}};
  EXPECT_TRUE(a.check("acme", routed).ok()) << "log and relay are both acme's";
  auto refused = a.check("initech", routed);
  ASSERT_FALSE(refused.ok()) << "push goes to log (everyone's), but email to relay (not initech's)";
  EXPECT_EQ(refused.error().code, "provider_not_allowed");
  EXPECT_NE(refused.error().message.find("email"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace crier
