// RocksDB's info log (the LOG file in the data directory), written so that
// a full disk only loses log lines. RocksDB 7.8's own file logger appends
// through a WritableFileWriter, which after one failed write aborts the
// process on the next line in builds with assertions (Debian's): the first
// log line after the disk filled. This one writes each line with one
// write(2) and ignores what fails. Private to storage/ (RocksDB headers).
#pragma once

#include <rocksdb/env.h>

#include <memory>
#include <string>

namespace crier {

// Opens `<dir>/LOG` for RocksDB's info log, first renaming a previous one
// to LOG.old.<micros> as RocksDB does (RocksDB prunes those to
// keep_log_file_num). Null when the file cannot be opened (RocksDB then
// opens its own).
std::shared_ptr<rocksdb::Logger> open_info_log(const std::string& dir, rocksdb::InfoLogLevel level);

}  // namespace crier
