// The HTTP/1.1 server (Boost.Beast): one coroutine per connection on an I/O
// pool; handlers that write (ingest, create, transitions) hop to a writer
// pool so reads (status, paging) never wait behind an fsync. An answer that
// is a stream (ApiResponse::stream: Server-Sent Events) is written chunked
// as it comes, and ends its connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "api/router.h"
#include "engine/result.h"

namespace crier::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port
  unsigned io_threads = 2;
  unsigned writer_threads = 2;
  // A kept-alive connection waiting for its next request is closed after
  // this long.
  std::chrono::seconds idle_timeout{60};
  // From a request's first byte to its last (headers and body). Headers not
  // complete by then: the connection is closed; a body not complete by
  // then: 408 request_timeout.
  std::chrono::seconds request_timeout{60};
  // A body must arrive at no less than min_body_rate bytes/s, judged over
  // each min_rate_window (408 request_timeout below it): a client trickling
  // a body cannot hold a connection until request_timeout.
  std::size_t min_body_rate = 1024;
  std::chrono::seconds min_rate_window{10};
  // Open connections; beyond it a new connection is answered 503
  // too_many_connections and closed. An event stream is a connection too
  // (and has a cap of its own: WatchOptions::max_watchers).
  std::size_t max_connections = 10'000;
  // A streamed answer (Server-Sent Events) has no whole-request deadline:
  // each write of it must complete within this, or the client is dropped
  // (one that stopped reading must not hold a connection for ever).
  std::chrono::seconds stream_write_timeout{30};
};

class Server {
 public:
  Server(Router& router, ServerOptions options);
  ~Server();

  // Binds and starts serving on background threads; returns the bound port.
  Result<unsigned short> start();
  // Stops accepting, closes connections and joins the threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crier::api
