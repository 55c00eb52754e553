// WriteGate: lets writes reach RocksDB only while RocksDB can take them, and
// brings the DB back after an I/O error (a full disk, EIO) with DB::Resume().
// Private to storage/ (it includes RocksDB): rocks_store.cpp owns one.
//
// Why it exists. After a failed write, RocksDB 7.8 stops writes (a "hard"
// background error); its recovery flushes every column family's memtable,
// and the switch to new memtables is also what moves the write-ahead log to
// a new file. When every memtable is empty at that moment (right after an
// open or a recovery, which both flush them all), the recovery has nothing
// to flush: it keeps the log whose write failed and clears the error, and
// the next write appends to that failed log writer. Debian's librocksdb is
// built with assertions, so that append aborts the process
// (WritableFileWriter::AssertFalseAndGetStatusForPrevError). Hence:
//   - RocksDB does not recover on its own (the listener vetoes its automatic
//     recovery, and the store sets max_bgerror_resume_count = 0): the gate
//     decides when, and no write is in RocksDB while it does;
//   - the default family's memtable is kept non-empty while writes are
//     admitted: a marker key written without the WAL (so it touches no log
//     writer) after open, after every recovery, and again before the next
//     write whenever that memtable was sealed; a recovery then always has
//     something to flush, so it always starts a new log;
//   - if a recovery kept the log that a write failed on anyway, writes stay
//     refused (until a restart) rather than risk the abort.
// While the gate is closed, writes fail at once with storage_full (507) or
// storage_unavailable (503), without touching RocksDB; reads go on as usual.
// A watcher thread tries to recover every second once the data directory
// has kResumeFreeBytes free, backing off (1 s doubling to 30 s) after
// attempts that fail.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/listener.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "engine/result.h"

namespace crier {

class WriteGate {
 public:
  // Free bytes the data directory needs before a recovery is tried: Resume()
  // flushes the memtables, so it needs room for them.
  static constexpr std::uint64_t kResumeFreeBytes = 8u << 20;

  explicit WriteGate(std::string data_dir);
  ~WriteGate();  // stops the watcher
  WriteGate(const WriteGate&) = delete;
  WriteGate& operator=(const WriteGate&) = delete;

  // Added to DBOptions::listeners before the DB opens: RocksDB reports its
  // background errors here and is told not to recover by itself.
  std::shared_ptr<rocksdb::EventListener> listener();
  // The opened DB (its default family holds the marker): writes the marker,
  // opens the gate and starts the watcher.
  Result<void> attach(rocksdb::DB* db);
  // Stops the watcher; call before the DB closes.
  void detach();

  // Runs `write` (one DB::Write) if writes are admitted; otherwise answers
  // the error a write gets now, without calling it. A write that fails
  // closes the gate; the error names the cause, RocksDB's text is only in
  // its `detail`.
  Result<void> write(const std::function<rocksdb::Status()>& write, std::string_view what);
  // Ok while writes are admitted; else the error a write would get.
  Result<void> writable() const;
  // One recovery attempt, now (the watcher makes them); true when writes
  // are admitted afterwards.
  bool recover();

 private:
  class Listener;
  enum class Cause { none, no_space, io_error };
  // Closes the gate for `status` (a failed write, or a background error).
  void close(const rocksdb::Status& status, std::string_view what, bool wal_failed);
  Error refusal() const;
  rocksdb::Status put_marker();
  void watch();
  std::uint64_t free_bytes() const;
  std::uint64_t current_wal() const;  // 0 when unknown

  const std::string data_dir_;
  std::shared_ptr<Listener> listener_;
  rocksdb::DB* db_ = nullptr;

  // Writes hold it shared, recovery alone: no write is in RocksDB while
  // Resume() runs, nor before the marker is back.
  mutable std::shared_mutex admit_mu_;
  std::atomic<bool> open_{false};
  std::atomic<bool> marker_sealed_{false};  // the marker's memtable was sealed

  // Why the gate is closed. A leaf lock: nothing calls RocksDB under it
  // (the listener takes it from RocksDB's threads).
  mutable std::mutex state_mu_;
  Cause cause_ = Cause::none;
  std::string cause_text_;        // RocksDB's status, for the logs
  std::int64_t closed_at_ms_ = 0;
  bool wal_failed_ = false;       // a write to the log failed since the gate closed
  std::uint64_t failed_wal_ = 0;  // the log it failed on (0: not known yet)
  bool needs_restart_ = false;    // a recovery kept the failed log

  // The watcher's own: when it may try again.
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace crier
