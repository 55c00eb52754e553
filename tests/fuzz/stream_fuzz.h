// The streamed user bodies (NDJSON, CSV) as the server feeds them: through
// Router::open_stream, in chunks, then finish. The first input byte sets the
// chunk size (1 to 256 bytes), so the fuzzer also explores where chunks cut
// lines, quotes and multi-byte characters.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>
#include <variant>

#include "api/ingest/body_stream.h"
#include "engine/ids.h"
#include "tests/fuzz/fuzz_world.h"

namespace crier::fuzz {

// `path`: the stream's target; empty: the fuzz job's users. The profile
// import's answer must count every record it read once.
inline void fuzz_stream(const std::uint8_t* data, std::size_t size, const char* content_type,
                        std::string_view path = {}) {
  if (size == 0) return;
  auto& world = FuzzWorld::get();
  std::size_t chunk = std::size_t{data[0]} + 1;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  api::ApiRequest req;
  req.method = "POST";
  req.path = path.empty() ? "/v1/jobs/" + job_id_string(world.job().key) + "/users" : std::string(path);
  req.authorization = std::string("Bearer ") + kApiKey;
  req.content_type = content_type;
  req.request_id = "req_fuzz";
  auto opened = world.router().open_stream(req);
  if (auto* answer = std::get_if<api::ApiResponse>(&opened)) fail("the stream was not opened", answer->body);
  auto stream = std::move(std::get<std::unique_ptr<api::BodyStream>>(opened));

  api::ApiResponse answer;
  bool aborted = false;
  while (!body.empty()) {
    auto piece = body.substr(0, std::min(chunk, body.size()));
    body.remove_prefix(piece.size());
    if (auto r = stream->feed(piece); !r) {
      answer = stream->abort(r.error());
      aborted = true;
      break;
    }
  }
  if (!aborted) answer = stream->finish();
  // Every answer is a JSON object, success (200) or a client error (4xx).
  if (answer.status >= 500) fail("a stream answered a server error", answer.body);
  boost::system::error_code ec;
  auto v = boost::json::parse(answer.body, ec);
  if (ec || !v.is_object()) fail("a stream's answer is not a JSON object", answer.body);
  if (!path.empty() && answer.status == 200) {
    const auto& o = v.as_object();
    auto n = [&](const char* k) { return o.contains(k) && o.at(k).is_int64() ? o.at(k).as_int64() : -1; };
    if (n("received") != n("created") + n("updated") + n("rejected_count") || n("created") < 0)
      fail("the import's counts do not add up", answer.body);
  }
}

}  // namespace crier::fuzz
