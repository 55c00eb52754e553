// What the server refuses, over a real socket: missing and wrong keys,
// another tenant's jobs, replayed and reused idempotency keys, illegal state
// transitions, and bodies that are malformed, mistyped, oversize, of an
// unsupported type or not UTF-8. Each refusal has the documented error shape,
// the server keeps serving, and what it stored before is unchanged.
#include <fmt/format.h>

#include <fstream>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

using AuthTest = CrierTest;
using IdempotencyTest = CrierTest;
using TransitionTest = CrierTest;
using BadInputTest = CrierTest;

// A job of tenant A with a few users, run to COMPLETED, so every counter
// and listing has something in it to compare before/after.
std::string completed_reference_job(HttpClient& api) {
  auto id = create_job(api, email_job_spec());
  ingest_json(api, id, email_users(0, 5));
  run_job(api, id);
  auto done = wait_for_status(api, id, {"COMPLETED", "PARTIAL", "FAILED"});
  if (str(done, "status") != "COMPLETED")
    throw std::runtime_error("reference job: " + json::serialize(done));
  return id;
}

// ---- auth and tenants ----------------------------------------------------------------

TEST_F(AuthTest, MissingOrWrongKeyIs401Everywhere) {
  const std::string id = create_job(api(), email_job_spec());
  ingest_json(api(), id, email_users(0, 3));
  const auto before = counters_snapshot(get_job(api(), id));

  HttpClient anonymous(port());
  HttpClient wrong(port(), "not-a-key-of-anybody");
  struct Call {
    std::string method, target, body, content_type;
  };
  const std::vector<Call> calls = {
      {"GET", "/v1/jobs", "", ""},
      {"POST", "/v1/jobs", json::serialize(email_job_spec()), "application/json"},
      {"GET", "/v1/jobs/" + id, "", ""},
      {"GET", "/v1/jobs/" + id + "/users", "", ""},
      {"POST", "/v1/jobs/" + id + "/users",
       json::serialize(json::object{{"users", email_users(10, 2)}}), "application/json"},
      {"POST", "/v1/jobs/" + id + "/users", email_users_ndjson(10, 2), "application/x-ndjson"},
      {"POST", "/v1/jobs/" + id + "/users", email_users_csv(10, 2), "text/csv"},
      {"POST", "/v1/jobs/" + id + "/run", "", ""},
      {"POST", "/v1/jobs/" + id + "/cancel", "", ""},
      {"GET", "/v1/templates", "", ""},
  };
  for (const auto& c : calls) {
    HeaderList h;
    if (!c.content_type.empty()) h.emplace_back("Content-Type", c.content_type);
    SCOPED_TRACE(c.method + " " + c.target + " " + c.content_type);
    auto none = anonymous.request(c.method, c.target, c.body, h);
    expect_error(none, 401, "missing_api_key");
    EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer");
    expect_error(wrong.request(c.method, c.target, c.body, h), 401, "invalid_api_key");
    HeaderList basic = h;
    basic.emplace_back("Authorization", std::string("Basic ") + kKeyA);
    expect_error(anonymous.request(c.method, c.target, c.body, basic), 401, "invalid_api_key");
  }
  // Health needs no key.
  EXPECT_EQ(anonymous.get("/healthz").status, 200);
  EXPECT_EQ(anonymous.get("/readyz").status, 200);

  auto after = get_job(api(), id);
  EXPECT_EQ(counters_snapshot(after), before);
  EXPECT_EQ(require(api().get("/v1/jobs"), 200, "list").at("jobs").as_array().size(), 1u);
}

