#include "storage/counter_merge.h"

#include <cstring>

namespace crier {
namespace {

std::int64_t load(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return static_cast<std::int64_t>(v);
}

void store(char* p, std::int64_t x) {
  auto v = static_cast<std::uint64_t>(x);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

bool CounterMergeOperator::Merge(const rocksdb::Slice&, const rocksdb::Slice* existing,
                                 const rocksdb::Slice& value, std::string* new_value,
                                 rocksdb::Logger*) const {
  // Arrays may differ in length (a later version adds counters): the result
  // has the longer length, missing entries counting as zero.
  std::size_t a = existing ? existing->size() / 8 : 0, b = value.size() / 8;
  new_value->assign(std::max(a, b) * 8, '\0');
  for (std::size_t i = 0; i < std::max(a, b); ++i) {
    std::int64_t sum = (i < a ? load(existing->data() + 8 * i) : 0) + (i < b ? load(value.data() + 8 * i) : 0);
    store(new_value->data() + 8 * i, sum);
  }
  return true;
}

std::string encode_counters(const JobCounters& c) {
  std::string out(kCounterCount * 8, '\0');
  for (std::size_t i = 0; i < kCounterCount; ++i) store(out.data() + 8 * i, c.values[i]);
  return out;
}

JobCounters decode_counters(std::string_view in) {
  JobCounters c;
  for (std::size_t i = 0; i < kCounterCount && 8 * (i + 1) <= in.size(); ++i)
    c.values[i] = load(in.data() + 8 * i);
  return c;
}

}  // namespace crier
