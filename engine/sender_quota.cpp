#include "engine/sender_quota.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace crier {

std::optional<std::int64_t> tier_limit(MessagingTier tier) {
  switch (tier) {
    case MessagingTier::tier_250: return 250;
    case MessagingTier::tier_1k: return 1000;
    case MessagingTier::tier_10k: return 10000;
    case MessagingTier::tier_100k: return 100000;
    case MessagingTier::unlimited: return std::nullopt;
  }
  return std::nullopt;
}

bool in_window(const QuotaUse& use, std::int64_t now_ms) { return use.at_ms > now_ms - kQuotaWindowMs; }

std::int64_t used_in_window(std::span<const QuotaUse> uses, std::int64_t now_ms) {
  std::int64_t used = 0;
  for (const auto& u : uses)
    if (in_window(u, now_ms)) used += u.count;
  return used;
}

QuotaStatus quota_status(MessagingTier tier, std::span<const QuotaUse> uses, std::int64_t now_ms) {
  QuotaStatus s;
  s.total = tier_limit(tier);
  s.used = used_in_window(uses, now_ms);
  if (s.total) s.available = std::max<std::int64_t>(0, *s.total - s.used);
  return s;
}

QuotaCheck check_quota(MessagingTier tier, std::span<const QuotaUse> uses, std::int64_t needed,
                       std::int64_t now_ms) {
  QuotaCheck c;
  c.needed = needed;
  c.before = quota_status(tier, uses, now_ms);
  if (!c.before.total || needed <= *c.before.available) return c;
  c.can_send = false;
  if (needed > *c.before.total) return c;  // larger than the tier: no wait helps
  // The uses roll off oldest first; the send fits once the used part has
  // fallen to total - needed.
  std::vector<QuotaUse> live;
  for (const auto& u : uses)
    if (in_window(u, now_ms)) live.push_back(u);
  std::sort(live.begin(), live.end(), [](const QuotaUse& a, const QuotaUse& b) { return a.at_ms < b.at_ms; });
  std::int64_t used = c.before.used;
  for (const auto& u : live) {
    used -= u.count;
    if (used + needed <= *c.before.total) {
      c.fits_at_ms = u.at_ms + kQuotaWindowMs;
      break;
    }
  }
  return c;
}

double estimated_minutes(std::int64_t unique, double rate) {
  if (unique <= 0 || !(rate > 0)) return 0;
  double minutes = static_cast<double>(unique) / rate / 60.0;
  return std::ceil(minutes * 100.0 - 1e-9) / 100.0;
}

}  // namespace crier
