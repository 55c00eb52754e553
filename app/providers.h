// The delivery providers a server runs, as configured: `[providers.NAME]`
// tables of the TOML file (see docs/configuration.md), plus the built-ins
// `log`, `null` and `webhook` (signing with each tenant's secret). Parsing checks every
// field once at start-up; building turns the checked config into providers.
#pragma once

#include <map>
#include <optional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <toml++/toml.h>

#include "engine/provider_access.h"
#include "engine/result.h"
#include "workers/dispatcher.h"
#include "workers/http_vendor_provider.h"
#include "workers/smtp_provider.h"
#include "workers/webhook_provider.h"

namespace crier {

struct LogProviderOptions {
  std::string name = "log";
  std::string path;  // empty: <data_dir>/delivery.log
};
struct NullProviderOptions {
  std::string name = "null";
};

struct ProviderConfig {
  std::variant<LogProviderOptions, NullProviderOptions, WebhookProviderOptions, SmtpProviderOptions,
               HttpVendorOptions>
      options;
  ProviderSettings settings;  // rate limit, attempts, backoff
  // `tenants = [...]`: who may use it ("*": every tenant). Absent: every
  // tenant for a provider without credentials; required for one with.
  std::optional<std::vector<std::string>> tenants;
  std::string name() const;
  // Whether it sends with the operator's credentials or in the operator's
  // name: an SMTP relay, an HTTP vendor's account, a webhook provider with a
  // secret, headers or user:password of its own. log and null never do.
  bool carries_credentials() const;
};

struct ProvidersConfig {
  std::vector<ProviderConfig> providers;          // in name order
  std::map<std::string, RateLimit> tenant_limits;  // [tenants.NAME]
};

// The built-in providers: log, null, webhook (unsigned, default pool).
ProvidersConfig default_providers();

// Reads [providers.*] and [tenants.*] over `out` (a table of the same name
// replaces the built-in). Errors name the offending key.
Result<void> load_providers(const toml::table& t, ProvidersConfig& out);

// 1 to 64 of [A-Za-z0-9._-], as API keys' tenants.
bool valid_tenant_name(std::string_view tenant);

// Who may use each provider (engine/provider_access.h).
std::vector<ProviderGrant> provider_grants(const ProvidersConfig& config);

// Registers every provider with the dispatcher and sets the tenant limits.
// `data_dir` places the log provider's default file; webhook providers with
// no secret of their own sign with each tenant's through `signing`, and
// connect only where `egress` allows.
Result<void> register_providers(const ProvidersConfig& config, const std::string& data_dir,
                                TenantSigning* signing, const EgressPolicy& egress, Dispatcher& dispatcher);

// Applies the limits of a reloaded config to a running dispatcher; a tenant
// or provider limited before and no longer named loses its limit.
void apply_limits(const ProvidersConfig& before, const ProvidersConfig& after, Dispatcher& dispatcher);

}  // namespace crier
