// Shared set-up for the storage tests: a real RocksStore in a temp dir, jobs
// with valid content, and ingest entries built the way the api builds them
// (validate_user, then dedupe_key).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "engine/user_validation.h"
#include "storage/rocks_store.h"
#include "tests/support/temp_dir.h"

namespace crier::testing {

inline constexpr std::int64_t kBaseMs = 1'764'064'800'000;  // 2025-11-25T10:00:00Z

inline std::unique_ptr<RocksStore> open_store(const TempDir& dir) {
  auto r = RocksStore::open(StoreOptions{dir.str()});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : nullptr;
}

// Writes `value` under `key` in column family `family` of the closed store in
// `dir`, behind the store's back (to damage a record on purpose).
inline void raw_put(const TempDir& dir, std::string_view family, const std::string& key, const std::string& value) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.str(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.str(), cfs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == family) EXPECT_TRUE(db->Put({}, handles[i], key, value).ok());
  for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
}

// A CREATED email job of `tenant`, created at `created_ms`.
inline Job make_job(std::string tenant, std::int64_t created_ms = kBaseMs,
                    JobStatus status = JobStatus::created) {
  Job job;
  job.key = new_job_key(created_ms);
  job.tenant = std::move(tenant);
  job.status = status;
  job.created_at = job.updated_at = created_ms;
  job.spec.channel = Channel::email;
  job.spec.content.base.email = EmailContent{"Hi {{name}}", "Hello {{name}}", ""};
  return job;
}

// An entry for an email job: the user's email, its dedupe key from the engine.
inline IngestEntry email_entry(std::string email, std::string user_id = {}) {
  IngestEntry e;
  e.recipient.email = std::move(email);
  e.recipient.user_id = std::move(user_id);
  e.dedupe = dedupe_key(e.recipient, Channel::email);
  return e;
}

// "u<n>@example.com"; `batch` keeps batches apart.
inline std::string numbered_email(int n, int batch = 0) {
  return fmt::format("u{}_{}@example.com", batch, n);
}

// The emails of users 0..count-1.
inline std::vector<std::string> numbered_emails(int count, int batch = 0) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(numbered_email(i, batch));
  return out;
}

inline std::vector<IngestEntry> email_entries(const std::vector<std::string>& emails) {
  std::vector<IngestEntry> out;
  for (const auto& e : emails) out.push_back(email_entry(e));
  return out;
}

// received = unique + duplicates + rejected;
// unique = pending + enqueued + sent + delivered + failed + skipped + cancelled.
inline void expect_counter_invariants(const JobCounters& c) {
  EXPECT_EQ(c[Counter::received],
            c[Counter::unique] + c[Counter::duplicates] + c[Counter::rejected]);
  EXPECT_EQ(c[Counter::unique], c[Counter::pending] + c[Counter::enqueued] + c[Counter::sent] +
                                    c[Counter::delivered] + c[Counter::failed] +
                                    c[Counter::skipped] + c[Counter::cancelled]);
}

}  // namespace crier::testing
