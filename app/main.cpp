// crier: the bulk notification server. `crier serve --help` lists the options.
// This file reads the command line; what each command does is in its own
// file (serve.cpp, compact.cpp, sink.cpp, cli/).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "app/cli/commands.h"
#include "app/compact.h"
#include "app/config.h"
#include "app/serve.h"
#include "app/signals.h"
#include "app/sink.h"

int main(int argc, char** argv) {
  // Block the stop signals in every thread; serve waits for them with sigwait.
  crier::block_stop_signals();

  CLI::App app{"Crier: self-hosted bulk notifications"};
  app.require_subcommand(1);
  crier::Config config;
  // Webhook jobs go to the built-in webhook provider unless the config says
  // otherwise; every other channel needs a configured provider (or the default).
  config.dispatch.channel_providers[crier::Channel::webhook] = "webhook";
  config.dispatch.threads = 0;  // two per core unless the config or a flag says otherwise
  config.dispatch.lanes = 0;    // one per dispatch thread unless the config says otherwise
  // Above the HTTP threads' 0: the API stays responsive while a job keeps
  // every core busy (workers/thread_priority.h).
  config.dispatch.nice = 10;
  std::string config_file;
  std::vector<std::string> keys, egress_allow;
  unsigned threads = 0, dispatch_threads = 0;
  std::optional<std::size_t> max_connections, min_body_rate, max_event_streams;
  std::optional<unsigned> request_timeout, min_rate_window, stream_write_timeout;
  int dispatch_nice = -1;
  std::string listen, data_dir, log_level, log_format, default_provider;
  bool no_sync = false, metrics_require_key = false;

  auto* serve_cmd = app.add_subcommand("serve", "Run the HTTP API and the dispatcher");
  serve_cmd->add_option("--listen", listen, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 picks a free one)");
  serve_cmd->add_option("--data-dir", data_dir, "RocksDB data directory (default ./data)");
  serve_cmd->add_option("--api-key", keys, "KEY=TENANT, repeatable; also CRIER_API_KEYS=k1=t1,k2=t2. "
                                           "With none, a key is generated and kept in the data directory");
  serve_cmd->add_option("--config", config_file, "TOML configuration file (flags override it)")->check(CLI::ExistingFile);
  serve_cmd->add_option("--threads", threads, "HTTP I/O threads (default: one per core)");
  serve_cmd->add_option("--max-connections", max_connections, "open connections at most; beyond, 503 too_many_connections (default 10000)")
      ->check(CLI::Range(1, 1'000'000));
  serve_cmd->add_option("--request-timeout", request_timeout, "seconds from a request's first byte to its last (default 60)")
      ->check(CLI::Range(1, 86'400));
  serve_cmd->add_option("--min-body-rate", min_body_rate, "bytes/s a request body must average over each window; "
                        "slower is 408 (default 1024; 0 turns it off)");
  serve_cmd->add_option("--min-rate-window", min_rate_window, "seconds over which --min-body-rate is judged (default 10)")
      ->check(CLI::Range(1, 3'600));
  serve_cmd->add_option("--max-event-streams", max_event_streams, "event streams (GET /v1/jobs/{id}/events) open at once, at most; "
                        "beyond, 503 too_many_event_streams (default 1000)")->check(CLI::Range(1, 1'000'000));
  serve_cmd->add_option("--stream-write-timeout", stream_write_timeout, "seconds each write of an event stream may take; "
                        "a client that stops reading is dropped after it (default 30)")->check(CLI::Range(1, 3'600));
  serve_cmd->add_option("--dispatch-threads", dispatch_threads, "dispatcher threads (default: two per core)");
  serve_cmd->add_option("--dispatch-nice", dispatch_nice, "nice value of the dispatch threads, 0-19 "
                        "(default 10: the HTTP API keeps priority over bulk work)")->check(CLI::Range(0, 19));
  serve_cmd->add_option("--default-provider", default_provider, "provider for every job that names none, whatever its channel (e.g. log or null for a dry run); "
                        "without it: dispatch.channels, else dispatch.default_provider (log)");
  serve_cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off (default info; "
                        "SIGHUP re-reads server.log_level from --config)");
  serve_cmd->add_option("--log-format", log_format, "text (for people, default) or json (one object per line)");
  serve_cmd->add_flag("--metrics-require-key", metrics_require_key,
                      "GET /metrics asks for an API key (default: open to scrapers without one)");
  serve_cmd->add_option("--egress-allow", egress_allow, "CIDR, repeatable: let webhooks and callbacks reach these "
                        "addresses, which are refused by default (loopback, private, link-local...), e.g. "
                        "--egress-allow 127.0.0.0/8 for receivers on this machine");
  serve_cmd->add_flag("--no-sync", no_sync, "acknowledge writes before the WAL is fsync'd (faster; a power loss may lose acknowledged data)");
  crier::SinkCommand sink_command(app);
  std::string compact_dir;
  auto* compact_cmd = app.add_subcommand("compact", "Compact a data directory (server stopped) and print its size");
  compact_cmd->add_option("--data-dir", compact_dir, "RocksDB data directory")->required();
  crier::cli::ClientCommands client_commands(app);
  CLI11_PARSE(app, argc, argv);
  if (sink_command.chosen()) return sink_command.run();
  if (client_commands.chosen()) return client_commands.run();
  if (compact_cmd->parsed()) return crier::compact(compact_dir);

  auto die = [](const crier::Error& e) {
    fmt::print(stderr, "crier: {}\n", e.message);
    return 2;
  };
  if (!config_file.empty())
    if (auto r = crier::load_toml(config, config_file); !r) return die(r.error());
  if (const char* env = std::getenv("CRIER_API_KEYS")) {
    std::string_view list(env);
    while (!list.empty()) {
      auto comma = list.find(',');
      auto item = list.substr(0, comma);
      if (!item.empty())
        if (auto r = crier::add_api_key(config, item); !r) return die(r.error());
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  for (const auto& k : keys)
    if (auto r = crier::add_api_key(config, k); !r) return die(r.error());
  if (!listen.empty()) config.listen = listen;
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (threads) config.threads = threads;
  if (max_connections) config.max_connections = *max_connections;
  if (request_timeout) config.request_timeout = *request_timeout;
  if (min_body_rate) config.min_body_rate = *min_body_rate;
  if (min_rate_window) config.min_rate_window = *min_rate_window;
  if (max_event_streams) config.max_event_streams = *max_event_streams;
  if (stream_write_timeout) config.stream_write_timeout = *stream_write_timeout;
  if (dispatch_threads) config.dispatch.threads = dispatch_threads;
  if (dispatch_nice >= 0) config.dispatch.nice = dispatch_nice;
  // Named on the command line, it serves every job that names no provider,
  // whatever the channel (a dry run: --default-provider log).
  if (!default_provider.empty()) {
    config.dispatch.default_provider = default_provider;
    config.dispatch.channel_providers.clear();
  }
  if (!log_level.empty()) config.log_level = log_level;
  if (!log_format.empty()) config.log_format = log_format;
  if (metrics_require_key) config.metrics_require_key = true;
  if (no_sync) config.sync_writes = false;
  config.egress_allow.insert(config.egress_allow.end(), egress_allow.begin(), egress_allow.end());
  return crier::serve(std::move(config), config_file);
}
