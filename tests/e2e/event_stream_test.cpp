// GET /v1/jobs/{id}/events through the real `crier serve`, with jobs that
// deliver to a real WebhookSink at a set rate (so they run for seconds and
// their counters move between ticks), read by a plain-socket SSE client
// (sse_client.h). What each test asserts is what a watcher of a campaign
// relies on: rising counters, every status change once and in order, an
// end, then a closed stream; resuming without repeats; tickets; and that a
// watcher who stops reading costs the job and the others nothing.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <future>
#include <thread>

#include "engine/time_format.h"
#include "sink/webhook_sink.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/sse_client.h"
#include "tests/support/prometheus_text.h"

namespace crier::e2e {
namespace {

using crier::testing::ParsedMetrics;

std::vector<std::string> statuses_of(const std::vector<SseEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    if (e.event == "status") out.push_back(str(e.json(), "previous") + "->" + str(e.json(), "status"));
  return out;
}

std::vector<SseEvent> named(const std::vector<SseEvent>& events, std::string_view name) {
  std::vector<SseEvent> out;
  for (const auto& e : events)
    if (e.event == name) out.push_back(e);
  return out;
}

std::string base64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

// A ticket as docs/api.md describes the format, made here with `key`.
std::string make_ticket(std::string_view key, std::string_view tenant, std::string_view job_id,
                        std::int64_t expires_at_ms) {
  const std::string claims = fmt::format("1\n{}\n{}\n{}", tenant, job_id, expires_at_ms);
  const std::string content = "crier-event-ticket\n" + claims;
  unsigned char mac[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &n);
  return base64url(claims) + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac), n));
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class EventStreamTest : public CrierTest {
 protected:
  void SetUp() override {
    sink_ = std::make_unique<WebhookSink>(SinkOptions{});
    auto port = sink_->start();
    ASSERT_TRUE(port) << port.error().message;
    std::ofstream(scratch_file("crier.toml")) << "[providers.hook]\ntype = \"webhook\"\n";
    CrierTest::SetUp();
  }
  void TearDown() override {
    CrierTest::TearDown();
    if (sink_) sink_->stop();
  }
  // A stuck client is dropped after 2 s; request lines are logged (debug)
  // so the ticket test can look for the ticket in them.
  std::vector<std::string> server_args() const override {
    return {"--config", scratch_file("crier.toml").string(), "--stream-write-timeout", "2", "--log-level", "debug"};
  }

  // A webhook job of `users` users sent at `rate`/s to the sink, not run
  // yet; `data_bytes` of global data make its view (and each event) big.
  std::string webhook_job(int users, double rate, std::size_t data_bytes = 0, std::size_t metadata_bytes = 0) {
    json::object spec{{"channel", "webhook"},
                      {"provider", "hook"},
                      {"webhook_url", sink_->url("/hook")},
                      {"rate_limit", rate},
                      {"content", {{"webhook", {{"body", {{"text", "Hello {{name}}"}}}}}}}};
    if (data_bytes) spec["data"] = json::object{{"padding", std::string(data_bytes, 'x')}};
    if (metadata_bytes) spec["metadata"] = json::object{{"padding", std::string(metadata_bytes, 'y')}};
    auto id = create_job(api(), spec);
    json::array list;
    for (int i = 0; i < users; ++i)
      list.push_back(json::object{{"user_id", user_id_for(static_cast<std::size_t>(i))}, {"data", {{"name", "friend"}}}});
    ingest_json(api(), id, list);
    return id;
  }

  std::unique_ptr<SseClient> watch(const std::string& job_id, HeaderList headers = {}, std::string query = {},
                                   int receive_buffer = 0) {
    if (headers.empty()) headers.emplace_back("Authorization", std::string("Bearer ") + kKeyA);
    auto c = std::make_unique<SseClient>(port(), "/v1/jobs/" + job_id + "/events" + query, headers, receive_buffer);
    return c;
  }

  std::unique_ptr<SseClient> open_stream(const std::string& job_id, HeaderList headers = {}, std::string query = {}) {
    auto c = watch(job_id, std::move(headers), std::move(query));
    int status = c->read_head();
    if (status != 200) throw std::runtime_error(fmt::format("GET events: {} {}", status, c->body()));
    EXPECT_EQ(c->header("content-type"), "text/event-stream");
    return c;
  }

  ParsedMetrics scrape() {
    HttpClient anonymous(port());
    auto r = anonymous.get("/metrics");
    if (r.status != 200) throw std::runtime_error("GET /metrics: " + r.describe());
    return crier::testing::parse_metrics(r.body, scratch_file(""));
  }
  double metric(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels = {}) {
    return scrape().sum(name, labels).value_or(-1);
  }
  // Polls until no stream is open (each one's watcher has left).
  bool no_streams_open() {
    return poll_until(kStateTimeout, [&] { return metric("crier_sse_connections") == 0; }, 100ms);
  }

  std::unique_ptr<WebhookSink> sink_;
};

