// The delivery providers a server runs, as configured: `[providers.NAME]`
// tables of the TOML file (see docs/configuration.md), plus the built-ins
// `log`, `null` and `webhook` (signing with each tenant's secret). Parsing checks every
// field once at start-up; building turns the checked config into providers.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <toml++/toml.h>

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
  std::string name() const;
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

// Registers every provider with the dispatcher and sets the tenant limits.
// `data_dir` places the log provider's default file; webhook providers with
// no secret of their own sign with each tenant's through `signing`.
Result<void> register_providers(const ProvidersConfig& config, const std::string& data_dir,
                                TenantSigning* signing, Dispatcher& dispatcher);

// Applies the limits of a reloaded config to a running dispatcher; a tenant
// or provider limited before and no longer named loses its limit.
void apply_limits(const ProvidersConfig& before, const ProvidersConfig& after, Dispatcher& dispatcher);

}  // namespace crier
