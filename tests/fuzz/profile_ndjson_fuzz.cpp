// NDJSON profile imports (POST /v1/profiles/import): one profile object per line.
#include "tests/fuzz/stream_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  crier::fuzz::fuzz_stream(data, size, "application/x-ndjson", "/v1/profiles/import");
  return 0;
}
