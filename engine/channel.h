// The delivery channels, as jobs, routing and providers name them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace crier {

enum class Channel : std::uint8_t { email, sms, push, webhook, whatsapp };
inline constexpr std::size_t kChannelCount = 5;

std::string_view to_string(Channel c);
std::optional<Channel> parse_channel(std::string_view s);  // case-insensitive

}  // namespace crier
