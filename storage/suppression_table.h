// The suppressions column family (keys.h). Internal to storage/: RocksStore
// owns one and implements the engine's SuppressionStore with it.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <map>
#include <shared_mutex>

#include "engine/suppression.h"

namespace crier {

class SuppressionTable {
 public:
  using Write = std::function<Result<void>(rocksdb::WriteBatch&)>;
  SuppressionTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write);

  Result<bool> put(const Suppression& s);
  Result<bool> remove(std::string_view tenant, Channel channel, std::string_view address);
  Result<std::optional<Suppression>> find(std::string_view tenant, Channel channel, std::string_view address);
  Result<std::vector<Suppression>> list(std::string_view tenant, Channel channel, std::string_view after,
                                        std::size_t limit);
  Result<bool> contains(std::string_view tenant, Channel channel, std::string_view address);
  // Whether the tenant may have suppressions: learnt with one seek the first
  // time, set by every put (a delete leaves it set: a stale "maybe" costs a
  // lookup, never a wrong answer).
  Result<bool> may_have_any(std::string_view tenant);

 private:
  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle& family_;
  Write write_;
  std::mutex writes_;  // put's read of created_at and its write, as one step
  std::shared_mutex tenants_mutex_;
  std::map<std::string, bool, std::less<>> tenants_;
};

}  // namespace crier
