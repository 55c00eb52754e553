#include "storage/write_gate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <limits>

#include "engine/time_format.h"
#include "storage/keys.h"

namespace crier {
namespace {

constexpr auto kWatchEvery = std::chrono::seconds(1);
constexpr auto kMaxBackoff = std::chrono::milliseconds(30'000);

bool is_no_space(const rocksdb::Status& s) {
  return s.IsNoSpace() || s.subcode() == rocksdb::Status::SubCode::kSpaceLimit;
}

// Statuses a write answers without anything being wrong with the store:
// they leave the gate open.
bool leaves_gate_open(const rocksdb::Status& s) {
  return s.IsInvalidArgument() || s.IsNotSupported() || s.IsBusy() || s.IsTryAgain() || s.IsIncomplete();
}

// An error for clients; RocksDB's text (with paths) only in `detail`.
Error store_error(ErrorKind kind, std::string code, std::string message, std::string detail) {
  Error e = make_error(kind, std::move(code), std::move(message));
  e.detail = std::move(detail);
  return e;
}

}  // namespace

// RocksDB's side of the gate: background errors close it, and RocksDB's own
// recovery is vetoed (the gate recovers, see the header). Called on
// RocksDB's threads, sometimes inside a write that holds admit_mu_ shared:
// it takes state_mu_ only.
class WriteGate::Listener final : public rocksdb::EventListener {
 public:
  explicit Listener(WriteGate& gate) : gate_(gate) {}
  const char* Name() const override { return "crier.WriteGate"; }

  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override {
    // A compaction that found no room is a soft error: RocksDB goes on
    // taking writes, and compacts again later.
    if (reason == rocksdb::BackgroundErrorReason::kCompaction &&
        error->severity() < rocksdb::Status::Severity::kHardError) {
      spdlog::warn("store: a compaction failed (writes go on): {}", error->ToString());
      return;
    }
    // A write to the log (or its memtable insert) failed: that log writer
    // must never be written again (see the header).
    const bool wal = reason == rocksdb::BackgroundErrorReason::kWriteCallback ||
                     reason == rocksdb::BackgroundErrorReason::kMemTable;
    gate_.close(*error, "background error", wal);
  }

  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status, bool* auto_recovery) override {
    *auto_recovery = false;
  }

  void OnMemTableSealed(const rocksdb::MemTableInfo& info) override {
    if (info.cf_name == rocksdb::kDefaultColumnFamilyName) gate_.marker_sealed_ = true;
  }