// The checks every complete stream of a job run to completion passes.
void expect_whole_run(const std::vector<SseEvent>& events, std::int64_t users) {
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().event, "progress") << "the snapshot comes first";
  EXPECT_EQ(str(events.front().json(), "status"), "CREATED");
  EXPECT_EQ(statuses_of(events), (std::vector<std::string>{"CREATED->PROCESSING", "PROCESSING->COMPLETED"}));
  EXPECT_EQ(events.back().event, "end");
  auto last = events.back().json();
  EXPECT_EQ(str(last, "status"), "COMPLETED");
  EXPECT_EQ(num(last, "sent"), users);
  EXPECT_TRUE(counters_add_up(last));
  std::int64_t previous_id = -1, previous_sent = -1;
  for (const auto& e : events) {
    EXPECT_GT(std::stoll(e.id), previous_id) << "ids increase";
    previous_id = std::stoll(e.id);
    if (e.event == "status") continue;
    auto view = e.json();
    EXPECT_GE(num(view, "sent"), previous_sent) << "counters never go back";
    previous_sent = num(view, "sent");
    EXPECT_TRUE(counters_add_up(view));
  }
}

TEST_F(EventStreamTest, ARunningJobStreamsRisingCountersItsStatusChangesAndAnEndThenCloses) {
  constexpr int kUsers = 30;
  auto id = webhook_job(kUsers, 10);  // 3 s: several ticks
  auto stream = open_stream(id);
  run_job(api(), id);
  auto events = stream->until_end();
  expect_whole_run(events, kUsers);
  // Seen while it ran: progress with some of the users sent, not all.
  auto progress = named(events, "progress");
  EXPECT_TRUE(std::any_of(progress.begin(), progress.end(), [&](const SseEvent& e) {
    auto sent = num(e.json(), "sent");
    return sent > 0 && sent < kUsers && str(e.json(), "status") == "PROCESSING";
  })) << "no progress mid-run among " << progress.size() << " progress events";
  // The status changes are told before any snapshot showing them.
  auto first_processing = std::find_if(events.begin(), events.end(), [](const SseEvent& e) {
    return e.event != "status" && str(e.json(), "status") == "PROCESSING";
  });
  auto started = std::find_if(events.begin(), events.end(), [](const SseEvent& e) { return e.event == "status"; });
  EXPECT_LT(started - events.begin(), first_processing - events.begin());
  EXPECT_TRUE(stream->server_closed()) << "the server closes the stream after the end";
  EXPECT_EQ(sink_->stats().unique, static_cast<std::uint64_t>(kUsers));
  EXPECT_TRUE(no_streams_open());
  EXPECT_EQ(metric("crier_http_requests_total", {{"route", "/v1/jobs/{id}/events"}, {"status", "200"}}), 1)
      << "the stream is recorded as one request, under its route pattern";
}

TEST_F(EventStreamTest, WatchersOfOneJobSeeTheSameEventsFromOneReadPerTick) {
  constexpr int kUsers = 60, kWatchers = 4;
  auto id = webhook_job(kUsers, 10);  // 6 s
  const double ticks_before = metric("crier_sse_ticks_total");
  const double progress_before = metric("crier_sse_events_sent_total", {{"event", "progress"}});
  std::vector<std::unique_ptr<SseClient>> streams;
  for (int i = 0; i < kWatchers; ++i) streams.push_back(open_stream(id));
  EXPECT_EQ(metric("crier_sse_connections"), kWatchers);
  run_job(api(), id);
  // Each read by its own thread, as separate clients would.
  std::vector<std::future<std::vector<SseEvent>>> reading;
  for (auto& s : streams) reading.push_back(std::async(std::launch::async, [&s] { return s->until_end(); }));
  std::vector<std::vector<SseEvent>> seen;
  for (auto& r : reading) seen.push_back(r.get());
  for (const auto& events : seen) expect_whole_run(events, kUsers);
  for (std::size_t w = 1; w < seen.size(); ++w) {
    ASSERT_EQ(seen[w].size(), seen[0].size()) << "watcher " << w;
    for (std::size_t i = 0; i < seen[0].size(); ++i) {
      EXPECT_EQ(seen[w][i].id, seen[0][i].id) << "watcher " << w << " event " << i;
      EXPECT_EQ(seen[w][i].event, seen[0][i].event) << "watcher " << w << " event " << i;
      EXPECT_EQ(seen[w][i].data, seen[0][i].data) << "watcher " << w << " event " << i;
    }
  }
  ASSERT_TRUE(no_streams_open());
  // Every progress event after the first (the snapshot each watcher got on
  // connecting) is one tick's read handed to all the watchers: the reads
  // follow the ticks, not the watchers. Reads that found nothing new, the
  // first and the last (the end) come on top, a few; a read per watcher
  // would be kWatchers times as many.
  const auto progress_per_watcher = static_cast<double>(named(seen[0], "progress").size());
  const double ticks = metric("crier_sse_ticks_total") - ticks_before;
  const double progress_sent = metric("crier_sse_events_sent_total", {{"event", "progress"}}) - progress_before;
  EXPECT_EQ(progress_sent, kWatchers * progress_per_watcher);
  ASSERT_GE(progress_per_watcher, 4) << "the job ran for several ticks";
  EXPECT_GE(ticks, progress_per_watcher) << "each snapshot came from a read";
  EXPECT_LT(ticks, 2 * progress_per_watcher) << ticks << " reads for " << progress_per_watcher
                                             << " snapshots to each of " << kWatchers << " watchers";
}

