#include "tests/support/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
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
                             std::chrono::milliseconds start_deadline)
    : data_dir_(std::move(data_dir)) {
  std::filesystem::create_directories(data_dir_);
  std::vector<std::string> args = {CRIER_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir_.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out_fd = ::open(output_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", output_path().string(), std::strerror(errno)));
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ::close(out_fd);
    throw std::runtime_error(fmt::format("pipe2: {}", std::strerror(errno)));
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(out_fd);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid_ == 0) {
    // The child: only async-signal-safe calls until exec. It dies with the
    // test process, so a crashed test leaves no server behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(out_fd, 2);
    ::close_range(3, ~0U, 0);  // sockets and pipes of other servers stay out
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    const char msg[] = "exec of the crier binary failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  const int from = pipe_fds[0];

  // Read stdout until the "listening on" line, the child's exit, or the deadline.
  const auto deadline = std::chrono::steady_clock::now() + start_deadline;
  std::string seen;
  std::string failure;
  for (;;) {
    auto nl = seen.find('\n');
    if (nl != std::string::npos) {
      port_ = port_of(std::string_view(seen).substr(0, nl));
      if (port_ == 0) failure = "the first line of stdout is not \"crier listening on http://HOST:PORT\"";
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failure = fmt::format("no \"listening on\" line within {} ms", start_deadline.count());
      break;
    }
    pollfd p{from, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the loop
    char buf[4096];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failure = "the server exited before it was listening";
      break;
    }
    seen.append(buf, static_cast<std::size_t>(n));
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
