// Request targets ("/path?query") as the server reads them (read_target:
// Boost.URL's origin form, percent-decoding), then routed as GET requests
// of the fuzz tenant: every listing's paging, filters and cursors, and every
// path the router matches. "$JOB" in the input stands for the fuzz job's
// id, so the corpus can reach a real job's pages.
#include <cstdint>
#include <string>

#include "api/request_target.h"
#include "engine/ids.h"
#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crier;
  auto& world = fuzz::FuzzWorld::get();
  std::string target(reinterpret_cast<const char*>(data), size);
  const std::string job = job_id_string(world.job().key);
  for (auto at = target.find("$JOB"); at != std::string::npos; at = target.find("$JOB", at + job.size()))
    target.replace(at, 4, job);

  api::ApiRequest req;
  if (!api::read_target(target, req)) return 0;  // 400 invalid_path
  if (req.path.empty() || req.path[0] != '/') fuzz::fail("an origin-form target gave a relative path", target);
  req.method = "GET";
  req.authorization = std::string("Bearer ") + fuzz::kApiKey;
  req.request_id = "req_fuzz";
  world.send(req);  // fails on a 500
  return 0;
}
