// GET /metrics and the structured logs, through the real `crier serve` and a
// real WebhookSink (in this process) that fails every message's first
// attempt (503) and some messages for good (400). The exposition is read
// with Prometheus' own tools (promtool's linter, the official Python
// client's parser): what it counts must equal what the sink and the job say
// happened. The server logs JSON (--log-format json): its lines are parsed.
#include <fmt/format.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "sink/webhook_sink.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/support/prometheus_text.h"

namespace crier::e2e {
namespace {

using crier::testing::ParsedMetrics;

constexpr const char* kPermanent = "PERMANENT";

class MetricsTest : public CrierTest {
 protected:
  void SetUp() override {
    SinkOptions o;
    o.fail_first = 1;                 // every message: one transient failure, then...
    o.permanent_marker = kPermanent;  // ...400 for good when its body has the marker
    o.permanent_status = 400;
    o.keep_requests = 1000;
    sink_ = std::make_unique<WebhookSink>(o);
    auto port = sink_->start();
    ASSERT_TRUE(port) << port.error().message;
    write_config(config_toml());
    CrierTest::SetUp();
  }
  void TearDown() override {
    CrierTest::TearDown();
    if (sink_) sink_->stop();
  }

  virtual std::string config_toml() const {
    return "[providers.hook]\ntype = \"webhook\"\nmax_attempts = 3\nbackoff_base_ms = "
           "50\nbackoff_max_ms = 100\n";
  }
  std::vector<std::string> server_args() const override {
    return {"--config", config_path().string(), "--log-format", "json", "--log-level", "info"};
  }
  std::filesystem::path config_path() const { return scratch_file("crier.toml"); }
  void write_config(const std::string& toml) const {
    std::ofstream out(config_path(), std::ios::trunc);
    out << toml;
    if (!out) throw std::runtime_error("cannot write " + config_path().string());
  }

  json::object webhook_spec(double rate_limit) const {
    return {{"channel", "webhook"},
            {"provider", "hook"},
            {"webhook_url", sink_->url("/hook")},
            {"rate_limit", rate_limit},
            {"content", {{"webhook", {{"body", {{"text", "Hello {{name}}"}}}}}}}};
  }

  // GET /metrics without a key, checked by promtool and parsed.
  ParsedMetrics scrape() {
    HttpClient anonymous(port());
    auto r = anonymous.get("/metrics");
    if (r.status != 200) throw std::runtime_error("GET /metrics: " + r.describe());
    EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(crier::testing::promtool_problems(r.body, scratch_file("")), "") << r.body;
    return crier::testing::parse_metrics(r.body, scratch_file(""));
  }

  // The server's log lines (its stderr): in JSON, every one an object. Its
  // stdout's start-up lines share the file; they never start with '{', and
  // a log line in the text format would show spdlog's "[crier]" tag.
  std::vector<json::object> log_lines() {
    std::ifstream in(server().output_path());
    std::vector<json::object> out;
    std::string line;
    while (std::getline(in, line)) {
      // The server may be writing the last line right now: only whole lines
      // (ended by a newline) are read.
      if (in.eof()) break;
      if (!line.starts_with("{")) {
        EXPECT_EQ(line.find("[crier]"), std::string::npos) << "a log line not in JSON: " << line;
        continue;
      }
      json::value v;
      try {
        v = json::parse(line);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "a log line that is not JSON: " << line;
        continue;
      }
      if (!v.is_object()) {
        ADD_FAILURE() << "a log line that is not an object: " << line;
        continue;
      }
      out.push_back(v.as_object());
    }
    return out;
  }

  WebhookSink& sink() { return *sink_; }

