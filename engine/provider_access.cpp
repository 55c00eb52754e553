#include "engine/provider_access.h"

#include <fmt/format.h>

#include "engine/routing.h"

namespace crier {

std::string_view provider_for(const JobSpec& spec, Channel channel, std::string_view default_provider,
                              const std::map<Channel, std::string>& channel_providers) {
  if (!spec.provider.empty()) return spec.provider;
  auto ch = channel_providers.find(channel);
  return ch != channel_providers.end() ? std::string_view(ch->second) : default_provider;
}

ProviderAccess::ProviderAccess(std::vector<ProviderGrant> grants, std::string default_provider,
                               std::map<Channel, std::string> channel_providers)
    : default_provider_(std::move(default_provider)), channel_providers_(std::move(channel_providers)) {
  for (auto& g : grants) {
    std::string name = g.provider;
    grants_.insert_or_assign(std::move(name), std::move(g));
  }
}

std::string_view ProviderAccess::provider_for(const JobSpec& spec, Channel channel) const {
  return crier::provider_for(spec, channel, default_provider_, channel_providers_);
}

const ProviderGrant* ProviderAccess::find(std::string_view provider) const {
  auto it = grants_.find(provider);
  return it == grants_.end() ? nullptr : &it->second;
}

bool ProviderAccess::exists(std::string_view provider) const { return find(provider) != nullptr; }

bool ProviderAccess::may_use(std::string_view tenant, std::string_view provider) const {
  const ProviderGrant* g = find(provider);
  return g && (g->every_tenant || g->tenants.count(tenant) > 0);
}

Result<void> ProviderAccess::check(std::string_view tenant, const JobSpec& spec) const {
  for (Channel channel : routed_channels(spec)) {
    const std::string_view name = provider_for(spec, channel);
    if (!exists(name)) {
      if (!spec.provider.empty())
        return make_error(ErrorKind::unprocessable, "unknown_provider",
                          fmt::format("no provider '{}' is configured", name), "provider");
      // Routing names a provider that is gone: checked at start-up, so not
      // expected; refused rather than stored to wait.
      return make_error(ErrorKind::unprocessable, "unknown_provider",
                        fmt::format("no provider is configured for {} jobs", to_string(channel)), "provider");
    }
    if (!may_use(tenant, name))
      return make_error(ErrorKind::unprocessable, "provider_not_allowed",
                        spec.provider.empty()
                            ? fmt::format("the provider for {} messages is not available to this tenant; name one that is",
                                          to_string(channel))
                            : fmt::format("provider '{}' is not available to this tenant", name),
                        "provider");
  }
  return {};
}

}  // namespace crier
