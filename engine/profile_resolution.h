// What a tenant's stored profile makes of a job's recipient that carries its
// user_id, decided when the recipient's message is built (not at ingest), so
// that an unsubscribe or a new address given after ingest counts.
//
//   - What the recipient lacks comes from the profile: each address, the
//     first push token, the locale. What it was given at ingest stays, and
//     a job's own webhook_url comes before a profile's (the order is the
//     recipient's, the job's, the profile's).
//   - The profile's attributes are data for rendering, under the
//     recipient's own data (which wins, member by member, at the top level).
//   - Its standing on the channel (opted_in, subscribed, unsubscribed)
//     against the job's subscription_state decides whether it is sent.
#pragma once

#include <optional>
#include <string>

#include "engine/channel.h"
#include "engine/job.h"
#include "engine/profile.h"
#include "engine/recipient.h"
#include "engine/subscription.h"

namespace crier {

void apply_profile(Recipient& r, const Profile& p, const JobSpec& job);

// Why the job does not send to a recipient on `channel`: nullopt when it
// does. `profile` is the recipient's (null: none, a standing of
// subscribed). Codes: unsubscribed, not_opted_in (the job sends to opted_in
// recipients only).
struct Ineligible {
  std::string code;
  std::string message;
};
std::optional<Ineligible> ineligible(SubscriptionRequirement job_requirement, const Profile* profile,
                                     Channel channel);

}  // namespace crier
