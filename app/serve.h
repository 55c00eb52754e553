// `crier serve`: opens the store and wires the engine, the dispatcher and its
// providers, the callbacks, the signing secrets and the HTTP API together,
// recovers what a previous run left, serves until SIGINT or SIGTERM
// (app/signals.h) and drains.
#pragma once

#include <string>

#include "app/config.h"

namespace crier {

// The process exit code: 0 after a stop signal, 1 when the store or the
// server failed, 2 for a configuration error. The caller has blocked the
// stop signals in every thread (block_stop_signals).
int serve(Config config, const std::string& config_path);

}  // namespace crier
