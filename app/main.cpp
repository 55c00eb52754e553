// crier: the bulk notification server. `crier serve --help` lists the options.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "api/event_ticket.h"
#include "api/job_watch.h"
#include "api/metrics.h"
#include "api/routes/routes.h"
#include "api/router.h"
#include "api/server.h"
#include "app/cli/commands.h"
#include "app/config.h"
#include "app/secrets.h"
#include "app/logging.h"
#include "app/metrics_sources.h"
#include "app/sink.h"
#include "engine/time_format.h"
#include "storage/rocks_store.h"
#include "workers/callback_notifier.h"
#include "workers/dispatcher.h"
#include "workers/tenant_signing.h"

namespace {

int serve(crier::Config config, const std::string& config_path) {
  using namespace crier;
  // Logs go to stderr: stdout carries the start-up lines (the first names
  // the port, which scripts and tests listening on port 0 read).
  if (auto r = start_logging(config.log_level, config.log_format); !r) {
    fmt::print(stderr, "crier: {}\n", r.error().message);
    return 2;
  }
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (config.threads == 0) config.threads = cores;
  // Dispatch threads block in RocksDB's synced writes (the fsync of each
  // window's outcomes): two per core keep the cores busy meanwhile. Four
  // per core dispatched no faster and doubled status p99 (docs/benchmarks.md).
  if (config.dispatch.threads == 0) config.dispatch.threads = 2 * cores;
  if (config.dispatch.lanes == 0) config.dispatch.lanes = config.dispatch.threads;
  auto listen = listen_options(config);
  if (!listen) {
    spdlog::critical("{}", listen.error().message);
    return 2;
  }
  // With no key configured, one is generated once and kept in the data
  // directory, so `make run` works out of the box and keeps working.
  std::optional<StoredSecret> generated_key;
  if (config.api_keys.empty()) {
    auto key = load_or_create_api_key(config.data_dir);
    if (!key) {
      spdlog::critical("{}", key.error().message);
      return 2;
    }
    config.api_keys.add(key->key, "default");
    generated_key = std::move(*key);
  }
  // Where Crier may connect on a tenant's behalf (webhooks, callbacks).
  auto egress = EgressPolicy::allowing(config.egress_allow);
  if (!egress) {
    spdlog::critical("{}", egress.error().message);
    return 2;
  }

  auto store = RocksStore::open({config.data_dir, config.sync_writes});
  if (!store) {
    spdlog::critical("{}", store.error().message);
    return 1;
  }
  JobService service(**store, **store, now_unix_ms);
  api::Metrics metrics;
  JobEventRecorder job_events(metrics);
  JobEventFanout job_event_observers;
  job_event_observers.add(&job_events);
  service.set_events(&job_event_observers);
  if (auto r = seed_job_statuses(metrics, **store); !r) {
    spdlog::critical("reading the jobs: {}", r.error().message);
    return 1;
  }
  service.set_senders(store->get());
  // Every tenant signs its webhooks and callbacks with a secret of its own,
  // made on first use and kept in the store.
  TenantSigning signing(**store, now_unix_ms);
  // Built before the dispatcher, so it outlives the loops that feed it.
  CallbackOptions callback_options;
  callback_options.signing = &signing;
  callback_options.egress = *egress;
  callback_options.network = config.providers.network;
  CallbackNotifier callbacks(**store, **store, callback_options);
  Dispatcher dispatcher(service, **store, config.dispatch);
  dispatcher.set_observer(&callbacks);
  if (auto r = register_providers(config.providers, config.data_dir, &signing, *egress, dispatcher); !r) {
    spdlog::critical("{}", r.error().message);
    return 2;
  }
  if (!dispatcher.has_provider(config.dispatch.default_provider)) {
    spdlog::critical("dispatch.default_provider '{}' is not a configured provider", config.dispatch.default_provider);
    return 2;
  }
  for (const auto& [channel, name] : config.dispatch.channel_providers)
    if (!dispatcher.has_provider(name)) {
      spdlog::critical("dispatch.channels.{} names '{}', which is not a configured provider", to_string(channel), name);
      return 2;
    }
  service.set_listener(&dispatcher);
  // Who may use which provider: checked at every create, and again before
  // a stored job sends.
  ProviderAccess access(provider_grants(config.providers), config.dispatch.default_provider,
                        config.dispatch.channel_providers);
  service.set_provider_access(&access);
  dispatcher.set_provider_access(&access);

  api::ApiContext ctx{service, **store, **store, **store, **store, config.api_keys, config.limits, config.sync_writes};
  ctx.rate_of = [&](const JobKey& k) { return dispatcher.rate_per_second(k); };
  ctx.hold_of = [&](const JobKey& k) { return dispatcher.hold_of(k); };
  ctx.provider_exists = [&](std::string_view name) { return dispatcher.has_provider(name); };
  ctx.senders = store->get();
  ctx.signing = &signing;
  ctx.egress = *egress;
  add_dispatch_metrics(metrics, dispatcher);
  add_store_metrics(metrics, **store);
  ctx.metrics = &metrics;
  ctx.metrics_require_key = config.metrics_require_key;
  // The event streams: one ticker per watched job, told of status changes
  // as they are stored; and the tickets that open a stream without the API
  // key, signed with a key of the server's own kept beside the API key.
  api::WatchOptions watch_options;
  watch_options.max_watchers = config.max_event_streams;
  api::JobWatchHub watches(api::job_snapshot_reader(ctx), watch_options, &metrics, now_unix_ms);
  job_event_observers.add(&watches);
  ctx.watches = &watches;
  auto ticket_key = load_or_create_ticket_key(config.data_dir);
  if (!ticket_key) {
    spdlog::critical("{}", ticket_key.error().message);
    return 2;
  }
  api::EventTickets tickets(std::move(ticket_key->key), now_unix_ms);
  ctx.event_tickets = &tickets;
  // For crash tests only: die at a named point as a kill -9 would.
  if (const char* at = std::getenv("CRIER_CRASH_AT"); at && *at)
    ctx.crash_point = [at = std::string(at)](std::string_view point) {
      if (point == at) std::raise(SIGKILL);
    };
  api::Router router(ctx);

  listen->io_threads = config.threads;
  listen->writer_threads = cores;
  api::Server server(router, *listen);
  auto port = server.start();
  if (!port) {
    spdlog::critical("{}", port.error().message);
    return 1;
  }
  dispatcher.start();
  // Callbacks first: what a previous run left in the outbox goes out, and a
  // status the dispatcher's recovery reports again is not stored twice.
  if (auto r = callbacks.recover(); !r) {
    spdlog::critical("callback recovery failed: {}", r.error().message);
    return 1;
  }
  if (auto r = dispatcher.recover(); !r) {
    spdlog::critical("recovery failed: {}", r.error().message);
    return 1;
  }
  ctx.ready = true;

  // The first line names the port: tests that listen on port 0 read it.
  fmt::print("crier listening on http://{}:{}\n", listen->host, *port);
  // A key is shown once, when it is made; after that it is only named.
  if (generated_key && generated_key->created)
    fmt::print("API key (tenant 'default'): {}\n  (stored in {})\n", generated_key->key, generated_key->path);
  else if (generated_key)
    fmt::print("API key (tenant 'default'): in {}\n", generated_key->path);
  if (generated_key) {
    generated_key->key.assign(generated_key->key.size(), '\0');  // the digest is what stays
    generated_key.reset();
  }
  fmt::print("data directory: {}\n", config.data_dir);
  std::fflush(stdout);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
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
    apply_limits(config.providers, *reloaded, dispatcher);
    config.providers = std::move(*reloaded);
    spdlog::info("SIGHUP: rate limits reloaded from {}", config_path);
  }
  spdlog::info("signal {}: stopping", sig);
  server.stop();
  watches.stop();
  dispatcher.stop();
  return 0;
}

