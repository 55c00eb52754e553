// The event stream without a socket: tickets (api/event_ticket.h), the
// routes' answers, and the watchers and their shared ticker
// (api/job_watch.h) over the real store, service and dispatcher. The ticker
// here ticks once an hour, so what a watcher gets comes from the first read
// and from the lifecycle events alone: deterministic. tests/e2e/
// event_stream_test.cpp runs the real server with its 500 ms ticks.
#include <gtest/gtest.h>

#include "api/event_ticket.h"
#include "api/job_watch.h"
#include "api/metrics.h"
#include "api/response_stream.h"
#include "api/routes/routes.h"
#include "tests/api/api_fixture.h"
#include "tests/support/http_client.h"

namespace crier::testing {
namespace {

struct Event {
  std::string id, name, data;
};

// The events in what a stream gave (comments left out).
std::vector<Event> parse_events(std::string_view text) {
  std::vector<Event> out;
  while (!text.empty()) {
    auto end = text.find("\n\n");
    std::string_view block = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 2);
    Event e;
    while (!block.empty()) {
      auto nl = block.find('\n');
      std::string_view line = block.substr(0, nl);
      block.remove_prefix(nl == std::string_view::npos ? block.size() : nl + 1);
      auto colon = line.find(": ");
      if (line.empty() || line.front() == ':' || colon == std::string_view::npos) continue;
      auto field = line.substr(0, colon), value = line.substr(colon + 2);
      if (field == "id") e.id = value;
      if (field == "event") e.name = value;
      if (field == "data") e.data = value;
    }
    if (!e.name.empty()) out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> names(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.name);
  return out;
}

json::object data_of(const Event& e) { return json::parse(e.data).as_object(); }

class EventStreamTest : public ApiTest {
 protected:
  EventStreamTest() {
    api::WatchOptions o;
    o.tick = std::chrono::hours(1);  // only the first read: the rest comes from lifecycle events
    o.max_watchers = 3;
    o.max_status_backlog = 3;
    hub_ = std::make_unique<api::JobWatchHub>(api::job_snapshot_reader(*ctx_), o, &metrics_, now_unix_ms);
    service_->set_events(hub_.get());
    ctx_->watches = hub_.get();
    ctx_->metrics = &metrics_;
    ctx_->event_tickets = &tickets_;
  }
  ~EventStreamTest() override {
    // Dispatch tells the hub of the jobs it finishes: stopped first.
    service_->set_listener(nullptr);
    dispatcher_->stop();
    service_->set_events(nullptr);
    hub_->stop();
  }

  // A job with users that sends one message a second: it stays PROCESSING
  // through the test's actions.
  std::string slow_job() {
    auto id = create_job(email_job_body(R"("provider":"null","rate_limit":1)"));
    EXPECT_EQ(ingest(id, users_body(0, 200)).status, 200);
    return id;
  }

  std::shared_ptr<api::ResponseStream> open(const std::string& job_id, std::string last_event_id = {}) {
    auto req = request("GET", "/v1/jobs/" + job_id + "/events");
    if (!last_event_id.empty()) req.headers.emplace("last-event-id", last_event_id);
    auto r = send(std::move(req));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "text/event-stream");
    EXPECT_TRUE(r.stream);
    if (r.stream) r.stream->start([] {});
    return r.stream;
  }

  void act(const std::string& job_id, std::string_view action) {
    auto r = send("POST", "/v1/jobs/" + job_id + "/" + std::string(action));
    ASSERT_LT(r.status, 300) << action << ": " << r.body;
  }

