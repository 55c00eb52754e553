// `crier sink`: a webhook receiver from the shell, for trying Crier out and
// for benchmarks. It prints "crier sink listening on http://HOST:PORT" as its
// first line (tests read the port from it), optionally a one-line count
// summary every --report-every seconds, and runs until SIGINT or SIGTERM.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace crier {

class SinkCommand {
 public:
  // Declares the `sink` subcommand and its options on `app`.
  explicit SinkCommand(CLI::App& app);
  // Whether the parsed command line chose `sink`.
  bool chosen() const;
  // Serves until a stop signal; the process exit code. The caller has
  // blocked SIGINT and SIGTERM in every thread (main does).
  int run() const;

 private:
  CLI::App* command_ = nullptr;
  std::string listen_ = "127.0.0.1:8099";
  std::vector<std::string> secrets_;  // --secret, repeatable
  int fail_first_ = 0;
  int fail_status_ = 503;
  int retry_after_ = 0;
  unsigned threads_ = 1;
  double report_every_ = 0;
  std::size_t keep_requests_ = 1000;
};

}  // namespace crier
