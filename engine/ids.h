// Identifiers. A job id is 16 bytes (48-bit millisecond time + 80 random
// bits, ULID-like), shown as "job_" + 26 Crockford base32 characters so ids
// sort by creation time. Storage keys use the 16 raw bytes.
// A message id is a pure function of (job, seq): a message re-sent after a
// crash carries the same id by construction.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace crier {

using JobKey = std::array<std::uint8_t, 16>;

// A fresh job key for the given wall-clock time in milliseconds.
JobKey new_job_key(std::int64_t unix_ms);

std::string job_id_string(const JobKey& key);

// Parses "job_<26 chars>"; nullopt for anything else (case-insensitive).
std::optional<JobKey> parse_job_id(std::string_view id);

// "msg_<26 chars of the job>_<seq as 16 hex digits>": unique per recipient,
// identical for every attempt at the same recipient.
std::string message_id(const JobKey& job, std::uint64_t seq);
// The same from the job's id string ("job_…", as job_id_string gives it).
std::string message_id(std::string_view job_id, std::uint64_t seq);
// The same, written over `out` (its buffer reused when large enough).
void message_id_into(std::string& out, std::string_view job_id, std::uint64_t seq);

// The (job, seq) a message id names; nullopt for anything that is not one.
std::optional<std::pair<JobKey, std::uint64_t>> parse_message_id(std::string_view id);

// A random request id, "req_" + 20 hex digits.
std::string new_request_id();

}  // namespace crier
