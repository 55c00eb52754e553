// How resources look in responses.
#pragma once

#include <boost/json/object.hpp>

#include "engine/counters.h"
#include "engine/dispatch_hold.h"
#include "engine/job.h"
#include "engine/notification_group.h"
#include "engine/recipient.h"
#include "engine/sms_segments.h"
#include "engine/sender.h"
#include "engine/sender_quota.h"

namespace crier::api {

// The job with its live counters, measured rate and estimate, and why
// dispatch holds it (`dispatch_hold`: null unless it does).
boost::json::object job_view(const Job& job, const JobCounters& counters, double rate_per_second,
                             const DispatchHold* hold = nullptr);
// A recipient with its state and the channel route_for picks for it.
boost::json::object recipient_view(const Job& job, const RecipientView& r);
boost::json::object template_view(const Template& t);
// {"encoding", "segments", "characters"}
boost::json::object sms_view(const SmsSegments& s);
// {"group_id", "channel", "template", "content", "provider", "webhook_url",
//  "created_at", "updated_at"}: the members the group does not fix are null.
boost::json::object group_view(const NotificationGroup& g);
// A sender with its quota as it stands (quota_total and quota_available are
// null for TIER_UNLIMITED).
boost::json::object sender_view(const Sender& s, const QuotaStatus& quota);

}  // namespace crier::api
