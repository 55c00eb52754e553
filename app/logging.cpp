#include "app/logging.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <array>

#include "api/log_line.h"

namespace crier {
namespace {

Error logging_error(std::string message) {
  return make_error(ErrorKind::invalid, "invalid_config", std::move(message));
}

}  // namespace

Result<spdlog::level::level_enum> parse_log_level(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> kLevels = {
      {
          {"trace", spdlog::level::trace},
          {"debug", spdlog::level::debug},
          {"info", spdlog::level::info},
          {"warn", spdlog::level::warn},
          {"error", spdlog::level::err},
          {"critical", spdlog::level::critical},
          {"off", spdlog::level::off},
      }};
  for (const auto& [name, level] : kLevels)
    if (s == name) return level;
  return logging_error(
      fmt::format("log level '{}' must be trace, debug, info, warn, error, critical or off", s));
}

Result<void> start_logging(std::string_view level, std::string_view format) {
  auto lvl = parse_log_level(level);
  if (!lvl) return lvl.error();
  auto fmt_ = api::parse_log_format(format);
  if (!fmt_) return logging_error(fmt::format("log format '{}' must be text or json", format));
  // JSON lines are for machines: no colour codes in them.
  if (*fmt_ == api::LogFormat::json)
    spdlog::set_default_logger(spdlog::stderr_logger_mt("crier"));
  else
    spdlog::set_default_logger(spdlog::stderr_color_mt("crier"));
  api::set_log_format(*fmt_);
  spdlog::set_level(*lvl);
  return {};
}

Result<std::optional<spdlog::level::level_enum>> reload_log_level(const std::string& path) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return logging_error(fmt::format("{}: {}", path, e.description()));
  }
  auto node = t["server"]["log_level"];
  if (!node) return std::optional<spdlog::level::level_enum>();
  auto s = node.value<std::string>();
  if (!s) return logging_error(fmt::format("{}: server.log_level must be a string", path));
  auto level = parse_log_level(*s);
  if (!level) return level.error();
  return std::optional<spdlog::level::level_enum>(*level);
}

}  // namespace crier
