// kill -9 and a restart on the same data dir: acknowledged ingests survive,
// a job killed mid-run resumes by itself without sending anyone under two
// ids, and scheduled and paused jobs keep their state.
#include <fmt/format.h>

#include <map>
#include <set>
#include <thread>

#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/raw_connection.h"

namespace crier::e2e {
namespace {

// The restarts below run the server with --log-level warn, to keep their
// output short; the last test restarts at the default level.
class RestartTest : public CrierTest {
 protected:
  std::vector<std::string> server_args() const override { return {"--log-level", "warn"}; }
};

using RestartAtDefaultLogLevelTest = CrierTest;

TEST_F(RestartTest, AcknowledgedIngestSurvivesKill9) {
  const std::string id = create_job(api(), email_job_spec());
  EXPECT_EQ(num(ingest_json(api(), id, email_users(0, 500)), "accepted"), 500);
  EXPECT_EQ(num(ingest_ndjson(api(), id, email_users_ndjson(500, 3000)), "accepted"), 3000);
  EXPECT_EQ(num(ingest_csv(api(), id, email_users_csv(3500, 500)), "accepted"), 500);
  // A duplicate and a rejection, so every ingest counter has something in it.
  auto last =
      ingest_json(api(), id,
                  json::array{json::object{{"user_id", user_id_for(7)}, {"email", email_for(7)}},
                              json::object{{"email", "broken"}}});
  EXPECT_EQ(num(last, "duplicates"), 1);
  const std::string other = create_job(api_b(), sms_job_spec());
  ingest_json(api_b(), other, json::array{json::object{{"phone", phone_for(1)}}});
  const auto before = counters_snapshot(get_job(api(), id));
  const auto other_before = counters_snapshot(get_job(api_b(), other));

  kill9_and_restart();

  auto job = get_job(api(), id);
  EXPECT_EQ(counters_snapshot(job), before);
  EXPECT_EQ(str(job, "status"), "CREATED");
  EXPECT_EQ(num(job, "unique"), 4000);
  EXPECT_EQ(num(job, "received"), 4002);
  EXPECT_EQ(counters_snapshot(get_job(api_b(), other)), other_before);
  expect_error(api_b().get("/v1/jobs/" + id), 404, "job_not_found");

  auto users = list_all_users(api(), id, 1000);
  ASSERT_EQ(users.size(), 4000u);
  for (std::size_t i = 0; i < users.size(); ++i) {
    ASSERT_EQ(str(users[i], "user_id"), user_id_for(i));
    ASSERT_EQ(str(users[i], "email"), email_for(i));
    ASSERT_EQ(str(users[i], "status"), "PENDING");
  }

  // Ingest goes on after the restart: dedupe still knows the old users, and
  // new ones take new sequence numbers.
  auto more = ingest_ndjson(api(), id, email_users_ndjson(3990, 20));
  EXPECT_EQ(num(more, "accepted"), 10);
  EXPECT_EQ(num(more, "duplicates"), 10);
  run_job(api(), id);
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"});
  ASSERT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_EQ(num(done, "sent"), 4010);
  users = list_all_users(api(), id, 1000);
  ASSERT_EQ(users.size(), 4010u);
  std::set<std::int64_t> seqs;
  for (std::size_t i = 0; i < users.size(); ++i) {
    EXPECT_EQ(str(users[i], "user_id"), user_id_for(i));
    EXPECT_EQ(str(users[i], "status"), "SENT");
    seqs.insert(num(users[i], "seq"));
  }
  EXPECT_EQ(seqs.size(), 4010u);
  EXPECT_EQ(read_delivery_log(delivery_log()).size(), 4010u);
}

TEST_F(RestartTest, Kill9InTheMiddleOfAStreamKeepsWhatWasCommitted) {
  const std::string id = create_job(api(), email_job_spec());
  ingest_json(api(), id, email_users(0, 10));
  // 25 000 lines of a body announced larger, left open: two chunks of
  // 10 000 are committed while the server waits for the rest.
  const std::string body = email_users_ndjson(10, 25'000);
  RawConnection c(port());
  c.send_all(request_head("POST", "/v1/jobs/" + id + "/users", "application/x-ndjson",
                          body.size() + 1'000'000));
  c.send_all(body);
  auto committed =
      wait_for_job(api(), id, [](const json::object& j) { return num(j, "unique") >= 20'010; });
  EXPECT_EQ(num(committed, "unique"), 20'010);

  kill9_and_restart();

  auto job = get_job(api(), id);
  EXPECT_EQ(counters_snapshot(job), counters_snapshot(committed));
  EXPECT_EQ(str(job, "status"), "CREATED");
  auto users = list_all_users(api(), id, 1000);
  ASSERT_EQ(users.size(), 20'010u);
  for (std::size_t i = 0; i < users.size(); ++i)
    ASSERT_EQ(str(users[i], "user_id"), user_id_for(i));
  // The client retries the whole stream: only the rest is added.
  auto retry = ingest_ndjson(api(), id, body);
  EXPECT_EQ(num(retry, "accepted"), 5'000);
  EXPECT_EQ(num(retry, "duplicates"), 20'000);
  EXPECT_EQ(num(get_job(api(), id), "unique"), 25'010);
}

TEST_F(RestartTest, JobKilledMidRunResumesAndSendsEachRecipientUnderOneId) {
  constexpr std::int64_t kUsers = 6000;
  auto spec = email_job_spec();
  spec["rate_limit"] = 1000;
  const std::string id = create_job(api(), spec);
  EXPECT_EQ(num(ingest_ndjson(api(), id, email_users_ndjson(0, kUsers)), "accepted"), kUsers);
  run_job(api(), id);
  auto midway = wait_for_job(api(), id, [](const json::object& j) {
    return num(j, "sent") >= 1000 || str(j, "status") != "PROCESSING";
  });
  ASSERT_EQ(str(midway, "status"), "PROCESSING")
      << "finished before the kill: " << json::serialize(midway);

  kill9_and_restart();

  auto resumed = get_job(api(), id);
  EXPECT_TRUE(counters_add_up(resumed));
  EXPECT_TRUE(str(resumed, "status") == "PROCESSING" || str(resumed, "status") == "COMPLETED")
      << json::serialize(resumed);
  // What was counted as sent before the kill stays counted.
  EXPECT_GE(num(resumed, "sent"), num(midway, "sent")) << json::serialize(resumed);
  // Nothing said "run" again: the job resumes by itself.
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"});
  ASSERT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_TRUE(counters_add_up(done));
  EXPECT_EQ(num(done, "unique"), kUsers);
  EXPECT_EQ(num(done, "sent"), kUsers);
  EXPECT_EQ(num(done, "sent"), num(done, "unique"));
  EXPECT_EQ(num(done, "pending") + num(done, "enqueued") + num(done, "failed"), 0);

  // The delivery log: everyone at least once (a window cut off by the kill
  // may be sent again), every line of a seq with the same message id, no id
  // on two seqs.
  auto lines = read_delivery_log(delivery_log());
  EXPECT_GE(lines.size(), static_cast<std::size_t>(kUsers));
  std::map<std::int64_t, std::string> id_of_seq;
  std::map<std::string, std::int64_t> seq_of_id;
  std::map<std::int64_t, std::string> to_of_seq;
  for (const auto& l : lines) {
    ASSERT_EQ(str(l, "job_id"), id);
    auto seq = num(l, "seq");
    auto mid = str(l, "message_id");
    auto [s, fresh_seq] = id_of_seq.emplace(seq, mid);
    EXPECT_EQ(s->second, mid) << "seq " << seq << " was sent under two message ids";
    auto [m, fresh_id] = seq_of_id.emplace(mid, seq);
    EXPECT_EQ(m->second, seq) << "message id " << mid << " was used for two seqs";
    auto [t, fresh_to] = to_of_seq.emplace(seq, str(l, "to"));
    EXPECT_EQ(t->second, str(l, "to")) << "seq " << seq << " went to two addresses";
  }
  EXPECT_EQ(id_of_seq.size(), static_cast<std::size_t>(kUsers));

  // Every recipient: SENT, with the id it was delivered under.
  auto users = list_all_users(api(), id, 1000);
  ASSERT_EQ(users.size(), static_cast<std::size_t>(kUsers));
  for (std::size_t i = 0; i < users.size(); ++i) {
    const auto& u = users[i];
    EXPECT_EQ(str(u, "user_id"), user_id_for(i));
    EXPECT_EQ(str(u, "status"), "SENT") << json::serialize(u);
    auto it = id_of_seq.find(num(u, "seq"));
    ASSERT_NE(it, id_of_seq.end()) << "never delivered: " << json::serialize(u);
    EXPECT_EQ(str(u, "message_id"), it->second) << json::serialize(u);
    EXPECT_EQ(to_of_seq[num(u, "seq")], email_for(i));
  }
}

TEST_F(RestartTest, ScheduledJobSurvivesKill9AndStartsAtItsTime) {
  auto spec = email_job_spec();
  const std::string schedule_at = rfc3339_from_now(4s);
  spec["schedule_at"] = schedule_at;
  const std::string id = create_job(api(), spec);
  ingest_json(api(), id, email_users(0, 10));
  auto ran = run_job(api(), id);
  ASSERT_EQ(str(ran, "status"), "SCHEDULED") << json::serialize(ran);
  const std::string stored_at = str(ran, "schedule_at");
  // A second job, an hour away: it must still be waiting with nothing sent
  // after the restart and after the first ran, however slow the machine.
  auto far = email_job_spec();
  far["schedule_at"] = rfc3339_from_now(std::chrono::hours(1));
  const std::string later = create_job(api(), far);
  ingest_json(api(), later, email_users(100, 10));
  ASSERT_EQ(str(run_job(api(), later), "status"), "SCHEDULED");

  kill9_and_restart();

  auto after = get_job(api(), id);
  EXPECT_EQ(str(after, "schedule_at"), stored_at);
  EXPECT_EQ(str(get_job(api(), later), "status"), "SCHEDULED");
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"});
  ASSERT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_EQ(num(done, "sent"), 10);
  EXPECT_GE(str(done, "started_at"), stored_at)
      << "started before its time: " << json::serialize(done);
  EXPECT_EQ(read_delivery_log(delivery_log()).size(), 10u) << "only the first job's messages went out";
  auto waiting = get_job(api(), later);
  EXPECT_EQ(str(waiting, "status"), "SCHEDULED") << json::serialize(waiting);
  EXPECT_EQ(num(waiting, "sent"), 0);
}

TEST_F(RestartTest, PausedJobStaysPausedAcrossKill9) {
  auto spec = email_job_spec();
  spec["rate_limit"] = 1000;
  const std::string id = create_job(api(), spec);
  ingest_ndjson(api(), id, email_users_ndjson(0, 3000));
  run_job(api(), id);
  wait_for_job(api(), id, [](const json::object& j) { return num(j, "sent") >= 200; });
  auto paused = require(job_action(api(), id, "pause"), 200, "pause");
  ASSERT_EQ(str(paused, "status"), "PAUSED") << json::serialize(paused);
  // Work already handed over when the pause came may still settle; a turn's
  // unsent recipients stay ENQUEUED (api.md), so wait for the counters to
  // stop moving (the same in two reads 300 ms apart), not for enqueued == 0.
  std::string last;
  auto settled = wait_for_job(api(), id, [&](const json::object& j) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto now = counters_snapshot(j);
    bool same = now == last;
    last = now;
    return same;
  });

  kill9_and_restart();

  auto after = get_job(api(), id);
  EXPECT_EQ(str(after, "status"), "PAUSED") << json::serialize(after);
  EXPECT_EQ(counters_snapshot(after), counters_snapshot(settled));
  EXPECT_LT(num(after, "sent"), 3000);
  EXPECT_EQ(str(require(job_action(api(), id, "resume"), 200, "resume"), "status"), "PROCESSING");
  auto done = wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED", "CANCELLED"});
  ASSERT_EQ(str(done, "status"), "COMPLETED") << json::serialize(done);
  EXPECT_EQ(num(done, "sent"), 3000);
  std::set<std::int64_t> seqs;
  for (const auto& l : read_delivery_log(delivery_log())) seqs.insert(num(l, "seq"));
  EXPECT_EQ(seqs.size(), 3000u);
}

// `crier serve` promises that its first line of stdout is "crier listening
// on http://HOST:PORT", also when recovery has jobs to log about (logs go to
// stderr).
TEST_F(RestartAtDefaultLogLevelTest, RestartWithAJobToRecoverNamesItsPortFirst) {
  auto spec = email_job_spec();
  spec["schedule_at"] = "2099-01-01T00:00:00Z";
  const std::string id = create_job(api(), spec);
  ingest_json(api(), id, email_users(0, 1));
  ASSERT_EQ(str(run_job(api(), id), "status"), "SCHEDULED");
  kill9_and_restart();  // throws: the first line is the "recovering job" log line
  EXPECT_EQ(str(get_job(api(), id), "status"), "SCHEDULED");
}

}  // namespace
}  // namespace crier::e2e
