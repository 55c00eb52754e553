#include "app/serve.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "api/event_ticket.h"
#include "api/job_watch.h"
#include "api/metrics.h"
#include "api/routes/routes.h"
#include "api/router.h"
#include "api/server.h"
#include "app/logging.h"
#include "app/metrics_sources.h"
#include "app/secrets.h"
#include "app/test_hold.h"
#include "app/signals.h"
#include "engine/time_format.h"
#include "storage/rocks_store.h"
#include "workers/callback_notifier.h"
#include "workers/dispatcher.h"
#include "workers/tenant_signing.h"

namespace crier {

int serve(Config config, const std::string& config_path) {
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
  auto generated_key = ensure_api_key(config);
  if (!generated_key) {
    spdlog::critical("{}", generated_key.error().message);
    return 2;
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
  dispatcher.set_suppressions(store->get());
  dispatcher.set_profiles(store->get());
  dispatcher.set_frequency_caps(store->get());
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
  ctx.profiles = store->get();
  ctx.suppressions = store->get();
  ctx.segments = store->get();
  ctx.lists = store->get();
  ctx.frequency_caps = store->get();
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
  crier::hold_at("recovery");  // tests only (app/test_hold.h)
  if (auto r = dispatcher.recover(); !r) {
    spdlog::critical("recovery failed: {}", r.error().message);
    return 1;
  }
  ctx.ready = true;

  // The first line names the port: tests that listen on port 0 read it.
  fmt::print("crier listening on http://{}:{}\n", listen->host, *port);
  announce_api_key(*generated_key);
  fmt::print("data directory: {}\n", config.data_dir);
  std::fflush(stdout);

  const int sig = wait_for_stop(config_path, config.providers, dispatcher);
  spdlog::info("signal {}: stopping", sig);
  server.stop();
  watches.stop();
  dispatcher.stop();
  return 0;
}

}  // namespace crier
