// RocksStore on a disk that fills up (a small tmpfs): writes are refused
// with storage_full and store nothing, reads go on, and once space is back
// the store recovers by itself (DB::Resume) and takes writes again; the
// process never aborts. The failing write comes right after an open and
// right after a recovery, when every memtable was empty: that is when
// RocksDB 7.8's own recovery kept the failed log writer, and the next write
// aborted on an assertion (WritableFileWriter::AssertFalseAndGetStatusForPrevError).
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "storage/rocks_store.h"
#include "tests/storage/store_fixture.h"
#include "tests/support/small_disk.h"

namespace crier {
namespace {

using namespace std::chrono_literals;
using testing::email_entries;
using testing::kBaseMs;
using testing::make_job;
using testing::SmallDisk;
using testing::TempDir;

constexpr std::uint64_t kMiB = 1 << 20;

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    disk_ = std::make_unique<SmallDisk>(dir_.path() / "data", 48);
    if (!disk_->mounted()) GTEST_SKIP() << disk_->error();
  }
  void TearDown() override {
    store_.reset();
    if (disk_) disk_->unmount();
  }

  void open() {
    auto r = RocksStore::open(StoreOptions{(dir_.path() / "data").string()});
    ASSERT_TRUE(r.ok()) << r.error().message << " " << r.error().detail;
    store_ = std::move(r).value();
  }

  // Ingests batches of 1000 new users until one is refused; returns that
  // refusal. Every accepted user is added to `acknowledged_`.
  Error ingest_until_refused(const Job& job) {
    for (int batch = 0; batch < 1000; ++batch) {
      auto entries = email_entries(testing::numbered_emails(1000, next_batch_++));
      auto r = store_->ingest(job.key, entries, 0, /*sync=*/true);
      if (!r) return r.error();
      for (const auto& e : entries) acknowledged_.insert(e.recipient.email);
    }
    ADD_FAILURE() << "the disk never filled";
    return {};
  }

  // Waits (up to 30 s) for the store to take writes again.
  bool wait_writable() {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (store_->writable()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // The store holds exactly the acknowledged users, counted and listed.
  void expect_exactly_acknowledged(const Job& job) {
    auto c = store_->counters(job.key);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ((*c)[Counter::unique], static_cast<std::int64_t>(acknowledged_.size()));
    EXPECT_EQ((*c)[Counter::received], static_cast<std::int64_t>(acknowledged_.size()));
    auto page = store_->list_recipients(job.key, 0, 1'000'000, std::nullopt, 1'000'000);
    ASSERT_TRUE(page.ok());
    std::set<std::string> listed;
    for (const auto& item : page->items) listed.insert(item.recipient.email);
    EXPECT_EQ(listed, acknowledged_);
  }

  TempDir dir_;
  std::unique_ptr<SmallDisk> disk_;
  std::unique_ptr<RocksStore> store_;
  std::set<std::string> acknowledged_;
  int next_batch_ = 0;
};

TEST_F(FullDiskTest, WritesAreRefusedWhileFullAndTheStoreRecoversOnceSpaceIsBack) {
  open();
  Job job = make_job("acme", kBaseMs);
  ASSERT_TRUE(store_->insert_job(job).ok());
  auto first = email_entries(testing::numbered_emails(100, next_batch_++));
  ASSERT_TRUE(store_->ingest(job.key, first, 0, true).ok());
  for (const auto& e : first) acknowledged_.insert(e.recipient.email);
  store_.reset();

  // Reopened on an almost full disk: the open flushed every memtable, and
  // the new log could not reserve its space ahead.
  disk_->fill(6 * kMiB);
  open();
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "first filled right after an open" : "filled again after a recovery");
    Error refused = ingest_until_refused(job);
    EXPECT_EQ(refused.kind, ErrorKind::insufficient_storage) << refused.code << ": " << refused.message;
    EXPECT_EQ(refused.code, "storage_full");
    // RocksDB's words (with the data directory's paths) are for the log only.
    EXPECT_EQ(refused.message.find(dir_.path().string()), std::string::npos) << refused.message;
    EXPECT_EQ(refused.field, "");
    EXPECT_NE(refused.detail.find("No space left"), std::string::npos) << refused.detail;

    // Refused at once while full, reads answer, nothing partial was stored.
    auto again = store_->ingest(job.key, email_entries({"late@example.com"}), 0, true);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, "storage_full");
    EXPECT_EQ(store_->writable().error().code, "storage_full");
    EXPECT_TRUE(store_->find_job(job.key).ok());
    expect_exactly_acknowledged(job);

    // Space comes back: the store recovers by itself, then takes writes.
    disk_->free_filler();
    ASSERT_TRUE(wait_writable()) << store_->writable().error().message;
    auto more = email_entries(testing::numbered_emails(10, next_batch_++));
    auto r = store_->ingest(job.key, more, 0, true);
    ASSERT_TRUE(r.ok()) << r.error().message << " " << r.error().detail;
    for (const auto& e : more) acknowledged_.insert(e.recipient.email);
    expect_exactly_acknowledged(job);
    // Nearly full again for the next round: its first failing write comes
    // soon after this recovery, which flushed every memtable.
    disk_->fill(2 * kMiB);
  }

  // And all of it is still there after a reopen.
  disk_->free_filler();
  store_.reset();
  open();
  expect_exactly_acknowledged(job);
}

}  // namespace
}  // namespace crier
