// Delivery receipts (POST /v1/receipts/{provider}): one receipt or
// {"receipts": [...]}, message ids decoded into (job, seq). "$MSG0" and
// "$MSG1" in the input stand for message ids of the fuzz job's first two
// users, so the corpus can reach real recipients' state changes.
#include <cstdint>
#include <string>

#include "engine/ids.h"
#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crier;
  auto& world = fuzz::FuzzWorld::get();
  std::string body(reinterpret_cast<const char*>(data), size);
  for (int seq : {0, 1}) {
    const std::string placeholder = "$MSG" + std::to_string(seq);
    const std::string id = message_id(world.job().key, static_cast<std::uint64_t>(seq));
    for (auto at = body.find(placeholder); at != std::string::npos; at = body.find(placeholder, at + id.size()))
      body.replace(at, placeholder.size(), id);
  }
  world.send("POST", "/v1/receipts/webhook", body);  // fails on a 500
  return 0;
}
