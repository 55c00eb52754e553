// Frequency caps, kept in the profiles family (keys.h): a tenant's rules
// (tag 'f', JSON) and each user's send history (tag 'h', packed marks).
// Internal to storage/: RocksStore owns one and implements the engine's
// FrequencyCapStore with it.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "engine/frequency_cap.h"

namespace crier {

class FrequencyTable {
 public:
  using Write = std::function<Result<void>(rocksdb::WriteBatch&)>;
  FrequencyTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write);

  Result<void> put_rules(std::string_view tenant, const std::vector<FrequencyRule>& rules);
  Result<std::vector<FrequencyRule>> rules(std::string_view tenant);
  Result<std::vector<bool>> reserve(std::string_view tenant, Channel channel, std::span<const std::string_view> user_ids,
                                    std::span<const std::uint64_t> messages, std::int64_t now_ms);

 private:
  std::mutex& stripe(std::string_view tenant);

  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle& family_;
  Write write_;
  // A tenant's reservations one at a time (read, check, write as one step);
  // tenants spread over a few locks.
  std::array<std::mutex, 16> stripes_;
  std::shared_mutex rules_mutex_;
  std::map<std::string, std::vector<FrequencyRule>, std::less<>> rules_;  // cache
};

}  // namespace crier
