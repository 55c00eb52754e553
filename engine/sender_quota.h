// A WhatsApp sender's quota, as pure arithmetic: its tier allows so many
// business-initiated conversations per rolling 24 hours; every accepted send
// reserves its unique recipients at the time it was accepted (a QuotaUse),
// and a reservation stops counting 24 hours later. The stores keep the
// uses; JobService checks and reserves under a per-sender lock.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "engine/ids.h"
#include "engine/sender.h"

namespace crier {

inline constexpr std::int64_t kQuotaWindowMs = 24LL * 3600 * 1000;

// The tier's conversations per 24 hours; none for TIER_UNLIMITED.
std::optional<std::int64_t> tier_limit(MessagingTier tier);

// One reservation: `count` recipients accepted at `at_ms`.
struct QuotaUse {
  std::int64_t at_ms = 0;
  std::int64_t count = 0;
};

// The reservation a send writes, with its job, in one atomic write.
struct QuotaReservation {
  std::string tenant;
  std::string sender;  // phone_number_id
  JobKey job{};
  std::int64_t at_ms = 0;
  std::int64_t count = 0;
};

// Whether a use still counts at `now_ms`: it was made less than 24 h before.
bool in_window(const QuotaUse& use, std::int64_t now_ms);
// The recipients reserved in the 24 hours before `now_ms`.
std::int64_t used_in_window(std::span<const QuotaUse> uses, std::int64_t now_ms);

struct QuotaStatus {
  std::optional<std::int64_t> total;      // the tier's limit; none: unlimited
  std::int64_t used = 0;                  // in the last 24 hours
  std::optional<std::int64_t> available;  // total - used, never below 0; none: unlimited
};
QuotaStatus quota_status(MessagingTier tier, std::span<const QuotaUse> uses, std::int64_t now_ms);

// The answer to "may a send of `needed` unique recipients go now?".
struct QuotaCheck {
  bool can_send = true;
  std::int64_t needed = 0;
  QuotaStatus before;  // the quota as it stood, without this send
  // When refused and waiting helps: the first time enough of the current
  // uses will have rolled off for the send to fit. None when refused and
  // the send is larger than the whole tier (no wait is enough).
  std::optional<std::int64_t> fits_at_ms;
};
// `uses` in any order.
QuotaCheck check_quota(MessagingTier tier, std::span<const QuotaUse> uses, std::int64_t needed,
                       std::int64_t now_ms);

// Minutes a send of `unique` recipients takes at `rate` messages per second
// (no rate: 0), rounded up to the hundredth, so any non-empty send shows at
// least 0.01.
double estimated_minutes(std::int64_t unique, double rate);

}  // namespace crier
