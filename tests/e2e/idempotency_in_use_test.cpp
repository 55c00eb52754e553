// `409 idempotency_key_in_use` through the real server (docs/api.md
// "Idempotency"): while a streamed ingest under a key is still being read,
// any request under the same key is refused, whatever its route; once the
// stream's answer is stored, the same request is answered from the store.
// The stream is held open on a raw socket after more than the server's first
// 256 KiB read of it; the server commits every 1 000 users ([limits]
// stream_commit_users), so the test knows the request is under way (the key
// taken) when the job's `received` moves, not by waiting.
#include <fmt/format.h>

#include <fstream>

#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/raw_connection.h"

namespace crier::e2e {
namespace {

class IdempotencyInUseTest : public CrierTest {
 protected:
  void SetUp() override {
    std::ofstream(scratch_file("crier.toml")) << "[limits]\nstream_commit_users = 1000\n";
    CrierTest::SetUp();
  }
  std::vector<std::string> server_args() const override {
    return {"--config", scratch_file("crier.toml").string()};
  }
};

TEST_F(IdempotencyInUseTest, AKeyIsInUseWhileItsStreamRunsAndReplayedOnceItsAnswerIsStored) {
  const std::string id = create_job(api(), email_job_spec());
  const std::string first_part = email_users_ndjson(0, 5000), rest = email_users_ndjson(5000, 5);
  const std::string target = "/v1/jobs/" + id + "/users";
  const HeaderList key{{"Idempotency-Key", "stream-1"}};

  RawConnection stream(port());
  stream.send_all(fmt::format("POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
                              "Content-Type: application/x-ndjson\r\nIdempotency-Key: stream-1\r\n"
                              "Content-Length: {}\r\n\r\n",
                              target, kKeyA, first_part.size() + rest.size()) +
                  first_part);
  // A chunk committed while the body is still arriving: the request runs.
  wait_for_job(api(), id, [](const json::object& j) { return num(j, "received") >= 1000; });

  // The same key meanwhile: refused, for the same request and for another.
  auto same = api().post(target, first_part + rest, "application/x-ndjson", key);
  expect_error(same, 409, "idempotency_key_in_use");
  auto other = api().post_json("/v1/jobs", email_job_spec(), key);
  expect_error(other, 409, "idempotency_key_in_use");
  EXPECT_EQ(other.header("Idempotent-Replayed"), "");
  // Another key is not held up.
  auto free_key = api().post_json("/v1/jobs", email_job_spec(), {{"Idempotency-Key", "another-key"}});
  EXPECT_EQ(free_key.status, 201) << free_key.describe();

  stream.send_all(rest);
  stream.close_write();
  const auto answered = parse_response(stream.read_until_closed());
  ASSERT_EQ(answered.status, 200) << answered.describe();
  EXPECT_EQ(num(answered.object(), "accepted"), 5005) << answered.body;

  // Stored now: the same request is the stored answer, nothing done twice...
  auto replay = api().post(target, first_part + rest, "application/x-ndjson", key);
  EXPECT_EQ(replay.status, 200) << replay.describe();
  EXPECT_EQ(replay.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(replay.body, answered.body);
  auto job = get_job(api(), id);
  EXPECT_EQ(num(job, "received"), 5005);
  EXPECT_EQ(num(job, "unique"), 5005);
  EXPECT_EQ(num(job, "duplicates"), 0);
  // ...and another request under the key is a reuse, no longer in use.
  expect_error(api().post_json("/v1/jobs", email_job_spec(), key), 409, "idempotency_key_reused");
}

}  // namespace
}  // namespace crier::e2e
