#include "app/sink.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <ctime>

#include "sink/webhook_sink.h"

namespace crier {

SinkCommand::SinkCommand(CLI::App& app) {
  command_ = app.add_subcommand("sink", "Run a webhook receiver that counts what it gets (tests, benchmarks)");
  command_->add_option("--listen", listen_, "HOST:PORT to listen on (default 127.0.0.1:8099; port 0 picks a free one)");
  command_->add_option("--secret", secrets_, "verify Standard Webhooks signatures with this secret (whsec_... or raw); "
                       "repeatable: a signature by any of them is accepted (one sink for several tenants)");
  command_->add_option("--fail-first", fail_first_, "answer the first K attempts of every message id with --fail-status")
      ->check(CLI::NonNegativeNumber);
  command_->add_option("--fail-status", fail_status_, "status for injected failures (default 503)")
      ->check(CLI::Range(100, 599));
  command_->add_option("--retry-after", retry_after_, "Retry-After seconds on injected failures (default none)")
      ->check(CLI::NonNegativeNumber);
  command_->add_option("--threads", threads_, "I/O threads (default 1)")->check(CLI::Range(1u, 64u));
  command_->add_option("--keep-requests", keep_requests_, "recent requests kept for GET /_sink/requests (default 1000)");
  command_->add_option("--report-every", report_every_, "print a one-line count summary every SECONDS")
      ->check(CLI::NonNegativeNumber);
}

bool SinkCommand::chosen() const { return command_->parsed(); }

int SinkCommand::run() const {
  SinkOptions options;
  auto colon = listen_.rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos ||
      std::from_chars(listen_.data() + colon + 1, listen_.data() + listen_.size(), port).ec != std::errc() ||
      port > 65535) {
    fmt::print(stderr, "crier sink: --listen wants HOST:PORT, not '{}'\n", listen_);
    return 2;
  }
  options.host = listen_.substr(0, colon);
  if (options.host.size() > 1 && options.host.front() == '[') options.host = options.host.substr(1, options.host.size() - 2);
  options.port = static_cast<unsigned short>(port);
  options.more_secrets = secrets_;
  options.fail_first = fail_first_;
  options.fail_status = fail_status_;
  options.retry_after_s = retry_after_;
  options.threads = threads_;
  options.keep_requests = keep_requests_;

  WebhookSink sink(options);
  auto bound = sink.start();
  if (!bound) {
    fmt::print(stderr, "crier sink: {}\n", bound.error().message);
    return bound.error().code == "listen_failed" ? 1 : 2;
  }
  fmt::print("crier sink listening on {}\n", sink.url(""));
  std::fflush(stdout);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  auto started = std::chrono::steady_clock::now();
  std::uint64_t last_requests = 0;
  auto last_report = started;
  for (;;) {
    if (report_every_ <= 0) {
      int sig = 0;
      sigwait(&signals, &sig);
      break;
    }
    // Waiting for a signal with a timeout is the report timer: no extra thread.
    auto ns = static_cast<long long>(report_every_ * 1e9);
    timespec wait{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    if (sigtimedwait(&signals, nullptr, &wait) >= 0) break;
    if (errno != EAGAIN && errno != EINTR) break;
    auto now = std::chrono::steady_clock::now();
    auto s = sink.stats();
    double seconds = std::chrono::duration<double>(now - last_report).count();
    fmt::print("sink: {:.0f}s requests={} unique={} duplicates={} bad_signatures={} injected_failures={} "
               "connections={} rate={:.0f}/s\n",
               std::chrono::duration<double>(now - started).count(), s.requests, s.unique, s.duplicates,
               s.bad_signatures, s.injected_failures, s.connections,
               seconds > 0 && s.requests >= last_requests ? static_cast<double>(s.requests - last_requests) / seconds : 0.0);
    std::fflush(stdout);
    last_requests = s.requests;
    last_report = now;
  }
  sink.stop();
  auto s = sink.stats();
  fmt::print("sink: stopped; requests={} unique={} duplicates={}\n", s.requests, s.unique, s.duplicates);
  return 0;
}

}  // namespace crier