TEST_F(AuthTest, AnotherTenantSeesNothingOfAJob) {
  const std::string id = create_job(api(), email_job_spec());
  ingest_json(api(), id, email_users(0, 4));
  const auto before = counters_snapshot(get_job(api(), id));
  const std::string b_id = create_job(api_b(), sms_job_spec());

  expect_error(api_b().get("/v1/jobs/" + id), 404, "job_not_found");
  expect_error(api_b().get("/v1/jobs/" + id + "/users"), 404, "job_not_found");
  expect_error(
      api_b().post_json("/v1/jobs/" + id + "/users", json::object{{"users", email_users(5, 1)}}),
      404, "job_not_found");
  expect_error(
      api_b().post("/v1/jobs/" + id + "/users", email_users_ndjson(5, 1), "application/x-ndjson"),
      404, "job_not_found");
  expect_error(api_b().post("/v1/jobs/" + id + "/users", email_users_csv(5, 1), "text/csv"), 404,
               "job_not_found");
  for (const char* action : {"run", "pause", "resume", "cancel"})
    expect_error(job_action(api_b(), id, action), 404, "job_not_found");
  // ... and the same for A looking at B's job.
  expect_error(api().get("/v1/jobs/" + b_id), 404, "job_not_found");

  auto b_jobs = require(api_b().get("/v1/jobs"), 200, "B's jobs").at("jobs").as_array();
  ASSERT_EQ(b_jobs.size(), 1u);
  EXPECT_EQ(str(b_jobs[0].as_object(), "job_id"), b_id);
  auto a_jobs = require(api().get("/v1/jobs"), 200, "A's jobs").at("jobs").as_array();
  ASSERT_EQ(a_jobs.size(), 1u);
  EXPECT_EQ(str(a_jobs[0].as_object(), "job_id"), id);

  auto after = get_job(api(), id);
  EXPECT_EQ(counters_snapshot(after), before);
  EXPECT_EQ(str(after, "status"), "CREATED");
}

// ---- idempotency ----------------------------------------------------------------------

TEST_F(IdempotencyTest, SameKeyAndBodyReplaysDifferentBodyIs409) {
  const HeaderList key1 = {{"Idempotency-Key", "create-0001"}};
  auto first = api().post_json("/v1/jobs", email_job_spec(), key1);
  ASSERT_EQ(first.status, 201) << first.describe();
  auto second = api().post_json("/v1/jobs", email_job_spec(), key1);
  ASSERT_EQ(second.status, 201) << second.describe();
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.header("Idempotent-Replayed"), "true");
  const std::string id = str(first.object(), "job_id");

  auto other = email_job_spec();
  other["locale"] = "fr";
  expect_error(api().post_json("/v1/jobs", other, key1), 409, "idempotency_key_reused");
  EXPECT_EQ(require(api().get("/v1/jobs"), 200, "list").at("jobs").as_array().size(), 1u);

  // Tenant B may use the same key for its own request.
  auto b = api_b().post_json("/v1/jobs", email_job_spec(), key1);
  ASSERT_EQ(b.status, 201) << b.describe();
  EXPECT_NE(str(b.object(), "job_id"), id);

  // Ingest in each content type, each replayed: nothing is ingested twice.
  const HeaderList kj = {{"Idempotency-Key", "users-json"}},
                   kn = {{"Idempotency-Key", "users-ndjson"}},
                   kc = {{"Idempotency-Key", "users-csv"}};
  const json::object json_body{{"users", email_users(0, 3)}};
  const std::string ndjson = email_users_ndjson(3, 3), csv = email_users_csv(6, 3);
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "first" : "replay");
    auto j = api().post_json("/v1/jobs/" + id + "/users", json_body, kj);
    auto n = api().post("/v1/jobs/" + id + "/users", ndjson, "application/x-ndjson", kn);
    auto c = api().post("/v1/jobs/" + id + "/users", csv, "text/csv", kc);
    for (const auto* r : {&j, &n, &c}) {
      ASSERT_EQ(r->status, 200) << r->describe();
      EXPECT_EQ(num(r->object(), "accepted"), 3) << r->describe();
      EXPECT_EQ(r->header("Idempotent-Replayed"), round == 0 ? "" : "true");
    }
    EXPECT_EQ(num(get_job(api(), id), "received"), 9);
  }
  // A different body under a used key: refused, nothing ingested.
  expect_error(api().post("/v1/jobs/" + id + "/users", email_users_ndjson(20, 3),
                          "application/x-ndjson", kn),
               409, "idempotency_key_reused");
  expect_error(api().post("/v1/jobs/" + id + "/users", email_users_csv(20, 3), "text/csv", kc), 409,
               "idempotency_key_reused");
  expect_error(
      api().post_json("/v1/jobs/" + id + "/users", json::object{{"users", email_users(20, 3)}}, kj),
      409, "idempotency_key_reused");
  auto job = get_job(api(), id);
  EXPECT_EQ(num(job, "received"), 9);
  EXPECT_EQ(num(job, "unique"), 9);
  EXPECT_EQ(list_all_users(api(), id).size(), 9u);

  // run with a key: the replay answers 202 again instead of a 409, and the job runs once.
  const HeaderList kr = {{"Idempotency-Key", "run-1"}};
  auto run1 = api().request("POST", "/v1/jobs/" + id + "/run", "", kr);
  ASSERT_EQ(run1.status, 202) << run1.describe();
  auto run2 = api().request("POST", "/v1/jobs/" + id + "/run", "", kr);
  EXPECT_EQ(run2.status, 202) << run2.describe();
  EXPECT_EQ(run2.body, run1.body);
  ASSERT_EQ(str(wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"}), "status"),
            "COMPLETED");
  EXPECT_EQ(read_delivery_log(delivery_log()).size(), 9u);
}

