// Looking an enum value up by its API name, case-insensitively: the names
// are listed in the enum's order (engine/names.cpp, engine/sender.cpp).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string_view>

namespace crier {

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The value whose name is `s`; none when no name matches.
template <typename E, std::size_t N>
std::optional<E> find_name(const std::string_view (&names)[N], std::string_view s) {
  for (std::size_t i = 0; i < N; ++i)
    if (iequals(names[i], s)) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace crier
