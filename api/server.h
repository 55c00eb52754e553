// The HTTP/1.1 server (Boost.Beast): one coroutine per connection on an I/O
// pool; handlers that write (ingest, create, transitions) hop to a writer
// pool so reads (status, paging) never wait behind an fsync.
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
  std::chrono::seconds idle_timeout{60};
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
