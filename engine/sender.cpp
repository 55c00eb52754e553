#include "engine/sender.h"

#include <algorithm>
#include <cctype>
#include <iterator>

#include "engine/enum_names.h"

namespace crier {
namespace {

constexpr std::string_view kRatings[] = {"GREEN", "YELLOW", "RED"};
constexpr std::string_view kTiers[] = {"TIER_250", "TIER_1K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED"};
// The same tiers with the limit written out, in the same order.
constexpr std::string_view kTiersSpelledOut[] = {"TIER_250", "TIER_1000", "TIER_10000", "TIER_100000",
                                                 "TIER_UNLIMITED"};



}  // namespace

std::string_view to_string(QualityRating r) { return kRatings[static_cast<std::size_t>(r)]; }
std::optional<QualityRating> parse_quality_rating(std::string_view s) { return find_name<QualityRating>(kRatings, s); }

std::string_view to_string(MessagingTier t) { return kTiers[static_cast<std::size_t>(t)]; }
std::optional<MessagingTier> parse_messaging_tier(std::string_view s) {
  if (auto t = find_name<MessagingTier>(kTiers, s)) return t;
  return find_name<MessagingTier>(kTiersSpelledOut, s);
}

bool is_valid_sender_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

}  // namespace crier
