// RocksDB merge operator for job counters: a value is an array of int64
// (little-endian), and merging adds element-wise. Counter deltas then ride
// in the same WriteBatch as the records they count, with no read-modify-write.
#pragma once

#include <rocksdb/merge_operator.h>

#include <string>

#include "engine/counters.h"

namespace crier {

class CounterMergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger* logger) const override;
  const char* Name() const override { return "crier.CounterAdd"; }
};

std::string encode_counters(const JobCounters& c);
JobCounters decode_counters(std::string_view in);

}  // namespace crier
