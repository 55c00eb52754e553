// A users file (CSV or NDJSON, any size) read as batches of whole rows, so
// the CLI can send it as a series of ingest requests without ever holding
// more than one batch: never the whole file.
//
// A row ends at a newline; in CSV, only at one outside a quoted field
// (RFC 4180: a quoted cell may hold newlines, and "" inside quotes toggles
// twice). Every CSV batch starts with the file's header row (a UTF-8 BOM
// dropped), as the API wants a header per request. Blank rows are passed on
// (the server skips them) but not counted as users.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/result.h"

namespace crier::cli {

enum class UserFormat { csv, ndjson };

// "csv" / "ndjson" (also "jsonl"); or, when `format` is empty, from the file's
// extension (.csv; .ndjson, .jsonl). Nothing when neither tells.
std::optional<UserFormat> user_format(std::string_view format, std::string_view path);
// The Content-Type of an ingest body in that format.
const char* content_type(UserFormat format);

struct UserBatch {
  std::string body;                // header (CSV) + whole rows, each ending in '\n'
  std::uint64_t rows = 0;          // users (non-blank rows) in it
  std::uint64_t first_record = 0;  // 1-based row number in the file of its first row (CSV header = row 1)
};

class UserFileReader {
 public:
  // Opens `path` ("-" = stdin). Errors: file_unreadable, invalid_csv_header (no header row).
  static Result<std::unique_ptr<UserFileReader>> open(const std::string& path, UserFormat format);
  ~UserFileReader();
  UserFileReader(const UserFileReader&) = delete;
  UserFileReader& operator=(const UserFileReader&) = delete;

  // The next batch of at most `max_rows` users and (beyond its first row)
  // `max_bytes`. Returns false at the end of the file. Errors: row_too_large
  // (a row over 64 MiB: an unterminated quote, most likely), file_unreadable.
  Result<bool> next(UserBatch& batch, std::uint64_t max_rows, std::size_t max_bytes);
  // Reads past `rows` users without keeping them (to resume an upload).
  // Returns how many were skipped (fewer at the end of the file).
  Result<std::uint64_t> skip(std::uint64_t rows);

  std::uint64_t bytes_read() const { return bytes_read_; }
  // The file's size, or 0 when it is not a regular file (a pipe).
  std::uint64_t total_bytes() const { return total_bytes_; }
  UserFormat format() const { return format_; }

 private:
  UserFileReader(int fd, UserFormat format, std::uint64_t total_bytes);
  // Appends the next row (with a final '\n') to `out`; false at the end.
  Result<bool> append_row(std::string& out, bool& blank);
  bool fill();

  int fd_;
  UserFormat format_;
  std::uint64_t total_bytes_;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t record_ = 0;  // rows read so far, the header and blank rows included
  std::string header_;
  std::unique_ptr<char[]> buf_;
  std::size_t pos_ = 0, len_ = 0;
  bool eof_ = false, error_ = false;
};

}  // namespace crier::cli
