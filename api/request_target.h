// The request target (origin form, "/path?query") into ApiRequest's path and
// query, apart from the server so the parsing of what a client sends can be
// tested and fuzzed without a socket (tests/fuzz/query_fuzz.cpp).
#pragma once

#include <string_view>

#include "api/http_types.h"
#include "engine/result.h"

namespace crier::api {

// Sets req.path (percent-decoded) and req.query (each parameter decoded; a
// repeated name keeps its last value). invalid_path when the target is not
// an origin-form path.
Result<void> read_target(std::string_view target, ApiRequest& req);

}  // namespace crier::api
