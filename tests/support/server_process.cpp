#include "tests/support/server_process.h"

#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#ifndef CRIER_BINARY
#error "CRIER_BINARY must name the crier executable (tests/CMakeLists.txt defines it)"
#endif

namespace crier::testing {
namespace {

constexpr std::string_view kListening = "crier listening on http://";

void write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // the log file is best effort
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Copies the child's stdout to the output file until the child closes it.
void drain(int from, int to) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    write_all(to, buf, static_cast<std::size_t>(n));
  }
  ::close(from);
  ::close(to);
}

// The port in "crier listening on http://127.0.0.1:PORT", or 0.
unsigned short port_of(std::string_view line) {
  if (line.substr(0, kListening.size()) != kListening) return 0;
  auto colon = line.rfind(':');
  if (colon == std::string_view::npos) return 0;
  unsigned port = 0;
  std::size_t digits = 0;
  for (char c : line.substr(colon + 1)) {
    if (c < '0' || c > '9') break;
    port = port * 10 + static_cast<unsigned>(c - '0');
    ++digits;
    if (port > 65535) return 0;
  }
  return digits ? static_cast<unsigned short>(port) : 0;
}

}  // namespace

ServerProcess::ServerProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args,
                             std::chrono::milliseconds start_deadline, bool allow_loopback_egress,
                             unsigned short port)
    : data_dir_(std::move(data_dir)) {
  std::filesystem::create_directories(data_dir_);
  std::vector<std::string> args = {CRIER_BINARY, "serve", "--listen", fmt::format("127.0.0.1:{}", port),
                                   "--data-dir", data_dir_.string()};
  if (allow_loopback_egress) {
    args.push_back("--egress-allow");
    args.push_back("127.0.0.0/8");
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());

  int out_fd = ::open(output_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", output_path().string(), std::strerror(errno)));
  Child child;
  try {
    child = spawn_child(args, out_fd);
  } catch (...) {
    ::close(out_fd);
    throw;
  }
  pid_ = child.pid;
  const int from = child.stdout_fd;

  // Read stdout until the "listening on" line, the child's exit, or the deadline.
  std::string seen, failure;
  if (auto line = read_first_line(from, start_deadline, seen, failure)) {
    port_ = port_of(*line);
    if (port_ == 0) failure = "the first line of stdout is not \"crier listening on http://HOST:PORT\"";
  }
  write_all(out_fd, seen.data(), seen.size());
  if (!failure.empty()) {
    ::close(from);
    ::close(out_fd);
    kill9();
    throw std::runtime_error(fmt::format("crier serve (data dir {}) did not start: {}\n--- its output ---\n{}",
                                         data_dir_.string(), failure, output_tail()));
  }
  drain_ = std::thread(drain, from, out_fd);
}

ServerProcess::~ServerProcess() {
  if (running()) kill9();
  join_drain();
}

std::string ServerProcess::output_tail(std::size_t max_bytes) const {
  std::ifstream in(output_path(), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > max_bytes ? "..." + all.substr(all.size() - max_bytes) : all;
}

int ServerProcess::stop(std::chrono::milliseconds deadline) {
  if (!running()) return exit_status_;
  ::kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      join_drain();
      return exit_status_;
    }
    if (r < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  exit_status_ = -1;
  return exit_status_;
}

void ServerProcess::kill9() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  reap();
}

void ServerProcess::reap() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_status_ = -1;
  pid_ = -1;
  join_drain();
}

void ServerProcess::join_drain() {
  if (drain_.joinable()) drain_.join();
}

}  // namespace crier::testing
