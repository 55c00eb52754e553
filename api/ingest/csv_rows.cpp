#include "api/ingest/csv_rows.h"

#include <fmt/format.h>
#include <simdjson.h>

namespace crier::api::ingest {

CsvRows::CsvRows(std::size_t max_row_bytes, OnRow on_row)
    : max_row_bytes_(max_row_bytes), on_row_(std::move(on_row)) {
  csv_init(&parser_, CSV_APPEND_NULL);
}

CsvRows::~CsvRows() { csv_free(&parser_); }

void CsvRows::on_field(void* field, std::size_t size, void* self) {
  auto* s = static_cast<CsvRows*>(self);
  s->fields_.emplace_back(static_cast<const char*>(field), size);
}

void CsvRows::on_row(int, void* self) { static_cast<CsvRows*>(self)->row(); }

void CsvRows::row() {
  ++row_no_;
  std::vector<std::string> fields = std::move(fields_);
  fields_.clear();
  row_ended_ = true;
  if (error_) return;
  if (auto r = on_row_(fields, row_no_); !r) error_ = r.error();
}

// Counts the bytes fed since the last row ended, whatever they are (an open
// quoted field included: libcsv buffers it without limit). The chunk is fed
// in pieces that end at each CR or LF, the only bytes that can end a row, so
// after each piece either a row just ended or the whole piece belongs to the
// row still open.
Result<void> CsvRows::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    auto end = chunk.find_first_of("\r\n");
    std::size_t n = end == std::string_view::npos ? chunk.size() : end + 1;
    // Checked before the piece is parsed: a row over the limit is never
    // handed on, and libcsv never holds more than the limit.
    if (row_bytes_ + n > max_row_bytes_)
      return make_error(ErrorKind::too_large, "line_too_long",
                        fmt::format("row {} is longer than {} bytes", row_no_ + 1, max_row_bytes_));
    row_ended_ = false;
    if (csv_parse(&parser_, chunk.data(), n, &CsvRows::on_field, &CsvRows::on_row, this) != n)
      return make_error(ErrorKind::invalid, "invalid_csv", csv_strerror(csv_error(&parser_)));
    if (error_) return *error_;
    row_bytes_ = row_ended_ ? 0 : row_bytes_ + n;
    chunk.remove_prefix(n);
  }
  return {};
}

Result<void> CsvRows::finish() {
  csv_fini(&parser_, &CsvRows::on_field, &CsvRows::on_row, this);
  if (error_) return *error_;
  return {};
}

bool fields_are_utf8(const std::vector<std::string>& fields) {
  for (const auto& f : fields)
    if (!simdjson::validate_utf8(f.data(), f.size())) return false;
  return true;
}

std::string header_name(std::string name, bool first) {
  if (first && name.rfind("\xEF\xBB\xBF", 0) == 0) name.erase(0, 3);
  return name;
}

}  // namespace crier::api::ingest
