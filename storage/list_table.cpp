// List records as small JSON objects {"name","members","created_at",
// "updated_at","deleting"?}, and the two membership indexes: 'm' (list →
// user) to stream a list and to ask "is this user a member" with one
// MultiGet, 'u' (user → list) so that forgetting a user finds its lists
// without scanning any list. Both are written in one batch, always.
#include "storage/list_table.h"

#include <algorithm>
#include <boost/json.hpp>

#include "storage/keys.h"
#include "storage/status_error.h"

namespace crier {
namespace json = boost::json;

// Memberships deleted per atomic step of a list's deletion: bounded memory
// and batch size, whatever the list's size.
constexpr std::size_t kSweepStep = 1000;

struct ListTable::Record {
  UserList list;
  bool deleting = false;  // its memberships are being swept: no list to readers
};

namespace {

std::string encode(const UserList& l, bool deleting) {
  json::object o{{"name", l.name}, {"members", l.members}, {"created_at", l.created_at}, {"updated_at", l.updated_at}};
  if (deleting) o["deleting"] = true;
  return json::serialize(o);
}

std::optional<std::pair<UserList, bool>> decode(std::string_view tenant, std::string_view id, std::string_view record) {
  boost::system::error_code ec;
  auto v = json::parse(record, ec);
  const auto* o = v.if_object();
  if (ec || !o) return std::nullopt;
  const auto* name = o->if_contains("name");
  const auto* members = o->if_contains("members");
  const auto* created = o->if_contains("created_at");
  const auto* updated = o->if_contains("updated_at");
  const auto* deleting = o->if_contains("deleting");
  if (!name || !name->is_string() || !members || !members->is_int64() || !created || !created->is_int64() ||
      !updated || !updated->is_int64() || (deleting && !deleting->is_bool()))
    return std::nullopt;
  return std::pair{UserList{std::string(tenant), std::string(id), std::string(name->get_string()),
                            members->get_int64(), created->get_int64(), updated->get_int64()},
                   deleting && deleting->get_bool()};
}

// The ids once each, in byte order (a request may repeat one).
std::vector<std::string_view> distinct(std::span<const std::string_view> ids) {
  std::vector<std::string_view> out(ids.begin(), ids.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

ListTable::ListTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write)
    : db_(db), family_(family), write_(std::move(write)) {}

Result<std::optional<ListTable::Record>> ListTable::read(std::string_view tenant, std::string_view id) {
  std::string value;
  auto s = db_.Get({}, &family_, slice(keys::user_list(tenant, id)), &value);
  if (s.IsNotFound()) return std::optional<Record>();
  if (!s.ok()) return storage_error(s, "read list");
  auto d = decode(tenant, id, value);
  if (!d) return corrupt("list record");
  return std::optional<Record>(Record{std::move(d->first), d->second});
}

Result<std::optional<UserList>> ListTable::find(std::string_view tenant, std::string_view id) {
  auto r = read(tenant, id);
  if (!r) return r.error();
  if (!*r || (*r)->deleting) return std::optional<UserList>();
  return std::optional<UserList>(std::move((*r)->list));
}

Result<bool> ListTable::put(const UserList& l) {
  for (;;) {
    {
      std::lock_guard lock(writes_);
      auto old = read(l.tenant, l.id);
      if (!old) return old.error();
      if (!*old || !(*old)->deleting) {
        UserList stored = l;
        stored.members = *old ? (*old)->list.members : 0;
        if (*old) stored.created_at = (*old)->list.created_at;
        rocksdb::WriteBatch batch;
        batch.Put(&family_, slice(keys::user_list(l.tenant, l.id)), encode(stored, false));
        if (auto r = write_(batch); !r) return r.error();
        return !old->has_value();
      }
    }
    // A deletion the server did not finish (it stopped during it): its
    // memberships must go before the id is a list again.
    if (auto r = sweep(l.tenant, l.id); !r) return r.error();
  }
}

Result<bool> ListTable::remove(std::string_view tenant, std::string_view id) {
  bool existed = false;
  {
    std::lock_guard lock(writes_);
    auto old = read(tenant, id);
    if (!old) return old.error();
    if (!*old) return false;
    existed = !(*old)->deleting;
    if (existed) {
      // First the mark, so that the list is gone for every reader at once and
      // a restart in the middle of the sweep leaves no half list behind.
      rocksdb::WriteBatch batch;
      batch.Put(&family_, slice(keys::user_list(tenant, id)), encode((*old)->list, true));
      if (auto r = write_(batch); !r) return r.error();
    }
  }
  if (auto r = sweep(tenant, id); !r) return r.error();
  return existed;
}

Result<void> ListTable::sweep(std::string_view tenant, std::string_view id) {
  const std::string prefix = keys::list_members_prefix(tenant, id);
  for (;;) {
    std::lock_guard lock(writes_);
    auto rec = read(tenant, id);
    if (!rec) return rec.error();
    if (!*rec || !(*rec)->deleting) return {};  // done, or made again since
    rocksdb::WriteBatch batch;
    std::size_t n = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
    for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)) && n < kSweepStep;
         it->Next(), ++n) {
      const std::string_view user(it->key().data() + prefix.size(), it->key().size() - prefix.size());
      batch.Delete(&family_, it->key());
      batch.Delete(&family_, slice(keys::member_list(tenant, user, id)));
    }
    if (!it->status().ok()) return storage_error(it->status(), "list members");
    const bool last = n < kSweepStep;
    if (last) batch.Delete(&family_, slice(keys::user_list(tenant, id)));
    if (auto r = write_(batch); !r) return r.error();
    if (last) return {};
  }
}

