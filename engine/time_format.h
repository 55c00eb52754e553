// RFC 3339 timestamps <-> unix milliseconds (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crier {

std::int64_t now_unix_ms();
// "2026-11-25T10:00:00Z", "2026-11-25T10:00:00.250+02:00", ...
std::optional<std::int64_t> parse_rfc3339(std::string_view s);
// Always UTC with milliseconds: "2026-11-25T10:00:00.250Z".
std::string format_rfc3339(std::int64_t unix_ms);

}  // namespace crier
