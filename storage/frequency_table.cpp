// Rules as JSON; a history as 17-byte marks (unix ms, little-endian int64;
// the channel's number; the message's mark, little-endian), pruned to the
// last 30 days (the longest window a rule may have) at each write.
#include "storage/frequency_table.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>

#include "storage/keys.h"
#include "storage/status_error.h"

namespace crier {
namespace json = boost::json;
namespace {

constexpr std::size_t kMarkBytes = 17;

std::string encode_rules(const std::vector<FrequencyRule>& rules) {
  json::array a;
  for (const auto& r : rules)
    a.push_back(json::object{{"channel", r.channel ? json::value(to_string(*r.channel)) : json::value(nullptr)},
                             {"max", r.max},
                             {"window_ms", r.window_ms}});
  return json::serialize(a);
}

Result<std::vector<FrequencyRule>> decode_rules(std::string_view record) {
  boost::system::error_code ec;
  auto v = json::parse(record, ec);
  if (ec || !v.is_array()) return corrupt("frequency rules record");
  std::vector<FrequencyRule> out;
  for (const auto& e : v.get_array()) {
    const auto* o = e.if_object();
    if (!o) return corrupt("frequency rules record");
    const auto* c = o->if_contains("channel");
    const auto* max = o->if_contains("max");
    const auto* window = o->if_contains("window_ms");
    if (!c || !max || !max->is_number() || !window || !window->is_int64()) return corrupt("frequency rules record");
    FrequencyRule r;
    if (c->is_string()) {
      auto ch = parse_channel(c->get_string());
      if (!ch) return corrupt("frequency rules record");
      r.channel = *ch;
    }
    // Checked as the API checks them: a damaged record is an error, not an
    // exception or a cap of 0.
    if (!max->is_int64() || max->get_int64() < 1 || max->get_int64() > kMaxFrequencyCap) return corrupt("frequency rules record");
    if (window->get_int64() < 1 || window->get_int64() > kMaxFrequencyWindowMs) return corrupt("frequency rules record");
    r.max = static_cast<std::uint32_t>(max->get_int64());
    r.window_ms = window->get_int64();
    out.push_back(r);
  }
  return out;
}

std::vector<SendMark> decode_history(std::string_view record) {
  std::vector<SendMark> out;
  out.reserve(record.size() / kMarkBytes);
  // A record cut short (it cannot be, written whole) keeps its whole marks.
  for (std::size_t i = 0; i + kMarkBytes <= record.size(); i += kMarkBytes) {
    std::uint64_t at = 0;
    for (int b = 7; b >= 0; --b) at = (at << 8) | static_cast<unsigned char>(record[i + static_cast<std::size_t>(b)]);
    auto channel = static_cast<unsigned char>(record[i + 8]);
    std::uint64_t message = 0;
    for (int b = 7; b >= 0; --b) message = (message << 8) | static_cast<unsigned char>(record[i + 9 + static_cast<std::size_t>(b)]);
    if (channel >= kChannelCount) continue;
    out.push_back({static_cast<std::int64_t>(at), static_cast<Channel>(channel), message});
  }
  return out;
}

std::string encode_history(const std::vector<SendMark>& marks) {
  std::string out;
  out.reserve(marks.size() * kMarkBytes);
  for (const auto& m : marks) {
    auto at = static_cast<std::uint64_t>(m.at_ms);
    for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((at >> (8 * b)) & 0xff));
    out.push_back(static_cast<char>(m.channel));
    for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((m.message >> (8 * b)) & 0xff));
  }
  return out;
}

}  // namespace

FrequencyTable::FrequencyTable(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family, Write write)
    : db_(db), family_(family), write_(std::move(write)) {}

std::mutex& FrequencyTable::stripe(std::string_view tenant) {
  return stripes_[std::hash<std::string_view>{}(tenant) % stripes_.size()];
}