// ---- the state machine ------------------------------------------------------------------

// POSTs each action; each must be a 409 that names `status`, and leave it so.
void expect_illegal(HttpClient& api, const std::string& id,
                    std::initializer_list<const char*> actions, const std::string& status) {
  for (const char* action : actions) {
    SCOPED_TRACE(fmt::format("{} on a {} job", action, status));
    auto e = expect_error(job_action(api, id, action), 409, "invalid_state_transition");
    EXPECT_EQ(str(e, "status"), status);
    EXPECT_EQ(str(e, "type"), "conflict");
    EXPECT_NE(str(e, "message").find(status), std::string::npos) << str(e, "message");
  }
  EXPECT_EQ(str(get_job(api, id), "status"), status);
}

// Ingest in every content type is refused with the job's state, and the
// ingest counters do not move.
void expect_ingest_refused(HttpClient& api, const std::string& id, const std::string& status) {
  auto ingest_counters = [&] {
    auto j = get_job(api, id);
    return fmt::format("received={} unique={} duplicates={} rejected={}", num(j, "received"),
                       num(j, "unique"), num(j, "duplicates"), num(j, "rejected"));
  };
  const auto before = ingest_counters();
  auto target = "/v1/jobs/" + id + "/users";
  for (const auto& r : {api.post_json(target, json::object{{"users", email_users(900, 2)}}),
                        api.post(target, email_users_ndjson(900, 2), "application/x-ndjson"),
                        api.post(target, email_users_csv(900, 2), "text/csv")}) {
    SCOPED_TRACE("ingest into a " + status + " job");
    auto e = expect_error(r, 409, "invalid_state_transition");
    EXPECT_EQ(str(e, "status"), status);
  }
  EXPECT_EQ(ingest_counters(), before);
}

TEST_F(TransitionTest, EveryIllegalTransitionIs409WithTheCurrentState) {
  // CREATED
  const std::string created = create_job(api(), email_job_spec());
  ingest_json(api(), created, email_users(0, 3));
  expect_illegal(api(), created, {"pause", "resume"}, "CREATED");

  // SCHEDULED (far in the future)
  auto spec = email_job_spec();
  spec["schedule_at"] = "2099-01-01T00:00:00Z";
  const std::string scheduled = create_job(api(), spec);
  ingest_json(api(), scheduled, email_users(0, 3));
  EXPECT_EQ(str(run_job(api(), scheduled), "status"), "SCHEDULED");
  expect_illegal(api(), scheduled, {"run", "pause", "resume"}, "SCHEDULED");
  expect_ingest_refused(api(), scheduled, "SCHEDULED");

  // PROCESSING, PAUSED, back to PROCESSING: one message a second keeps it running.
  spec = email_job_spec();
  spec["rate_limit"] = 1;
  const std::string running = create_job(api(), spec);
  ingest_json(api(), running, email_users(0, 120));
  EXPECT_EQ(str(run_job(api(), running), "status"), "PROCESSING");
  expect_illegal(api(), running, {"run", "resume"}, "PROCESSING");
  expect_ingest_refused(api(), running, "PROCESSING");
  auto paused = require(job_action(api(), running, "pause"), 200, "pause");
  EXPECT_EQ(str(paused, "status"), "PAUSED");
  expect_illegal(api(), running, {"run", "pause"}, "PAUSED");
  expect_ingest_refused(api(), running, "PAUSED");
  EXPECT_EQ(str(require(job_action(api(), running, "resume"), 200, "resume"), "status"),
            "PROCESSING");

  // CANCELLED, from PROCESSING, from SCHEDULED and from CREATED: each has
  // users waiting, so CANCELLING until they are swept.
  for (const auto& id : {running, scheduled, created}) {
    auto cancelling = require(job_action(api(), id, "cancel"), 200, "cancel");
    EXPECT_EQ(str(cancelling, "status"), "CANCELLING");
    wait_for_status(api(), id, {"CANCELLED"});
    expect_illegal(api(), id, {"run", "pause", "resume", "cancel"}, "CANCELLED");
    expect_ingest_refused(api(), id, "CANCELLED");
  }
  // A cancelled job's outstanding recipients end CANCELLED, never sent after.
  auto swept = wait_for_job(api(), running, [](const json::object& j) {
    return num(j, "pending") == 0 && num(j, "enqueued") == 0;
  });
  EXPECT_EQ(num(swept, "cancelled") + num(swept, "sent"), 120) << json::serialize(swept);
  EXPECT_GT(num(swept, "cancelled"), 0) << json::serialize(swept);

  // COMPLETED
  const std::string completed = completed_reference_job(api());
  expect_illegal(api(), completed, {"run", "pause", "resume", "cancel"}, "COMPLETED");
  expect_ingest_refused(api(), completed, "COMPLETED");
}

