// CSV framing (libcsv), shared by the streamed readers (users, profiles): a
// body fed chunk by chunk is cut into rows of fields, the header row
// included; a row over `max_row_bytes` stops the stream (413
// line_too_long), an open quoted field included, before libcsv buffers it.
#pragma once

#include <csv.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.h"

namespace crier::api::ingest {

class CsvRows {
 public:
  // Every row, in order (`row_no` 1-based, the header is row 1; a blank line
  // is one empty field). An error stops the stream: feed or finish returns
  // it, and no row is handed on after it.
  using OnRow = std::function<Result<void>(std::vector<std::string>& fields, std::size_t row_no)>;
  CsvRows(std::size_t max_row_bytes, OnRow on_row);
  ~CsvRows();
  CsvRows(const CsvRows&) = delete;
  CsvRows& operator=(const CsvRows&) = delete;

  Result<void> feed(std::string_view chunk);
  // The last row, when the body does not end with a newline.
  Result<void> finish();

 private:
  static void on_field(void* field, std::size_t size, void* self);
  static void on_row(int, void* self);
  void row();

  std::size_t max_row_bytes_;
  OnRow on_row_;
  csv_parser parser_{};
  std::vector<std::string> fields_;
  std::optional<Error> error_;
  std::size_t row_no_ = 0;
  std::size_t row_bytes_ = 0;  // fed since the last row ended
  bool row_ended_ = false;     // a row ended in the piece being parsed
};

// Whether every field is UTF-8 (what the answers carry as JSON strings).
bool fields_are_utf8(const std::vector<std::string>& fields);
// A header name as written, without the UTF-8 BOM of the body's first one.
std::string header_name(std::string name, bool first);

}  // namespace crier::api::ingest
