// The client commands of the `crier` binary (jobs, templates, ingest, watch,
// send): they talk to a running server over its HTTP API like any client.
// main() declares them with one object and runs the chosen one.
#pragma once

#include <memory>

namespace CLI {
class App;
}

namespace crier::cli {

struct CliState;

class ClientCommands {
 public:
  // Declares every client command on `app`.
  explicit ClientCommands(CLI::App& app);
  ~ClientCommands();
  // Whether the parsed command line chose one of them.
  bool chosen() const;
  // Runs it; the process exit code (docs/cli.md).
  int run();

 private:
  std::unique_ptr<CliState> state_;
};

}  // namespace crier::cli
