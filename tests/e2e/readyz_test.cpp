// /readyz during start-up recovery (docs/api.md "Health"): 503 not_ready
// while a real recovery runs, with the API already answering, and 200 once
// it is done. Recovery of one job takes milliseconds, too quick to be seen
// reliably, so the restarted server is held in the middle of it by the test
// hook CRIER_HOLD_AT (app/test_hold.h) until the test has looked, then let go.
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

// A port nothing listens on now (bound to 0 and released). The server is
// started on it so that the test can reach it before its "listening" line,
// which it prints only once recovery is done.
unsigned short free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

class ReadyzTest : public CrierTest {};

TEST_F(ReadyzTest, ReadyzIs503WhileStartUpRecoveryRunsAnd200OnceItIsDone) {
  // A job PROCESSING when the server is killed: the next start recovers it.
  constexpr std::int64_t kUsers = 1000;
  auto spec = email_job_spec();
  spec["rate_limit"] = 200;  // 1 000 take at least 4.95 s: still running at the kill
  const std::string id = create_job(api(), spec);
  ingest_ndjson(api(), id, email_users_ndjson(0, kUsers));
  run_job(api(), id);
  wait_for_job(api(), id, [](const json::object& j) { return num(j, "sent") >= 100; });
  server().kill9();

  const unsigned short port = free_port();
  const auto release = scratch_file("release-recovery");
  ASSERT_EQ(::setenv("CRIER_HOLD_AT", fmt::format("recovery:{}", release.string()).c_str(), 1), 0);

  // While the server is held, a second thread looks at it, then lets it go.
  // (The server is started from this thread, which outlives it: a child of
  // the tests dies with the thread that forked it, PR_SET_PDEATHSIG.)
  struct Seen {
    bool answered = false;
    HttpResponse ready, healthz, job, ready_again, job_again;
  } seen;
  std::thread prober([&] {
    HttpClient probe(port, kKeyA, 5s);
    seen.answered = poll_until(30s, [&] {
      try {
        seen.ready = probe.get("/readyz");
        return true;
      } catch (const std::exception&) {  // not listening yet
        return false;
      }
    }, 20ms);
    if (seen.answered) {
      seen.healthz = probe.get("/healthz");
      seen.job = probe.get("/v1/jobs/" + id);
      seen.ready_again = probe.get("/readyz");
      seen.job_again = probe.get("/v1/jobs/" + id);
    }
    std::ofstream(release) << "go\n";  // let go: recovery finishes, then "listening"
  });
  std::unique_ptr<ServerProcess> held;
  try {  // returns once the server printed "listening", i.e. after recovery
    held = std::make_unique<ServerProcess>(
        data_dir(),
        // critical: the probes' 503s are logged at error on stdout, whose
        // first line must be "crier listening", printed after recovery.
        std::vector<std::string>{"--api-key", fmt::format("{}={}", kKeyA, kTenantA), "--default-provider", "log",
                                 "--log-level", "critical"},
        std::chrono::seconds(60), true, port);
  } catch (...) {
    prober.join();
    ::unsetenv("CRIER_HOLD_AT");
    throw;
  }
  // Unset once the prober is done: it may read the environment (resolver).
  prober.join();
  ::unsetenv("CRIER_HOLD_AT");
  ASSERT_TRUE(seen.answered) << "the restarted server never answered while held";

  // Held between the callbacks' recovery and the dispatcher's: not ready.
  auto e = expect_error(seen.ready, 503, "not_ready");
  EXPECT_EQ(str(e, "type"), "unavailable");
  expect_error(seen.ready_again, 503, "not_ready");
  // Alive, and the API already answers (reads): the job as stored, not resumed.
  EXPECT_EQ(seen.healthz.status, 200) << seen.healthz.describe();
  auto during = require(seen.job, 200, "the job during recovery");
  EXPECT_EQ(str(during, "status"), "PROCESSING") << json::serialize(during);
  EXPECT_EQ(num(require(seen.job_again, 200, "the job"), "sent"), num(during, "sent"))
      << "nothing is sent before the dispatcher has recovered the job";

  // Recovery done: ready from the "listening" line on.
  HttpClient probe(port, kKeyA);
  auto r = probe.get("/readyz");
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(str(r.object(), "status"), "ready");
  auto done = wait_for_status(probe, id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"});
  EXPECT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_EQ(num(done, "sent"), kUsers);
  EXPECT_TRUE(counters_add_up(done));
}

}  // namespace
}  // namespace crier::e2e
