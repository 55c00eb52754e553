// Job specs (POST /v1/jobs): channel or routing, template or inline content
// (engine/content_json), data, times, rate, provider, callbacks. A spec that
// is accepted must read back: its stored record decodes (GET answers 200).
#include <boost/json.hpp>

#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crier;
  auto& world = fuzz::FuzzWorld::get();
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto created = world.send("POST", "/v1/jobs", body);
  if (created.status != 201) return 0;
  auto v = boost::json::parse(created.body);
  auto id = std::string(v.at("job_id").as_string());
  auto read = world.send("GET", "/v1/jobs/" + id, "");
  if (read.status != 200) fuzz::fail("a created job does not read back", body);
  return 0;
}
