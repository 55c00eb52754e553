#include "tests/e2e/e2e_fixture.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace crier::e2e {

// ---- the fixture -------------------------------------------------------------

void CrierTest::SetUp() { start_server(); }

void CrierTest::TearDown() {
  client_a_.reset();
  client_b_.reset();
  if (server_ && server_->running()) {
    if (HasFailure()) std::cerr << "--- server output (tail) ---\n" << server_->output_tail() << "\n";
    server_->kill9();
  }
}

void CrierTest::start_server() {
  std::vector<std::string> args = {"--api-key", fmt::format("{}={}", kKeyA, kTenantA),
                                   "--api-key", fmt::format("{}={}", kKeyB, kTenantB)};
  if (auto provider = default_provider(); !provider.empty()) {
    args.push_back("--default-provider");
    args.push_back(provider);
  }
  auto extra = server_args();
  args.insert(args.end(), extra.begin(), extra.end());
  client_a_.reset();
  client_b_.reset();
  server_.reset();
  server_ = std::make_unique<ServerProcess>(dir_.path(), args, std::chrono::seconds(20), allow_loopback_egress());
  client_a_ = std::make_unique<HttpClient>(server_->port(), kKeyA);
  client_b_ = std::make_unique<HttpClient>(server_->port(), kKeyB);
}

void CrierTest::kill9_and_restart() {
  server_->kill9();
  start_server();
}

// ---- answers -----------------------------------------------------------------

json::object require(const HttpResponse& r, int expected, std::string_view what) {
  if (r.status != expected)
    throw std::runtime_error(fmt::format("{}: expected HTTP {}, got {}", what, expected, r.describe()));
  return r.object();
}

json::object expect_error(const HttpResponse& r, int status, std::string_view code) {
  EXPECT_EQ(r.status, status) << r.describe();
  auto v = r.json();
  if (!v.is_object() || !v.as_object().contains("error") || !v.as_object().at("error").is_object()) {
    ADD_FAILURE() << "not an error body: " << r.describe();
    return {};
  }
  json::object e = v.as_object().at("error").as_object();
  EXPECT_EQ(str(e, "code"), code) << r.describe();
  EXPECT_FALSE(str(e, "message").empty()) << r.describe();
  EXPECT_FALSE(str(e, "type").empty()) << r.describe();
  EXPECT_FALSE(str(e, "request_id").empty()) << r.describe();
  EXPECT_EQ(r.header("X-Request-Id"), str(e, "request_id")) << r.describe();
  EXPECT_EQ(r.header("Content-Type"), "application/json") << r.describe();
  return e;
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return {};
  if (!v->is_string()) return json::serialize(*v);
  return std::string(v->as_string());
}

std::int64_t num(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) throw std::runtime_error(fmt::format("no '{}' in {}", key, json::serialize(o)));
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  throw std::runtime_error(fmt::format("'{}' is not an integer in {}", key, json::serialize(o)));
}

// ---- jobs ----------------------------------------------------------------------

json::object email_job_spec() {
  return json::object{
      {"channel", "email"},
      {"content", {{"email", {{"subject", "{{greeting}} {{name}}"}, {"text", "Dear {{name}}"}}}}},
      {"data", {{"greeting", "Hello"}, {"name", "friend"}}}};
}

json::object sms_job_spec() {
  return json::object{{"channel", "sms"},
                      {"content", {{"sms", {{"body", "Hi {{name}}"}}}}},
                      {"data", {{"name", "there"}}}};
}

std::string create_job(HttpClient& api, const json::object& spec) {
  auto job = require(api.post_json("/v1/jobs", spec), 201, "create job");
  auto id = str(job, "job_id");
  if (id.empty()) throw std::runtime_error("no job_id in " + json::serialize(job));
  return id;
}

json::object get_job(HttpClient& api, const std::string& job_id) {
  return require(api.get("/v1/jobs/" + job_id), 200, "get job " + job_id);
}

json::object run_job(HttpClient& api, const std::string& job_id) {
  return require(api.request("POST", "/v1/jobs/" + job_id + "/run"), 202, "run " + job_id);
}

HttpResponse job_action(HttpClient& api, const std::string& job_id, std::string_view action) {
  return api.request("POST", fmt::format("/v1/jobs/{}/{}", job_id, action));
}

json::object ingest_json(HttpClient& api, const std::string& job_id, const json::array& users) {
  return require(api.post_json("/v1/jobs/" + job_id + "/users", json::object{{"users", users}}), 200,
                 "ingest JSON into " + job_id);
}

json::object ingest_ndjson(HttpClient& api, const std::string& job_id, std::string_view body) {
  return require(api.post("/v1/jobs/" + job_id + "/users", body, "application/x-ndjson"), 200,
                 "ingest NDJSON into " + job_id);
}

json::object ingest_csv(HttpClient& api, const std::string& job_id, std::string_view body) {
  return require(api.post("/v1/jobs/" + job_id + "/users", body, "text/csv"), 200, "ingest CSV into " + job_id);
}

json::object wait_for_job(HttpClient& api, const std::string& job_id,
                          const std::function<bool(const json::object&)>& done, std::chrono::milliseconds timeout) {
  json::object last;
  bool reached = poll_until(timeout, [&] {
    last = get_job(api, job_id);
    EXPECT_TRUE(counters_add_up(last));
    return done(last);
  });
  if (!reached)
    throw std::runtime_error(fmt::format("job {} did not reach the awaited state within {} ms; last: {}", job_id,
                                         timeout.count(), json::serialize(last)));
  return last;
}

