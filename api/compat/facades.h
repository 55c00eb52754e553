// The vendors' façades, one file each in api/compat/, listed with their
// paths in the router's one route table (api/router.cpp).
#pragma once

#include "api/compat/common.h"

namespace crier::api::compat {

const Facade& courier();  // /bulk…, /lists…           (courier.cpp, courier_lists.cpp)
const Facade& prelude();  // /v2/notify…              (prelude.cpp)
const Facade& blerify();  // /api/v1/organizations…  (blerify.cpp)
const Facade& mindo();    // /api/v1/meta-templates… (mindo.cpp)
const Facade& braze();    // /users/track, /messages/send, /sends/id/create (braze.cpp)

}  // namespace crier::api::compat
