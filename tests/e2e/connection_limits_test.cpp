// What a client gets before it has proven anything: authentication on the
// headers before a body is read, a cap on connections, a deadline for the
// whole request and a minimum rate for bodies (api/server.cpp). Raw sockets
// against the real server, with small configured limits so the tests stay
// fast.
#include <fmt/format.h>

#include <memory>
#include <thread>
#include <vector>

#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/raw_connection.h"

namespace crier::e2e {
namespace {

using namespace std::chrono_literals;

std::string head_with_key(std::string_view target, std::string_view key, std::uint64_t length,
                          std::string_view extra = {}) {
  return fmt::format("POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
                     "Content-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                     target, key, length, extra);
}

// Sends `piece` every `every` until the server answers (or `limit` passes);
// returns what it answered.
std::string trickle_until_answered(RawConnection& c, std::string_view piece, std::chrono::milliseconds every,
                                   std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    try {
      c.send_all(piece);
    } catch (const std::exception&) {
      break;  // the server closed after answering
    }
    auto got = c.read_until_closed(every);
    if (!got.empty()) return got + c.read_until_closed(2s);
  }
  return {};
}

using AuthBeforeBodyTest = CrierTest;

TEST_F(AuthBeforeBodyTest, AWrongKeyIs401BeforeTheBodyIsSent) {
  for (std::string target : {"/v1/jobs", "/bulk"}) {
    SCOPED_TRACE(target);
    RawConnection c(port());
    // 10 MB announced (under the 64 MiB limit), none of it sent: the answer
    // comes from the headers alone.
    c.send_all(head_with_key(target, "not-a-key", 10'000'000));
    auto raw = c.read_until_closed(10s);
    ASSERT_FALSE(raw.empty()) << "no answer before the body";
    auto r = parse_response(raw);
    EXPECT_EQ(r.status, 401) << raw;
    if (target == "/v1/jobs") {
      EXPECT_EQ(r.error_code(), "invalid_api_key") << raw;
    }
  }
}

TEST_F(AuthBeforeBodyTest, ExpectContinueWithAWrongKeyGets401Not100) {
  RawConnection c(port());
  c.send_all(head_with_key("/v1/jobs", "not-a-key", 1000, "Expect: 100-continue\r\n"));
  auto raw = c.read_until_closed(10s);
  ASSERT_FALSE(raw.empty());
  EXPECT_EQ(raw.rfind("HTTP/1.1 401", 0), 0u) << raw;
}

class SlowBodyTest : public CrierTest {
 protected:
  std::vector<std::string> server_args() const override {
    return {"--request-timeout", "30", "--min-body-rate", "1024", "--min-rate-window", "1"};
  }
};

TEST_F(SlowBodyTest, ABodyTrickledBelowTheMinimumRateIs408) {
  RawConnection c(port());
  c.send_all(head_with_key("/v1/jobs", kKeyA, 100'000));
  // ~100 bytes/s: far below 1 KiB/s, yet a byte often enough to have
  // reset a per-read timeout forever.
  auto raw = trickle_until_answered(c, "          ", 100ms, 15s);
  ASSERT_FALSE(raw.empty()) << "the trickle was never cut off";
  auto r = parse_response(raw);
  expect_error(r, 408, "request_timeout");
}

TEST_F(SlowBodyTest, ABodyAtAnAcceptableRateIsServed) {
  const std::string body = json::serialize(email_job_spec());
  RawConnection c(port());
  c.send_all(head_with_key("/v1/jobs", kKeyA, body.size()));
  c.send_all(body);
  auto r = parse_response(c.read_until_closed(2s));
  EXPECT_EQ(r.status, 201) << r.describe();
}

class RequestDeadlineTest : public CrierTest {
 protected:
  std::vector<std::string> server_args() const override {
    return {"--request-timeout", "2", "--min-body-rate", "0"};
  }
};

TEST_F(RequestDeadlineTest, ABodyStillArrivingAtTheRequestDeadlineIs408) {
  RawConnection c(port());
  c.send_all(head_with_key("/v1/jobs", kKeyA, 100'000));
  auto raw = trickle_until_answered(c, "          ", 100ms, 15s);
  ASSERT_FALSE(raw.empty()) << "the request was never cut off";
  auto r = parse_response(raw);
  expect_error(r, 408, "request_timeout");
  EXPECT_NE(r.body.find("within 2 s"), std::string::npos) << r.describe();
}

class ConnectionCapTest : public CrierTest {
 protected:
  std::vector<std::string> server_args() const override { return {"--max-connections", "4"}; }
};

TEST_F(ConnectionCapTest, ConnectionsBeyondTheCapAre503AndTheServerRecovers) {
  std::vector<std::unique_ptr<RawConnection>> open;
  std::string refused;
  for (int i = 0; i < 8 && refused.empty(); ++i) {
    open.push_back(std::make_unique<RawConnection>(port()));
    refused = open.back()->read_until_closed(500ms);  // an accepted one says nothing
  }
  ASSERT_FALSE(refused.empty()) << "no connection was refused";
  auto r = parse_response(refused);
  expect_error(r, 503, "too_many_connections");
  EXPECT_EQ(r.header("retry-after"), "1");
  open.clear();
  // Once the others have gone, a new connection is served.
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    RawConnection c(port());
    c.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto raw = c.read_until_closed(2s);
    served = raw.rfind("HTTP/1.1 200", 0) == 0;
    if (!served) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(served);
}

}  // namespace
}  // namespace crier::e2e
