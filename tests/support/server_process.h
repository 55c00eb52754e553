// The real `crier serve` binary in a child process, for end-to-end tests.
//
// It listens on 127.0.0.1:0; the constructor reads the child's stdout until
// the "crier listening on http://HOST:PORT" line to learn the port, and
// throws std::runtime_error (with the tail of the server's output) if that
// line does not come within the deadline. Everything the server writes after
// that, on stdout and stderr, is appended to `output_path()` in the data
// directory, so the pipe never fills and a failing test can show the log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace crier::testing {

class ServerProcess {
 public:
  // Starts `crier serve --listen 127.0.0.1:<port> --data-dir <data_dir>
  // [--egress-allow 127.0.0.0/8] <extra_args...>`. The tests' receivers run
  // on loopback, which the egress guard refuses unless allowed; a test of
  // the guard itself passes allow_loopback_egress = false. A port other than
  // 0 lets a test reach the server before its "listening" line, which comes
  // only once start-up recovery is done.
  ServerProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args = {},
                std::chrono::milliseconds start_deadline = std::chrono::seconds(20),
                bool allow_loopback_egress = true, unsigned short port = 0);
  // Kills the server (SIGKILL) if it is still running.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  // Where the server's stdout and stderr go (appended across restarts).
  std::filesystem::path output_path() const { return data_dir_ / "server-output.log"; }
  // The last `max_bytes` of that output, for failure messages.
  std::string output_tail(std::size_t max_bytes = 4000) const;

  // SIGTERM, then waits for the exit (SIGKILL after `deadline`). Returns the
  // exit code, or -1 if it had to be killed or died by a signal.
  int stop(std::chrono::milliseconds deadline = std::chrono::seconds(20));
  // SIGKILL and wait: a crash at an arbitrary moment.
  void kill9();

 private:
  void reap();
  void join_drain();

  std::filesystem::path data_dir_;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  int exit_status_ = 0;
  std::thread drain_;
};

}  // namespace crier::testing
