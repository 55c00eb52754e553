// An Idempotency-Key across a crash: when the server dies after the action
// and before its answer is stored, the client's retry with the same key must
// find what the first attempt did, never do it a second time (a second job
// would send its users a second message under other ids). And the key in
// flight: a second request with it while the first runs is refused.
#include <variant>

#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using IdempotencyCrashTest = ApiTest;

api::ApiRequest with_key(api::ApiRequest req, std::string key) {
  req.idempotency_key = std::move(key);
  return req;
}

TEST_F(IdempotencyCrashTest, ACreateRetriedAfterACrashAnswersTheJobItMade) {
  crash_once_before_the_answer();
  auto lost = send(with_key(request("POST", "/v1/jobs", email_job_body()), "create-crash"));
  ASSERT_EQ(lost.status, 500) << lost.body;
  ASSERT_EQ(jobs_of(), 1u);  // the action was committed
  const auto made = text(body_of(send("GET", "/v1/jobs")).at("jobs").at(0).at("job_id"));

  auto retry = send(with_key(request("POST", "/v1/jobs", email_job_body()), "create-crash"));
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(text(body_of(retry).at("job_id")), made);
  EXPECT_EQ(jobs_of(), 1u);
  // That answer is now the key's: a third try replays it.
  auto third = send(with_key(request("POST", "/v1/jobs", email_job_body()), "create-crash"));
  EXPECT_EQ(third.status, 201);
  EXPECT_EQ(header(third, "Idempotent-Replayed"), std::optional<std::string>("true"));
  EXPECT_EQ(third.body, retry.body);
  // Another body under the key is still another request.
  auto other = send(with_key(request("POST", "/v1/jobs", email_job_body(R"("locale":"fr")")), "create-crash"));
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(error_code(other), "idempotency_key_reused");
}

TEST_F(IdempotencyCrashTest, ACreateWithUsersRetriedAfterACrashKeepsOneJobAndItsIngestAnswer) {
  const std::string body = email_job_body(
      R"("run":true,"users":[{"email":"a@example.com"},{"email":"b@example.com"},{"email":"a@example.com"},{"email":"bad"}])");
  auto clean = send(with_key(request("POST", "/v1/jobs", body, kKeyOther), "with-users"));
  ASSERT_EQ(clean.status, 201) << clean.body;

  crash_once_before_the_answer();
  ASSERT_EQ(send(with_key(request("POST", "/v1/jobs", body), "with-users")).status, 500);
  auto retry = send(with_key(request("POST", "/v1/jobs", body), "with-users"));
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(jobs_of(), 1u);
  auto b = body_of(retry);
  const auto id = text(b.at("job_id"));
  EXPECT_EQ(text(body_of(send("GET", "/v1/jobs")).at("jobs").at(0).at("job_id")), id);
  // The ingest summary is the one the first attempt committed (as a clean
  // create of the same body answers it), not a second ingest's.
  EXPECT_EQ(b.at("ingested"), body_of(clean).at("ingested"));
  EXPECT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  auto job = get_job(id);
  EXPECT_EQ(job.at("received").to_number<int>(), 4);
  EXPECT_EQ(job.at("unique").to_number<int>(), 2);
  EXPECT_EQ(job.at("sent").to_number<int>(), 2);
}

TEST_F(IdempotencyCrashTest, AnActionRetriedAfterACrashAnswersAsTheFirstWouldHave) {
  const auto id = create_job();
  ASSERT_EQ(ingest(id, users_body(0, 3)).status, 200);
  crash_once_before_the_answer();
  ASSERT_EQ(send(with_key(request("POST", "/v1/jobs/" + id + "/run"), "run-1")).status, 500);
  // The run was committed; its retry is the run's answer, not a 409 for
  // running a job that runs.
  auto retry = send(with_key(request("POST", "/v1/jobs/" + id + "/run"), "run-1"));
  EXPECT_EQ(retry.status, 202) << retry.body;
  EXPECT_EQ(text(body_of(retry).at("job_id")), id);
  EXPECT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
}

