// The real parts a fuzz target drives, wired as app/serve.cpp wires them:
// a RocksStore in a temp dir, JobService, ApiContext and Router, built once
// per process (a fuzzer calls its target millions of times) and one CREATED
// email job for the ingest targets. Writes are not synced: a fuzzer's
// store is thrown away, and fsync would cap it at a few hundred runs/s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/context.h"
#include "api/http_types.h"
#include "api/router.h"
#include "engine/job.h"

namespace crier::fuzz {

inline constexpr const char* kApiKey = "key-fuzzfuzz";

class FuzzWorld {
 public:
  static FuzzWorld& get();

  api::ApiContext& ctx() { return *ctx_; }
  api::Router& router() { return *router_; }
  // A CREATED email job of tenant "fuzz" that users can be added to.
  const Job& job() const { return job_; }

  // "METHOD path" with the body (simdjson's padding reserved after it, as
  // the server does), authenticated; aborts when the answer is a 500, the
  // router's answer to an exception that escaped a handler: for input
  // from outside that is a bug, never an answer.
  api::ApiResponse send(std::string method, std::string path, std::string_view body,
                        std::string content_type = "application/json");
  api::ApiResponse send(api::ApiRequest& req);

  ~FuzzWorld();

 private:
  FuzzWorld();
  struct Parts;
  std::unique_ptr<Parts> parts_;
  std::unique_ptr<api::ApiContext> ctx_;
  std::unique_ptr<api::Router> router_;
  Job job_;
};

// Aborts with the message: a fuzz target's own assertion (libFuzzer reports
// the abort and keeps the input; the replay test fails).
[[noreturn]] void fail(std::string_view what, std::string_view detail = {});

}  // namespace crier::fuzz
