#include "api/log_line.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

namespace crier::api {
namespace {

// A LogLine's JSON members travel to the formatter as the message, after
// this byte (a C0 control no other message starts with): the formatter
// puts them in the line's object instead of quoting them as "msg".
constexpr char kFieldsMark = '\x1e';

std::atomic<LogFormat> g_format{LogFormat::text};

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (u < 0x20 || u == 0x7f)
      out += fmt::format("\\u{:04x}", u);
    else
      out += c;
  }
  out += '"';
}

// A text value is quoted when it would not read back as one word.
void append_text_value(std::string& out, std::string_view v) {
  bool plain = !v.empty() && v.find_first_of(" \"=\n\t") == std::string_view::npos;
  if (plain)
    out += v;
  else
    append_json_string(out, v);
}

// {"time":"2026-12-05T17:40:00.123Z","level":"info",<fields or "msg">}
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    std::string line;
    line.reserve(msg.payload.size() + 96);
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    line += fmt::format("{{\"time\":\"{:%Y-%m-%dT%H:%M:%S}.{:03d}Z\",\"level\":", fmt::gmtime(secs),
                        static_cast<int>(ms % 1000));
    auto level = spdlog::level::to_string_view(msg.level);
    append_json_string(line, std::string_view(level.data(), level.size()));
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!payload.empty() && payload.front() == kFieldsMark) {
      line += ',';
      line.append(payload.substr(1));
    } else {
      line += ",\"msg\":";
      append_json_string(line, payload);
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view s) {
  if (s == "text") return LogFormat::text;
  if (s == "json") return LogFormat::json;
  return std::nullopt;
}

void set_log_format(LogFormat format) {
  g_format = format;
  if (format == LogFormat::json) spdlog::set_formatter(std::make_unique<JsonFormatter>());
}

LogFormat log_format() { return g_format.load(std::memory_order_relaxed); }

LogLine::LogLine(std::string_view event, std::string_view text)
    : json_(log_format() == LogFormat::json) {
  if (json_) {
    out_ += kFieldsMark;
    out_ += "\"event\":";
    append_json_string(out_, event);
    out_ += ",\"msg\":";
    append_json_string(out_, text);
  } else {
    out_ += text;
  }
}

void LogLine::key(std::string_view key) {
  if (json_) {
    out_ += ',';
    append_json_string(out_, key);
    out_ += ':';
  } else {
    out_ += ' ';
    out_ += key;
    out_ += '=';
  }
}

LogLine& LogLine::add(std::string_view key, std::string_view value) {
  this->key(key);
  if (json_) append_json_string(out_, value);
  else append_text_value(out_, value);
  return *this;
}

LogLine& LogLine::add(std::string_view key, std::int64_t value) {
  this->key(key);
  out_ += std::to_string(value);
  return *this;
}

LogLine& LogLine::add(std::string_view key, std::uint64_t value) {
  return add(key, static_cast<std::int64_t>(value));
}

LogLine& LogLine::add(std::string_view key, double value) {
  this->key(key);
  out_ += fmt::format("{:.3f}", value);
  return *this;
}

bool LogLine::enabled(spdlog::level::level_enum level) {
  return spdlog::default_logger_raw()->should_log(level);
}

void LogLine::write(spdlog::level::level_enum level) { spdlog::log(level, "{}", out_); }

}  // namespace crier::api
