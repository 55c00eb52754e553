// Dispatch runs below the HTTP API's priority: the dispatch threads of a
// real server take the configured nice value, the threads serving requests
// and the providers' connection threads keep the process's own, and a job
// still runs to the end at that priority.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

struct ThreadInfo {
  std::string name;
  int nice = 0;
};

// Every thread of a process, by id: its name and nice value (field 19 of
// /proc/PID/task/TID/stat; the name is read from comm, so a name with
// spaces or parentheses cannot shift the fields).
std::map<std::string, ThreadInfo> threads_of(pid_t pid) {
  std::map<std::string, ThreadInfo> out;
  for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid))) {
    ThreadInfo t;
    std::ifstream(e.path() / "comm") >> t.name;
    std::ifstream stat_file(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // from field 3
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i)
      if (i == 19) t.nice = std::stoi(field);
    out[e.path().filename().string()] = t;
  }
  return out;
}

class ThreadPriorityTest : public CrierTest {
 protected:
  std::vector<std::string> server_args() const override {
    auto path = scratch_file("nice.toml");
    std::ofstream(path) << "[dispatch]\nthreads = 3\nnice = 7\n";
    return {"--config", path.string()};
  }
};

TEST_F(ThreadPriorityTest, DispatchThreadsRunAtTheConfiguredNiceTheApiAndClientsAtTheProcesses) {
  const auto threads = threads_of(server().pid());
  const auto main = threads.at(std::to_string(server().pid()));
  std::size_t dispatch = 0, client = 0, at_main_nice = 0;
  for (const auto& [tid, t] : threads) {
    SCOPED_TRACE(fmt::format("thread {} '{}' nice {}", tid, t.name, t.nice));
    if (t.name == "crier-dispatch") {
      ++dispatch;
      EXPECT_EQ(t.nice, std::max(7, main.nice));  // lowered, never raised
    } else if (t.name == "crier-client") {
      ++client;
      EXPECT_EQ(t.nice, main.nice);
    } else if (t.nice == main.nice) {
      ++at_main_nice;
    }
  }
  EXPECT_EQ(dispatch, 3u);  // [dispatch] threads = 3
  EXPECT_GE(client, 1u);    // the built-in webhook provider's connections, at least
  // The rest (the HTTP I/O and writer threads among them) are untouched too.
  EXPECT_GE(at_main_nice, 3u);

  // And a job dispatches at that priority as at any other.
  const std::string id = create_job(api(), email_job_spec());
  EXPECT_EQ(num(ingest_json(api(), id, email_users(0, 50)), "accepted"), 50);
  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"});
  EXPECT_EQ(str(done, "status"), "COMPLETED");
  EXPECT_EQ(num(done, "sent"), 50);
}

}  // namespace
}  // namespace crier::e2e