// ---- bad input ------------------------------------------------------------------------------

TEST_F(BadInputTest, EachIsTheDocumentedErrorAndNothingStoredChanges) {
  const std::string done = completed_reference_job(api());
  const std::string open = create_job(api(), email_job_spec());
  ingest_json(api(), open, email_users(0, 7));
  const auto done_before = counters_snapshot(get_job(api(), done));
  const auto open_before = counters_snapshot(get_job(api(), open));
  const auto open_users_before = list_all_users(api(), open);
  const auto jobs_before = require(api().get("/v1/jobs"), 200, "list").at("jobs").as_array().size();
  const std::string users = "/v1/jobs/" + open + "/users";
  const std::string bad_utf8 = "\xC3\x28\xFF";

  // Malformed JSON.
  expect_error(api().post("/v1/jobs", R"({"channel":"email",)", "application/json"), 400,
               "invalid_json");
  expect_error(api().post("/v1/jobs", "nope", "application/json"), 400, "invalid_json");
  expect_error(api().post(users, R"({"users":[{"email":"x1@example.com"},)", "application/json"),
               400, "invalid_json");
  expect_error(
      api().post(users, R"({"users":[{"email":"x2@example.com"}]} trailing)", "application/json"),
      400, "invalid_json");

  // Wrong types.
  auto e =
      expect_error(api().post_json("/v1/jobs", json::object{{"channel", 5}}), 400, "invalid_field");
  EXPECT_EQ(str(e, "field"), "channel");
  auto spec = email_job_spec();
  spec["rate_limit"] = "fast";
  e = expect_error(api().post_json("/v1/jobs", spec), 400, "invalid_rate_limit");
  EXPECT_EQ(str(e, "field"), "rate_limit");
  spec = email_job_spec();
  spec["data"] = json::array{1, 2};
  expect_error(api().post_json("/v1/jobs", spec), 400, "invalid_data");
  spec = email_job_spec();
  spec["schedule_at"] = "tomorrow";
  expect_error(api().post_json("/v1/jobs", spec), 400, "invalid_timestamp");
  expect_error(api().post_json("/v1/jobs", json::array{1}), 400, "invalid_body");
  expect_error(api().post_json(users, json::object{{"users", json::object{}}}), 400,
               "invalid_body");
  expect_error(api().post_json(users, json::object{{"people", json::array{}}}), 400,
               "missing_field");
  expect_error(api().post_json("/v1/jobs", json::object{{"channel", "email"},
                                                        {"template", "no-such-template"}}),
               422, "unknown_template");
  // A mistyped user is one rejection, not a failed batch.
  auto partly = ingest_json(
      api(), create_job(api(), email_job_spec()),
      json::array{json::object{{"email", 5}}, json::object{{"email", "fine@example.com"}}});
  EXPECT_EQ(num(partly, "accepted"), 1);
  ASSERT_EQ(partly.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(str(partly.at("rejected").as_array()[0].as_object(), "code"), "invalid_field");

  // Unknown jobs and routes, bad query parameters, wrong methods.
  const std::string ghost = "job_00000000000000000000000000";
  expect_error(api().get("/v1/jobs/" + ghost), 404, "job_not_found");
  expect_error(api().get("/v1/jobs/not-even-an-id"), 404, "job_not_found");
  expect_error(api().get("/v1/jobs/" + ghost + "/users"), 404, "job_not_found");
  expect_error(
      api().post_json("/v1/jobs/" + ghost + "/users", json::object{{"users", email_users(0, 1)}}),
      404, "job_not_found");
  expect_error(
      api().post("/v1/jobs/" + ghost + "/users", email_users_ndjson(0, 1), "application/x-ndjson"),
      404, "job_not_found");
  for (const char* action : {"run", "pause", "resume", "cancel"})
    expect_error(job_action(api(), ghost, action), 404, "job_not_found");
  expect_error(api().get("/v1/nothing-here"), 404, "route_not_found");
  expect_error(api().request("DELETE", "/v1/jobs/" + open), 405, "method_not_allowed");
  expect_error(api().get("/v1/jobs/" + open + "/users?limit=0"), 400, "invalid_limit");
  expect_error(api().get("/v1/jobs/" + open + "/users?limit=abc"), 400, "invalid_limit");
  expect_error(api().get("/v1/jobs/" + open + "/users?cursor=garbage"), 400, "invalid_cursor");
  expect_error(api().get("/v1/jobs/" + open + "/users?status=SHIPPED"), 400, "invalid_status");
  expect_error(api().get("/v1/jobs?status=DONE"), 400, "invalid_status");
  // A cursor of one job does not page another.
  auto page = require(api().get("/v1/jobs/" + done + "/users?limit=2"), 200, "page");
  std::string cursor(page.at("paging").as_object().at("cursor").as_string());
  expect_error(api().get("/v1/jobs/" + open + "/users?cursor=" + cursor), 400, "invalid_cursor");

  // Unsupported content types.
  expect_error(api().post("/v1/jobs", json::serialize(email_job_spec()), "text/plain"), 415,
               "unsupported_media_type");
  expect_error(api().post(users, "<users/>", "application/xml"), 415, "unsupported_media_type");

  // Bad UTF-8: a buffered body is refused whole; a streamed line or row is one rejection.
  expect_error(api().post("/v1/jobs",
                          R"({"channel":"email","content":{"email":{"subject":")" + bad_utf8 +
                              R"(","text":"x"}}})",
                          "application/json"),
               400, "invalid_json");
  expect_error(
      api().post(users,
                 R"({"users":[{"email":"u1@example.com","data":{"n":")" + bad_utf8 + R"("}}]})",
                 "application/json"),
      400, "invalid_json");
  const std::string streamed = create_job(api(), email_job_spec());
  auto nd = ingest_ndjson(api(), streamed,
                          "{\"email\":\"ok1@example.com\"}\n{\"email\":\"b" + bad_utf8 +
                              "@example.com\"}\n{\"email\":\"ok2@example.com\"}\n");
  EXPECT_EQ(num(nd, "accepted"), 2) << json::serialize(nd);
  ASSERT_EQ(nd.at("rejected").as_array().size(), 1u) << json::serialize(nd);
  EXPECT_EQ(num(nd.at("rejected").as_array()[0].as_object(), "index"), 1);
  EXPECT_EQ(str(nd.at("rejected").as_array()[0].as_object(), "code"), "invalid_json");
  auto csv = ingest_csv(api(), streamed,
                        "email,data.name\nok3@example.com,A\nok4@example.com,B" + bad_utf8 + "\n");
  EXPECT_EQ(num(csv, "accepted"), 1) << json::serialize(csv);
  ASSERT_EQ(csv.at("rejected").as_array().size(), 1u) << json::serialize(csv);
  EXPECT_EQ(num(csv.at("rejected").as_array()[0].as_object(), "index"), 1);
  EXPECT_EQ(str(csv.at("rejected").as_array()[0].as_object(), "code"), "invalid_utf8");
  // A CSV header with an unknown column refuses the body.
  expect_error(api().post("/v1/jobs/" + streamed + "/users", "email,shoe_size\na@example.com,42\n",
                          "text/csv"),
               400, "invalid_csv_header");

  // The server still serves, and nothing stored before has changed.
  EXPECT_EQ(api().get("/healthz").status, 200);
  EXPECT_EQ(counters_snapshot(get_job(api(), done)), done_before);
  EXPECT_EQ(counters_snapshot(get_job(api(), open)), open_before);
  EXPECT_EQ(list_all_users(api(), open), open_users_before);
  // (+2: the jobs made above for the mistyped user and the streamed bad UTF-8.)
  EXPECT_EQ(require(api().get("/v1/jobs"), 200, "list").at("jobs").as_array().size(),
            jobs_before + 2);
  // And the open job still takes users and runs.
  EXPECT_EQ(num(ingest_json(api(), open, email_users(100, 2)), "accepted"), 2);
  run_job(api(), open);
  EXPECT_EQ(str(wait_for_status(api(), open, {"COMPLETED", "PARTIAL", "FAILED"}), "status"),
            "COMPLETED");
}

