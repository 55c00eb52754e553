// crier: the bulk notification server. `crier serve --help` lists the options.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "api/router.h"
#include "api/server.h"
#include "app/config.h"
#include "engine/time_format.h"
#include "storage/rocks_store.h"
#include "workers/dispatcher.h"

namespace {

// With no key configured, one is generated once and kept in the data
// directory, so `make run` works out of the box and keeps working.
crier::Result<std::string> default_api_key(const std::string& data_dir) {
  auto path = std::filesystem::path(data_dir) / "api_key";
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (std::ifstream in(path); in) {
    std::string key;
    std::getline(in, key);
    if (key.size() >= 8) return key;
  }
  std::random_device rd;
  std::string key = "crier_";
  for (int i = 0; i < 4; ++i) key += fmt::format("{:08x}", rd());
  std::ofstream out(path, std::ios::trunc);
  out << key << "\n";
  if (!out) return crier::make_error(crier::ErrorKind::internal, "key_write_failed", "cannot write " + path.string());
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  return key;
}

int serve(crier::Config config) {
  using namespace crier;
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (config.threads == 0) config.threads = cores;
  auto listen = listen_options(config);
  if (!listen) {
    spdlog::critical("{}", listen.error().message);
    return 2;
  }
  bool generated_key = false;
  if (config.api_keys.empty()) {
    auto key = default_api_key(config.data_dir);
    if (!key) {
      spdlog::critical("{}", key.error().message);
      return 2;
    }
    config.api_keys[*key] = "default";
    generated_key = true;
  }

  auto store = RocksStore::open({config.data_dir, config.sync_writes});
  if (!store) {
    spdlog::critical("{}", store.error().message);
    return 1;
  }
  JobService service(**store, **store, now_unix_ms);
  Dispatcher dispatcher(service, **store, config.dispatch);
  dispatcher.add_provider(make_null_provider());
  std::string log_path = config.log_provider_path.empty()
                             ? (std::filesystem::path(config.data_dir) / "delivery.log").string()
                             : config.log_provider_path;
  dispatcher.add_provider(make_log_provider(log_path));
  if (!dispatcher.has_provider(config.dispatch.default_provider)) {
    spdlog::critical("dispatch.default_provider '{}' is not a provider (log, null)", config.dispatch.default_provider);
    return 2;
  }
  service.set_listener(&dispatcher);

  api::ApiContext ctx{service, **store, **store, **store, config.api_keys, config.limits, config.sync_writes};
  ctx.rate_of = [&](const JobKey& k) { return dispatcher.rate_per_second(k); };
  ctx.provider_exists = [&](std::string_view name) { return dispatcher.has_provider(name); };
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
  if (auto r = dispatcher.recover(); !r) {
    spdlog::critical("recovery failed: {}", r.error().message);
    return 1;
  }
  ctx.ready = true;

  // The first line names the port: tests that listen on port 0 read it.
  fmt::print("crier listening on http://{}:{}\n", listen->host, *port);
  if (generated_key)
    fmt::print("API key (tenant 'default'): {}\n  (stored in {}/api_key)\n", config.api_keys.begin()->first, config.data_dir);
  fmt::print("data directory: {}\n", config.data_dir);
  std::fflush(stdout);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  server.stop();
  dispatcher.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App app{"Crier: self-hosted bulk notifications"};
  app.require_subcommand(1);
  crier::Config config;
  std::string config_file;
  std::vector<std::string> keys;
  unsigned threads = 0, dispatch_threads = 0;
  std::string listen, data_dir, log_level, default_provider;
  bool no_sync = false;

  auto* serve_cmd = app.add_subcommand("serve", "Run the HTTP API and the dispatcher");
  serve_cmd->add_option("--listen", listen, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 picks a free one)");
  serve_cmd->add_option("--data-dir", data_dir, "RocksDB data directory (default ./data)");
  serve_cmd->add_option("--api-key", keys, "KEY=TENANT, repeatable; also CRIER_API_KEYS=k1=t1,k2=t2. "
                                           "With none, a key is generated and kept in the data directory");
  serve_cmd->add_option("--config", config_file, "TOML configuration file (flags override it)")->check(CLI::ExistingFile);
  serve_cmd->add_option("--threads", threads, "HTTP I/O threads (default: one per core)");
  serve_cmd->add_option("--dispatch-threads", dispatch_threads, "dispatcher threads (default 2)");
  serve_cmd->add_option("--default-provider", default_provider, "provider for jobs that name none: log or null (default log)");
  serve_cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error (default info)");
  serve_cmd->add_flag("--no-sync", no_sync, "acknowledge writes before the WAL is fsync'd (faster; a power loss may lose acknowledged data)");
  CLI11_PARSE(app, argc, argv);

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
  if (dispatch_threads) config.dispatch.threads = dispatch_threads;
  if (!default_provider.empty()) config.dispatch.default_provider = default_provider;
  if (!log_level.empty()) config.log_level = log_level;
  if (no_sync) config.sync_writes = false;
  return serve(std::move(config));
}
