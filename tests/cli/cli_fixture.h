// The CLI's tests drive the real `crier` binary against the real server
// (port 0, a temp data dir, the log provider for every job) and, for
// webhook jobs, real `crier sink` receivers. `crier(...)` runs one command
// as a subprocess with CRIER_URL and CRIER_API_KEY set and returns its exit
// code, stdout and stderr.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <boost/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace crier::cli_test {

namespace json = boost::json;
using namespace std::chrono_literals;

inline constexpr const char* kApiKey = "cli-test-key-0001";

struct CliRun {
  int exit_code = -1;  // -1: killed (it outlived the deadline) or died by a signal
  std::string out, err;
  std::string describe() const;  // for failure messages
};

// A real `crier sink` on 127.0.0.1:0, optionally failing every attempt.
class SinkProcess {
 public:
  explicit SinkProcess(std::vector<std::string> extra_args = {});
  ~SinkProcess();
  SinkProcess(const SinkProcess&) = delete;
  SinkProcess& operator=(const SinkProcess&) = delete;
  std::string url(std::string_view path) const;

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs `crier <args...>` (stdin from /dev/null, or from the file `stdin_path`),
  // killed after 30 s. `env` adds or replaces variables (NAME=VALUE).
  CliRun crier(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
               const std::filesystem::path& stdin_path = {});
  // The JSON of a run's stdout (one document); fails the test otherwise.
  static json::object stdout_object(const CliRun& run);

  std::string url() const;
  crier::testing::HttpClient& api() { return *api_; }
  // Writes a file under the scratch dir; returns its path.
  std::filesystem::path write_file(const std::string& name, std::string_view content);
  std::filesystem::path scratch(const std::string& name) const { return scratch_.path() / name; }
  // GET /v1/jobs/{id}.
  json::object job(const std::string& id);

 private:
  crier::testing::TempDir data_;
  crier::testing::TempDir scratch_;
  std::unique_ptr<crier::testing::ServerProcess> server_;
  std::unique_ptr<crier::testing::HttpClient> api_;
  int run_counter_ = 0;
};

// NDJSON users i in [first, first+count): {"user_id":"u<i>","email":"u<i>@example.com","data":{"n":i}}
std::string ndjson_users(int first, int count);
// The same as CSV with the header user_id,email,data.n
std::string csv_users(int first, int count, bool header = true);

std::int64_t num(const json::object& o, std::string_view key);
std::string str(const json::object& o, std::string_view key);

}  // namespace crier::cli_test