// Small limits, set through --config, so oversize bodies are cheap to send.
class SmallLimitsTest : public CrierTest {
 protected:
  std::vector<std::string> server_args() const override {
    auto path = scratch_file("small-limits.toml");
    std::ofstream(path) << "[limits]\nmax_body_bytes = 8192\nmax_users_per_batch = 20\n";
    return {"--config", path.string()};
  }
};

TEST_F(SmallLimitsTest, OversizeBodiesAre413AndTheServerKeepsServing) {
  const std::string id = create_job(api(), email_job_spec());
  ingest_json(api(), id, email_users(0, 10));
  const auto before = counters_snapshot(get_job(api(), id));
  const std::string users = "/v1/jobs/" + id + "/users";

  // Over the byte limit: a job spec and a JSON batch.
  auto spec = email_job_spec();
  spec["data"] = json::object{{"blob", std::string(10'000, 'x')}};
  expect_error(api().post_json("/v1/jobs", spec), 413, "body_too_large");
  json::array big;
  for (int i = 0; i < 19; ++i)
    big.push_back(
        json::object{{"email", email_for(500 + i)}, {"data", {{"pad", std::string(500, 'p')}}}});
  expect_error(api().post_json(users, json::object{{"users", big}}), 413, "body_too_large");
  // Over the users-per-batch limit, under the byte limit.
  auto many = expect_error(api().post_json(users, json::object{{"users", email_users(100, 21)}}),
                           413, "too_many_users");
  EXPECT_EQ(str(many, "field"), "users");
  EXPECT_EQ(counters_snapshot(get_job(api(), id)), before);

  // Streamed types are not bounded by the buffered-body limit.
  auto streamed = ingest_ndjson(api(), id, email_users_ndjson(1000, 400));
  EXPECT_EQ(num(streamed, "accepted"), 400);
  auto csv = ingest_csv(api(), id, email_users_csv(2000, 400));
  EXPECT_EQ(num(csv, "accepted"), 400);
  // And a batch at the limit is fine.
  EXPECT_EQ(num(ingest_json(api(), id, email_users(3000, 20)), "accepted"), 20);
  auto after = get_job(api(), id);
  EXPECT_EQ(num(after, "unique"), 830);
  EXPECT_TRUE(counters_add_up(after));
}

// docs/api.md § request id: a well-formed X-Request-Id is echoed (answers
// and error bodies), any other is replaced by one of the server's own.
TEST_F(BadInputTest, XRequestIdIsEchoedWhenWellFormedAndReplacedOtherwise) {
  auto ok = api().get("/v1/jobs", {{"X-Request-Id", "trace.42_A-b"}});
  ASSERT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(ok.header("X-Request-Id"), "trace.42_A-b");

  auto missing = api().get("/v1/jobs/job_nope", {{"X-Request-Id", "trace-404"}});
  auto e = expect_error(missing, 404, "job_not_found");
  EXPECT_EQ(str(e, "request_id"), "trace-404");

  for (const std::string bad : {std::string("has space"), std::string(129, 'a'), std::string("semi;colon")}) {
    auto r = api().get("/v1/jobs", {{"X-Request-Id", bad}});
    ASSERT_EQ(r.status, 200) << r.describe();
    const std::string id = r.header("X-Request-Id");
    EXPECT_NE(id, bad);
    ASSERT_EQ(id.size(), 4u + 20) << id;
    EXPECT_TRUE(id.starts_with("req_")) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 4), std::string::npos) << id;
  }
  auto none = api().get("/v1/jobs");
  EXPECT_TRUE(none.header("X-Request-Id").starts_with("req_")) << "every answer has one";
  EXPECT_NE(none.header("X-Request-Id"), api().get("/v1/jobs").header("X-Request-Id")) << "one per request";
}

}  // namespace
}  // namespace crier::e2e
