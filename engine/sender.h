// A WhatsApp sender: one business phone number of a tenant, as Meta knows
// it (display number, verified name, quality rating, messaging-limit tier),
// the provider that carries its messages and its throughput. A whatsapp job
// that names a sender (JobSpec::sender) takes its provider and pace from it
// and consumes its quota (sender_quota.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crier {

// Meta's quality rating of a number.
enum class QualityRating : std::uint8_t { green, yellow, red };

// Meta's messaging-limit tiers: business-initiated conversations a number
// may open in a rolling 24 hours.
enum class MessagingTier : std::uint8_t { tier_250, tier_1k, tier_10k, tier_100k, unlimited };

std::string_view to_string(QualityRating r);  // GREEN, YELLOW, RED
std::optional<QualityRating> parse_quality_rating(std::string_view s);  // case-insensitive
// Meta's names: TIER_250, TIER_1K, TIER_10K, TIER_100K, TIER_UNLIMITED.
std::string_view to_string(MessagingTier t);
// Meta's names, case-insensitive; also the spelled-out TIER_1000, TIER_10000
// and TIER_100000 that some vendors (Mindo) show.
std::optional<MessagingTier> parse_messaging_tier(std::string_view s);

// Meta's default throughput of a Cloud API number, messages per second.
inline constexpr double kDefaultSenderRate = 80;
inline constexpr double kMaxSenderRate = 10000;

struct Sender {
  std::string tenant;
  std::string phone_number_id;  // Meta's id of the number; the sender's key
  std::string display_phone_number;
  std::string verified_name;
  QualityRating quality_rating = QualityRating::green;
  MessagingTier tier = MessagingTier::tier_250;
  std::string provider;  // empty: the whatsapp channel's configured provider
  double messages_per_second = kDefaultSenderRate;
  std::int64_t created_at = 0;  // unix ms
  std::int64_t updated_at = 0;
};

// 1 to 64 letters, digits, '-' or '_' (Meta's ids are digits). Keys rely on
// it: a sender id never holds 0x00.
bool is_valid_sender_id(std::string_view id);

}  // namespace crier
