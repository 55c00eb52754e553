// An accept loop out of descriptors: the real `crier sink` and `crier serve`
// in a child process whose RLIMIT_NOFILE is lowered (`ulimit -n` in the
// shell that execs them), held at the limit by connections this test keeps
// open. Each failed accept is one log line naming the pause before the next
// attempt: the pauses double (10, 20, 40 ... ms, at most 1 s), so the loop
// does not spin. Once the test closes its connections, the same process
// answers again.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>

#include "tests/e2e/raw_connection.h"
#include "tests/support/child_process.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace crier::e2e {
namespace {
using crier::testing::poll_until;
using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The pauses logged by failed accepts ("... next attempt in N ms"), in order.
std::vector<int> logged_pauses(const std::string& log) {
  static const std::regex line(R"(accept(?: failed)?: [^\n]*; next attempt in (\d+) ms)");
  std::vector<int> out;
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) out.push_back(std::stoi((*it)[1]));
  return out;
}

// `crier ARGS...` under `ulimit -n nofile`, its stderr in `log`.
class LimitedProcess {
 public:
  LimitedProcess(int nofile, const std::vector<std::string>& args, const std::filesystem::path& log) {
    err_fd_ = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_fd_ < 0) throw std::runtime_error("cannot open " + log.string());
    std::vector<std::string> argv = {"/bin/sh", "-c", fmt::format("ulimit -n {} && exec \"$0\" \"$@\"", nofile),
                                     CRIER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    child_ = crier::testing::spawn_child(argv, err_fd_);
    std::string seen, why;
    auto first = crier::testing::read_first_line(child_.stdout_fd, 30s, seen, why);
    if (!first) throw std::runtime_error(fmt::format("no start-up line ({}): {}\n{}", why, seen, read_file(log)));
    port_ = static_cast<unsigned short>(std::stoi(first->substr(first->rfind(':') + 1)));
  }
  ~LimitedProcess() {
    ::kill(child_.pid, SIGKILL);
    ::waitpid(child_.pid, nullptr, 0);
    ::close(child_.stdout_fd);
    ::close(err_fd_);
  }
  unsigned short port() const { return port_; }

 private:
  crier::testing::Child child_;
  int err_fd_ = -1;
  unsigned short port_ = 0;
};

// Opens connections to `port` until the log shows `failures` failed
// accepts; returns them (closing them frees the descriptors).
std::vector<std::unique_ptr<RawConnection>> exhaust(unsigned short port, const std::filesystem::path& log,
                                                    std::size_t failures) {
  std::vector<std::unique_ptr<RawConnection>> held;
  bool reached = poll_until(60s, [&] {
    // The backlog takes connections the process cannot accept yet.
    if (held.size() < 400) held.push_back(std::make_unique<RawConnection>(port));
    return logged_pauses(read_file(log)).size() >= failures;
  }, 5ms);
  EXPECT_TRUE(reached) << held.size() << " connections held; log:\n" << read_file(log);
  return held;
}

// The status of `call`, or 0 when it could not be made (the connection was
// refused or cut while the process is out of descriptors).
int status_of(const std::function<crier::testing::HttpResponse()>& call) {
  try {
    return call().status;
  } catch (const std::exception&) {
    return 0;
  }
}

// A sanitized build cannot be run out of descriptors: UBSan's vptr check
// asks the kernel (through a pipe) whether an object's memory is readable,
// and with no descriptor left it reports a valid object as invalid and
// halts. The behaviour is tested by the ordinary build.
bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

void expect_doubling_pauses(const std::vector<int>& pauses) {
  ASSERT_GE(pauses.size(), 6u);
  EXPECT_EQ(pauses[0], 10);
  for (std::size_t i = 1; i < pauses.size(); ++i) {
    // A success in between starts again at 10 ms (the test's own
    // connections are accepted whenever a descriptor frees).
    if (pauses[i] == 10) continue;
    EXPECT_EQ(pauses[i], std::min(pauses[i - 1] * 2, 1000)) << "pause " << i;
  }
}

TEST(AcceptBackoffTest, TheSinkOutOfDescriptorsBacksOffAndServesOnceTheyFree) {
  if (sanitized_build()) GTEST_SKIP() << "a sanitizer runtime needs descriptors of its own";
  crier::testing::TempDir dir;
  const auto log = dir.path() / "sink.log";
  LimitedProcess sink(32, {"sink", "--listen", "127.0.0.1:0"}, log);
  auto held = exhaust(sink.port(), log, 6);
  expect_doubling_pauses(logged_pauses(read_file(log)));

  held.clear();
  crier::testing::HttpClient client(sink.port());
  ASSERT_TRUE(poll_until(30s, [&] { return status_of([&] { return client.post("/after", "{}", "application/json"); }) == 200; }))
      << read_file(log);
  auto stats = client.get("/_sink/stats");
  ASSERT_EQ(stats.status, 200);
  // The counter agrees with the log: one line per failed attempt.
  auto failures = boost::json::parse(stats.body).as_object().at("accept_failures").to_number<std::size_t>();
  EXPECT_EQ(failures, logged_pauses(read_file(log)).size());
}

TEST(AcceptBackoffTest, TheServerOutOfDescriptorsBacksOffAndServesOnceTheyFree) {
  if (sanitized_build()) GTEST_SKIP() << "a sanitizer runtime needs descriptors of its own";
  crier::testing::TempDir dir;
  const auto log = dir.path() / "serve.log";
  // Room for RocksDB's files, its threads' descriptors and a few sessions.
  LimitedProcess server(256, {"serve", "--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "data").string(),
                              "--api-key", "accept-key=acme"},
                        log);
  auto held = exhaust(server.port(), log, 6);
  expect_doubling_pauses(logged_pauses(read_file(log)));

  held.clear();
  crier::testing::HttpClient client(server.port());
  ASSERT_TRUE(poll_until(30s, [&] { return status_of([&] { return client.get("/healthz"); }) == 200; }))
      << read_file(log);
}

}  // namespace
}  // namespace crier::e2e
