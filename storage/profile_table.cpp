// Profile records as JSON, and the alias index kept with them.
#include "storage/profile_table.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <unordered_map>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "engine/profile_json.h"
#include "storage/keys.h"
#include "storage/profile_codec.h"
#include "storage/status_error.h"

namespace crier {
namespace {

std::string encode(const Profile& p) { return encode_profile(p); }

Result<Profile> decode(std::string_view tenant, std::string_view user_id, std::string_view record) {
  auto p = decode_profile(tenant, user_id, record);
  if (!p) return corrupt("profile record");
  return std::move(*p);
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
  mark_has_profiles(tenant);
  return ProfileStore::Upserted{std::move(*next), !old->has_value()};
}

Result<std::vector<std::optional<std::string>>> ProfileTable::alias_holders(std::span<const std::string> alias_keys) {
  std::vector<std::optional<std::string>> out(alias_keys.size());
  if (alias_keys.empty()) return out;
  std::vector<rocksdb::Slice> slices(alias_keys.begin(), alias_keys.end());
  std::vector<rocksdb::PinnableSlice> values(alias_keys.size());
  std::vector<rocksdb::Status> statuses(alias_keys.size());
  db_.MultiGet({}, &family_, alias_keys.size(), slices.data(), values.data(), statuses.data());
  for (std::size_t i = 0; i < alias_keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return storage_error(statuses[i], "read profile aliases");
    out[i] = values[i].ToString();
  }
  return out;
}

void ProfileTable::mark_has_profiles(std::string_view tenant) {
  std::unique_lock write(tenants_mutex_);
  tenants_.insert_or_assign(std::string(tenant), true);
}

// Two passes over the entries, so that the aliases are read with one
// MultiGet although they are known only once each change has been made:
// the first makes every change as if none would be refused and gathers the
// aliases they take; the second decides in order, alias by alias. An entry
// refused in the second pass for its alias changes what the later entries
// of the same profile start from: those are made again (their new aliases,
// if any, read one by one).
Result<std::vector<ProfileStore::BatchOutcome>> ProfileTable::upsert_many(std::string_view tenant,
                                                                         std::span<const std::string_view> user_ids,
                                                                         const ProfileStore::BatchChange& change) {
  const std::size_t n = user_ids.size();
  std::vector<ProfileStore::BatchOutcome> out(n);
  if (n == 0) return out;
  std::lock_guard lock(writes_);

  // Each profile of the batch once, read with one MultiGet.
  std::unordered_map<std::string_view, std::size_t> slot_of;
  std::vector<std::string_view> ids;
  std::vector<std::size_t> slot(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto [it, inserted] = slot_of.try_emplace(user_ids[i], ids.size());
    if (inserted) ids.push_back(user_ids[i]);
    slot[i] = it->second;
  }
  auto found = find_many(tenant, ids);
  if (!found) return found.error();
  std::vector<std::optional<Profile>> stored(ids.size());
  for (std::size_t s = 0; s < ids.size(); ++s) stored[s] = std::move((*found)[s].profile);

  static const std::optional<Profile> kNone;
  static const std::vector<ProfileAlias> kNoAliases;
  auto aliases_of = [](const std::optional<Profile>& p) -> const std::vector<ProfileAlias>& {
    return p ? p->aliases : kNoAliases;
  };
  // What entry i makes of `base`, or its error in out[i].
  std::vector<std::optional<Profile>> made(n);
  auto make = [&](std::size_t i, const std::optional<Profile>& base) {
    auto next = change(i, base);
    if (!next) {
      out[i].error = next.error();
      made[i].reset();
      return;
    }
    next->tenant = tenant;
    next->user_id = user_ids[i];
    made[i] = std::move(*next);
  };

  // Pass 1: every change, each from what the entries before it made.
  std::vector<const std::optional<Profile>*> current(ids.size());
  for (std::size_t s = 0; s < ids.size(); ++s) current[s] = &stored[s];
  std::vector<std::string> wanted;  // alias keys taken, each once
  std::unordered_map<std::string, std::size_t> wanted_index;
  auto want = [&](const ProfileAlias& a) {
    auto key = keys::profile_alias(tenant, a.label, a.name);
    if (wanted_index.try_emplace(key, wanted.size()).second) wanted.push_back(std::move(key));
  };
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t s = slot[i];
    if ((*found)[s].unreadable) {
      out[i].error = corrupt("profile record");
      continue;
    }
    make(i, *current[s]);
    if (!made[i]) continue;
    for (const auto& a : made[i]->aliases)
      if (!holds(aliases_of(*current[s]), a)) want(a);
    current[s] = &made[i];
  }
  auto holders = alias_holders(wanted);
  if (!holders) return holders.error();

