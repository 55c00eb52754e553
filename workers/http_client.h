// An HTTP/1.1 client for providers: a bounded pool of keep-alive connections
// per origin (scheme://host:port), http and https (system trust store, SNI,
// host name verification).
//
// The client runs its I/O on one thread of its own. Callers on any executor
// and any thread co_await request() or request_all(); the work hops to the
// client's thread and the answer hops back. That thread is the pool's strand:
// pool state needs no lock, and one thread keeps up with many thousands of
// requests a second, far more than any vendor accepts from one sender.
//
// Transport failures come back as Error values with a stable code:
//   invalid_url     the URL does not parse, or its scheme is not http/https
//   connect_failed  resolving or connecting failed (refused, unreachable)
//   egress_denied   every address the host resolved to is refused by the
//                   client's egress policy (nothing was connected to)
//   tls_failed      the TLS handshake or certificate check failed
//   timeout         no complete answer within the request timeout
//   network_error   the connection broke mid-exchange
//   bad_response    the answer is not HTTP/1.1 or is larger than allowed
//   invalid_method, invalid_header  the request itself cannot be sent (a
//                   header name or value that would break the framing)
// HTTP error statuses are answers, not errors. Nothing here throws.
//
// Destroy the client only when no request is in flight (the dispatcher stops
// its loops before its providers go).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/result.h"
#include "workers/egress_policy.h"

namespace crier {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpClientOptions {
  // Open connections (busy + idle) per origin; further requests queue.
  std::size_t max_connections_per_origin = 32;
  // Per request, from the moment it has a connection: connect, TLS, send and
  // the whole answer. Waiting in the queue for a connection is not counted.
  std::chrono::milliseconds timeout{10'000};
  // Idle keep-alive connections unused for longer are closed, not reused.
  std::chrono::milliseconds idle_timeout{30'000};
  // Larger answers are a bad_response (providers only read the start).
  std::size_t max_response_bytes = 1 << 20;
  std::string user_agent = "crier/0.1";
  // Checked against the address each connection is opened to, after
  // resolving (egress_policy.h); unset: any address (destinations the
  // operator configured, not the tenants).
  std::optional<EgressPolicy> egress;
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // absolute: http(s)://host[:port]/path?query
  HttpHeaders headers;  // sent as given; Host, Content-Length, User-Agent are added
  std::string body;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  // The first header of that name (any case), or "".
  std::string_view header(std::string_view name) const;
};

struct HttpClientStats {
  std::uint64_t requests = 0;             // completed exchanges (any status)
  std::uint64_t connections_opened = 0;   // successful connects (TLS included)
  std::uint64_t reused = 0;               // requests sent on a kept-alive connection
  std::uint64_t stale_retries = 0;        // reused connections found closed, retried once
};

class PooledHttpClient {
 public:
  explicit PooledHttpClient(HttpClientOptions options = {});
  ~PooledHttpClient();
  PooledHttpClient(const PooledHttpClient&) = delete;
  PooledHttpClient& operator=(const PooledHttpClient&) = delete;

  // One exchange. A kept-alive connection that turns out to be closed by the
  // server before it answered is replaced and the request sent once more.
  boost::asio::awaitable<Result<HttpResponse>> request(HttpRequest req);

  // All requests concurrently: up to max_connections_per_origin workers
  // each take the next request as they finish one, keeping their kept-alive
  // connection between requests of the same origin. One result per request,
  // in order.
  boost::asio::awaitable<std::vector<Result<HttpResponse>>> request_all(std::vector<HttpRequest> reqs);

  // Thread-safe snapshot.
  HttpClientStats stats() const;
  const HttpClientOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crier
