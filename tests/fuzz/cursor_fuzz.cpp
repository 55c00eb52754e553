// Paging cursors (?cursor=): opaque base64url with a check value. Whatever a
// client sends decodes to nothing or to a position that encodes back to a
// cursor naming the same position.
#include <cstdint>
#include <string>
#include <string_view>

#include "api/cursor.h"
#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crier;
  std::string_view cursor(reinterpret_cast<const char*>(data), size);
  JobKey job{};
  for (std::size_t i = 0; i < job.size(); ++i) job[i] = static_cast<std::uint8_t>(i * 7 + 1);

  if (auto seq = api::decode_seq_cursor(job, cursor)) {
    auto again = api::decode_seq_cursor(job, api::encode_seq_cursor(job, *seq));
    if (again != seq) fuzz::fail("a seq cursor does not round-trip", cursor);
  }
  for (std::string_view scope : {"jobs:fuzz", "templates:fuzz", ""}) {
    if (auto position = api::decode_bytes_cursor(scope, cursor)) {
      auto again = api::decode_bytes_cursor(scope, api::encode_bytes_cursor(scope, *position));
      if (again != position) fuzz::fail("a bytes cursor does not round-trip", cursor);
    }
  }
  return 0;
}
