#include "api/ingest/ndjson_lines.h"

#include <fmt/format.h>

namespace crier::api::ingest {

Result<void> NdjsonLines::feed(std::string_view chunk) {
  buf_.append(chunk);
  std::size_t start = 0;
  for (;;) {
    auto nl = buf_.find('\n', start);
    if (nl == std::string::npos) break;
    if (auto r = line(start, nl); !r) return r;
    start = nl + 1;
  }
  buf_.erase(0, start);
  if (buf_.size() > max_line_bytes_)
    return make_error(ErrorKind::too_large, "line_too_long",
                      fmt::format("line {} is longer than {} bytes", line_no_ + 1, max_line_bytes_));
  return {};
}

Result<void> NdjsonLines::finish() {
  if (buf_.empty()) return {};
  buf_.push_back('\n');
  auto r = line(0, buf_.size() - 1);
  buf_.clear();
  return r;
}

Result<void> NdjsonLines::line(std::size_t begin, std::size_t end) {
  ++line_no_;
  // A whole line may arrive within one chunk: it is held to the limit too,
  // so that whether a line is refused does not depend on where chunks end.
  if (end - begin > max_line_bytes_)
    return make_error(ErrorKind::too_large, "line_too_long",
                      fmt::format("line {} is longer than {} bytes", line_no_, max_line_bytes_));
  std::size_t stop = end;
  if (stop > begin && buf_[stop - 1] == '\r') --stop;
  std::string_view text(buf_.data() + begin, stop - begin);
  if (text.find_first_not_of(" \t") == std::string_view::npos) return {};  // blank lines are skipped
  // The line sits in buf_ with the rest of the buffer after it: the parser
  // may read that far as padding; make sure there is room.
  if (buf_.capacity() - begin < text.size() + simdjson::SIMDJSON_PADDING) {
    line_copy_.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    line_copy_.assign(text);
    return on_line_(simdjson::padded_string_view(line_copy_.data(), line_copy_.size(), line_copy_.capacity()),
                    line_no_);
  }
  return on_line_(simdjson::padded_string_view(text.data(), text.size(), buf_.capacity() - begin), line_no_);
}

}  // namespace crier::api::ingest