// `crier compact`: rewrites a stopped server's data directory so each key is
// stored once, then shows where its size goes. For reclaiming space after
// large jobs, and for the scale benchmark's bytes per recipient.
int compact(const std::string& data_dir) {
  using namespace crier;
  // Opening would create a missing directory: a typo should not look like
  // an empty store.
  if (!std::filesystem::is_directory(data_dir)) {
    fmt::print(stderr, "crier: {} is not a directory\n", data_dir);
    return 2;
  }
  auto store = RocksStore::open({data_dir});
  if (!store) {
    fmt::print(stderr, "crier: {}\n", store.error().message);
    return 1;
  }
  if (auto r = (*store)->compact(); !r) {
    fmt::print(stderr, "crier: {}\n", r.error().message);
    return 1;
  }
  fmt::print("{:<16} {:>14} {:>14}\n", "column_family", "sst_bytes", "keys_estimate");
  for (const auto& f : (*store)->family_sizes()) fmt::print("{:<16} {:>14} {:>14}\n", f.name, f.sst_bytes, f.keys);
  // Measured once closed: RocksDB deletes obsolete files and the WAL by then.
  store->reset();
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data_dir, ec))
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  fmt::print("data directory {}: {} bytes\n", data_dir, total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

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
  if (compact_cmd->parsed()) return compact(compact_dir);

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
  return serve(std::move(config), config_file);
}