 private:
  WriteGate& gate_;
};

WriteGate::WriteGate(std::string data_dir)
    : data_dir_(std::move(data_dir)), listener_(std::make_shared<Listener>(*this)) {}

WriteGate::~WriteGate() { detach(); }

std::shared_ptr<rocksdb::EventListener> WriteGate::listener() { return listener_; }

Result<void> WriteGate::attach(rocksdb::DB* db) {
  db_ = db;
  // An open flushed what the log held: every memtable is empty.
  if (auto s = put_marker(); !s.ok())
    return store_error(ErrorKind::internal, "storage_error", "cannot write to the store", s.ToString());
  open_ = true;
  watcher_ = std::thread([this] { watch(); });
  return {};
}

void WriteGate::detach() {
  {
    std::lock_guard lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

rocksdb::Status WriteGate::put_marker() {
  rocksdb::WriteOptions w;
  w.disableWAL = true;
  return db_->Put(w, rocksdb::Slice(keys::kWalGuard.data(), keys::kWalGuard.size()), rocksdb::Slice());
}

Result<void> WriteGate::write(const std::function<rocksdb::Status()>& write, std::string_view what) {
  if (!open_) return refusal();  // at once, not after a recovery in progress
  std::shared_lock admit(admit_mu_);
  if (!open_) return refusal();
  // The marker's memtable was sealed (a flush of the default family): put
  // it back first. If that fails, the write below fails the same way.
  if (marker_sealed_.exchange(false))
    if (!put_marker().ok()) marker_sealed_ = true;
  auto s = write();
  if (s.ok()) return {};
  if (leaves_gate_open(s))
    return store_error(ErrorKind::internal, "storage_error", "the store could not complete the request",
                       fmt::format("{}: {}", what, s.ToString()));
  close(s, what, false);
  // Which log failed is read now, before any recovery (which waits for
  // admit_mu_) can move to another.
  bool record = false;
  {
    std::lock_guard lock(state_mu_);
    record = wal_failed_ && failed_wal_ == 0;
  }
  if (record) {
    const auto wal = current_wal();
    std::lock_guard lock(state_mu_);
    if (failed_wal_ == 0) failed_wal_ = wal;
  }
  return refusal();
}

Result<void> WriteGate::writable() const {
  if (open_) return {};
  return refusal();
}

void WriteGate::close(const rocksdb::Status& status, std::string_view what, bool wal_failed) {
  bool first = false;
  {
    std::lock_guard lock(state_mu_);
    wal_failed_ = wal_failed_ || wal_failed;
    if (cause_ == Cause::none) {
      first = true;
      cause_ = is_no_space(status) ? Cause::no_space : Cause::io_error;
      cause_text_ = fmt::format("{}: {}", what, status.ToString());
      closed_at_ms_ = now_unix_ms();
    }
    open_ = false;
  }
  if (first) {
    spdlog::error("store: writes refused until it recovers ({})", status.ToString());
    watch_cv_.notify_all();
  }
}

Error WriteGate::refusal() const {
  std::lock_guard lock(state_mu_);
  if (needs_restart_)
    return store_error(ErrorKind::unavailable, "storage_unavailable",
                       "the store stopped taking writes after an I/O error and needs a restart; nothing was stored",
                       cause_text_);
  if (cause_ == Cause::no_space)
    return store_error(ErrorKind::insufficient_storage, "storage_full",
                       "the server's disk is full: nothing was stored; retry once space is freed", cause_text_);
  return store_error(ErrorKind::unavailable, "storage_unavailable",
                     "the store cannot write after an I/O error: nothing was stored; retry later", cause_text_);
}

bool WriteGate::recover() {
  std::unique_lock admit(admit_mu_);
  if (open_) return true;
  {
    std::lock_guard lock(state_mu_);
    if (needs_restart_) return false;
  }
  auto s = db_->Resume();
  if (!s.ok()) {
    spdlog::warn("store: recovery failed, writes still refused: {}", s.ToString());
    return false;
  }
  bool wal_failed;
  std::uint64_t failed_wal;
  {
    std::lock_guard lock(state_mu_);
    wal_failed = wal_failed_;
    failed_wal = failed_wal_;
  }
  // Resume() starts a new log when it has a memtable to flush (the marker
  // sees to that). Had it kept the log a write failed on, the next write
  // would abort the process: refuse writes until a restart instead.
  if (wal_failed && (failed_wal == 0 || current_wal() == failed_wal)) {
    std::lock_guard lock(state_mu_);
    needs_restart_ = true;
    spdlog::error("store: recovery kept write-ahead log #{} whose write failed; writing to it again "
                  "would abort the process, so writes stay refused until a restart",
                  failed_wal);
    return false;
  }
  // Resume() flushed every memtable, the marker's too.
  if (s = put_marker(); !s.ok()) {
    spdlog::warn("store: recovery could not write its marker, writes still refused: {}", s.ToString());
    return false;
  }
  marker_sealed_ = false;
  std::int64_t closed_at;
  {
    std::lock_guard lock(state_mu_);
    closed_at = closed_at_ms_;
    cause_ = Cause::none;
    cause_text_.clear();
    wal_failed_ = false;
    failed_wal_ = 0;
    open_ = true;
  }
  spdlog::info("store: writable again ({} ms after the error)", now_unix_ms() - closed_at);
  return true;
}

void WriteGate::watch() {
  std::unique_lock lock(watch_mu_);
  while (!stopping_) {
    watch_cv_.wait_for(lock, kWatchEvery);
    if (stopping_) break;
    if (open_) {
      backoff_ = std::chrono::milliseconds(0);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    // Not enough room yet is not a failed attempt: look again in a second.
    if (now < next_attempt_ || free_bytes() < kResumeFreeBytes) continue;
    lock.unlock();
    const bool recovered = recover();
    lock.lock();
    if (recovered) {
      backoff_ = std::chrono::milliseconds(0);
    } else {
      backoff_ = std::min(kMaxBackoff, backoff_.count() == 0 ? std::chrono::milliseconds(1000) : backoff_ * 2);
      next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    }
  }
}

std::uint64_t WriteGate::free_bytes() const {
  struct statvfs v {};
  if (::statvfs(data_dir_.c_str(), &v) != 0) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
}

std::uint64_t WriteGate::current_wal() const {
  std::unique_ptr<rocksdb::LogFile> log;
  auto s = db_->GetCurrentWalFile(&log);
  return s.ok() && log ? log->LogNumber() : 0;
}

}  // namespace crier