json::object wait_for_status(HttpClient& api, const std::string& job_id,
                             std::initializer_list<std::string_view> statuses, std::chrono::milliseconds timeout) {
  std::vector<std::string> wanted(statuses.begin(), statuses.end());
  return wait_for_job(
      api, job_id,
      [&](const json::object& job) {
        auto s = str(job, "status");
        return std::find(wanted.begin(), wanted.end(), s) != wanted.end();
      },
      timeout);
}

std::vector<json::object> list_all_users(HttpClient& api, const std::string& job_id, std::size_t limit,
                                         std::string_view status) {
  std::vector<json::object> users;
  std::string cursor;
  for (int pages = 0;; ++pages) {
    if (pages > 1'000'000) throw std::runtime_error("the users listing never ends");
    std::string target = fmt::format("/v1/jobs/{}/users?limit={}", job_id, limit);
    if (!status.empty()) target += fmt::format("&status={}", status);
    if (!cursor.empty()) target += "&cursor=" + cursor;
    auto page = require(api.get(target), 200, "list users");
    const auto& items = page.at("users").as_array();
    if (items.size() > limit) throw std::runtime_error(fmt::format("a page of {} users for limit {}", items.size(), limit));
    for (const auto& u : items) users.push_back(u.as_object());
    const auto& paging = page.at("paging").as_object();
    if (!paging.at("more").as_bool()) {
      if (!paging.at("cursor").is_null()) throw std::runtime_error("more=false with a cursor: " + json::serialize(paging));
      break;
    }
    cursor = std::string(paging.at("cursor").as_string());
    if (cursor.empty()) throw std::runtime_error("more=true without a cursor");
  }
  return users;
}

::testing::AssertionResult counters_add_up(const json::object& job) {
  auto c = [&](const char* k) { return num(job, k); };
  std::int64_t unique = c("unique");
  std::int64_t by_state =
      c("pending") + c("enqueued") + c("sent") + c("delivered") + c("failed") + c("skipped") + c("cancelled");
  if (c("received") != unique + c("duplicates") + c("rejected"))
    return ::testing::AssertionFailure() << "received != unique + duplicates + rejected in " << json::serialize(job);
  if (unique != by_state)
    return ::testing::AssertionFailure() << "unique (" << unique << ") != sum of recipient states (" << by_state
                                         << ") in " << json::serialize(job);
  for (const char* k : {"received", "unique", "duplicates", "rejected", "pending", "enqueued", "sent", "delivered",
                        "failed", "skipped", "cancelled"})
    if (c(k) < 0) return ::testing::AssertionFailure() << k << " is negative in " << json::serialize(job);
  return ::testing::AssertionSuccess();
}

std::string counters_snapshot(const json::object& job) {
  std::string out = str(job, "status");
  for (const char* k : {"received", "unique", "duplicates", "rejected", "pending", "enqueued", "sent", "delivered",
                        "failed", "skipped", "cancelled"})
    out += fmt::format(" {}={}", k, num(job, k));
  return out;
}

// ---- users and the delivery log ---------------------------------------------------

std::string user_id_for(std::size_t i) { return fmt::format("user-{:06}", i); }
std::string email_for(std::size_t i) { return fmt::format("user{}@example.com", i); }
std::string phone_for(std::size_t i) { return fmt::format("+1415{:07}", i); }

json::array email_users(std::size_t first, std::size_t count) {
  json::array users;
  users.reserve(count);
  for (std::size_t i = first; i < first + count; ++i)
    users.push_back(json::object{{"user_id", user_id_for(i)}, {"email", email_for(i)}});
  return users;
}

std::string email_users_ndjson(std::size_t first, std::size_t count) {
  std::string out;
  out.reserve(count * 60);
  for (std::size_t i = first; i < first + count; ++i)
    out += fmt::format("{{\"user_id\":\"{}\",\"email\":\"{}\"}}\n", user_id_for(i), email_for(i));
  return out;
}

std::string email_users_csv(std::size_t first, std::size_t count) {
  std::string out = "user_id,email\n";
  out.reserve(count * 40);
  for (std::size_t i = first; i < first + count; ++i) out += fmt::format("{},{}\n", user_id_for(i), email_for(i));
  return out;
}

std::vector<json::object> read_delivery_log(const std::filesystem::path& path) {
  std::vector<json::object> lines;
  std::ifstream in(path);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      // A kill -9 in the middle of a write leaves a torn line, which the
      // restarted server's first line is appended to: keep that one.
      auto start = line.rfind("{\"message_id\"");
      if (start != std::string::npos && start > 0) v = json::parse(std::string_view(line).substr(start), ec);
      if (ec || !v.is_object()) {
        if (in.peek() == std::char_traits<char>::eof()) break;  // torn last line
        throw std::runtime_error(fmt::format("{} line {} is not a JSON object: {}", path.string(), n, line));
      }
    }
    lines.push_back(std::move(v.as_object()));
  }
  return lines;
}

std::string rfc3339_from_now(std::chrono::milliseconds offset) {
  auto t = std::chrono::system_clock::now() + offset;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

}  // namespace crier::e2e