// Also the regression test of a stream that ended on a readiness that was
// not its client's (epoll reported one for a reused descriptor): `second`
// ended right after its first event, now and then, under load.
TEST_F(EventStreamTest, AResumedStreamDoesNotRepeatStatusEventsItsClientSaw) {
  auto id = webhook_job(200, 5);  // 40 s: it is paused long before
  auto first = open_stream(id);
  run_job(api(), id);
  std::vector<SseEvent> got;
  auto read_until_status = [&](SseClient& s, std::string_view status) {
    while (auto e = s.next()) {
      got.push_back(*e);
      if (e->event == "status" && str(e->json(), "status") == status) return *e;
    }
    throw std::runtime_error(fmt::format("no status event {}", status));
  };
  auto processing = read_until_status(*first, "PROCESSING");
  ASSERT_EQ(job_action(api(), id, "pause").status, 200);
  auto paused = read_until_status(*first, "PAUSED");
  first.reset();  // the client goes away
  ASSERT_TRUE(no_streams_open());

  // It saw PAUSED: back with that id, it gets the snapshot and, when the
  // job resumes, the change from PAUSED; no PAUSED again.
  auto second = open_stream(id, {{"Authorization", std::string("Bearer ") + kKeyA}, {"Last-Event-ID", paused.id}});
  auto snapshot = second->next();
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->event, "progress");
  EXPECT_EQ(str(snapshot->json(), "status"), "PAUSED");
  EXPECT_GT(std::stoll(snapshot->id), std::stoll(paused.id));

  // One that last saw PROCESSING (an older id) is told of the pause, once.
  auto behind = open_stream(id, {{"Authorization", std::string("Bearer ") + kKeyA}}, "?last_event_id=" + processing.id);
  auto behind_first = behind->next();
  auto behind_second = behind->next();
  ASSERT_TRUE(behind_first && behind_second);
  EXPECT_EQ(behind_first->event, "progress");
  EXPECT_EQ(behind_second->event, "status");
  EXPECT_EQ(str(behind_second->json(), "previous") + "->" + str(behind_second->json(), "status"), "PROCESSING->PAUSED");
  behind.reset();

  ASSERT_EQ(job_action(api(), id, "resume").status, 200);
  std::optional<SseEvent> status;
  while (auto e = second->next()) {
    if (e->event == "status") {
      status = e;
      break;
    }
  }
  ASSERT_TRUE(status) << "no status event after the resume";
  EXPECT_EQ(str(status->json(), "previous") + "->" + str(status->json(), "status"), "PAUSED->PROCESSING")
      << "the first status event after resuming is the resume, not the pause again";

  // Cancelled: the rest of the stream, then an end; a reconnect after the
  // end is answered 204, which stops an EventSource for good.
  ASSERT_EQ(job_action(api(), id, "cancel").status, 200);
  auto rest = second->until_end();
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().event, "end");
  EXPECT_EQ(str(rest.back().json(), "status"), "CANCELLED");
  auto statuses = statuses_of(rest);
  ASSERT_FALSE(statuses.empty());
  EXPECT_TRUE(statuses.back().ends_with("->CANCELLED")) << statuses.back();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), "PROCESSING->PAUSED"), 0);
  auto after_end = watch(id, {{"Authorization", std::string("Bearer ") + kKeyA}, {"Last-Event-ID", rest.back().id}});
  EXPECT_EQ(after_end->read_head(), 204);
}

