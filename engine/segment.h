// A tenant's stored segment: a named audience filter (engine/audience_filter.h)
// that jobs and Braze's /messages/send target by id. Membership is decided
// when a job is run, against the profiles as they are then, never stored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.h"

namespace crier {

struct Segment {
  std::string tenant;
  std::string id;           // 1-128 bytes of [A-Za-z0-9._-]
  std::string name;         // free text, at most 256 bytes; empty: none
  std::string filter_json;  // the audience filter, checked when stored
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

inline constexpr std::size_t kMaxSegmentNameBytes = 256;

// Declared here, implemented in storage/. Thread-safe; writes synced.
class SegmentStore {
 public:
  virtual ~SegmentStore() = default;
  // Stores it (an existing one keeps its created_at); returns whether it was new.
  virtual Result<bool> put_segment(const Segment& s) = 0;
  virtual Result<std::optional<Segment>> find_segment(std::string_view tenant, std::string_view id) = 0;
  virtual Result<bool> delete_segment(std::string_view tenant, std::string_view id) = 0;
  // The tenant's segments in id order after `after`.
  virtual Result<std::vector<Segment>> list_segments(std::string_view tenant, std::string_view after,
                                                     std::size_t limit) = 0;
};

}  // namespace crier