 private:
  std::unique_ptr<WebhookSink> sink_;
};

TEST_F(MetricsTest, CountersEqualWhatAJobThroughTheSinkDid) {
  constexpr int kGood = 15, kBad = 5;
  const std::string id = create_job(api(), webhook_spec(100));
  json::array users;
  for (int i = 0; i < kGood + kBad; ++i)
    users.push_back(json::object{{"user_id", user_id_for(static_cast<std::size_t>(i))},
                                 {"data", {{"name", i < kGood ? "friend" : kPermanent}}}});
  users.push_back(json::object{{"user_id", user_id_for(0)}});                         // a duplicate
  users.push_back(json::object{{"user_id", "u-bad"}, {"webhook_url", "not a url"}});  // rejected
  auto ingested = ingest_json(api(), id, users);
  ASSERT_EQ(num(ingested, "accepted"), kGood + kBad) << json::serialize(ingested);
  ASSERT_EQ(num(ingested, "duplicates"), 1) << json::serialize(ingested);
  ASSERT_EQ(ingested.at("rejected").as_array().size(), 1u) << json::serialize(ingested);
  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"PARTIAL"});
  ASSERT_EQ(num(done, "sent"), kGood);
  ASSERT_EQ(num(done, "failed"), kBad);

  auto m = scrape();
  const auto stats = sink().stats();

  // Every attempt, by its outcome: the first of each message failed
  // transiently (and was retried), the second was accepted or refused.
  const std::pair<std::string_view, std::string_view> hook = {"provider", "hook"};
  auto messages = [&](std::string_view outcome) {
    return m.sum("crier_messages_total", {{"channel", "webhook"}, hook, {"outcome", outcome}})
        .value_or(-1);
  };
  EXPECT_EQ(messages("retried"), kGood + kBad);
  EXPECT_EQ(messages("sent"), kGood);
  EXPECT_EQ(messages("failed"), kBad);
  EXPECT_EQ(messages("sent"), static_cast<double>(stats.accepted));
  EXPECT_EQ(messages("retried") + messages("failed"), static_cast<double>(stats.injected_failures));
  EXPECT_EQ(m.sum("crier_messages_total").value_or(-1), static_cast<double>(stats.requests));
  EXPECT_EQ(m.sum("crier_retries_total", {hook}), kGood + kBad);
  EXPECT_EQ(m.sum("crier_provider_in_flight_requests", {hook}), 0);
  EXPECT_EQ(m.type_of("crier_messages_total"), "counter");
  EXPECT_EQ(m.type_of("crier_provider_in_flight_requests"), "gauge");

  // 40 attempts at 100/s from a bucket of 10: the job's bucket made chunks
  // wait; no tenant or provider limit is set.
  EXPECT_GT(m.sum("crier_rate_limit_waits_total", {{"level", "job"}}).value_or(0), 0);
  EXPECT_GT(m.sum("crier_rate_limit_wait_seconds_total", {{"level", "job"}}).value_or(0), 0);
  EXPECT_EQ(m.sum("crier_rate_limit_waits_total", {{"level", "tenant"}}), 0);
  EXPECT_EQ(m.sum("crier_rate_limit_waits_total", {{"level", "provider"}}), 0);

  EXPECT_EQ(m.sum("crier_users_ingested_total", {{"outcome", "accepted"}}), kGood + kBad);
  EXPECT_EQ(m.sum("crier_users_ingested_total", {{"outcome", "duplicate"}}), 1);
  EXPECT_EQ(m.sum("crier_users_ingested_total", {{"outcome", "rejected"}}), 1);
  EXPECT_EQ(m.sum("crier_job_events_total", {{"event", "created"}}), 1);
  EXPECT_EQ(m.sum("crier_job_events_total", {{"event", "started"}}), 1);
  EXPECT_EQ(m.sum("crier_job_events_total", {{"event", "partial"}}), 1);
  EXPECT_EQ(m.sum("crier_job_events_total", {{"event", "completed"}}), 0);

