// Lists, kept in the profiles family (keys.h: tags 'l', 'm', 'u'). Internal
// to storage/: RocksStore owns one and implements the engine's
// UserListStore with it.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <mutex>

#include "engine/user_list.h"

namespace crier {

class ListTable {
 public:
  using Write = std::function<Result<void>(rocksdb::WriteBatch&)>;
  ListTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write);

  Result<bool> put(const UserList& list);
  Result<std::optional<UserList>> find(std::string_view tenant, std::string_view id);
  Result<bool> remove(std::string_view tenant, std::string_view id);
  Result<std::vector<UserList>> list(std::string_view tenant, std::string_view after, std::size_t limit);
  Result<std::optional<UserListStore::MembershipChange>> add(std::string_view tenant, std::string_view id,
                                                             std::span<const std::string_view> user_ids);
  Result<std::optional<UserListStore::MembershipChange>> drop(std::string_view tenant, std::string_view id,
                                                              std::span<const std::string_view> user_ids);
  Result<std::vector<std::string>> members(std::string_view tenant, std::string_view id, std::string_view after,
                                           std::size_t limit);
  Result<std::vector<bool>> members_among(std::string_view tenant, std::string_view id,
                                          std::span<const std::string_view> user_ids);
  Result<std::vector<std::string>> lists_of(std::string_view tenant, std::string_view user_id);

  // Deleting a profile drops its memberships in the profile's own write:
  // under lock_memberships(), forget_user puts into `batch` the deletion of
  // each membership of the user and its lists' lowered counts; the lock is
  // held until that batch is written, so no count is changed in between.
  std::unique_lock<std::mutex> lock_memberships() { return std::unique_lock(writes_); }
  Result<void> forget_user(std::string_view tenant, std::string_view user_id, rocksdb::WriteBatch& batch);

 private:
  struct Record;
  Result<std::optional<Record>> read(std::string_view tenant, std::string_view id);
  Result<std::optional<UserListStore::MembershipChange>> change(std::string_view tenant, std::string_view id,
                                                                std::span<const std::string_view> user_ids,
                                                                bool adding);
  // Deletes the memberships of a list marked as being deleted, a bounded
  // step at a time, then its record; stops if the list was made again.
  Result<void> sweep(std::string_view tenant, std::string_view id);

  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle& family_;
  Write write_;
  // Every write of lists and memberships one at a time: a count is read,
  // changed and written with the memberships it counts.
  std::mutex writes_;
};

}  // namespace crier
