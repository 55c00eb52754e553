// Crier's configuration: defaults, then a TOML file (--config), then the
// environment (CRIER_API_KEYS), then flags; validated once at start-up.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/context.h"
#include "api/server.h"
#include "app/providers.h"
#include "engine/result.h"
#include "workers/dispatcher.h"

namespace crier {

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  unsigned threads = 0;  // HTTP I/O threads; 0 = cores
  // Connection limits (api::ServerOptions): open connections, seconds for a
  // whole request, a body's minimum rate in bytes/s over its window.
  std::size_t max_connections = 10'000;
  unsigned request_timeout = 60;
  std::size_t min_body_rate = 1024;
  unsigned min_rate_window = 10;
  // Event streams (GET /v1/jobs/{id}/events): open at once, at most; and the
  // seconds each write of one may take before its client is dropped.
  std::size_t max_event_streams = 1000;
  unsigned stream_write_timeout = 30;
  bool sync_writes = true;
  std::string log_level = "info";
  std::string log_format = "text";  // or "json": one JSON object per line
  // GET /metrics asks for an API key (any tenant's) instead of being open.
  bool metrics_require_key = false;
  api::ApiKeys api_keys;  // SHA-256 digests of the keys -> tenant
  api::ApiLimits limits;
  DispatchOptions dispatch;
  ProvidersConfig providers = default_providers();
  // CIDRs opened in the egress deny-list ([egress] allow, --egress-allow).
  std::vector<std::string> egress_allow;
};

// Parses "KEY=TENANT" into the map; errors name the bad entry.
Result<void> add_api_key(Config& config, std::string_view pair);
// Reads a TOML file over the given config.
Result<void> load_toml(Config& config, const std::string& path);
// Reads only what may change while the server runs (rate limits of
// providers and tenants), for a reload on SIGHUP.
Result<ProvidersConfig> reload_limits(const std::string& path);
// Splits "host:port"; errors when malformed.
Result<api::ServerOptions> listen_options(const Config& config);

}  // namespace crier
