// The JSON shape of a routing, shared by the API and storage:
//   {"method": "single", "channels": ["email", "sms", "push", "webhook", "whatsapp"]}
// `method` may be left out (single); `channels` is 1 to 5 distinct channels.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "engine/result.h"
#include "engine/routing.h"

namespace crier {

// Validates shape, names and check_routing; every error is invalid_routing
// on field "routing".
Result<Routing> routing_from_json(const boost::json::value& v);
boost::json::object routing_to_json(const Routing& routing);

}  // namespace crier
