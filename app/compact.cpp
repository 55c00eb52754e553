#include "app/compact.h"

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>

#include "storage/rocks_store.h"

namespace crier {

int compact(const std::string& data_dir) {
  // Opening would create a missing directory: a typo should not look like
  // an empty store.
  if (!std::filesystem::is_directory(data_dir)) {
    fmt::print(stderr, "crier: {} is not a directory\n", data_dir);
    return 2;
  }
  auto store = RocksStore::open({data_dir});
  if (!store) {
    fmt::print(stderr, "crier: {}\n", store.error().message);
    return 1;
  }
  if (auto r = (*store)->compact(); !r) {
    fmt::print(stderr, "crier: {}\n", r.error().message);
    return 1;
  }
  fmt::print("{:<16} {:>14} {:>14}\n", "column_family", "sst_bytes", "keys_estimate");
  for (const auto& f : (*store)->family_sizes()) fmt::print("{:<16} {:>14} {:>14}\n", f.name, f.sst_bytes, f.keys);
  // Measured once closed: RocksDB deletes obsolete files and the WAL by then.
  store->reset();
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data_dir, ec))
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  fmt::print("data directory {}: {} bytes\n", data_dir, total);
  return 0;
}

}  // namespace crier
