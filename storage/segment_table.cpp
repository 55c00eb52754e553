// Segment records as small JSON objects {"name","filter","created_at","updated_at"}.
#include "storage/segment_table.h"

#include <boost/json.hpp>

#include "storage/keys.h"
#include "storage/status_error.h"

namespace crier {
namespace json = boost::json;
namespace {

std::string encode(const Segment& s) {
  return json::serialize(json::object{{"name", s.name},
                                      {"filter", json::parse(s.filter_json)},
                                      {"created_at", s.created_at},
                                      {"updated_at", s.updated_at}});
}

Result<Segment> decode(std::string_view tenant, std::string_view id, std::string_view record) {
  boost::system::error_code ec;
  auto v = json::parse(record, ec);
  const auto* o = v.if_object();
  if (ec || !o) return corrupt("segment record");
  const auto* name = o->if_contains("name");
  const auto* filter = o->if_contains("filter");
  const auto* created = o->if_contains("created_at");
  const auto* updated = o->if_contains("updated_at");
  if (!name || !name->is_string() || !filter || !created || !created->is_int64() || !updated || !updated->is_int64())
    return corrupt("segment record");
  return Segment{std::string(tenant), std::string(id), std::string(name->get_string()), json::serialize(*filter),
                 created->get_int64(), updated->get_int64()};
}

}  // namespace

SegmentTable::SegmentTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write)
    : db_(db), family_(family), write_(std::move(write)) {}

Result<std::optional<Segment>> SegmentTable::find(std::string_view tenant, std::string_view id) {
  std::string value;
  auto s = db_.Get({}, &family_, slice(keys::segment(tenant, id)), &value);
  if (s.IsNotFound()) return std::optional<Segment>();
  if (!s.ok()) return storage_error(s, "read segment");
  auto d = decode(tenant, id, value);
  if (!d) return d.error();
  return std::optional<Segment>(std::move(*d));
}

Result<bool> SegmentTable::put(const Segment& s) {
  std::lock_guard lock(writes_);
  auto old = find(s.tenant, s.id);
  if (!old) return old.error();
  Segment stored = s;
  if (*old) stored.created_at = (*old)->created_at;
  rocksdb::WriteBatch batch;
  batch.Put(&family_, slice(keys::segment(s.tenant, s.id)), encode(stored));
  if (auto r = write_(batch); !r) return r.error();
  return !old->has_value();
}

Result<bool> SegmentTable::remove(std::string_view tenant, std::string_view id) {
  std::lock_guard lock(writes_);
  auto old = find(tenant, id);
  if (!old) return old.error();
  if (!*old) return false;
  rocksdb::WriteBatch batch;
  batch.Delete(&family_, slice(keys::segment(tenant, id)));
  if (auto r = write_(batch); !r) return r.error();
  return true;
}

Result<std::vector<Segment>> SegmentTable::list(std::string_view tenant, std::string_view after, std::size_t limit) {
  const std::string prefix = keys::segment_prefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator({}, &family_));
  const std::string start = keys::segment(tenant, after);
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::vector<Segment> out;
  for (; it->Valid() && it->key().starts_with(slice(prefix)) && out.size() < limit; it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    auto d = decode(tenant, key.substr(prefix.size()), {it->value().data(), it->value().size()});
    if (!d) return d.error();
    out.push_back(std::move(*d));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list segments");
  return out;
}

}  // namespace crier
