#include "storage/keys.h"

#include <algorithm>

namespace crier::keys {

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string job(const JobKey& job) { return std::string(job.begin(), job.end()); }

std::string tenant_prefix(std::string_view tenant) {
  std::string k(tenant);
  k.push_back('\0');
  return k;
}

std::string tenant_job(std::string_view tenant, std::int64_t created_ms, const JobKey& job) {
  std::string k = tenant_prefix(tenant);
  put_u64(k, ~static_cast<std::uint64_t>(created_ms));  // newest first
  k.append(job.begin(), job.end());
  return k;
}

JobKey job_of_tenant_job(std::string_view key) {
  JobKey j{};
  std::copy(key.end() - 16, key.end(), j.begin());
  return j;
}

std::string recipient(const JobKey& job, std::uint64_t seq) {
  std::string k(job.begin(), job.end());
  put_u64(k, seq);
  return k;
}

std::uint64_t seq_of_recipient(std::string_view key) { return get_u64(key.substr(16)); }

std::string state_run(const JobKey& job, std::uint64_t first) { return recipient(job, first); }

std::string dedupe(const JobKey& job, const DedupeKey& identity) {
  std::string k(job.begin(), job.end());
  k.append(identity.begin(), identity.end());
  return k;
}

std::string counters(const JobKey& job) {
  std::string k(job.begin(), job.end());
  k.push_back('c');
  return k;
}

std::string cursor(const JobKey& job) {
  std::string k(job.begin(), job.end());
  k.push_back('p');
  return k;
}

std::string horizon(const JobKey& job) {
  std::string k(job.begin(), job.end());
  k.push_back('h');
  return k;
}

std::string tenant_scoped(std::string_view tenant, std::string_view name) {
  std::string k = tenant_prefix(tenant);
  k.append(name);
  return k;
}

std::string signing_secrets(std::string_view tenant) {
  std::string k("secret", 6);
  k.push_back('\0');
  k.append(tenant);
  return k;
}

std::string retry(const JobKey& job, std::int64_t due_ms, std::uint64_t seq) {
  std::string k(job.begin(), job.end());
  put_u64(k, static_cast<std::uint64_t>(std::max<std::int64_t>(0, due_ms)));
  put_u64(k, seq);
  return k;
}

std::int64_t due_of_retry(std::string_view key) { return static_cast<std::int64_t>(get_u64(key.substr(16))); }

std::uint64_t seq_of_retry(std::string_view key) { return get_u64(key.substr(24)); }

std::string group_jobs_prefix(std::string_view tenant, std::string_view group_id) {
  std::string k = tenant_scoped(tenant, group_id);
  k.push_back('\0');
  return k;
}

std::string group_job(std::string_view tenant, std::string_view group_id, const JobKey& job) {
  std::string k = group_jobs_prefix(tenant, group_id);
  k.append(job.begin(), job.end());
  return k;
}

JobKey job_of_group_job(std::string_view key) { return job_of_tenant_job(key); }

std::string sender_prefix(std::string_view tenant) {
  std::string k = tenant_prefix(tenant);
  k.push_back('s');
  return k;
}

std::string sender(std::string_view tenant, std::string_view id) {
  std::string k = sender_prefix(tenant);
  k.append(id);
  return k;
}

std::string quota_use_prefix(std::string_view tenant, std::string_view sender) {
  std::string k = tenant_prefix(tenant);
  k.push_back('q');
  k.append(sender);
  k.push_back('\0');
  return k;
}

std::string quota_use(std::string_view tenant, std::string_view sender, std::int64_t at_ms, const JobKey& job) {
  std::string k = quota_use_prefix(tenant, sender);
  put_u64(k, static_cast<std::uint64_t>(std::max<std::int64_t>(0, at_ms)));
  k.append(job.begin(), job.end());
  return k;
}

std::optional<std::int64_t> at_of_quota_use(std::string_view key) {
  // tenant ▸ 0x00 ▸ 'q' ▸ sender ▸ 0x00 ▸ at(8) ▸ job(16): the tenant holds
  // no 0x00, so the first one ends it.
  auto end = key.find('\0');
  if (end == std::string_view::npos || end + 1 >= key.size() || key[end + 1] != 'q') return std::nullopt;
  if (key.size() < end + 2 + 1 + 1 + 24) return std::nullopt;
  return static_cast<std::int64_t>(get_u64(key.substr(key.size() - 24)));
}

std::string outbox_event(const JobKey& job, std::uint64_t seq) {
  std::string k(job.begin(), job.end());
  k.push_back('e');
  put_u64(k, seq);
  return k;
}

std::string outbox_next(const JobKey& job) {
  std::string k(job.begin(), job.end());
  k.push_back('n');
  return k;
}

std::string outbox_status(const JobKey& job) {
  std::string k(job.begin(), job.end());
  k.push_back('s');
  return k;
}

std::string profile_prefix(std::string_view tenant) {
  std::string k = tenant_prefix(tenant);
  k.push_back('p');
  return k;
}

std::string profile(std::string_view tenant, std::string_view user_id) {
  std::string k = profile_prefix(tenant);
  k.append(user_id);
  return k;
}

std::string profile_alias(std::string_view tenant, std::string_view label, std::string_view name) {
  std::string k = tenant_prefix(tenant);
  k.push_back('a');
  k.append(label);
  k.push_back('\0');
  k.append(name);
  return k;
}

std::string segment_prefix(std::string_view tenant) {
  std::string k = tenant_prefix(tenant);
  k.push_back('g');
  return k;
}

std::string segment(std::string_view tenant, std::string_view id) {
  std::string k = segment_prefix(tenant);
  k.append(id);
  return k;
}

std::string frequency_rules(std::string_view tenant) {
  std::string k = tenant_prefix(tenant);
  k.push_back('f');
  return k;
}

std::string send_history(std::string_view tenant, std::string_view user_id) {
  std::string k = tenant_prefix(tenant);
  k.push_back('h');
  k.append(user_id);
  return k;
}

std::string user_list_prefix(std::string_view tenant) {
  std::string k = tenant_prefix(tenant);
  k.push_back('l');
  return k;
}

std::string user_list(std::string_view tenant, std::string_view list_id) {
  std::string k = user_list_prefix(tenant);
  k.append(list_id);
  return k;
}

std::string list_members_prefix(std::string_view tenant, std::string_view list_id) {
  std::string k = tenant_prefix(tenant);
  k.push_back('m');
  k.append(list_id);
  k.push_back('\0');
  return k;
}

std::string list_member(std::string_view tenant, std::string_view list_id, std::string_view user_id) {
  std::string k = list_members_prefix(tenant, list_id);
  k.append(user_id);
  return k;
}

std::string member_lists_prefix(std::string_view tenant, std::string_view user_id) {
  std::string k = tenant_prefix(tenant);
  k.push_back('u');
  k.append(user_id);
  k.push_back('\0');
  return k;
}

std::string member_list(std::string_view tenant, std::string_view user_id, std::string_view list_id) {
  std::string k = member_lists_prefix(tenant, user_id);
  k.append(list_id);
  return k;
}

std::string suppression(std::string_view tenant, std::uint8_t channel, std::string_view address) {
  std::string k = tenant_prefix(tenant);
  k.push_back(static_cast<char>(channel));
  k.append(address);
  return k;
}

}  // namespace crier::keys
