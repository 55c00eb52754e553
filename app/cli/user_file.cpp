#include "app/cli/user_file.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace crier::cli {

namespace {
constexpr std::size_t kBufferBytes = 1 << 20;
// No row of the API may exceed 1 MiB; this only stops a runaway quote from
// filling memory before the server gets the chance to say so.
constexpr std::size_t kMaxRowBytes = std::size_t{64} << 20;

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}
}  // namespace

std::optional<UserFormat> user_format(std::string_view format, std::string_view path) {
  if (format == "csv") return UserFormat::csv;
  if (format == "ndjson" || format == "jsonl") return UserFormat::ndjson;
  if (!format.empty()) return std::nullopt;
  if (ends_with(path, ".csv") || ends_with(path, ".CSV")) return UserFormat::csv;
  if (ends_with(path, ".ndjson") || ends_with(path, ".jsonl")) return UserFormat::ndjson;
  return std::nullopt;
}

const char* content_type(UserFormat format) {
  return format == UserFormat::csv ? "text/csv" : "application/x-ndjson";
}

Result<std::unique_ptr<UserFileReader>> UserFileReader::open(const std::string& path, UserFormat format) {
  int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorKind::invalid, "file_unreadable", fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  struct stat st {};
  std::uint64_t size = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) size = static_cast<std::uint64_t>(st.st_size);
  std::unique_ptr<UserFileReader> reader(new UserFileReader(fd, format, size));
  if (format == UserFormat::csv) {
    // The header: the first row that is not blank.
    bool blank = true;
    while (blank) {
      reader->header_.clear();
      auto more = reader->append_row(reader->header_, blank);
      if (!more) return more.error();
      if (!*more) return make_error(ErrorKind::invalid, "invalid_csv_header", fmt::format("{} has no header row", path));
    }
    if (reader->header_.rfind("\xEF\xBB\xBF", 0) == 0) reader->header_.erase(0, 3);
  }
  return reader;
}

UserFileReader::UserFileReader(int fd, UserFormat format, std::uint64_t total_bytes)
    : fd_(fd), format_(format), total_bytes_(total_bytes), buf_(new char[kBufferBytes]) {}

UserFileReader::~UserFileReader() {
  if (fd_ > STDIN_FILENO) ::close(fd_);
}

// read(2), not fread: from a pipe it returns what has arrived, so rows
// written slowly into `crier ingest JOB -` go out in batches as they come.
bool UserFileReader::fill() {
  if (eof_) return false;
  ssize_t n;
  do n = ::read(fd_, buf_.get(), kBufferBytes);
  while (n < 0 && errno == EINTR);
  pos_ = 0;
  len_ = n > 0 ? static_cast<std::size_t>(n) : 0;
  if (n <= 0) {
    eof_ = true;
    error_ = n < 0;
    return false;
  }
  return true;
}

Result<bool> UserFileReader::append_row(std::string& out, bool& blank) {
  const std::size_t start = out.size();
  bool any = false, in_quotes = false, ended = false;
  while (!ended) {
    if (pos_ == len_ && !fill()) break;
    const char* p = buf_.get() + pos_;
    const std::size_t n = len_ - pos_;
    std::size_t i = 0;
    if (format_ == UserFormat::csv) {
      for (; i < n; ++i) {
        if (p[i] == '"') {
          in_quotes = !in_quotes;
        } else if (p[i] == '\n' && !in_quotes) {
          ++i;
          ended = true;
          break;
        }
      }
    } else if (auto* nl = static_cast<const char*>(std::memchr(p, '\n', n))) {
      i = static_cast<std::size_t>(nl - p) + 1;
      ended = true;
    } else {
      i = n;
    }
    out.append(p, i);
    pos_ += i;
    bytes_read_ += i;
    any = true;
    if (out.size() - start > kMaxRowBytes)
      return make_error(ErrorKind::invalid, "row_too_large",
                        fmt::format("row {} is over 64 MiB (an unterminated quote?)", record_ + 1));
  }
  if (error_) return make_error(ErrorKind::internal, "file_unreadable", "reading the users file failed");
  if (!any) return false;
  if (out.back() != '\n') out += '\n';
  ++record_;
  blank = std::string_view(out).substr(start).find_first_not_of(" \t\r\n") == std::string_view::npos;
  return true;
}

Result<bool> UserFileReader::next(UserBatch& batch, std::uint64_t max_rows, std::size_t max_bytes) {
  batch.body = header_;
  batch.rows = 0;
  batch.first_record = record_ + 1;
  bool any = false;
  while (batch.rows < max_rows && (!any || batch.body.size() < max_bytes)) {
    bool blank = false;
    auto more = append_row(batch.body, blank);
    if (!more) return more.error();
    if (!*more) break;
    any = true;
    if (!blank) ++batch.rows;
  }
  return any;
}

Result<std::uint64_t> UserFileReader::skip(std::uint64_t rows) {
  std::uint64_t skipped = 0;
  std::string scratch;
  while (skipped < rows) {
    scratch.clear();
    bool blank = false;
    auto more = append_row(scratch, blank);
    if (!more) return more.error();
    if (!*more) break;
    if (!blank) ++skipped;
  }
  return skipped;
}

}  // namespace crier::cli
