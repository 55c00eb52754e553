// The process's signals: SIGINT and SIGTERM stop the server, SIGHUP reloads
// what may change while it runs (the log level, the providers' and tenants'
// rate limits) from the --config file. They are blocked in every thread and
// taken by one sigwait, so no handler runs on a thread mid-work.
#pragma once

#include <string>

namespace crier {

class Dispatcher;
struct ProvidersConfig;

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread
// it starts after: call first in main.
void block_stop_signals();

// Waits for SIGINT or SIGTERM, reloading on each SIGHUP meanwhile (the
// reloaded limits are applied to `dispatcher` and kept in `providers`).
// Returns the signal that stopped it.
int wait_for_stop(const std::string& config_path, ProvidersConfig& providers, Dispatcher& dispatcher);

}  // namespace crier
