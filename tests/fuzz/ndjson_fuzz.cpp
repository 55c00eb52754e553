// NDJSON user streams (application/x-ndjson): one user object per line.
#include "tests/fuzz/stream_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  crier::fuzz::fuzz_stream(data, size, "application/x-ndjson");
  return 0;
}