TEST_F(IdempotencyCrashTest, AKeyInFlightIsRefusedUntilItsRequestEnds) {
  const auto id = create_job();
  auto stream_req = with_key(request("POST", "/v1/jobs/" + id + "/users"), "in-flight");
  stream_req.content_type = "application/x-ndjson";
  auto opened = router_->open_stream(stream_req);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<api::BodyStream>>(opened));
  auto& stream = std::get<std::unique_ptr<api::BodyStream>>(opened);
  ASSERT_TRUE(stream->feed("{\"email\":\"a@example.com\"}\n"));

  // Same key while the stream is open: refused, whatever the request.
  for (auto busy : {with_key(request("POST", "/v1/jobs/" + id + "/users", users_body(0, 1)), "in-flight"),
                    with_key(request("POST", "/v1/jobs", email_job_body()), "in-flight")}) {
    auto r = send(busy);
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(error_code(r), "idempotency_key_in_use");
  }
  EXPECT_EQ(jobs_of(), 1u);
  // Another key goes through meanwhile.
  EXPECT_EQ(send(with_key(request("POST", "/v1/jobs/" + id + "/users", users_body(5, 6)), "other")).status, 200);

  auto done = stream->finish();
  EXPECT_EQ(done.status, 200) << done.body;
  stream.reset();
  // Ended and stored: the same stream's body again is a replay.
  auto again = router_->open_stream(stream_req);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<api::BodyStream>>(again));
  auto& replay = std::get<std::unique_ptr<api::BodyStream>>(again);
  ASSERT_TRUE(replay->feed("{\"email\":\"a@example.com\"}\n"));
  auto replayed = replay->finish();
  EXPECT_EQ(replayed.status, 200);
  EXPECT_EQ(replayed.body, done.body);
  EXPECT_EQ(get_job(id).at("unique").to_number<int>(), 2);
}

// A user ingest's answer cannot be made again from what it left (which users
// were new is gone once they are stored): the key's answer is written in the
// ingest's own batch, so a retry after a crash replays it instead of
// counting the same users again as duplicates.
TEST_F(IdempotencyCrashTest, AnIngestRetriedAfterACrashAnswersAsTheFirstAttempt) {
  const auto id = create_job();
  const std::string body = users_body(0, 4);
  crash_once_before_the_answer();
  auto lost = send(with_key(request("POST", "/v1/jobs/" + id + "/users", body), "ingest-crash"));
  ASSERT_EQ(lost.status, 500) << lost.body;
  ASSERT_EQ(get_job(id).at("unique").to_number<int>(), 4);  // the ingest was committed

  auto retry = send(with_key(request("POST", "/v1/jobs/" + id + "/users", body), "ingest-crash"));
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(header(retry, "Idempotent-Replayed"), std::optional<std::string>("true"));
  auto b = body_of(retry);
  EXPECT_EQ(b.at("accepted").to_number<int>(), 4) << retry.body;
  EXPECT_EQ(b.at("duplicates").to_number<int>(), 0) << retry.body;
  EXPECT_EQ(b.at("received_total").to_number<int>(), 4) << retry.body;
  auto job = get_job(id);
  EXPECT_EQ(job.at("received").to_number<int>(), 4);
  EXPECT_EQ(job.at("unique").to_number<int>(), 4);
}

