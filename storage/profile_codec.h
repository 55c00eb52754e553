// The profile record (the profiles family's value): the JSON of
// engine/profile_json.h, written and read here without the detours of the
// API's path. Writing skips building a JSON tree (the attributes are the
// only tree, serialised as they are); reading trusts what was validated
// when it was written (shapes are checked, addresses are not normalised
// again). Reading a segment's profiles is decoding them, so this is the
// segment's speed. Internal to storage/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/profile.h"

namespace crier {

std::string encode_profile(const Profile& p);
// None when the record is not a profile record.
std::optional<Profile> decode_profile(std::string_view tenant, std::string_view user_id, std::string_view record);

}  // namespace crier
