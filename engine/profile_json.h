// The JSON shape of a profile, shared by the API (PUT, PATCH, GET) and the
// store's record:
//   {"user_id", "email", "phone", "webhook_url", "locale", "timezone",
//    "push_tokens": [...], "aliases": [{"alias_name", "alias_label"}],
//    "attributes": {...}, "subscriptions": {"<channel>": "opted_in" | "subscribed" | "unsubscribed"},
//    "created_at", "updated_at"}
// Every member may be left out or null (none); created_at and updated_at
// are the server's and ignored on input.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string_view>

#include "engine/profile.h"
#include "engine/result.h"

namespace crier {

// A user_id as profiles and ingest take it: 1 to 256 bytes, no control
// characters. Error: invalid_user_id.
Result<void> check_profile_user_id(std::string_view user_id);

// Validates and normalises (addresses as ingest does). `user_id` is the
// profile's (the path's); a body's own user_id must equal it. Errors:
// invalid_profile (shape, unknown member, limits), invalid_email,
// invalid_phone_number, invalid_push_token, invalid_webhook_url,
// invalid_locale, invalid_timezone, invalid_alias, invalid_subscription;
// `field` names the member ("subscriptions.sms").
Result<Profile> profile_from_json(const boost::json::object& body, std::string_view tenant,
                                  std::string_view user_id);
boost::json::object profile_to_json(const Profile& p);

// RFC 7396 JSON Merge Patch: members of `patch` replace those of `target`,
// objects merge member by member, null removes. What PATCH applies.
void merge_patch(boost::json::value& target, const boost::json::value& patch);

// What PATCH (and each line of a bulk import) makes of the profile
// `current` (none: a new one): `patch` merged into its JSON (merge_patch),
// then validated as profile_from_json does, and stamped: updated_at `now`,
// created_at kept (`now` for a new profile).
Result<Profile> merge_into(const std::optional<Profile>& current, const boost::json::object& patch,
                           std::string_view tenant, std::string_view user_id, std::int64_t now);

}  // namespace crier
