// base64url without padding (RFC 4648 §5): the alphabet of the opaque
// tokens the API hands out and reads back in URLs (paging cursors, event
// stream tickets).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crier::api {

std::string base64url(std::string_view bytes);
// nullopt for anything that is not unpadded base64url, or over 4 KiB.
std::optional<std::string> unbase64url(std::string_view text);

}  // namespace crier::api
