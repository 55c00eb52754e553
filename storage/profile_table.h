// The profiles column family (keys.h): profile records and their alias
// index. Internal to storage/: RocksStore owns one and implements the
// engine's ProfileStore with it.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <span>

#include "engine/profile_store.h"

namespace crier {

class ProfileTable {
 public:
  // `write` applies a batch durably (the store's gated, synced write).
  using Write = std::function<Result<void>(rocksdb::WriteBatch&)>;
  ProfileTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write);

  Result<ProfileStore::Upserted> upsert(std::string_view tenant, std::string_view user_id,
                                        const ProfileStore::ProfileChange& change);
  // ProfileStore::upsert_profiles: one MultiGet of the profiles, one of the
  // aliases they take, one synced WriteBatch.
  Result<std::vector<ProfileStore::BatchOutcome>> upsert_many(std::string_view tenant,
                                                              std::span<const std::string_view> user_ids,
                                                              const ProfileStore::BatchChange& change);
  Result<std::optional<Profile>> find(std::string_view tenant, std::string_view user_id);
  Result<std::optional<std::string>> find_by_alias(std::string_view tenant, const ProfileAlias& alias);
  // `also` (if given) puts more into the deletion batch (the user's list
  // memberships, which need no profile). True when there was a profile or
  // `also` found something to delete.
  using AlsoDelete = std::function<Result<void>(rocksdb::WriteBatch&)>;
  Result<bool> remove(std::string_view tenant, std::string_view user_id, const AlsoDelete& also = {});
  Result<std::vector<Profile>> list(std::string_view tenant, std::string_view after_id, std::size_t limit);
  // One MultiGet; one entry per id.
  Result<std::vector<ProfileStore::Found>> find_many(std::string_view tenant, std::span<const std::string_view> user_ids);
  // Whether the tenant may have profiles: learnt with one seek the first
  // time, set by every upsert (a delete leaves it set: a stale "maybe" costs
  // a lookup, never a wrong answer).
  Result<bool> may_have_any(std::string_view tenant);

 private:
  // The stored holders of alias keys (keys::profile_alias), one MultiGet;
  // none where no profile holds it.
  Result<std::vector<std::optional<std::string>>> alias_holders(std::span<const std::string> alias_keys);
  void mark_has_profiles(std::string_view tenant);

  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle& family_;
  Write write_;
  // Writers one at a time: a profile and its aliases are read, changed and
  // written as one step, and two profiles must not take one alias at once.
  std::mutex writes_;
  std::shared_mutex tenants_mutex_;
  std::map<std::string, bool, std::less<>> tenants_;
};

}  // namespace crier
