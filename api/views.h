// How resources look in responses.
#pragma once

#include <boost/json/object.hpp>

#include "engine/counters.h"
#include "engine/dispatch_hold.h"
#include "engine/job.h"
#include "engine/recipient.h"

namespace crier::api {

// The job with its live counters, measured rate and estimate, and why
// dispatch holds it (`dispatch_hold`: null unless it does).
boost::json::object job_view(const Job& job, const JobCounters& counters, double rate_per_second,
                             const DispatchHold* hold = nullptr);
boost::json::object recipient_view(const JobKey& job, const RecipientView& r);
boost::json::object template_view(const Template& t);

}  // namespace crier::api
