// RocksDB's statuses as Crier's errors, for the store's files. Internal to
// storage/: RocksDB headers stay out of what other folders include.
#pragma once

#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <string_view>

#include "engine/result.h"

namespace crier {

// RocksDB's text names files of the data directory: it goes in `detail`
// (the server's log), never in what a client is told.
Error storage_error(const rocksdb::Status& s, std::string_view what);
Error corrupt(std::string_view what);

inline rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace crier
