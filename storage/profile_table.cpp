// Profile records as JSON, and the alias index kept with them.
#include "storage/profile_table.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "engine/profile_json.h"
#include "storage/keys.h"
#include "storage/status_error.h"

namespace crier {
namespace {

std::string encode(const Profile& p) { return boost::json::serialize(profile_to_json(p)); }

Result<Profile> decode(std::string_view tenant, std::string_view user_id, std::string_view record) {
  boost::system::error_code ec;
  auto v = boost::json::parse(record, ec);
  if (ec || !v.is_object()) return corrupt("profile record");
  auto p = profile_from_json(v.as_object(), tenant, user_id);
  if (!p) return corrupt("profile record");
  return p;
}

bool holds(const std::vector<ProfileAlias>& aliases, const ProfileAlias& a) {
  return std::find(aliases.begin(), aliases.end(), a) != aliases.end();
}

}  // namespace

ProfileTable::ProfileTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write)
    : db_(db), family_(family), write_(std::move(write)) {}

Result<std::optional<Profile>> ProfileTable::find(std::string_view tenant, std::string_view user_id) {
  std::string value;
  auto s = db_.Get({}, &family_, slice(keys::profile(tenant, user_id)), &value);
  if (s.IsNotFound()) return std::optional<Profile>();
  if (!s.ok()) return storage_error(s, "read profile");
  auto p = decode(tenant, user_id, value);
  if (!p) return p.error();
  return std::optional<Profile>(std::move(*p));
}

Result<std::optional<std::string>> ProfileTable::find_by_alias(std::string_view tenant, const ProfileAlias& alias) {
  std::string user_id;
  auto s = db_.Get({}, &family_, slice(keys::profile_alias(tenant, alias.label, alias.name)), &user_id);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return storage_error(s, "read profile alias");
  return std::optional<std::string>(std::move(user_id));
}

Result<ProfileStore::Upserted> ProfileTable::upsert(std::string_view tenant, std::string_view user_id,
                                                    const ProfileStore::ProfileChange& change) {
  std::lock_guard lock(writes_);
  auto old = find(tenant, user_id);
  if (!old) return old.error();
  auto next = change(*old);
  if (!next) return next.error();
  next->tenant = tenant;
  next->user_id = user_id;

  rocksdb::WriteBatch batch;
  static const std::vector<ProfileAlias> kNone;
  const auto& before = *old ? (*old)->aliases : kNone;
  for (const auto& a : next->aliases) {
    if (holds(before, a)) continue;
    auto holder = find_by_alias(tenant, a);
    if (!holder) return holder.error();
    if (*holder && **holder != user_id) {
      auto e = make_error(ErrorKind::conflict, "alias_in_use",
                          fmt::format("the alias '{}' of label '{}' belongs to another profile", a.name, a.label),
                          "aliases");
      return e;
    }
    batch.Put(&family_, slice(keys::profile_alias(tenant, a.label, a.name)), slice(user_id));
  }
  for (const auto& a : before)
    if (!holds(next->aliases, a)) batch.Delete(&family_, slice(keys::profile_alias(tenant, a.label, a.name)));
  batch.Put(&family_, slice(keys::profile(tenant, user_id)), encode(*next));
  if (auto r = write_(batch); !r) return r.error();
  {
    std::unique_lock write(tenants_mutex_);
    tenants_.insert_or_assign(std::string(tenant), true);
  }
  return ProfileStore::Upserted{std::move(*next), !old->has_value()};
}

Result<bool> ProfileTable::remove(std::string_view tenant, std::string_view user_id, const AlsoDelete& also) {
  std::lock_guard lock(writes_);
  auto old = find(tenant, user_id);
  if (!old) return old.error();
  rocksdb::WriteBatch batch;
  // A user may be known by what `also` deletes (list memberships need no
  // profile): deleting such a user forgets that too.
  if (also)
    if (auto r = also(batch); !r) return r.error();
  if (!*old && batch.Count() == 0) return false;
  if (*old) {
    for (const auto& a : (*old)->aliases) batch.Delete(&family_, slice(keys::profile_alias(tenant, a.label, a.name)));
    batch.Delete(&family_, slice(keys::profile(tenant, user_id)));
  }
  // Forgetting a user forgets when it was sent to (its frequency-cap history).
  batch.Delete(&family_, slice(keys::send_history(tenant, user_id)));
  if (auto r = write_(batch); !r) return r.error();
  return true;
}

Result<std::vector<Profile>> ProfileTable::list(std::string_view tenant, std::string_view after_id,
                                                std::size_t limit) {
  const std::string prefix = keys::profile_prefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
  const std::string start = keys::profile(tenant, after_id);
  it->Seek(slice(start));
  if (!after_id.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::vector<Profile> out;
  for (; it->Valid() && it->key().starts_with(slice(prefix)) && out.size() < limit; it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    auto p = decode(tenant, key.substr(prefix.size()), {it->value().data(), it->value().size()});
    if (!p) return p.error();
    out.push_back(std::move(*p));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list profiles");
  return out;
}

Result<std::vector<ProfileStore::Found>> ProfileTable::find_many(std::string_view tenant,
                                                                 std::span<const std::string_view> user_ids) {
  std::vector<std::string> keys;
  keys.reserve(user_ids.size());
  for (auto id : user_ids) keys.push_back(keys::profile(tenant, id));
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (const auto& k : keys) slices.emplace_back(k);
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_.MultiGet({}, &family_, keys.size(), slices.data(), values.data(), statuses.data());
  std::vector<ProfileStore::Found> out(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return storage_error(statuses[i], "read profiles");
    auto p = decode(tenant, user_ids[i], {values[i].data(), values[i].size()});
    if (p) out[i].profile = std::move(*p);
    else out[i].unreadable = true;
  }
  return out;
}

Result<bool> ProfileTable::may_have_any(std::string_view tenant) {
  {
    std::shared_lock read(tenants_mutex_);
    if (auto it = tenants_.find(tenant); it != tenants_.end()) return it->second;
  }
  const std::string prefix = keys::profile_prefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
  it->Seek(slice(prefix));
  if (!it->status().ok()) return storage_error(it->status(), "seek profiles");
  const bool any = it->Valid() && it->key().starts_with(slice(prefix));
  std::unique_lock write(tenants_mutex_);
  // An upsert since the seek has set it already: keep its "true".
  auto [entry, inserted] = tenants_.emplace(std::string(tenant), any);
  return entry->second;
}

}  // namespace crier
