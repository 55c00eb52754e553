// kill -9 between an idempotent create's commit and its answer, for real:
// the server is told (CRIER_CRASH_AT) to SIGKILL itself at that point, then
// restarted on the same data dir; the client's retry with the same key must
// get the job the first attempt made, and its users must get one message
// each under one id, not a second job's.
#include <cstdlib>
#include <set>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

using IdempotencyCrashTest = CrierTest;

// Restarts the server with CRIER_CRASH_AT=<point> in its environment (the
// child inherits it), and takes it out of ours again at once.
class CrashingServerTest : public CrierTest {
 protected:
  void restart_crashing_at(const char* point) {
    ::setenv("CRIER_CRASH_AT", point, 1);
    kill9_and_restart();
    ::unsetenv("CRIER_CRASH_AT");
  }
};

TEST_F(CrashingServerTest, ACreateKilledBeforeItsAnswerIsOneJobOnRetry) {
  restart_crashing_at("idempotent_answer");
  json::object body = email_job_spec();
  body["users"] = email_users(0, 300);
  body["run"] = true;
  const HeaderList key = {{"Idempotency-Key", "create-killed"}};

  // The server dies after the job was written and before it answered.
  // (SIGKILL ends the process before the kernel closes its sockets, so the
  // closed connection means it is gone.)
  EXPECT_THROW(api().post_json("/v1/jobs", body, key), std::runtime_error);
  kill9_and_restart();  // reaps the dead one; no crash point this time

  auto retry = api().post_json("/v1/jobs", body, key);
  auto answer = require(retry, 201, "the retried create");
  const std::string id = str(answer, "job_id");
  auto jobs = require(api().get("/v1/jobs"), 200, "list jobs").at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 1u) << json::serialize(jobs);
  EXPECT_EQ(str(jobs[0].as_object(), "job_id"), id);
  EXPECT_EQ(num(answer.at("ingested").as_object(), "accepted"), 300);

  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"});
  ASSERT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_EQ(num(done, "received"), 300);
  EXPECT_EQ(num(done, "sent"), 300);
  // One message per user, under one id each: nothing from a second job.
  auto log = read_delivery_log(delivery_log());
  std::set<std::string> ids, users;
  for (const auto& line : log) {
    ids.insert(str(line, "message_id"));
    users.insert(str(line, "to"));
  }
  EXPECT_EQ(users.size(), 300u);
  EXPECT_EQ(ids.size(), 300u);
  // The answer is now stored: a third try replays it.
  auto third = api().post_json("/v1/jobs", body, key);
  EXPECT_EQ(third.status, 201);
  EXPECT_EQ(third.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(str(third.object(), "job_id"), id);
}

// The same for a user ingest into a CREATED job: the key's answer is in the
// ingest's own batch, so the retry replays it (300 accepted) instead of
// ingesting again and answering 0 accepted, 300 duplicates.
TEST_F(CrashingServerTest, AnIngestKilledBeforeItsAnswerReplaysItOnRetry) {
  const std::string id = create_job(api(), email_job_spec());
  restart_crashing_at("idempotent_answer");
  const json::object body{{"users", email_users(0, 300)}};
  const HeaderList key = {{"Idempotency-Key", "ingest-killed"}};
  EXPECT_THROW(api().post_json("/v1/jobs/" + id + "/users", body, key), std::runtime_error);
  kill9_and_restart();

  auto retry = api().post_json("/v1/jobs/" + id + "/users", body, key);
  auto answer = require(retry, 200, "the retried ingest");
  EXPECT_EQ(retry.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(num(answer, "accepted"), 300) << json::serialize(answer);
  EXPECT_EQ(num(answer, "duplicates"), 0) << json::serialize(answer);
  auto job = require(api().get("/v1/jobs/" + id), 200, "the job");
  EXPECT_EQ(num(job, "received"), 300);
  EXPECT_EQ(num(job, "unique"), 300);
}

}  // namespace
}  // namespace crier::e2e