  // Requests by route pattern: the job's id is in no label.
  auto requests = [&](std::string_view route, std::string_view method, std::string_view status) {
    return m
        .sum("crier_http_requests_total",
             {{"route", route}, {"method", method}, {"status", status}})
        .value_or(0);
  };
  EXPECT_EQ(requests("/v1/jobs", "POST", "201"), 1);
  EXPECT_EQ(requests("/v1/jobs/{id}/users", "POST", "200"), 1);
  EXPECT_EQ(requests("/v1/jobs/{id}/run", "POST", "202"), 1);
  const double polls = requests("/v1/jobs/{id}", "GET", "200");
  EXPECT_GE(polls, 1);
  for (const auto& route : m.label_values("crier_http_requests_total", "route"))
    EXPECT_EQ(route.find("job_"), std::string::npos) << route;
  // The latency histogram saw each of those requests once.
  EXPECT_EQ(m.type_of("crier_http_request_duration_seconds"), "histogram");
  EXPECT_EQ(m.sum("crier_http_request_duration_seconds_count",
                  {{"route", "/v1/jobs/{id}"}, {"method", "GET"}}),
            polls);
  EXPECT_EQ(m.sum("crier_http_request_duration_seconds_bucket",
                  {{"route", "/v1/jobs/{id}"}, {"method", "GET"}, {"le", "+Inf"}}),
            polls);
  EXPECT_GT(m.sum("crier_http_request_body_bytes_total").value_or(0), 0);

  // RocksDB: every family has its sizes; nothing stops writes.
  auto families = m.label_values("crier_rocksdb_sst_bytes", "column_family");
  EXPECT_NE(std::find(families.begin(), families.end(), "recipients"), families.end());
  EXPECT_EQ(m.label_values("crier_rocksdb_pending_compaction_bytes", "column_family").size(),
            families.size());
  EXPECT_GT(m.sum("crier_rocksdb_memtable_bytes").value_or(0), 0);
  EXPECT_EQ(m.sum("crier_rocksdb_write_stopped"), 0);
  EXPECT_TRUE(m.has_family("crier_rocksdb_write_stalls_total"));

  // Jobs by status: the one job, PARTIAL.
  EXPECT_EQ(m.type_of("crier_jobs"), "gauge");
  EXPECT_EQ(m.sum("crier_jobs", {{"status", "partial"}}), 1);
  EXPECT_EQ(m.sum("crier_jobs"), 1);

  // The scrape before this one is counted now (a request is counted once
  // answered).
  auto again = scrape();
  EXPECT_EQ(again.sum("crier_http_requests_total",
                      {{"route", "/metrics"}, {"method", "GET"}, {"status", "200"}}),
            1);

  // After a restart, counters start from zero and jobs by status are read
  // from the store.
  kill9_and_restart();
  auto restarted = scrape();
  EXPECT_EQ(restarted.sum("crier_jobs", {{"status", "partial"}}), 1);
  EXPECT_EQ(restarted.sum("crier_jobs"), 1);
  EXPECT_EQ(restarted.sum("crier_job_events_total"), 0);
  EXPECT_EQ(restarted.sum("crier_messages_total").value_or(0), 0);
}

TEST_F(MetricsTest, LogsOneJsonLinePerRequestAndPerJobEvent) {
  auto created =
      api().post_json("/v1/jobs", webhook_spec(5), {{"X-Request-Id", "req-metrics-create"}});
  const std::string id = str(require(created, 201, "create"), "job_id");
  // 200 users at 5/s: still running when it is paused, resumed, cancelled.
  ingest_json(api(), id, email_users(0, 200));
  run_job(api(), id);
  ASSERT_EQ(job_action(api(), id, "pause").status, 200);
  ASSERT_EQ(job_action(api(), id, "resume").status, 200);
  ASSERT_EQ(job_action(api(), id, "cancel").status, 200);
  wait_for_status(api(), id, {"CANCELLED"});

  // The create request's line: found by the request id it was sent with.
  std::vector<json::object> lines;
  const json::object* request = nullptr;
  // A job event's line follows its write, so the last one may come just
  // after the status reads CANCELLED.
  ASSERT_TRUE(poll_until(10s, [&] {
    lines = log_lines();
    bool cancelled = false;
    for (const auto& l : lines) {
      if (str(l, "request_id") == "req-metrics-create") request = &l;
      cancelled = cancelled || (str(l, "event") == "job" && str(l, "job_event") == "cancelled");
    }
    return request != nullptr && cancelled;
  })) << server().output_tail();
  const auto& r = *request;
  EXPECT_EQ(str(r, "event"), "request");
  EXPECT_EQ(str(r, "level"), "info");
  EXPECT_FALSE(str(r, "time").empty());
  EXPECT_EQ(str(r, "tenant"), kTenantA);
  EXPECT_EQ(str(r, "method"), "POST");
  EXPECT_EQ(str(r, "route"), "/v1/jobs");
  EXPECT_EQ(str(r, "path"), "/v1/jobs");
  EXPECT_EQ(num(r, "status"), 201);
  EXPECT_EQ(num(r, "bytes_in"), static_cast<std::int64_t>(json::serialize(webhook_spec(5)).size()));
  EXPECT_EQ(num(r, "bytes_out"), static_cast<std::int64_t>(created.body.size()));
  ASSERT_TRUE(r.contains("duration_ms") && r.at("duration_ms").is_number());
  EXPECT_GE(r.at("duration_ms").to_number<double>(), 0);

  // The job's lifecycle, in order, one line each.
  std::vector<std::string> events;
  for (const auto& l : lines)
    if (str(l, "event") == "job" && str(l, "job_id") == id) {
      EXPECT_EQ(str(l, "tenant"), kTenantA);
      events.push_back(str(l, "job_event"));
    }
  // The cancel left recipients to sweep: CANCELLING, then CANCELLED.
  EXPECT_EQ(events,
            (std::vector<std::string>{"created", "started", "paused", "resumed", "cancelling", "cancelled"}));

  auto m = scrape();
  for (std::string_view e : {"created", "started", "paused", "resumed", "cancelling", "cancelled"})
    EXPECT_EQ(m.sum("crier_job_events_total", {{"event", e}}), 1) << e;
  // Each event moved the job from one status to the next: it is counted
  // once, where it ended.
  EXPECT_EQ(m.sum("crier_jobs", {{"status", "cancelled"}}), 1);
  EXPECT_EQ(m.sum("crier_jobs"), 1);
}

