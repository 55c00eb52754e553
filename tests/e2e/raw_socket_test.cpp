// Requests the test client cannot make: a body cut off in the middle, and a
// Content-Length over the limit that the server must refuse before reading
// the body. Written straight to a TCP socket.
#include <fmt/format.h>

#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/raw_connection.h"

namespace crier::e2e {
namespace {

using RawSocketTest = CrierTest;

TEST_F(RawSocketTest, CutOffStreamKeepsWhatWasCommittedAndSaysSo) {
  const std::string id = create_job(api(), email_job_spec());
  ingest_json(api(), id, email_users(0, 10));
  // 25 000 users (more than one committed chunk of a stream), then the body
  // ends 1 000 000 bytes short of its Content-Length.
  const std::string body = email_users_ndjson(10, 25'000);
  {
    RawConnection c(port());
    c.send_all(request_head("POST", "/v1/jobs/" + id + "/users", "application/x-ndjson",
                            body.size() + 1'000'000));
    c.send_all(body);
    c.close_write();
    auto r = parse_response(c.read_until_closed());
    expect_error(r, 400, "incomplete_body");
    auto answer = r.object();
    ASSERT_TRUE(answer.contains("ingested")) << r.describe();
    const auto& ingested = answer.at("ingested").as_object();
    // Whatever it says it kept is exactly what the job shows.
    auto job = get_job(api(), id);
    EXPECT_TRUE(counters_add_up(job));
    EXPECT_EQ(num(job, "unique"), 10 + num(ingested, "accepted")) << r.describe() << "\n"
                                                                  << json::serialize(job);
    EXPECT_EQ(num(job, "received"), num(ingested, "received_total"));
    // Streams commit every 10 000 users (docs/api.md, "Streaming semantics").
    EXPECT_EQ(num(ingested, "accepted"), 20'000) << r.describe();
    auto users = list_all_users(api(), id, 1000);
    ASSERT_EQ(static_cast<std::int64_t>(users.size()), num(job, "unique"));
    for (std::size_t i = 0; i < users.size(); ++i)
      ASSERT_EQ(str(users[i], "user_id"), user_id_for(i));
  }
  // The job still takes users; a retry of the whole stream only adds the rest.
  auto retry = ingest_ndjson(api(), id, body);
  auto job = get_job(api(), id);
  EXPECT_EQ(num(job, "unique"), 25'010);
  EXPECT_EQ(num(retry, "accepted") + num(retry, "duplicates"), 25'000);
  run_job(api(), id);
  EXPECT_EQ(str(wait_for_status(api(), id, {"COMPLETED", "PARTIAL", "FAILED"}), "status"),
            "COMPLETED");
}

TEST_F(RawSocketTest, ContentLengthOverTheLimitIs413BeforeTheBodyIsRead) {
  const std::string id = create_job(api(), email_job_spec());
  ingest_json(api(), id, email_users(0, 3));
  const auto before = counters_snapshot(get_job(api(), id));
  constexpr std::uint64_t kOverDefaultLimit = (64ull << 20) + 1;
  for (auto target : {std::string("/v1/jobs"), "/v1/jobs/" + id + "/users"}) {
    SCOPED_TRACE(target);
    RawConnection c(port());
    c.send_all(request_head("POST", target, "application/json", kOverDefaultLimit));
    c.send_all("{\"users\":[");  // a start, never the rest
    auto r = parse_response(c.read_until_closed());
    expect_error(r, 413, "body_too_large");
  }
  EXPECT_EQ(counters_snapshot(get_job(api(), id)), before);
  EXPECT_EQ(require(api().get("/v1/jobs"), 200, "list").at("jobs").as_array().size(), 1u);
}

TEST_F(RawSocketTest, MalformedHttpIs400AndTheServerKeepsServing) {
  RawConnection c(port());
  c.send_all("THIS IS NOT HTTP\r\n\r\n");
  auto raw = c.read_until_closed();
  auto r = parse_response(raw);
  EXPECT_EQ(r.status, 400) << raw;
  EXPECT_EQ(r.error_code(), "invalid_http") << raw;
  EXPECT_EQ(api().get("/healthz").status, 200);
  EXPECT_EQ(require(api().get("/v1/jobs"), 200, "list").at("jobs").as_array().size(), 0u);
}

// Requests sent back to back in one write: a JSON batch far larger than the
// connection's read buffer, a small one, then a status read. Each is answered
// in order, whole, on the one connection (the buffer grows for a body and
// shrinks after it, keeping the bytes of the requests behind).
TEST_F(RawSocketTest, PipelinedRequestsAfterALargeBodyAreAnsweredInOrder) {
  const std::string id = create_job(api(), email_job_spec());
  const std::string big = json::serialize(json::object{{"users", email_users(0, 6'000)}});
  const std::string small = json::serialize(json::object{{"users", email_users(6'000, 3)}});
  ASSERT_GT(big.size(), 256u * 1024);  // more than one body chunk, and than the read buffer
  const std::string path = "/v1/jobs/" + id + "/users";
  RawConnection c(port());
  c.send_all(request_head("POST", path, "application/json", big.size()) + big +
             request_head("POST", path, "application/json", small.size()) + small +
             fmt::format("GET /v1/jobs/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
                         "Connection: close\r\n\r\n",
                         id, kKeyA));
  std::string raw = c.read_until_closed();
  std::vector<HttpResponse> answers;
  while (!raw.empty()) {
    auto r = parse_response(raw);
    const auto head_end = raw.find("\r\n\r\n");
    raw.erase(0, head_end + 4 + std::stoul(r.header("content-length")));
    answers.push_back(std::move(r));
  }
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].status, 200) << answers[0].describe();
  EXPECT_EQ(num(answers[0].object(), "accepted"), 6'000) << answers[0].describe();
  EXPECT_EQ(answers[1].status, 200) << answers[1].describe();
  EXPECT_EQ(num(answers[1].object(), "accepted"), 3) << answers[1].describe();
  EXPECT_EQ(answers[2].status, 200) << answers[2].describe();
  EXPECT_EQ(num(answers[2].object(), "unique"), 6'003) << answers[2].describe();
  auto users = list_all_users(api(), id, 1000);
  ASSERT_EQ(users.size(), 6'003u);
  EXPECT_EQ(str(users[6'002], "user_id"), user_id_for(6'002));
}

// HEAD answers carry the headers of a GET, Content-Length included, and no
// body: on a kept-alive connection the next answer starts right after the
// head (a body sent anyway would be read as the start of the next answer).
TEST_F(RawSocketTest, HeadAnswersCarryNoBody) {
  RawConnection c(port());
  c.send_all("HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
             "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
             "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string raw = c.read_until_closed();
  std::vector<HttpResponse> heads;
  for (int i = 0; i < 2; ++i) {
    auto r = parse_response(raw);
    raw.erase(0, raw.find("\r\n\r\n") + 4);  // the head only: no body follows
    heads.push_back(std::move(r));
  }
  EXPECT_EQ(heads[0].status, 200);
  EXPECT_EQ(heads[0].header("content-length"), std::to_string(std::string_view(R"({"status":"ok"})").size()));
  EXPECT_EQ(heads[1].status, 200);
  EXPECT_EQ(heads[1].header("content-type"), "text/html; charset=utf-8");
  EXPECT_GT(std::stoul(heads[1].header("content-length")), 0u);
  auto get = parse_response(raw);
  EXPECT_EQ(get.status, 200) << raw;
  EXPECT_EQ(get.body, R"({"status":"ok"})") << raw;
}

}  // namespace
}  // namespace crier::e2e
