// Courier's lists over the native ones (/v1/lists, engine/user_list.h):
// the list recipients of a bulk job's users (to.list_id, to.list_pattern)
// and the client's Lists API (client.lists.*, /lists…). Part of the Courier
// façade (courier.cpp); the mapping is in docs/compat.md.
#pragma once

#include <simdjson.h>

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/context.h"
#include "api/http_types.h"

namespace crier::api::compat {

// Courier's list patterns: `*` stands for any run of characters (dots
// included), everything else for itself.
bool matches_list_pattern(std::string_view pattern, std::string_view id);
// 1 to 128 of A-Z a-z 0-9 . _ - and *.
bool valid_list_pattern(std::string_view pattern);

// A user of an addUsers call that names lists instead of a person:
// Courier's list recipient (to.list_id) or list-pattern recipient
// (to.list_pattern).
struct ListTarget {
  std::size_t index = 0;  // among the call's users
  std::string list_id;    // one of the two
  std::string pattern;
  std::optional<boost::json::object> data;  // `data`, with `to.data` over it
};
std::optional<ListTarget> list_target(simdjson::dom::object user, std::size_t index);

// Adds the members of the target's list (or of every list its pattern
// matches) to the job as users by user_id (the ingest path: counted,
// deduplicated), each with the target's data. `accepted`: the users stored;
// `refused`: the error the target alone gets (an unknown list, a pattern
// matching none). A failed read or write is the Result's error.
struct TargetOutcome {
  std::int64_t accepted = 0;
  std::optional<Error> refused;
};
Result<TargetOutcome> add_target(ApiContext& ctx, const Job& job, const ListTarget& t);

// /lists… (client.lists.* and client.lists.subscriptions.*), answering
// errors with `error` (Courier's shape).
using ErrorAnswer = ApiResponse (*)(const Error&, const ApiRequest&);
ApiResponse lists_route(ApiContext& ctx, ApiRequest& req, ErrorAnswer error);

}  // namespace crier::api::compat