// SIGHUP re-reads [server] log_level from the config file.
class MetricsLogLevelTest : public MetricsTest {
 protected:
  std::string config_toml() const override {
    return "[server]\nlog_level = \"info\"\n" + MetricsTest::config_toml();
  }
  std::vector<std::string> server_args() const override {
    return {"--config", config_path().string(), "--log-format", "json"};
  }
  bool logged(std::string_view request_id) {
    for (const auto& l : log_lines())
      if (str(l, "request_id") == request_id) return true;
    return false;
  }
};

TEST_F(MetricsLogLevelTest, SighupReloadsTheLogLevelFromTheConfigFile) {
  // A successful GET is logged at debug: not at info.
  ASSERT_EQ(api().get("/v1/jobs", {{"X-Request-Id", "get-at-info"}}).status, 200);
  // A request's line is written after its answer: wait for a later one that
  // is logged at info (a 404), so the first was judged before the reload.
  ASSERT_EQ(api().get("/v1/jobs/job_nope", {{"X-Request-Id", "barrier"}}).status, 404);
  ASSERT_TRUE(poll_until(10s, [&] { return logged("barrier"); })) << server().output_tail();
  write_config("[server]\nlog_level = \"debug\"\n" + MetricsTest::config_toml());
  ASSERT_EQ(::kill(server().pid(), SIGHUP), 0);
  ASSERT_TRUE(poll_until(10s, [&] {
    for (const auto& l : log_lines())
      if (str(l, "msg").starts_with("SIGHUP: log level debug")) return true;
    return false;
  })) << server().output_tail();
  ASSERT_EQ(api().get("/v1/jobs", {{"X-Request-Id", "get-at-debug"}}).status, 200);
  EXPECT_TRUE(poll_until(10s, [&] { return logged("get-at-debug"); })) << server().output_tail();
  EXPECT_FALSE(logged("get-at-info"));
}

// --metrics-require-key: scrapers need an API key.
class MetricsKeyTest : public MetricsTest {
 protected:
  std::vector<std::string> server_args() const override {
    auto args = MetricsTest::server_args();
    args.push_back("--metrics-require-key");
    return args;
  }
};

TEST_F(MetricsKeyTest, MetricsAskForAKeyWhenConfigured) {
  HttpClient anonymous(port());
  expect_error(anonymous.get("/metrics"), 401, "missing_api_key");
  auto r = api().get("/metrics");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_NO_THROW(crier::testing::parse_metrics(r.body, scratch_file("")));
}

}  // namespace
}  // namespace crier::e2e
