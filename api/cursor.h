// Opaque paging cursors: base64url of the position plus a check value, so a
// cursor from another job or listing, or a mangled one, is refused (400)
// instead of silently starting somewhere else. Stable while the job changes:
// a recipient cursor is a seq, and seqs never move.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/ids.h"

namespace crier::api {

std::string encode_seq_cursor(const JobKey& job, std::uint64_t seq);
std::optional<std::uint64_t> decode_seq_cursor(const JobKey& job, std::string_view cursor);

std::string encode_bytes_cursor(std::string_view scope, std::string_view position);
std::optional<std::string> decode_bytes_cursor(std::string_view scope, std::string_view cursor);

}  // namespace crier::api