TEST_F(IdempotencyCrashTest, AStreamedIngestRetriedAfterACrashAnswersAsTheFirstAttempt) {
  const auto id = create_job();
  const std::string lines = "{\"email\":\"a@example.com\"}\n{\"email\":\"b@example.com\"}\n{\"email\":\"bad\"}\n";
  auto attempt = [&] {
    auto req = with_key(request("POST", "/v1/jobs/" + id + "/users"), "stream-crash");
    req.content_type = "application/x-ndjson";
    auto opened = router_->open_stream(req);
    EXPECT_TRUE(std::holds_alternative<std::unique_ptr<api::BodyStream>>(opened));
    if (!std::holds_alternative<std::unique_ptr<api::BodyStream>>(opened)) return std::get<api::ApiResponse>(opened);
    auto& stream = std::get<std::unique_ptr<api::BodyStream>>(opened);
    EXPECT_TRUE(stream->feed(lines));
    try {
      return stream->finish();
    } catch (...) {
      return router_->exception_answer(req, "test");
    }
  };
  crash_once_before_the_answer();
  ASSERT_EQ(attempt().status, 500);
  ASSERT_EQ(get_job(id).at("unique").to_number<int>(), 2);

  auto retry = attempt();
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(header(retry, "Idempotent-Replayed"), std::optional<std::string>("true"));
  auto b = body_of(retry);
  EXPECT_EQ(b.at("accepted").to_number<int>(), 2) << retry.body;
  EXPECT_EQ(b.at("duplicates").to_number<int>(), 0) << retry.body;
  EXPECT_EQ(b.at("rejected_count").to_number<int>(), 1) << retry.body;
  EXPECT_EQ(get_job(id).at("received").to_number<int>(), 3);
}

// Courier's addUsers is an ingest too, answered in Courier's shape.
TEST_F(IdempotencyCrashTest, ACourierAddUsersRetriedAfterACrashAnswersAsTheFirstAttempt) {
  auto created = send("POST", "/bulk", R"({"message":{"event":"e","content":{"title":"Hi","body":"Hello"}}})");
  ASSERT_EQ(created.status, 200) << created.body;
  const auto id = text(body_of(created).at("jobId"));
  const std::string body =
      R"({"users":[{"to":{"email":"a@example.com"}},{"to":{"email":"b@example.com"}},{"to":{"user_id":"c"}}]})";
  crash_once_before_the_answer();
  ASSERT_EQ(send(with_key(request("POST", "/bulk/" + id, body), "courier-crash")).status, 500);

  auto retry = send(with_key(request("POST", "/bulk/" + id, body), "courier-crash"));
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(header(retry, "Idempotent-Replayed"), std::optional<std::string>("true"));
  auto b = body_of(retry);
  EXPECT_EQ(b.at("total").to_number<int>(), 2) << retry.body;  // not 0 with two "Duplicate user"
  ASSERT_EQ(b.at("errors").as_array().size(), 1u) << retry.body;
  EXPECT_EQ(text(b.at("errors").at(0).at("code")), "missing_address");
  EXPECT_EQ(get_job(id).at("unique").to_number<int>(), 2);
}

// A rotation's answer is the secret it made: stored in the rotation's own
// batch, so a retry after a crash replays that secret instead of rotating
// once more (which would also push the first new secret out of signing).
TEST_F(IdempotencyCrashTest, ARotationRetriedAfterACrashRotatesOnce) {
  const auto before = text(body_of(send("GET", "/v1/webhook-secret")).at("secret"));
  const std::string body = R"({"grace_period_seconds":3600})";
  crash_once_before_the_answer();
  ASSERT_EQ(send(with_key(request("POST", "/v1/webhook-secret/rotate", body), "rotate-crash")).status, 500);
  const auto now = body_of(send("GET", "/v1/webhook-secret"));
  ASSERT_NE(text(now.at("secret")), before);  // the rotation was committed

  auto retry = send(with_key(request("POST", "/v1/webhook-secret/rotate", body), "rotate-crash"));
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(header(retry, "Idempotent-Replayed"), std::optional<std::string>("true"));
  auto b = body_of(retry);
  EXPECT_EQ(b.at("secret"), now.at("secret"));
  EXPECT_EQ(text(b.at("previous_secret")), before);
  EXPECT_EQ(body_of(send("GET", "/v1/webhook-secret")), now) << "rotated once only";
}

}  // namespace
}  // namespace crier::testing
