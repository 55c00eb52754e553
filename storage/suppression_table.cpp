// Suppression entries as small JSON records, keyed so that a tenant's
// entries of one channel list in address order.
#include "storage/suppression_table.h"

#include <boost/json.hpp>

#include "engine/time_format.h"
#include "storage/keys.h"
#include "storage/status_error.h"

namespace crier {
namespace {

std::string encode(const Suppression& s) {
  return boost::json::serialize(boost::json::object{{"reason", s.reason}, {"created_at", s.created_at}});
}

Result<Suppression> decode(std::string_view tenant, Channel channel, std::string_view address,
                           std::string_view record) {
  boost::system::error_code ec;
  auto v = boost::json::parse(record, ec);
  const auto* o = v.if_object();
  if (ec || !o || !o->contains("reason") || !o->at("reason").is_string() || !o->contains("created_at") ||
      !o->at("created_at").is_int64())
    return corrupt("suppression record");
  return Suppression{std::string(tenant), channel, std::string(address), std::string(o->at("reason").get_string()),
                     o->at("created_at").get_int64()};
}

}  // namespace

SuppressionTable::SuppressionTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write)
    : db_(db), family_(family), write_(std::move(write)) {}

Result<std::optional<Suppression>> SuppressionTable::find(std::string_view tenant, Channel channel,
                                                          std::string_view address) {
  std::string value;
  auto s = db_.Get({}, &family_, slice(keys::suppression(tenant, static_cast<std::uint8_t>(channel), address)),
                   &value);
  if (s.IsNotFound()) return std::optional<Suppression>();
  if (!s.ok()) return storage_error(s, "read suppression");
  auto d = decode(tenant, channel, address, value);
  if (!d) return d.error();
  return std::optional<Suppression>(std::move(*d));
}

Result<bool> SuppressionTable::put(const Suppression& s) {
  std::lock_guard lock(writes_);
  auto old = find(s.tenant, s.channel, s.address);
  if (!old) return old.error();
  Suppression stored = s;
  if (*old) stored.created_at = (*old)->created_at;
  rocksdb::WriteBatch batch;
  batch.Put(&family_, slice(keys::suppression(s.tenant, static_cast<std::uint8_t>(s.channel), s.address)),
            encode(stored));
  {
    // Before the write: a dispatch that reads "none" after this point
    // looks the address up.
    std::unique_lock tenants(tenants_mutex_);
    tenants_[s.tenant] = true;
  }
  if (auto r = write_(batch); !r) return r.error();
  return !old->has_value();
}

Result<bool> SuppressionTable::remove(std::string_view tenant, Channel channel, std::string_view address) {
  std::lock_guard lock(writes_);
  auto old = find(tenant, channel, address);
  if (!old) return old.error();
  if (!*old) return false;
  rocksdb::WriteBatch batch;
  batch.Delete(&family_, slice(keys::suppression(tenant, static_cast<std::uint8_t>(channel), address)));
  if (auto r = write_(batch); !r) return r.error();
  return true;
}

Result<std::vector<Suppression>> SuppressionTable::list(std::string_view tenant, Channel channel,
                                                        std::string_view after, std::size_t limit) {
  const std::string prefix = keys::suppression(tenant, static_cast<std::uint8_t>(channel), "");
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
  const std::string start = keys::suppression(tenant, static_cast<std::uint8_t>(channel), after);
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::vector<Suppression> out;
  for (; it->Valid() && it->key().starts_with(slice(prefix)) && out.size() < limit; it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    auto d = decode(tenant, channel, key.substr(prefix.size()), {it->value().data(), it->value().size()});
    if (!d) return d.error();
    out.push_back(std::move(*d));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list suppressions");
  return out;
}

Result<bool> SuppressionTable::may_have_any(std::string_view tenant) {
  {
    std::shared_lock read(tenants_mutex_);
    if (auto it = tenants_.find(tenant); it != tenants_.end()) return it->second;
  }
  const std::string prefix = keys::tenant_prefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
  it->Seek(slice(prefix));
  if (!it->status().ok()) return storage_error(it->status(), "seek suppressions");
  const bool any = it->Valid() && it->key().starts_with(slice(prefix));
  std::unique_lock write(tenants_mutex_);
  // A put since the seek has set it already: keep its "true".
  auto [entry, inserted] = tenants_.emplace(std::string(tenant), any);
  return entry->second;
}

Result<bool> SuppressionTable::contains(std::string_view tenant, Channel channel, std::string_view address) {
  auto any = may_have_any(tenant);
  if (!any) return any.error();
  if (!*any) return false;
  std::string value;
  auto s = db_.Get({}, &family_, slice(keys::suppression(tenant, static_cast<std::uint8_t>(channel), address)),
                   &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return storage_error(s, "read suppression");
  return true;
}

}  // namespace crier
