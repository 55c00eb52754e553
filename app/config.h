// Crier's configuration: defaults, then a TOML file (--config), then the
// environment (CRIER_API_KEYS), then flags; validated once at start-up.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/context.h"
#include "api/server.h"
#include "engine/result.h"
#include "workers/dispatcher.h"

namespace crier {

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  unsigned threads = 0;  // HTTP I/O threads; 0 = cores
  bool sync_writes = true;
  std::string log_level = "info";
  std::map<std::string, std::string, std::less<>> api_keys;  // key -> tenant
  api::ApiLimits limits;
  DispatchOptions dispatch;
  std::string log_provider_path;  // default: <data_dir>/delivery.log
};

// Parses "KEY=TENANT" into the map; errors name the bad entry.
Result<void> add_api_key(Config& config, std::string_view pair);
// Reads a TOML file over the given config.
Result<void> load_toml(Config& config, const std::string& path);
// Splits "host:port"; errors when malformed.
Result<api::ServerOptions> listen_options(const Config& config);

}  // namespace crier
