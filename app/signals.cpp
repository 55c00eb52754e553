#include "app/signals.h"

#include <spdlog/spdlog.h>

#include <csignal>

#include "app/config.h"
#include "app/logging.h"
#include "app/providers.h"
#include "workers/dispatcher.h"

namespace crier {
namespace {

sigset_t stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  return signals;
}

}  // namespace

void block_stop_signals() {
  sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int wait_for_stop(const std::string& config_path, ProvidersConfig& providers, Dispatcher& dispatcher) {
  sigset_t signals = stop_signals();
  int sig = 0;
  // SIGHUP re-reads the rate limits of providers and tenants from the
  // config file; they apply to the next chunk each job sends.
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (config_path.empty()) {
      spdlog::warn("SIGHUP: no --config file to reload");
      continue;
    }
    // The log level first: it applies even when the limits do not parse.
    if (auto level = reload_log_level(config_path); !level) {
      spdlog::error("SIGHUP: {} (log level unchanged)", level.error().message);
    } else if (*level) {
      spdlog::set_level(**level);
      spdlog::info("SIGHUP: log level {} from {}", spdlog::level::to_string_view(**level), config_path);
    }
    auto reloaded = reload_limits(config_path);
    if (!reloaded) {
      spdlog::error("SIGHUP: {} (limits unchanged)", reloaded.error().message);
      continue;
    }
    apply_limits(providers, *reloaded, dispatcher);
    providers = std::move(*reloaded);
    spdlog::info("SIGHUP: rate limits reloaded from {}", config_path);
  }
  return sig;
}

}  // namespace crier