TEST_F(EventStreamTest, ATicketOpensTheStreamWithoutTheKeyAndOnlyThatJobsForFiveMinutes) {
  auto id = webhook_job(5, 100);
  auto other = webhook_job(5, 100);
  auto issued = require(api().post_json("/v1/jobs/" + id + "/events/ticket", json::object{}), 201, "ticket");
  const std::string ticket = str(issued, "ticket");
  auto expires = parse_rfc3339(str(issued, "expires_at"));
  ASSERT_TRUE(expires);
  EXPECT_NEAR(static_cast<double>(*expires - unix_ms_now()), 5 * 60 * 1000, 60 * 1000);

  // No Authorization header: the ticket alone, as an EventSource sends it.
  auto stream = open_stream(id, {{"X-Request-Id", "with-a-ticket"}}, "?ticket=" + ticket);
  run_job(api(), id);
  auto events = stream->until_end();
  EXPECT_EQ(events.back().event, "end");
  EXPECT_TRUE(stream->server_closed());
  // Several times within its five minutes (EventSource reconnects).
  auto again = open_stream(id, {{"X-Request-Id", "with-a-ticket-again"}}, "?ticket=" + ticket);
  EXPECT_EQ(again->next().value().event, "progress");
  again.reset();

  auto refused = [&](const std::string& job, const std::string& query, std::string_view code) {
    HttpClient anonymous(port());
    auto r = anonymous.get("/v1/jobs/" + job + "/events" + query);
    expect_error(r, 401, code);
  };
  refused(other, "?ticket=" + ticket, "invalid_ticket");  // another job
  refused(id, "", "missing_api_key");                      // nothing
  // Made with the server's own key (its data directory's ticket_key) but
  // expired a second ago; the same with another key.
  std::string key;
  std::getline(std::ifstream(data_dir() / "ticket_key"), key);
  ASSERT_EQ(key.size(), 64u);
  refused(id, "?ticket=" + make_ticket(key, kTenantA, id, unix_ms_now() - 1000), "ticket_expired");
  auto minted = open_stream(id, {{"X-Request-Id", "minted"}}, "?ticket=" + make_ticket(key, kTenantA, id, unix_ms_now() + 60'000));
  EXPECT_EQ(minted->next().value().event, "progress")
      << "a ticket made as docs/api.md says is accepted: the format is the documented one";
  minted.reset();
  refused(id, "?ticket=" + make_ticket(std::string(64, 'f'), kTenantA, id, unix_ms_now() + 60'000), "invalid_ticket");
  // Tenant B's claim to tenant A's job: B has no such job.
  HttpClient anonymous(port());
  expect_error(anonymous.get("/v1/jobs/" + id + "/events?ticket=" + make_ticket(key, kTenantB, id, unix_ms_now() + 60'000)),
               404, "job_not_found");
  // Another tenant's key: its own job only; this one is not found for it.
  auto theirs = api_b().get("/v1/jobs/" + id + "/events");
  expect_error(theirs, 404, "job_not_found");
  auto unknown = api().get("/v1/jobs/job_00000000000000000000000000/events");
  expect_error(unknown, 404, "job_not_found");
  expect_error(api().post_json("/v1/jobs/job_00000000000000000000000000/events/ticket", json::object{}), 404,
               "job_not_found");

  // The ticket is in no log line: requests are logged by path and route
  // pattern, never with their query string.
  ASSERT_TRUE(no_streams_open());  // each stream's line is written when it ends
  std::ifstream log(server().output_path());
  std::string all((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(all.find("with-a-ticket"), std::string::npos) << "the streams' request lines are in the log";
  EXPECT_EQ(all.find(ticket), std::string::npos) << "the ticket is in the log";
  EXPECT_EQ(all.find(ticket.substr(ticket.find('.') + 1)), std::string::npos) << "its MAC is in the log";
  EXPECT_EQ(all.find("ticket="), std::string::npos);
}

TEST_F(EventStreamTest, AWatcherThatNeverReadsHoldsUpNeitherTheJobNorTheOtherWatchers) {
  constexpr int kUsers = 36;
  // 6 s, about 310 KB per event: loopback's socket buffers (about 1.7 MB
  // here with a 1 KiB receive buffer) fill with the first few.
  auto id = webhook_job(kUsers, 6, 250'000, 60'000);
  auto stuck = watch(id, {}, {}, 1024);  // sends its request, then never reads
  ASSERT_TRUE(poll_until(kStateTimeout, [&] { return metric("crier_sse_connections") == 1; }, 50ms));
  auto reader = open_stream(id);
  run_job(api(), id);
  auto events = reader->until_end();
  expect_whole_run(events, kUsers);
  EXPECT_GE(named(events, "progress").size(), 3u);
  EXPECT_EQ(str(get_job(api(), id), "status"), "COMPLETED");
  EXPECT_EQ(sink_->stats().unique, static_cast<std::uint64_t>(kUsers));
  // The stuck one's snapshots were replaced while its connection could not
  // take them (bounded: one waits at most), and the connection is dropped
  // once a write has waited --stream-write-timeout (2 s).
  EXPECT_GT(metric("crier_sse_progress_dropped_total"), 0);
  EXPECT_TRUE(no_streams_open());
}

}  // namespace
}  // namespace crier::e2e
