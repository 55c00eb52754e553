// Shared pieces of the end-to-end tests: a fixture that runs the real
// `crier serve` on port 0 with a temp data dir and two tenants, and helpers
// that drive the API. Helpers that need a particular answer throw
// std::runtime_error (showing the answer) when they get another one, so a
// test stops at the first surprise with the server's words in the message.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace crier::e2e {

namespace json = boost::json;
using crier::testing::HeaderList;
using crier::testing::HttpClient;
using crier::testing::HttpResponse;
using crier::testing::poll_until;
using crier::testing::ServerProcess;
using namespace std::chrono_literals;

inline constexpr const char* kKeyA = "e2e-key-tenant-a-0001";
inline constexpr const char* kTenantA = "acme";
inline constexpr const char* kKeyB = "e2e-key-tenant-b-0002";
inline constexpr const char* kTenantB = "globex";

// How long a test waits for the server to reach a state.
inline constexpr std::chrono::milliseconds kStateTimeout = 60s;

class CrierTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Flags added to `crier serve` (beyond --listen/--data-dir/--api-key).
  virtual std::vector<std::string> server_args() const { return {}; }
  // The --default-provider flag (every job that names no provider goes
  // there, whatever its channel); empty: no flag, so the config's
  // [dispatch] routing applies.
  virtual std::string default_provider() const { return "log"; }
  // Whether the server may reach loopback receivers (--egress-allow
  // 127.0.0.0/8); false for the tests of the egress guard.
  virtual bool allow_loopback_egress() const { return true; }

  // Starts the server on data_dir() (again, after a stop or kill9).
  void start_server();
  // kill -9, then a fresh server on the same data dir and new clients.
  void kill9_and_restart();

  HttpClient& api() { return *client_a_; }     // tenant A
  HttpClient& api_b() { return *client_b_; }   // tenant B
  ServerProcess& server() { return *server_; }
  unsigned short port() const { return server_->port(); }
  const std::filesystem::path& data_dir() const { return dir_.path(); }
  std::filesystem::path delivery_log() const { return dir_.path() / "delivery.log"; }
  // A file for test inputs (configs), beside the data dir.
  std::filesystem::path scratch_file(std::string_view name) const { return scratch_.path() / std::string(name); }

 private:
  crier::testing::TempDir dir_;
  crier::testing::TempDir scratch_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_a_, client_b_;
};

// ---- answers -----------------------------------------------------------------

// The answer's JSON object when its status is `expected`; throws otherwise.
json::object require(const HttpResponse& r, int expected, std::string_view what);
// Checks an error answer: status, error.code, the documented error shape,
// and that X-Request-Id names the same request. Returns the "error" object.
json::object expect_error(const HttpResponse& r, int status, std::string_view code);

// A string member ("" when absent or null).
std::string str(const json::object& o, std::string_view key);
// An integer member (throws when absent or not a number).
std::int64_t num(const json::object& o, std::string_view key);

// ---- jobs ----------------------------------------------------------------------

// An email job spec: subject "{{greeting}} {{name}}", text "Dear {{name}}".
json::object email_job_spec();
// An sms job spec: body "Hi {{name}}".
json::object sms_job_spec();

// POST /v1/jobs (201); returns the job_id.
std::string create_job(HttpClient& api, const json::object& spec);
// GET /v1/jobs/{id} (200).
json::object get_job(HttpClient& api, const std::string& job_id);
// POST /v1/jobs/{id}/run (202); returns the job view.
json::object run_job(HttpClient& api, const std::string& job_id);
// POST /v1/jobs/{id}/<action>, whatever the answer.
HttpResponse job_action(HttpClient& api, const std::string& job_id, std::string_view action);

// Ingest answers (200).
json::object ingest_json(HttpClient& api, const std::string& job_id, const json::array& users);
json::object ingest_ndjson(HttpClient& api, const std::string& job_id, std::string_view body);
json::object ingest_csv(HttpClient& api, const std::string& job_id, std::string_view body);

// Polls GET /v1/jobs/{id} until its status is one of `statuses`; throws with
// the last view when that does not happen within `timeout`. Every view seen
// on the way must have counters that add up.
json::object wait_for_status(HttpClient& api, const std::string& job_id,
                             std::initializer_list<std::string_view> statuses,
                             std::chrono::milliseconds timeout = kStateTimeout);
// Polls GET /v1/jobs/{id} until `done(view)`; throws with the last view on timeout.
json::object wait_for_job(HttpClient& api, const std::string& job_id,
                          const std::function<bool(const json::object&)>& done,
                          std::chrono::milliseconds timeout = kStateTimeout);

// Every user of the job, following the cursor with pages of `limit`.
std::vector<json::object> list_all_users(HttpClient& api, const std::string& job_id, std::size_t limit = 1000,
                                         std::string_view status = {});

// The counters invariants:
//   received = unique + duplicates + rejected
//   unique = pending + enqueued + sent + delivered + failed + skipped + cancelled
::testing::AssertionResult counters_add_up(const json::object& job);

// The counters and status of a job view, to compare before/after.
std::string counters_snapshot(const json::object& job);

// ---- users and the delivery log ---------------------------------------------------

std::string user_id_for(std::size_t i);  // "user-000042"
std::string email_for(std::size_t i);    // "user42@example.com"
std::string phone_for(std::size_t i);    // "+1415" + 7 digits

// {"user_id", "email"} users first..first+count-1.
json::array email_users(std::size_t first, std::size_t count);
// The same users as NDJSON lines.
std::string email_users_ndjson(std::size_t first, std::size_t count);
// The same users as CSV with a header "user_id,email".
std::string email_users_csv(std::size_t first, std::size_t count);

// The log provider's lines, parsed (empty when the file does not exist).
std::vector<json::object> read_delivery_log(const std::filesystem::path& path);

// An RFC 3339 UTC time `offset` from now, e.g. "2026-12-01T09:00:00.000Z".
std::string rfc3339_from_now(std::chrono::milliseconds offset);

}  // namespace crier::e2e