  api::Metrics metrics_;
  std::int64_t ticket_now_ = now_unix_ms();
  api::EventTickets tickets_{"0123456789abcdef0123456789abcdef", [this] { return ticket_now_; }};
  std::unique_ptr<api::JobWatchHub> hub_;
};

// ---- tickets ------------------------------------------------------------------------

TEST_F(EventStreamTest, ATicketOpensItsJobsStreamForFiveMinutesAndNothingElse) {
  auto job = create_job();
  auto other = create_job();
  auto r = send("POST", "/v1/jobs/" + job + "/events/ticket");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string ticket = text(body_of(r).at("ticket"));
  EXPECT_EQ(parse_rfc3339(text(body_of(r).at("expires_at"))).value_or(0), ticket_now_ + 5 * 60 * 1000);

  auto with_ticket = [&](std::string method, const std::string& target) {
    return send(request(std::move(method), target + "?ticket=" + ticket, {}, ""));
  };
  auto ok = with_ticket("GET", "/v1/jobs/" + job + "/events");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(ok.stream);
  ok = {};  // the stream is closed
  // Another job's stream, the job itself, an action: the key is needed.
  for (auto [method, target] : {std::pair<std::string, std::string>{"GET", "/v1/jobs/" + other + "/events"},
                                {"GET", "/v1/jobs/" + job},
                                {"POST", "/v1/jobs/" + job + "/cancel"},
                                {"POST", "/v1/jobs/" + job + "/events/ticket"}}) {
    auto denied = with_ticket(method, target);
    EXPECT_EQ(denied.status, 401) << method << " " << target;
    EXPECT_EQ(error_code(denied), "invalid_ticket") << method << " " << target;
  }
  EXPECT_EQ(job_status(job), "CREATED") << "the cancel with a ticket did nothing";

  ticket_now_ += 5 * 60 * 1000 - 1;
  EXPECT_EQ(with_ticket("GET", "/v1/jobs/" + job + "/events").status, 200) << "still valid a millisecond before";
  ticket_now_ += 1;
  auto expired = with_ticket("GET", "/v1/jobs/" + job + "/events");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(error_code(expired), "ticket_expired");
}

TEST_F(EventStreamTest, AForgedOrAlteredTicketIsRefused) {
  auto job = create_job();
  auto issued = tickets_.issue("acme", job);
  ASSERT_TRUE(tickets_.verify(issued.ticket, job));
  // Another server's key, the tenant changed in the claims, bits flipped,
  // not a ticket at all.
  api::EventTickets other_key("fedcba9876543210fedcba9876543210", [this] { return ticket_now_; });
  std::string altered = issued.ticket;
  altered[2] = altered[2] == 'A' ? 'B' : 'A';
  std::string flipped_mac = issued.ticket;
  auto& mac_char = flipped_mac[flipped_mac.find('.') + 1];
  mac_char = mac_char == 'A' ? 'B' : 'A';
  for (const std::string& forged : {other_key.issue("acme", job).ticket, altered, flipped_mac, std::string("x"),
                                    std::string("."), issued.ticket + "A"}) {
    auto r = tickets_.verify(forged, job);
    ASSERT_FALSE(r) << forged;
    EXPECT_EQ(r.error().code, "invalid_ticket") << forged;
    auto answer = send(request("GET", "/v1/jobs/" + job + "/events?ticket=" + forged, {}, ""));
    EXPECT_EQ(answer.status, 401) << forged;
    EXPECT_FALSE(answer.stream);
  }
  // The ticket of another tenant's job does not open it for acme either:
  // the tenant is in the signed claims.
  auto theirs = create_job(email_job_body(), kKeyOther);
  auto ticket = tickets_.issue("other", theirs).ticket;
  EXPECT_EQ(tickets_.verify(ticket, theirs).value(), "other");
}

TEST_F(EventStreamTest, WithoutAKeyOrTicketItIs401AndAnUnknownJobIs404) {
  auto job = create_job();
  auto none = send(request("GET", "/v1/jobs/" + job + "/events", {}, ""));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(error_code(none), "missing_api_key");
  auto unknown = send("GET", "/v1/jobs/job_00000000000000000000000000/events");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(error_code(unknown), "job_not_found");
  EXPECT_EQ(send("POST", "/v1/jobs/job_00000000000000000000000000/events/ticket").status, 404);
  auto theirs = send("GET", "/v1/jobs/" + job + "/events", {}, kKeyOther);
  EXPECT_EQ(theirs.status, 404) << "another tenant's job is unknown";
  EXPECT_EQ(send("POST", "/v1/jobs/" + job + "/events").status, 405);
  EXPECT_EQ(hub_->watchers(), 0u);
}

// ---- watchers -----------------------------------------------------------------------

TEST_F(EventStreamTest, AStreamOpensWithTheSnapshotThenTellsEachStatusChangeInOrder) {
  auto job = slow_job();
  auto stream = open(job);
  auto first = parse_events(stream->take().bytes);
  ASSERT_EQ(names(first), std::vector<std::string>{"progress"});
  EXPECT_EQ(text(data_of(first[0]).at("status")), "CREATED");
  EXPECT_EQ(text(data_of(first[0]).at("job_id")), job);
  EXPECT_EQ(data_of(first[0]), get_job(job)) << "the data is GET /v1/jobs/{id}'s";

  act(job, "run");
  act(job, "pause");
  act(job, "resume");
  auto piece = stream->take();
  EXPECT_FALSE(piece.last);
  auto later = parse_events(piece.bytes);
  ASSERT_EQ(names(later), (std::vector<std::string>{"status", "status", "status"})) << piece.bytes;
  std::vector<std::pair<std::string, std::string>> changes;
  for (const auto& e : later)
    changes.emplace_back(text(data_of(e).at("previous")), text(data_of(e).at("status")));
  EXPECT_EQ(changes, (std::vector<std::pair<std::string, std::string>>{
                         {"CREATED", "PROCESSING"}, {"PROCESSING", "PAUSED"}, {"PAUSED", "PROCESSING"}}));
  std::int64_t last = std::stoll(first[0].id);
  for (const auto& e : later) {
    EXPECT_GT(std::stoll(e.id), last) << "ids increase";
    last = std::stoll(e.id);
    EXPECT_GT(parse_rfc3339(text(data_of(e).at("at"))).value_or(0), 0);
  }
  EXPECT_EQ(stream->take().bytes, "") << "nothing new";
  act(job, "cancel");
}

TEST_F(EventStreamTest, AReconnectIsNotToldAStatusItSawButIsToldOneItMissed) {
  auto job = slow_job();
  auto stream = open(job);
  act(job, "run");
  act(job, "pause");
  auto seen = parse_events(stream->take().bytes);
  ASSERT_EQ(names(seen), (std::vector<std::string>{"progress", "status", "status"}));
  stream.reset();  // the client goes away
  EXPECT_EQ(hub_->watchers(), 0u);

  // It saw PAUSED: a reconnect gets the snapshot and no status event.
  auto again = open(job, seen.back().id);
  auto resumed = parse_events(again->take().bytes);
  ASSERT_EQ(names(resumed), std::vector<std::string>{"progress"});
  EXPECT_EQ(text(data_of(resumed[0]).at("status")), "PAUSED");
  EXPECT_GT(std::stoll(resumed[0].id), std::stoll(seen.back().id));
  again.reset();

  // It saw only PROCESSING, and the job moved on since: told once, as a
  // change from what it knew.
  act(job, "resume");
  act(job, "pause");
  auto behind = open(job, seen[1].id);
  auto caught_up = parse_events(behind->take().bytes);
  ASSERT_EQ(names(caught_up), (std::vector<std::string>{"progress", "status"}));
  EXPECT_EQ(text(data_of(caught_up[1]).at("previous")), "PROCESSING");
  EXPECT_EQ(text(data_of(caught_up[1]).at("status")), "PAUSED");
  behind.reset();

  // ?last_event_id= does the same for a page that opens a new stream.
  auto req = request("GET", "/v1/jobs/" + job + "/events?last_event_id=" + caught_up[1].id);
  auto by_query = send(std::move(req));
  ASSERT_TRUE(by_query.stream);
  by_query.stream->start([] {});
  EXPECT_EQ(names(parse_events(by_query.stream->take().bytes)), std::vector<std::string>{"progress"});
  by_query = {};
  act(job, "cancel");
}

TEST_F(EventStreamTest, WatchersOfOneJobShareOneReadAndEachGetsEveryChange) {
  auto job = slow_job();
  const auto ticks_before = metrics_.sse.ticks.value();
  auto a = open(job), b = open(job), c = open(job);
  EXPECT_EQ(metrics_.sse.ticks.value() - ticks_before, 1u) << "one read for three watchers";
  EXPECT_EQ(metrics_.sse.connections.value(), 3);
  auto fourth = send("GET", "/v1/jobs/" + job + "/events");
  EXPECT_EQ(fourth.status, 503) << "max_watchers is 3";
  EXPECT_EQ(error_code(fourth), "too_many_event_streams");
  act(job, "run");
  std::vector<std::vector<Event>> got;
  for (auto* s : {&a, &b, &c}) got.push_back(parse_events((*s)->take().bytes));
  ASSERT_EQ(names(got[0]), (std::vector<std::string>{"progress", "status"}));
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[1].id, got[0][1].id) << "the same event";
    EXPECT_EQ(g[1].data, got[0][1].data);
  }
  b.reset();
  c.reset();
  EXPECT_EQ(metrics_.sse.connections.value(), 1);
  auto d = open(job);
  EXPECT_EQ(metrics_.sse.ticks.value() - ticks_before, 1u) << "the ticker was still there: no new read";
  a.reset();
  d.reset();
  auto e = open(job);
  EXPECT_EQ(metrics_.sse.ticks.value() - ticks_before, 2u) << "the last watcher left: a new ticker reads again";
  e.reset();
  act(job, "cancel");
}

