// Text a peer sent us (an HTTP answer's body, an SMTP server's reply), made
// fit to keep in a delivery outcome: outcomes' messages are stored with the
// recipient and shown in JSON answers and callbacks, which must be UTF-8
// whatever a vendor or mail server sends (Latin-1, binary, a cut character).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace crier {

// `raw` with each byte that is not part of well-formed UTF-8 replaced by
// U+FFFD; at most `max_bytes` of it (cut before a character, never inside
// one), then "…" when cut.
std::string peer_text(std::string_view raw, std::size_t max_bytes = std::string_view::npos);

}  // namespace crier
