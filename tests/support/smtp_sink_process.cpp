#include "tests/support/smtp_sink_process.h"

#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace crier::testing {
namespace {

// Debian's interpreter: the python3 on PATH may be a separate build that
// cannot import Debian's python3-aiosmtpd.
constexpr const char* kPython = "/usr/bin/python3";
constexpr std::string_view kReady = "smtp sink listening on 127.0.0.1:";

std::filesystem::path sink_script() { return std::filesystem::path(__FILE__).parent_path() / "smtp_sink.py"; }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

SmtpSinkProcess::SmtpSinkProcess(std::filesystem::path dir, std::vector<std::string> extra_args,
                                 std::chrono::milliseconds start_deadline)
    : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  std::vector<std::string> args = {kPython, sink_script().string(), "--dir", dir_.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());

  const std::string err_path = (dir_ / "sink-output.log").string();
  int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err_fd < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", err_path, std::strerror(errno)));
  Child child;
  try {
    child = spawn_child(args, err_fd);
  } catch (...) {
    ::close(err_fd);
    throw;
  }
  ::close(err_fd);
  pid_ = child.pid;
  stdout_fd_ = child.stdout_fd;

  std::string seen, failure;
  if (auto line = read_first_line(stdout_fd_, start_deadline, seen, failure)) {
    if (line->substr(0, kReady.size()) == kReady) port_ = static_cast<unsigned short>(std::atoi(line->c_str() + kReady.size()));
    if (port_ == 0) failure = fmt::format("unexpected first line \"{}\"", *line);
  }
  if (!failure.empty()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw std::runtime_error(fmt::format("smtp sink did not start: {}\n--- its stderr ---\n{}", failure, output_tail()));
  }
}

SmtpSinkProcess::~SmtpSinkProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::vector<boost::json::object> SmtpSinkProcess::messages() const {
  std::vector<boost::json::object> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "messages", ec)) {
    // The sink renames a finished file to *.json: a *.tmp is still being written.
    if (entry.path().extension() != ".json") continue;
    out.push_back(boost::json::parse(read_file(entry.path())).as_object());
  }
  return out;
}

std::size_t SmtpSinkProcess::message_count() const {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "messages", ec))
    n += entry.path().extension() == ".json";
  return n;
}

std::size_t SmtpSinkProcess::sessions() const {
  std::string log = read_file(dir_ / "sessions.log");
  std::size_t n = 0;
  for (char c : log) n += c == '\n';
  return n;
}

std::string SmtpSinkProcess::output_tail(std::size_t max_bytes) const {
  std::string all = read_file(dir_ / "sink-output.log");
  return all.size() > max_bytes ? "..." + all.substr(all.size() - max_bytes) : all;
}

}  // namespace crier::testing