Result<std::vector<UserList>> ListTable::list(std::string_view tenant, std::string_view after, std::size_t limit) {
  const std::string prefix = keys::user_list_prefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
  const std::string start = keys::user_list(tenant, after);
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::vector<UserList> out;
  for (; it->Valid() && it->key().starts_with(slice(prefix)) && out.size() < limit; it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    auto d = decode(tenant, key.substr(prefix.size()), {it->value().data(), it->value().size()});
    if (!d) return corrupt("list record");
    if (!d->second) out.push_back(std::move(d->first));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list lists");
  return out;
}

Result<std::optional<UserListStore::MembershipChange>> ListTable::add(std::string_view tenant, std::string_view id,
                                                                      std::span<const std::string_view> user_ids) {
  return change(tenant, id, user_ids, true);
}

Result<std::optional<UserListStore::MembershipChange>> ListTable::drop(std::string_view tenant, std::string_view id,
                                                                       std::span<const std::string_view> user_ids) {
  return change(tenant, id, user_ids, false);
}

Result<std::optional<UserListStore::MembershipChange>> ListTable::change(std::string_view tenant, std::string_view id,
                                                                         std::span<const std::string_view> user_ids,
                                                                         bool adding) {
  std::lock_guard lock(writes_);
  auto rec = read(tenant, id);
  if (!rec) return rec.error();
  if (!*rec || (*rec)->deleting) return std::optional<UserListStore::MembershipChange>();
  const auto users = distinct(user_ids);
  auto present = members_among(tenant, id, users);
  if (!present) return present.error();
  UserListStore::MembershipChange out;
  rocksdb::WriteBatch batch;
  for (std::size_t i = 0; i < users.size(); ++i) {
    if ((*present)[i] == adding) continue;
    ++out.changed;
    if (adding) {
      batch.Put(&family_, slice(keys::list_member(tenant, id, users[i])), rocksdb::Slice());
      batch.Put(&family_, slice(keys::member_list(tenant, users[i], id)), rocksdb::Slice());
    } else {
      batch.Delete(&family_, slice(keys::list_member(tenant, id, users[i])));
      batch.Delete(&family_, slice(keys::member_list(tenant, users[i], id)));
    }
  }
  out.unchanged = static_cast<std::int64_t>(user_ids.size()) - out.changed;
  UserList& l = (*rec)->list;
  l.members = std::max<std::int64_t>(0, l.members + (adding ? out.changed : -out.changed));
  out.members = l.members;
  if (out.changed == 0) return std::optional(out);
  batch.Put(&family_, slice(keys::user_list(tenant, id)), encode(l, false));
  if (auto r = write_(batch); !r) return r.error();
  return std::optional(out);
}

Result<std::vector<std::string>> ListTable::members(std::string_view tenant, std::string_view id,
                                                    std::string_view after, std::size_t limit) {
  const std::string prefix = keys::list_members_prefix(tenant, id);
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
  const std::string start = keys::list_member(tenant, id, after);
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::vector<std::string> out;
  for (; it->Valid() && it->key().starts_with(slice(prefix)) && out.size() < limit; it->Next())
    out.emplace_back(it->key().data() + prefix.size(), it->key().size() - prefix.size());
  if (!it->status().ok()) return storage_error(it->status(), "list members");
  return out;
}

Result<std::vector<bool>> ListTable::members_among(std::string_view tenant, std::string_view id,
                                                   std::span<const std::string_view> user_ids) {
  // In slices of kMultiGetKeys, so a bulk request of 100 000 ids holds the
  // keys and values of one slice at a time, not of all.
  constexpr std::size_t kMultiGetKeys = 4096;
  std::vector<bool> out(user_ids.size(), false);
  std::vector<std::string> keys;
  std::vector<rocksdb::Slice> slices;
  std::vector<rocksdb::PinnableSlice> values(std::min(kMultiGetKeys, user_ids.size()));
  std::vector<rocksdb::Status> statuses(values.size());
  for (std::size_t first = 0; first < user_ids.size(); first += kMultiGetKeys) {
    const std::size_t n = std::min(kMultiGetKeys, user_ids.size() - first);
    keys.clear();
    slices.clear();
    for (std::size_t i = 0; i < n; ++i) keys.push_back(keys::list_member(tenant, id, user_ids[first + i]));
    for (const auto& k : keys) slices.emplace_back(k);
    for (auto& v : values) v.Reset();
    db_.MultiGet({}, &family_, n, slices.data(), values.data(), statuses.data());
    for (std::size_t i = 0; i < n; ++i) {
      if (statuses[i].IsNotFound()) continue;
      if (!statuses[i].ok()) return storage_error(statuses[i], "read list members");
      out[first + i] = true;
    }
  }
  return out;
}

Result<std::vector<std::string>> ListTable::lists_of(std::string_view tenant, std::string_view user_id) {
  const std::string prefix = keys::member_lists_prefix(tenant, user_id);
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
  std::vector<std::string> out;
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    std::string id(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    auto rec = read(tenant, id);  // a list being deleted still has entries here until its sweep ends
    if (!rec) return rec.error();
    if (*rec && !(*rec)->deleting) out.push_back(std::move(id));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list a user's lists");
  return out;
}

Result<void> ListTable::forget_user(std::string_view tenant, std::string_view user_id, rocksdb::WriteBatch& batch) {
  const std::string prefix = keys::member_lists_prefix(tenant, user_id);
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    const std::string_view id(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    batch.Delete(&family_, it->key());
    batch.Delete(&family_, slice(keys::list_member(tenant, id, user_id)));
    auto rec = read(tenant, id);
    if (!rec) return rec.error();
    if (!*rec) continue;
    (*rec)->list.members = std::max<std::int64_t>(0, (*rec)->list.members - 1);
    batch.Put(&family_, slice(keys::user_list(tenant, id)), encode((*rec)->list, (*rec)->deleting));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list a user's lists");
  return {};
}

}  // namespace crier
