// The route a request path belongs to, as a pattern ("/v1/jobs/{id}/users"):
// what metrics label requests with, so the label's values are bounded by the
// route table and never by the ids clients put in paths. Kept beside the
// router (router.cpp and the façades' route functions decide what a path
// does; this only names it): a route added there is added here too, or its
// requests count as "unmatched".
#pragma once

#include <cstddef>
#include <string_view>

namespace crier::api {

// Index into route_patterns(); route_count() - 1 is "unmatched".
std::size_t route_index(std::string_view path);
std::size_t route_count();
std::string_view route_pattern(std::size_t index);

}  // namespace crier::api
