// WebhookSink: an HTTP server that receives webhooks (and HTTP vendor calls)
// and counts them. Tests start one on port 0 and point providers at it; the
// benchmarks use it as the far end; `crier sink` runs one from the shell.
//
// Every POST, on any path, is counted and answered 200 unless a rule says
// otherwise, checked in this order:
//   1. signing secrets are set and the Standard Webhooks signature verifies
//      with none of them → 401 (bad_signatures);
//   2. fail_first > 0 and this is one of the first fail_first attempts for
//      its message id → fail_status (with Retry-After when retry_after_s > 0);
//   3. the body contains permanent_marker → permanent_status.
// A message id is the `webhook-id` header, else `X-Crier-Message-Id`.
// Admin endpoints (not counted): GET /_sink/stats, GET /_sink/requests,
// POST /_sink/reset.
//
// Keep-alive, one coroutine per connection on its own io threads. All
// accessors are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.h"
#include "workers/http_client.h"

namespace crier {

struct SinkOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;  // 0: any free port; see port() after start()
  unsigned threads = 1;
  std::string secret;              // "whsec_..." or raw; empty (and no more): signatures are not checked
  std::vector<std::string> more_secrets;  // also accepted (one receiver for several tenants)
  std::int64_t tolerance_s = 300;  // accepted webhook-timestamp skew
  std::size_t keep_requests = 1000;  // the most recent requests kept for requests()
  int fail_first = 0;                // failures injected per message id before success
  int fail_status = 503;
  int retry_after_s = 0;             // > 0: Retry-After on injected failures
  std::string permanent_marker;      // non-empty: bodies containing it get permanent_status
  int permanent_status = 400;
  std::chrono::milliseconds response_delay{0};  // every counted POST waits this long before its answer
  std::size_t max_body_bytes = 16 << 20;
};

// One received request, as recorded.
struct SinkRequest {
  std::string method;
  std::string target;
  HttpHeaders headers;
  std::string body;
  std::string message_id;  // "" when the request carried none
  int status = 0;          // what the sink answered

  // The first header of that name (any case), or "".
  std::string_view header(std::string_view name) const;
};

struct SinkStats {
  std::uint64_t requests = 0;           // counted POSTs, whatever the answer
  std::uint64_t accepted = 0;           // answered 2xx
  std::uint64_t unique = 0;             // distinct message ids answered 2xx
  std::uint64_t duplicates = 0;         // 2xx answers for an id already answered 2xx
  std::uint64_t bad_signatures = 0;     // answered 401
  std::uint64_t injected_failures = 0;  // answered by fail_first or permanent_marker
  std::uint64_t connections = 0;        // TCP connections accepted
  // The most 2xx answers in any one second (sliding, to the millisecond),
  // over the first 30 minutes since the first one (or since a reset).
  std::uint64_t max_1s_window = 0;
  std::map<std::string, std::uint64_t> paths;  // counted POSTs per path
};

class WebhookSink {
 public:
  explicit WebhookSink(SinkOptions options = {});
  ~WebhookSink();  // stops
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  // Binds and starts serving; the bound port. Errors: invalid_secret,
  // listen_failed. Call once.
  Result<unsigned short> start();
  unsigned short port() const;
  // Accepts signatures by `secret` too from now on (e.g. a tenant's secret
  // read from the server after both started); turns checking on. Errors:
  // invalid_secret. Thread-safe.
  Result<void> add_secret(std::string_view secret);
  // "http://HOST:PORT" + path.
  std::string url(std::string_view path = "/") const;
  // Closes the listener and every connection and joins the threads; the
  // counters stay readable. Idempotent.
  void stop();

  SinkStats stats() const;
  // The most recent requests (at most keep_requests), oldest first.
  std::vector<SinkRequest> requests() const;
  // Forgets every counter, seen id and recorded request.
  void reset();
  // The JSON that GET /_sink/stats answers.
  std::string stats_json() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crier
