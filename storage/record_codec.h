// Compact binary records for the per-recipient column families, where size
// matters (millions per job). Layout: a format byte, then fields as
// varint-length-prefixed bytes or varints. Unknown trailing bytes are
// ignored so later versions can append fields.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/recipient.h"

namespace crier::records {

std::string encode(const Recipient& r);               // seq is in the key, not here
std::optional<Recipient> decode_recipient(std::string_view in, std::uint64_t seq);
// The same into `out` (a page decodes in place); false when corrupt.
bool decode_recipient_into(std::string_view in, std::uint64_t seq, Recipient& out);

std::string encode(const RecipientState& s);
std::optional<RecipientState> decode_state(std::string_view in);

}  // namespace crier::records
