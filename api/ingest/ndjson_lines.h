// NDJSON framing, shared by the streamed readers (users, profiles): a body
// fed chunk by chunk is cut into lines, each handed on with the padding
// simdjson may read past its end; blank lines are skipped, a trailing CR is
// dropped, and a line over `max_line_bytes` stops the stream (413
// line_too_long) without being buffered further.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "engine/result.h"

namespace crier::api::ingest {

class NdjsonLines {
 public:
  // A line without its end; `line_no` is 1-based over every line, blank
  // ones included. An error stops the stream: feed or finish returns it.
  using OnLine = std::function<Result<void>(simdjson::padded_string_view line, std::size_t line_no)>;
  NdjsonLines(std::size_t max_line_bytes, OnLine on_line)
      : max_line_bytes_(max_line_bytes), on_line_(std::move(on_line)) {}

  Result<void> feed(std::string_view chunk);
  // The last line, when the body does not end with a newline.
  Result<void> finish();

 private:
  Result<void> line(std::size_t begin, std::size_t end);

  std::size_t max_line_bytes_;
  OnLine on_line_;
  std::string buf_, line_copy_;
  std::size_t line_no_ = 0;
};

}  // namespace crier::api::ingest
