// Structured log lines through spdlog, the one logger: an event with named
// fields, written as one JSON object per line with --log-format json (every
// other log line too, its text as "msg"), or as "text key=value ..." by
// default, for people. The format is the logger's setting, set once at
// start-up with the logger itself.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crier::api {

enum class LogFormat { text, json };
std::optional<LogFormat> parse_log_format(std::string_view s);  // "text" or "json"

// Makes the default logger write `format`; before any other thread logs.
void set_log_format(LogFormat format);
LogFormat log_format();

// One event's line. Build it, then write() it; nothing is formatted when
// the logger would drop the level (check enabled() before costly fields).
class LogLine {
 public:
  // `event` names the line's kind ("request", "job"); `text` is what the
  // human format shows first (the JSON one has it as "msg").
  LogLine(std::string_view event, std::string_view text);
  static bool enabled(spdlog::level::level_enum level);

  LogLine& add(std::string_view key, std::string_view value);
  LogLine& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  LogLine& add(std::string_view key, std::int64_t value);
  LogLine& add(std::string_view key, std::uint64_t value);
  LogLine& add(std::string_view key, int value) {
    return add(key, static_cast<std::int64_t>(value));
  }
  LogLine& add(std::string_view key, double value);
  void write(spdlog::level::level_enum level);

 private:
  void key(std::string_view key);  // the separator and the key, in the line's format
  bool json_;
  std::string out_;
};

}  // namespace crier::api