Result<void> FrequencyTable::put_rules(std::string_view tenant, const std::vector<FrequencyRule>& rules) {
  std::lock_guard lock(stripe(tenant));
  rocksdb::WriteBatch batch;
  if (rules.empty())
    batch.Delete(&family_, slice(keys::frequency_rules(tenant)));
  else
    batch.Put(&family_, slice(keys::frequency_rules(tenant)), encode_rules(rules));
  if (auto r = write_(batch); !r) return r.error();
  std::unique_lock write(rules_mutex_);
  rules_.insert_or_assign(std::string(tenant), rules);
  return {};
}

Result<std::vector<FrequencyRule>> FrequencyTable::rules(std::string_view tenant) {
  {
    std::shared_lock read(rules_mutex_);
    if (auto it = rules_.find(tenant); it != rules_.end()) return it->second;
  }
  std::string value;
  auto s = db_.Get({}, &family_, slice(keys::frequency_rules(tenant)), &value);
  std::vector<FrequencyRule> rules;
  if (!s.ok() && !s.IsNotFound()) return storage_error(s, "read frequency rules");
  if (s.ok()) {
    auto decoded = decode_rules(value);
    if (!decoded) return decoded.error();
    rules = std::move(*decoded);
  }
  std::unique_lock write(rules_mutex_);
  // A put since the read has set them already: keep its rules.
  auto [entry, inserted] = rules_.emplace(std::string(tenant), std::move(rules));
  return entry->second;
}

Result<std::vector<bool>> FrequencyTable::reserve(std::string_view tenant, Channel channel,
                                                  std::span<const std::string_view> user_ids,
                                                  std::span<const std::uint64_t> messages, std::int64_t now_ms) {
  std::vector<bool> allowed(user_ids.size(), true);
  if (user_ids.empty()) return allowed;
  // The rules are read under the lock that put_rules takes: a window is
  // checked against the rules as they were when its reservation began, and
  // never against rules older than a PUT that has answered.
  std::lock_guard lock(stripe(tenant));
  auto rules = this->rules(tenant);
  if (!rules) return rules.error();
  const bool counted = std::any_of(rules->begin(), rules->end(),
                                   [&](const FrequencyRule& r) { return !r.channel || *r.channel == channel; });
  if (!counted) return allowed;  // no rule counts this channel: nothing to check or record
  std::vector<std::string> keys;
  keys.reserve(user_ids.size());
  for (auto id : user_ids) keys.push_back(keys::send_history(tenant, id));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_.MultiGet({}, &family_, keys.size(), slices.data(), values.data(), statuses.data());
  // A user named twice in one call sees its first reservation.
  std::map<std::string_view, std::vector<SendMark>> histories;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!statuses[i].ok() && !statuses[i].IsNotFound()) return storage_error(statuses[i], "read send histories");
    if (histories.count(user_ids[i])) continue;
    histories[user_ids[i]] = statuses[i].ok() ? decode_history({values[i].data(), values[i].size()})
                                              : std::vector<SendMark>{};
  }
  rocksdb::WriteBatch batch;
  std::set<std::string_view> changed;
  for (std::size_t i = 0; i < user_ids.size(); ++i) {
    auto& history = histories[user_ids[i]];
    const std::uint64_t message = messages[i];
    if (std::any_of(history.begin(), history.end(), [&](const SendMark& m) { return m.message == message; }))
      continue;  // its slot was taken by an earlier attempt of the same message
    if (!within_caps(*rules, history, channel, now_ms)) {
      allowed[i] = false;
      continue;
    }
    history.push_back({now_ms, channel, message});
    changed.insert(user_ids[i]);
  }
  for (auto id : changed) {
    auto& history = histories[id];
    prune_history(history, now_ms);
    batch.Put(&family_, slice(keys::send_history(tenant, id)), encode_history(history));
  }
  if (batch.Count() > 0)
    if (auto r = write_(batch); !r) return r.error();
  return allowed;
}

}  // namespace crier