TEST_F(EventStreamTest, AWatcherThatDoesNotTakeKeepsABoundedBacklog) {
  auto job = slow_job();
  auto slow = open(job);
  auto quick = open(job);
  quick->take();
  // The quick one takes as it goes: every change.
  std::vector<Event> all;
  auto act_and_take = [&](std::string_view action) {
    act(job, action);
    for (auto& e : parse_events(quick->take().bytes)) all.push_back(std::move(e));
  };
  act_and_take("run");
  for (int i = 0; i < 4; ++i) {
    act_and_take("pause");
    act_and_take("resume");
  }
  act_and_take("pause");
  EXPECT_EQ(all.size(), 10u);
  // The slow one kept max_status_backlog (3) entries: the first two, and
  // the rest merged into one that still leads from what it was told last
  // to what is true now.
  auto kept = parse_events(slow->take().bytes);
  ASSERT_GE(kept.size(), 2u);
  EXPECT_LE(kept.size(), 4u) << "the snapshot and at most 3 status events";
  EXPECT_EQ(kept[0].name, "progress");
  std::string told = "CREATED";
  for (std::size_t i = 1; i < kept.size(); ++i) {
    EXPECT_EQ(kept[i].name, "status");
    EXPECT_EQ(text(data_of(kept[i]).at("previous")), told) << "a chain without gaps";
    told = text(data_of(kept[i]).at("status"));
  }
  EXPECT_EQ(told, "PAUSED");
  act(job, "cancel");
}

