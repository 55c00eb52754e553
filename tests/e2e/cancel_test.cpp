// Cancel is final when it says so: a job reads CANCELLING while the
// dispatcher sweeps its waiting recipients, and CANCELLED only once none is
// left, with counters that add up and never move again; across a kill -9 too.
#include <map>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {
namespace {

using CancelTest = CrierTest;

// A job of `n` email users at `rate` a second, running, with some sent.
std::string running_job(HttpClient& api, std::size_t n, double rate) {
  auto spec = email_job_spec();
  spec["rate_limit"] = rate;
  const std::string id = create_job(api, spec);
  for (std::size_t from = 0; from < n; from += 10000)
    ingest_ndjson(api, id, email_users_ndjson(from, std::min<std::size_t>(10000, n - from)));
  run_job(api, id);
  wait_for_job(api, id, [](const json::object& j) { return num(j, "sent") > 0; });
  return id;
}

// What a final status promises: nothing waits, everything is counted.
void expect_final_counters(const json::object& job) {
  EXPECT_TRUE(counters_add_up(job));
  EXPECT_EQ(num(job, "pending"), 0) << json::serialize(job);
  EXPECT_EQ(num(job, "enqueued"), 0) << json::serialize(job);
  EXPECT_EQ(num(job, "unique"), num(job, "sent") + num(job, "delivered") + num(job, "failed") +
                                    num(job, "skipped") + num(job, "cancelled"))
      << json::serialize(job);
  EXPECT_FALSE(job.at("finished_at").is_null());
}

// Reads the job until it is CANCELLED; every read on the way is CANCELLING
// (or CANCELLED), and a CANCELLED read has final counters.
json::object until_cancelled(HttpClient& api, const std::string& id) {
  return wait_for_job(api, id, [](const json::object& j) {
    const auto status = str(j, "status");
    EXPECT_TRUE(status == "CANCELLING" || status == "CANCELLED") << json::serialize(j);
    if (status != "CANCELLED") return false;
    expect_final_counters(j);
    return true;
  });
}

// The users listing says what the counters say.
void expect_users_match(HttpClient& api, const std::string& id, const json::object& job) {
  std::map<std::string, std::int64_t> by_status;
  for (const auto& u : list_all_users(api, id)) ++by_status[str(u, "status")];
  EXPECT_EQ(by_status["CANCELLED"], num(job, "cancelled"));
  EXPECT_EQ(by_status["SENT"], num(job, "sent"));
  EXPECT_EQ(by_status["PENDING"] + by_status["ENQUEUED"], 0);
}

TEST_F(CancelTest, CancelledComesWithFinalCountersThatNeverMove) {
  const std::string id = running_job(api(), 20000, 1000);
  auto cancel = job_action(api(), id, "cancel");
  auto answer = require(cancel, 200, "cancel");
  // Hundreds were waiting: the answer cannot be final yet.
  EXPECT_EQ(str(answer, "status"), "CANCELLING") << json::serialize(answer);
  EXPECT_TRUE(answer.at("finished_at").is_null());
  EXPECT_TRUE(counters_add_up(answer));
  expect_error(job_action(api(), id, "cancel"), 409, "invalid_state_transition");

  auto done = until_cancelled(api(), id);
  EXPECT_GT(num(done, "cancelled"), 0);
  EXPECT_GT(num(done, "sent"), 0);
  const std::string final_counters = counters_snapshot(done);

  // Let the dispatcher do other work to its end, then read again: the
  // cancelled job's counters have not moved.
  const std::string other = create_job(api(), email_job_spec());
  ingest_json(api(), other, email_users(0, 500));
  run_job(api(), other);
  EXPECT_EQ(str(wait_for_status(api(), other, {"COMPLETED", "PARTIAL", "FAILED"}), "status"), "COMPLETED");
  EXPECT_EQ(counters_snapshot(get_job(api(), id)), final_counters);
  expect_users_match(api(), id, done);
  // What was sent was sent once: the delivery log has the job's sent.
  std::int64_t logged = 0;
  for (const auto& line : read_delivery_log(delivery_log())) logged += str(line, "job_id") == id;
  EXPECT_EQ(logged, num(done, "sent"));
}

TEST_F(CancelTest, AJobWithNothingWaitingIsCancelledAtOnce) {
  const std::string id = create_job(api(), email_job_spec());
  auto answer = require(job_action(api(), id, "cancel"), 200, "cancel");
  EXPECT_EQ(str(answer, "status"), "CANCELLED");
  expect_final_counters(answer);
}

TEST_F(CancelTest, ACancelInterruptedByAKill9EndsCancelledAfterTheRestart) {
  const std::string id = running_job(api(), 20000, 1000);
  auto answer = require(job_action(api(), id, "cancel"), 200, "cancel");
  EXPECT_EQ(str(answer, "status"), "CANCELLING") << json::serialize(answer);
  kill9_and_restart();
  auto done = until_cancelled(api(), id);
  EXPECT_GT(num(done, "cancelled"), 0);
  expect_users_match(api(), id, done);
  // Once CANCELLED, cancel is refused as for any final job.
  expect_error(job_action(api(), id, "cancel"), 409, "invalid_state_transition");
}

}  // namespace
}  // namespace crier::e2e
