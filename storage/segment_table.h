// Segments, kept in the profiles family (keys.h: tag 'g'). Internal to
// storage/: RocksStore owns one and implements the engine's SegmentStore.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <mutex>

#include "engine/segment.h"

namespace crier {

class SegmentTable {
 public:
  using Write = std::function<Result<void>(rocksdb::WriteBatch&)>;
  SegmentTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write);

  Result<bool> put(const Segment& s);
  Result<std::optional<Segment>> find(std::string_view tenant, std::string_view id);
  Result<bool> remove(std::string_view tenant, std::string_view id);
  Result<std::vector<Segment>> list(std::string_view tenant, std::string_view after, std::size_t limit);

 private:
  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle& family_;
  Write write_;
  std::mutex writes_;  // put's read of created_at and its write, as one step
};

}  // namespace crier
