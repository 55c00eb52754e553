// The registry's exposition, read back with the official Python client's
// parser and promtool's linter: histogram buckets cumulate, unlisted
// statuses fall into their class, label values are escaped.
#include <gtest/gtest.h>

#include "api/metrics.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/temp_dir.h"

namespace crier::api {
namespace {

using namespace std::chrono_literals;

TEST(MetricsRegistry, HttpRequestsParseBackToWhatWasRecorded) {
  Metrics m;
  m.http.record("GET", "/v1/jobs/job_a", 200, 2ms, 0, 100);
  m.http.record("GET", "/v1/jobs/job_b", 200, 30ms, 0, 50);
  m.http.record("GET", "/v1/jobs/job_c", 404, 3s, 0, 10);
  m.http.record("POST", "/v1/jobs", 599, 1ms, 40, 0);  // not a listed status
  m.http.record("BREW", "/coffee", 418, 1ms, 0, 0);
  m.add_source([](MetricsWriter& w) {
    w.family("crier_test_labels", "gauge", "A label value with \"quotes\", a \\ and a\nnewline");
    w.sample("crier_test_labels", {{"name", "a \"b\" \\ c\nd"}}, 1.0);
  });
  const std::string text = m.render();
  crier::testing::TempDir dir;
  EXPECT_EQ(crier::testing::promtool_problems(text, dir.path()), "") << text;
  auto p = crier::testing::parse_metrics(text, dir.path());

  EXPECT_EQ(p.sum("crier_http_requests_total",
                  {{"route", "/v1/jobs/{id}"}, {"method", "GET"}, {"status", "200"}}),
            2);
  EXPECT_EQ(p.sum("crier_http_requests_total", {{"route", "/v1/jobs/{id}"}, {"status", "404"}}), 1);
  EXPECT_EQ(p.sum("crier_http_requests_total", {{"route", "/v1/jobs"}, {"status", "5xx"}}), 1);
  EXPECT_EQ(p.sum("crier_http_requests_total",
                  {{"route", "unmatched"}, {"method", "other"}, {"status", "4xx"}}),
            1);
  auto bucket = [&](std::string_view le) {
    return p.sum("crier_http_request_duration_seconds_bucket",
                 {{"route", "/v1/jobs/{id}"}, {"method", "GET"}, {"le", le}});
  };
  EXPECT_EQ(bucket("0.001"), 0);
  EXPECT_EQ(bucket("0.0025"), 1);
  EXPECT_EQ(bucket("0.05"), 2);
  EXPECT_EQ(bucket("2.5"), 2);
  EXPECT_EQ(bucket("5"), 3);
  EXPECT_EQ(bucket("+Inf"), 3);
  EXPECT_NEAR(*p.sum("crier_http_request_duration_seconds_sum",
                     {{"route", "/v1/jobs/{id}"}, {"method", "GET"}}),
              3.032, 1e-9);
  EXPECT_EQ(p.sum("crier_http_response_body_bytes_total"), 160);
  EXPECT_EQ(p.sum("crier_http_request_body_bytes_total"), 40);
  EXPECT_EQ(p.label_values("crier_test_labels", "name"),
            std::vector<std::string>{"a \"b\" \\ c\nd"});
}

TEST(MetricsRegistry, JobEventsAndIngestAreCountersFromZero) {
  Metrics m;
  m.job_events[static_cast<std::size_t>(JobEvent::paused)].add();
  m.users_accepted.add(7);
  crier::testing::TempDir dir;
  auto p = crier::testing::parse_metrics(m.render(), dir.path());
  EXPECT_EQ(p.type_of("crier_job_events_total"), "counter");
  EXPECT_EQ(p.sum("crier_job_events_total", {{"event", "paused"}}), 1);
  EXPECT_EQ(p.sum("crier_job_events_total", {{"event", "created"}}), 0);
  EXPECT_EQ(p.sum("crier_users_ingested_total", {{"outcome", "accepted"}}), 7);
}

}  // namespace
}  // namespace crier::api
