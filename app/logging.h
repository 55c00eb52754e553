// The logger's settings: level and format from the config (flags over the
// file), checked at start-up, and the level again on SIGHUP.
#pragma once

#include <spdlog/common.h>

#include <optional>
#include <string>
#include <string_view>

#include "engine/result.h"

namespace crier {

// trace, debug, info, warn, error, critical, off; anything else is an error
// (spdlog's own parser would turn a typo into `off`).
Result<spdlog::level::level_enum> parse_log_level(std::string_view s);
// Makes stderr the log (stdout carries the start-up lines) in `format`
// ("text" or "json") at `level`; errors name the bad value.
Result<void> start_logging(std::string_view level, std::string_view format);
// The file's [server] log_level, for a reload: nullopt when the file sets
// none; an error when it cannot be read or names no level.
Result<std::optional<spdlog::level::level_enum>> reload_log_level(const std::string& path);

}  // namespace crier