  // Pass 2: decide in order. `taken` holds the aliases the batch changed:
  // their holder from here on (none: freed).
  std::unordered_map<std::string, std::optional<std::string_view>> taken;
  std::vector<bool> diverged(ids.size(), false), changed(ids.size(), false);
  for (std::size_t s = 0; s < ids.size(); ++s) current[s] = &stored[s];
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t s = slot[i];
    if ((*found)[s].unreadable) continue;
    const std::optional<Profile>& base = *current[s];
    if (diverged[s]) {
      out[i].error.reset();
      make(i, base);
    }
    if (!made[i]) continue;  // refused by its change: the same from the same base
    std::optional<Error> conflict;
    for (const auto& a : made[i]->aliases) {
      if (holds(aliases_of(base), a)) continue;
      auto key = keys::profile_alias(tenant, a.label, a.name);
      std::optional<std::string_view> holder;
      std::string read;  // a holder read one by one (a made-again entry)
      if (auto t = taken.find(key); t != taken.end()) {
        holder = t->second;
      } else if (auto w = wanted_index.find(key); w != wanted_index.end()) {
        if ((*holders)[w->second]) holder = *(*holders)[w->second];
      } else {
        auto s2 = db_.Get({}, &family_, slice(key), &read);
        if (!s2.ok() && !s2.IsNotFound()) return storage_error(s2, "read profile alias");
        if (s2.ok()) holder = read;
      }
      if (holder && *holder != user_ids[i]) {
        conflict = make_error(ErrorKind::conflict, "alias_in_use",
                              fmt::format("the alias '{}' of label '{}' belongs to another profile", a.name, a.label),
                              "aliases");
        break;
      }
    }
    if (conflict) {
      out[i].error = std::move(conflict);
      made[i].reset();
      diverged[s] = true;  // pass 1 built the later entries on this one
      continue;
    }
    for (const auto& a : made[i]->aliases)
      if (!holds(aliases_of(base), a)) taken[keys::profile_alias(tenant, a.label, a.name)] = user_ids[i];
    for (const auto& a : aliases_of(base))
      if (!holds(made[i]->aliases, a)) taken[keys::profile_alias(tenant, a.label, a.name)] = std::nullopt;
    out[i].created = !base.has_value();
    current[s] = &made[i];
    changed[s] = true;
  }

  // Encoded first, so the batch is allocated once (grown put by put, its
  // buffer was copied over and over: a tenth of the batch's time).
  std::vector<std::pair<std::string, std::string>> records;
  std::size_t bytes = 64;
  for (std::size_t s = 0; s < ids.size(); ++s) {
    if (!changed[s]) continue;
    records.emplace_back(keys::profile(tenant, ids[s]), encode(**current[s]));
    bytes += records.back().first.size() + records.back().second.size() + 16;
  }
  if (records.empty()) return out;
  for (const auto& [key, holder] : taken) bytes += key.size() + (holder ? holder->size() : 0) + 16;
  rocksdb::WriteBatch batch(bytes);
  for (const auto& [key, value] : records) batch.Put(&family_, slice(key), slice(value));
  for (const auto& [key, holder] : taken) {
    if (holder) batch.Put(&family_, slice(key), slice(*holder));
    else batch.Delete(&family_, slice(key));
  }
  if (auto r = write_(batch); !r) return r.error();
  mark_has_profiles(tenant);
  return out;
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
  out.reserve(std::min<std::size_t>(limit, 1024));  // a page grown profile by profile moved each one again
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
