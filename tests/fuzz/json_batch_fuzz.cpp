// The buffered JSON batch, {"users": [...]} (POST /v1/jobs/{id}/users and the
// façades' ingest_json_users), parsed by simdjson ondemand.
#include <boost/json.hpp>

#include <cstdint>
#include <string>

#include "api/ingest/json_reader.h"
#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crier;
  auto& world = fuzz::FuzzWorld::get();
  // No spare capacity after the bytes: the parser must make its own padded
  // copy rather than read past the end.
  std::string body(reinterpret_cast<const char*>(data), size);
  body.shrink_to_fit();
  auto report = api::ingest_json_users(world.ctx(), world.job(), body);
  if (!report) return 0;  // refused whole: invalid_json, missing_field, too_many_users...
  // Every user of the batch has exactly one outcome, and the summary counts
  // the same users.
  const auto& s = report->summary;
  auto count = [&](const char* k) { return s.at(k).to_number<std::int64_t>(); };
  auto total = count("accepted") + count("duplicates") + count("rejected_count");
  if (total != static_cast<std::int64_t>(report->users.size()))
    fuzz::fail("the summary does not count every user", boost::json::serialize(s));
  // A body accepted as a batch is JSON: ondemand skips what it does not
  // read, so this checks that nothing malformed slips through unread.
  boost::system::error_code ec;
  boost::json::parse(body, ec);
  if (ec) fuzz::fail("a batch that is not JSON was accepted", body);
  return 0;
}
