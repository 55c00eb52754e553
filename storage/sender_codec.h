// Sender records and quota-use values of the senders family (keys.h).
// A sender is JSON, like jobs and templates: small, rarely written, readable
// with `ldb`; a quota use is its count as 8 big-endian bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/sender.h"

namespace crier::records {

std::string encode(const Sender& s);
std::optional<Sender> decode_sender(std::string_view in);

std::string encode_quota_count(std::int64_t count);
std::optional<std::int64_t> decode_quota_count(std::string_view in);

}  // namespace crier::records