TEST_F(EventStreamTest, AFinishedJobsStreamSendsTheSnapshotAndTheEndThenIsOver) {
  auto job = create_job();
  act(job, "cancel");
  auto stream = open(job);
  auto piece = stream->take();
  EXPECT_TRUE(piece.last);
  auto events = parse_events(piece.bytes);
  ASSERT_EQ(names(events), (std::vector<std::string>{"progress", "end"}));
  EXPECT_EQ(text(data_of(events[1]).at("status")), "CANCELLED");
  stream.reset();
  // EventSource reconnects after any close; once told the end, 204 stops it.
  auto req = request("GET", "/v1/jobs/" + job + "/events");
  req.headers.emplace("last-event-id", events[1].id);
  auto r = send(std::move(req));
  EXPECT_EQ(r.status, 204);
  EXPECT_FALSE(r.stream);
}

TEST_F(EventStreamTest, ALateLifecycleEventDoesNotUndoANewerChange) {
  auto job = slow_job();
  auto stream = open(job);
  stream->take();
  act(job, "run");
  auto running = service_->get("acme", job);
  ASSERT_TRUE(running);
  // The pause is stored at a later millisecond than the run.
  while (now_unix_ms() <= running->updated_at) std::this_thread::yield();
  act(job, "pause");
  // The run's event told again, after the pause's: as from a thread that
  // was descheduled between its write and its call to the observers.
  hub_->on_job_event(*running, JobEvent::started, JobStatus::created);
  std::vector<std::string> changes;
  for (const auto& e : parse_events(stream->take().bytes))
    changes.push_back(text(data_of(e).at("previous")) + "->" + text(data_of(e).at("status")));
  EXPECT_EQ(changes, (std::vector<std::string>{"CREATED->PROCESSING", "PROCESSING->PAUSED"}));
  act(job, "cancel");
}

TEST_F(EventStreamTest, AStreamWithNothingToSaySendsKeepAliveComments) {
  api::WatchOptions o;
  o.tick = std::chrono::hours(1);
  o.keep_alive = std::chrono::milliseconds(20);
  api::JobWatchHub quiet(api::job_snapshot_reader(*ctx_), o, &metrics_, now_unix_ms);
  auto job = service_->get("acme", create_job());
  ASSERT_TRUE(job);
  auto stream = quiet.watch(*job, std::nullopt);
  ASSERT_TRUE(stream);
  (*stream)->start([] {});
  EXPECT_EQ(names(parse_events((*stream)->take().bytes)), std::vector<std::string>{"progress"});
  EXPECT_EQ((*stream)->max_idle(), o.keep_alive) << "the server comes back for it in time";
  std::string got;
  ASSERT_TRUE(poll_until(std::chrono::seconds(5), [&] {
    got = (*stream)->take().bytes;
    return !got.empty();
  }));
  EXPECT_EQ(got, ": keep-alive\n\n");
  EXPECT_EQ(metrics_.sse.events_sent[static_cast<std::size_t>(api::SseEvent::keep_alive)].value(), 1u);
}

TEST(EventIds, CarryTheStatusTheClientKnows) {
  for (std::size_t s = 0; s < kJobStatusCount; ++s) {
    auto status = static_cast<JobStatus>(s);
    auto id = api::parse_event_id(std::to_string(api::event_id(1'733'000'000'000, status)));
    ASSERT_TRUE(id);
    EXPECT_EQ(api::status_of_event_id(*id), status);
  }
  EXPECT_EQ(api::parse_event_id("17330000000009"), std::nullopt) << "9 is no status";
  EXPECT_EQ(api::parse_event_id("abc"), std::nullopt);
  EXPECT_EQ(api::parse_event_id("12x"), std::nullopt);
  EXPECT_EQ(api::parse_event_id("-12"), std::nullopt);
  EXPECT_EQ(api::parse_event_id(""), std::nullopt);
}

}  // namespace
}  // namespace crier::testing
