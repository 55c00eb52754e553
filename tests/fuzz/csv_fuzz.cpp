// CSV user streams (text/csv): a header row naming the columns, one user per
// row, parsed by libcsv.
#include "tests/fuzz/stream_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  crier::fuzz::fuzz_stream(data, size, "text/csv");
  return 0;
}
