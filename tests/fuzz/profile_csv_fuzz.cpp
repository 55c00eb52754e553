// CSV profile imports (POST /v1/profiles/import): a header of members,
// subscriptions.<channel> and attribute columns, then one profile per row.
#include "tests/fuzz/stream_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  crier::fuzz::fuzz_stream(data, size, "text/csv", "/v1/profiles/import");
  return 0;
}
