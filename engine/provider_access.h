// Who may use which provider. A provider is configured by the operator and
// may carry the operator's credentials (a signing secret, an API token, an
// SMTP account, headers); a job names a provider (or gets one from its
// channel's routing). This says, for one tenant and one job, whether that
// provider is theirs to use: the engine asks at create time (every path,
// the vendors' façades included, goes through JobService::prepare), and
// dispatch asks again before sending a stored job.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/job.h"
#include "engine/result.h"

namespace crier {

struct ProviderGrant {
  std::string provider;
  bool every_tenant = false;                      // `tenants = ["*"]`, or no credentials and no list
  std::set<std::string, std::less<>> tenants;     // otherwise only these
  // Carries credentials: sends only to the destination the operator
  // configured (a job's or user's URL never redirects it).
  bool fixed_destination = false;
};

// The provider a job's messages on `channel` go to: its own `provider`,
// else the channel's in `channel_providers`, else `default_provider`.
std::string_view provider_for(const JobSpec& spec, Channel channel, std::string_view default_provider,
                              const std::map<Channel, std::string>& channel_providers);

class ProviderAccess {
 public:
  ProviderAccess(std::vector<ProviderGrant> grants, std::string default_provider,
                 std::map<Channel, std::string> channel_providers);

  std::string_view provider_for(const JobSpec& spec, Channel channel) const;
  bool exists(std::string_view provider) const;
  bool may_use(std::string_view tenant, std::string_view provider) const;

  // Whether `tenant` may create a job with `spec`: the provider of every
  // channel the job may send on (routed_channels) is checked. 422
  // (unprocessable): unknown_provider (named and not configured),
  // provider_not_allowed (a provider the job would use, named, the sender's
  // or routed, is not the tenant's).
  // Both name the field `provider`; neither says which tenants may use it.
  Result<void> check(std::string_view tenant, const JobSpec& spec) const;

 private:
  const ProviderGrant* find(std::string_view provider) const;

  std::map<std::string, ProviderGrant, std::less<>> grants_;
  std::string default_provider_;
  std::map<Channel, std::string> channel_providers_;
};

}  // namespace crier
