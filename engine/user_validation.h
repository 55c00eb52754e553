// Validation and normalisation of one ingested user. Pure functions: the api
// parses bodies into RawUser views, the engine decides what is acceptable.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/job.h"
#include "engine/recipient.h"
#include "engine/result.h"
#include "engine/routing.h"

namespace crier {

// Views into the request body; data/preferences are raw JSON text.
struct RawUser {
  std::string_view user_id;
  std::string_view email;
  std::string_view phone;
  std::string_view push_token;
  std::string_view webhook_url;
  std::string_view locale;
  std::string_view data_json;
  std::string_view preferences_json;
};

// Limits on one user's fields, in bytes.
inline constexpr std::size_t kMaxUserIdBytes = 256;
inline constexpr std::size_t kMaxAddressBytes = 2048;
inline constexpr std::size_t kMaxUserDataBytes = 64 * 1024;
// Nesting of data and preferences (the object itself is 1): what rendering
// parses (render.cpp), so a user accepted at ingest renders.
inline constexpr std::size_t kMaxUserDataDepth = 32;

// The deepest nesting of objects and arrays in a JSON text (strings skipped).
std::size_t json_depth(std::string_view json);

// E.164 after dropping spaces, dashes, dots and parentheses: "+" then 2..15
// digits, the first not 0. Returns the normalised number or an error.
Result<std::string> normalize_phone(std::string_view phone);
// A pragmatic email check (local@domain.tld, no spaces, at most 254 bytes);
// the domain is lower-cased.
Result<std::string> normalize_email(std::string_view email);
Result<std::string> normalize_webhook_url(std::string_view url);
bool is_valid_locale(std::string_view locale);
// The canonical case of a valid tag: "pt_br" -> "pt-BR", "zh-hant-tw" -> "zh-Hant-TW".
std::string canonical_locale(std::string_view locale);

// Validates a user for a job and returns its normalised record (seq unset).
// Error codes: invalid_user_id, invalid_email, invalid_phone_number,
// invalid_push_token, invalid_webhook_url, invalid_locale, invalid_data,
// invalid_preferences, missing_address (no address for any of the job's
// channels: route_for is nullopt; the field is the address of the job's
// first channel), missing_identity (neither a user_id nor any address, on a
// job that would send to its own webhook_url: such a user could not be
// deduplicated, found or traced).
//
// With `bare_user_ids` (the tenant keeps profiles), a user given by its
// user_id alone is accepted: its addresses come from its stored profile
// when its message is built (engine/profile_resolution.h), so a change
// made after ingest is honoured.
struct UserRules {
  bool bare_user_ids = false;
};
Result<Recipient> validate_user(const RawUser& raw, const JobSpec& job, UserRules rules = {});

// 16 bytes that identify a user within a job, for duplicate detection:
// the user_id when given, else the normalised address on `channel`, else
// any other address. nullopt for a user with none, which validate_user
// refuses (missing_identity).
using DedupeKey = std::array<std::uint8_t, 16>;
std::optional<DedupeKey> dedupe_key(const Recipient& r, Channel channel);
// The same on the channel route_for picks for `r` (what ingest uses).
std::optional<DedupeKey> dedupe_key(const Recipient& r, const JobSpec& job);

}  // namespace crier
