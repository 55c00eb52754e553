// Idempotency-Key handling and the job state machine as the API shows it:
// every illegal action is a 409 that names the job's current status.
#include "tests/api/api_fixture.h"

namespace crier::testing {
namespace {

using IdempotencyTest = ApiTest;

api::ApiRequest with_key(api::ApiRequest req, std::string key) {
  req.idempotency_key = std::move(key);
  return req;
}

TEST_F(IdempotencyTest, SameKeyAndBodyReplaysTheFirstAnswer) {
  auto first = send(with_key(request("POST", "/v1/jobs", email_job_body()), "create-1"));
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_FALSE(header(first, "Idempotent-Replayed"));
  auto second = send(with_key(request("POST", "/v1/jobs", email_job_body()), "create-1"));
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(header(second, "Idempotent-Replayed"), std::optional<std::string>("true"));
  EXPECT_EQ(body_of(second).at("job_id"), body_of(first).at("job_id"));
  // Only one job exists.
  EXPECT_EQ(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size(), 1u);
}

TEST_F(IdempotencyTest, SameKeyWithDifferentBodyIs409) {
  ASSERT_EQ(send(with_key(request("POST", "/v1/jobs", email_job_body()), "create-2")).status, 201);
  auto r = send(with_key(request("POST", "/v1/jobs", email_job_body(R"("locale":"fr")")), "create-2"));
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(error_code(r), "idempotency_key_reused");
  // The same key on another path is another request too.
  auto other_path = send(with_key(request("POST", "/v1/jobs/job_00000000000000000000000000/run"), "create-2"));
  EXPECT_EQ(other_path.status, 409);
  EXPECT_EQ(error_code(other_path), "idempotency_key_reused");
  EXPECT_EQ(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().size(), 1u);
}

TEST_F(IdempotencyTest, KeysAreScopedPerTenant) {
  auto a = send(with_key(request("POST", "/v1/jobs", email_job_body()), "shared"));
  auto b = send(with_key(request("POST", "/v1/jobs", email_job_body(), kKeyOther), "shared"));
  ASSERT_EQ(a.status, 201);
  ASSERT_EQ(b.status, 201);
  EXPECT_FALSE(header(b, "Idempotent-Replayed"));
  EXPECT_NE(body_of(a).at("job_id"), body_of(b).at("job_id"));
}

TEST_F(IdempotencyTest, ErrorAnswersAreReplayedToo) {
  auto first = send(with_key(request("POST", "/v1/jobs", R"({"channel":"fax"})"), "bad-1"));
  ASSERT_EQ(first.status, 400);
  auto second = send(with_key(request("POST", "/v1/jobs", R"({"channel":"fax"})"), "bad-1"));
  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(header(second, "Idempotent-Replayed"), std::optional<std::string>("true"));
  EXPECT_EQ(second.body, first.body);
}

TEST_F(IdempotencyTest, GetIgnoresTheHeader) {
  std::string id = create_job();
  auto r1 = send(with_key(request("GET", "/v1/jobs/" + id), "get-1"));
  auto r2 = send(with_key(request("GET", "/v1/jobs"), "get-1"));
  EXPECT_EQ(r1.status, 200);
  EXPECT_EQ(r2.status, 200);
  EXPECT_FALSE(header(r1, "Idempotent-Replayed"));
  EXPECT_FALSE(header(r2, "Idempotent-Replayed"));
  EXPECT_EQ(text(body_of(r1).at("job_id")), id);
  EXPECT_EQ(body_of(r2).at("jobs").as_array().size(), 1u);
}

TEST_F(IdempotencyTest, InvalidKeyIs400) {
  auto r = send(with_key(request("POST", "/v1/jobs", email_job_body()), "has space"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "invalid_idempotency_key");
  auto long_key = send(with_key(request("POST", "/v1/jobs", email_job_body()), std::string(256, 'k')));
  EXPECT_EQ(long_key.status, 400);
  EXPECT_TRUE(body_of(send("GET", "/v1/jobs")).at("jobs").as_array().empty());
}

TEST_F(IdempotencyTest, IngestReplayDoesNotIngestTwice) {
  std::string id = create_job();
  auto body = users_body(0, 5);
  auto first = send(with_key(request("POST", "/v1/jobs/" + id + "/users", body), "users-1"));
  ASSERT_EQ(first.status, 200) << first.body;
  auto second = send(with_key(request("POST", "/v1/jobs/" + id + "/users", body), "users-1"));
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(header(second, "Idempotent-Replayed"), std::optional<std::string>("true"));
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(int_of(get_job(id), "received"), 5);
}

// ---- transitions ------------------------------------------------------------------

class TransitionsFixture : public ApiTest {
 protected:
  // POSTs each action and expects a 409 naming `status`.
  void expect_illegal(const std::string& id, std::initializer_list<const char*> actions, const char* status) {
    for (const char* action : actions) {
      auto r = send("POST", "/v1/jobs/" + id + "/" + action);
      EXPECT_EQ(r.status, 409) << action << " on " << status << ": " << r.body;
      EXPECT_EQ(error_code(r), "invalid_state_transition") << action << " on " << status;
      EXPECT_EQ(error_field(r, "status"), status) << action << " on " << status;
      EXPECT_EQ(error_field(r, "type"), "conflict");
    }
    EXPECT_EQ(job_status(id), status);
  }

  void expect_ingest_refused(const std::string& id, const char* status) {
    auto r = ingest(id, users_body(1000, 1001));
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(error_code(r), "invalid_state_transition");
    EXPECT_EQ(error_field(r, "status"), status);
  }
};

using TransitionTest = TransitionsFixture;

TEST_F(TransitionTest, CreatedJobCannotPauseOrResume) {
  std::string id = create_job();
  expect_illegal(id, {"pause", "resume"}, "CREATED");
}

TEST_F(TransitionTest, ScheduledJobCanOnlyBeCancelled) {
  std::string id = create_job(email_job_body(R"("schedule_at":"2099-01-01T00:00:00Z")"));
  auto run = send("POST", "/v1/jobs/" + id + "/run");
  ASSERT_EQ(run.status, 202) << run.body;
  EXPECT_EQ(body_of(run).at("status"), "SCHEDULED");
  expect_illegal(id, {"run", "pause", "resume"}, "SCHEDULED");
  expect_ingest_refused(id, "SCHEDULED");
  auto cancel = send("POST", "/v1/jobs/" + id + "/cancel");
  EXPECT_EQ(cancel.status, 200);
  EXPECT_EQ(body_of(cancel).at("status"), "CANCELLED");
}

TEST_F(TransitionTest, ProcessingPausedAndCancelledRefuseWhatTheyMust) {
  // One message a second: the job stays PROCESSING for the whole test.
  std::string id = create_job(email_job_body(R"("provider":"null","rate_limit":1)"));
  ASSERT_EQ(ingest(id, users_body(0, 60)).status, 200);
  auto run = send("POST", "/v1/jobs/" + id + "/run");
  ASSERT_EQ(run.status, 202);
  EXPECT_EQ(body_of(run).at("status"), "PROCESSING");
  expect_illegal(id, {"run", "resume"}, "PROCESSING");
  expect_ingest_refused(id, "PROCESSING");

  auto pause = send("POST", "/v1/jobs/" + id + "/pause");
  ASSERT_EQ(pause.status, 200) << pause.body;
  EXPECT_EQ(body_of(pause).at("status"), "PAUSED");
  expect_illegal(id, {"run", "pause"}, "PAUSED");
  expect_ingest_refused(id, "PAUSED");

  auto resume = send("POST", "/v1/jobs/" + id + "/resume");
  ASSERT_EQ(resume.status, 200) << resume.body;
  EXPECT_EQ(body_of(resume).at("status"), "PROCESSING");

  auto cancel = send("POST", "/v1/jobs/" + id + "/cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  // Users still wait: CANCELLING (every action refused) until they are swept.
  EXPECT_EQ(body_of(cancel).at("status"), "CANCELLING");
  ASSERT_EQ(wait_for_status(id, "CANCELLED"), "CANCELLED");
  expect_illegal(id, {"run", "pause", "resume", "cancel"}, "CANCELLED");
  expect_ingest_refused(id, "CANCELLED");
}

TEST_F(TransitionTest, CompletedJobRefusesEveryAction) {
  std::string id = create_job(email_job_body(R"("provider":"null")"));
  ASSERT_EQ(ingest(id, users_body(0, 3)).status, 200);
  ASSERT_EQ(send("POST", "/v1/jobs/" + id + "/run").status, 202);
  ASSERT_EQ(wait_for_status(id, "COMPLETED"), "COMPLETED");
  expect_illegal(id, {"run", "pause", "resume", "cancel"}, "COMPLETED");
  expect_ingest_refused(id, "COMPLETED");
}

TEST_F(TransitionTest, CancelledBeforeRunRefusesEverything) {
  std::string id = create_job();
  ASSERT_EQ(send("POST", "/v1/jobs/" + id + "/cancel").status, 200);
  expect_illegal(id, {"run", "pause", "resume", "cancel"}, "CANCELLED");
}

TEST_F(TransitionTest, StreamedIngestOnARunningJobIsRefused) {
  std::string id = create_job();
  ASSERT_EQ(send("POST", "/v1/jobs/" + id + "/cancel").status, 200);
  auto r = ingest(id, "{\"email\":\"a@example.com\"}\n", "application/x-ndjson");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(error_field(r, "status"), "CANCELLED");
  auto csv = ingest(id, "email\na@example.com\n", "text/csv");
  EXPECT_EQ(csv.status, 409) << csv.body;
}

}  // namespace
}  // namespace crier::testing
