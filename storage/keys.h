// Every column family and key layout of Crier's RocksDB, in one place.
// Integers are big-endian so RocksDB's byte order is numeric order: a job's
// recipients iterate in ingest order, a tenant's jobs newest first.
//
//  column family     key                                               value
//  ---------------   -----------------------------------------------   -------------------------------
//  default           "meta" ▸ name                                     store metadata ("meta▸format": "1")
//                    "meta" ▸ 0x00 ▸ "wal-guard"                       empty, written WITHOUT the WAL and never
//                                                                      read: keeps the default memtable
//                                                                      non-empty (write_gate.h)
//                    "secret" ▸ 0x00 ▸ tenant                          the tenant's webhook signing secrets
//                                                                      (JSON, engine/signing_secrets.h)
//  jobs              job(16)                                           job record (JSON, job_codec)
//  jobs_by_tenant    tenant ▸ 0x00 ▸ ~created_ms(8) ▸ job(16)         empty (listing index)
//  recipients        job(16) ▸ seq(8)                                  recipient record (record_codec)
//  recipient_state   job(16) ▸ seq(8)                                  state record; absent = PENDING
//  state_runs        job(16) ▸ first seq(8)                            end seq(8) ▸ state record: the
//                                                                      state of the recipients in
//                                                                      [first, end) with no state
//                                                                      record of their own
//                                                                      (state_runs.h)
//  dedupe            job(16) ▸ xxh3-128(identity)(16)                  seq(8)
//  counters          job(16) ▸ 'c'                                     int64 array (merge: add)
//                    job(16) ▸ 'p'                                     dispatch cursor seq(8)
//                    job(16) ▸ 'h'                                     in-flight horizon seq(8) ▸ at_ms(8):
//                                                                      recipients in [cursor, horizon)
//                                                                      with no state record are ENQUEUED
//  retries           job(16) ▸ due_ms(8) ▸ seq(8)                      empty: a transient failure's
//                                                                      next attempt, in due order
//  idempotency       tenant ▸ 0x00 ▸ key                               answer record
//  templates         tenant ▸ 0x00 ▸ template_id                       template record (JSON)
//  notification_groups tenant ▸ 0x00 ▸ group_id                        group record (JSON, job_codec)
//  group_jobs        tenant ▸ 0x00 ▸ group_id ▸ 0x00 ▸ job(16)         empty: the group's jobs, oldest
//                                                                      first (job keys start with their
//                                                                      creation time); written with the
//                                                                      job, in its batch
//
//  senders           tenant ▸ 0x00 ▸ 's' ▸ phone_number_id             sender record (JSON, sender_codec)
//                    tenant ▸ 0x00 ▸ 'q' ▸ phone_number_id ▸ 0x00      count(8): a quota use, written
//                      ▸ at_ms(8) ▸ job(16)                            with the job that takes it; a
//                                                                      compaction filter drops it once
//                                                                      it is out of the 24 h window
//
//  callback_outbox   job(16) ▸ 'e' ▸ seq(8)                            one callback event (JSON) waiting
//                                                                      for the job's callback_url;
//                                                                      deleted once delivered or given up
//                    job(16) ▸ 'n'                                     next event seq(8)
//                    job(16) ▸ 's'                                     id of the latest job.status event
//                                                                      (engine/callback_outbox.h)
//
//  profiles          tenant ▸ 0x00 ▸ 'p' ▸ user_id                      profile record (JSON, engine/profile_json.h)
//                    tenant ▸ 0x00 ▸ 'a' ▸ alias_label ▸ 0x00           user_id: the profile holding the
//                      ▸ alias_name                                    alias, written in the profile's batch
//                    tenant ▸ 0x00 ▸ 'g' ▸ segment_id                   segment record (JSON, segment_table)
//                    tenant ▸ 0x00 ▸ 'f'                                the frequency-cap rules (frequency_table)
//                    tenant ▸ 0x00 ▸ 'h' ▸ user_id                      the user's send history (frequency_table)
//                    tenant ▸ 0x00 ▸ 'l' ▸ list_id                      list record (JSON: name, member count,
//                                                                      times; list_table)
//                    tenant ▸ 0x00 ▸ 'm' ▸ list_id ▸ 0x00 ▸ user_id     empty: a membership, list → users in
//                                                                      user_id order (streaming, MultiGet)
//                    tenant ▸ 0x00 ▸ 'u' ▸ user_id ▸ 0x00 ▸ list_id     empty: the same membership, user →
//                                                                      lists (deleting a profile drops its
//                                                                      memberships); written in the same
//                                                                      batch as its 'm' twin
//
//  suppressions      tenant ▸ 0x00 ▸ channel(1) ▸ address                {"reason","created_at"} (JSON);
//                                                                      address as suppression_address()
//                                                                      (engine/suppression.h) gives it
//
// Tenants, template ids, group ids, sender ids, list ids, user ids and alias labels never contain 0x00
// (validated at the edges), so one tenant's, group's, list's or user's prefix never covers another's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/ids.h"
#include "engine/user_validation.h"

namespace crier::keys {

inline constexpr std::string_view kJobs = "jobs";
inline constexpr std::string_view kJobsByTenant = "jobs_by_tenant";
inline constexpr std::string_view kRecipients = "recipients";
inline constexpr std::string_view kRecipientState = "recipient_state";
inline constexpr std::string_view kDedupe = "dedupe";
inline constexpr std::string_view kCounters = "counters";
inline constexpr std::string_view kIdempotency = "idempotency";
inline constexpr std::string_view kTemplates = "templates";
inline constexpr std::string_view kRetries = "retries";
inline constexpr std::string_view kStateRuns = "state_runs";
inline constexpr std::string_view kNotificationGroups = "notification_groups";
inline constexpr std::string_view kGroupJobs = "group_jobs";
inline constexpr std::string_view kSenders = "senders";
inline constexpr std::string_view kCallbackOutbox = "callback_outbox";
inline constexpr std::string_view kProfiles = "profiles";
inline constexpr std::string_view kSuppressions = "suppressions";
// The write gate's marker in the default family (write_gate.h).
inline constexpr std::string_view kWalGuard{"meta\0wal-guard", 14};

void put_u64(std::string& out, std::uint64_t v);
std::uint64_t get_u64(std::string_view in);  // in.size() >= 8

std::string job(const JobKey& job);
std::string tenant_job(std::string_view tenant, std::int64_t created_ms, const JobKey& job);
std::string tenant_prefix(std::string_view tenant);
// The job key at the end of a tenant_job key.
JobKey job_of_tenant_job(std::string_view key);
std::string recipient(const JobKey& job, std::uint64_t seq);  // also a state record's key
std::string state_run(const JobKey& job, std::uint64_t first);
std::uint64_t seq_of_recipient(std::string_view key);
std::string dedupe(const JobKey& job, const DedupeKey& identity);
std::string counters(const JobKey& job);
std::string cursor(const JobKey& job);
std::string horizon(const JobKey& job);
std::string tenant_scoped(std::string_view tenant, std::string_view name);
// In the default family: a tenant's webhook signing secrets.
std::string signing_secrets(std::string_view tenant);
std::string retry(const JobKey& job, std::int64_t due_ms, std::uint64_t seq);
std::int64_t due_of_retry(std::string_view key);
std::uint64_t seq_of_retry(std::string_view key);
// A notification group's record key is tenant_scoped(tenant, group_id).
// The prefix of every group_jobs key of one group.
std::string group_jobs_prefix(std::string_view tenant, std::string_view group_id);
std::string group_job(std::string_view tenant, std::string_view group_id, const JobKey& job);
// The job key at the end of a group_job key.
JobKey job_of_group_job(std::string_view key);

// The senders family: a tenant's sender records, and each sender's quota
// uses in time order.
std::string sender(std::string_view tenant, std::string_view id);
std::string sender_prefix(std::string_view tenant);  // every sender record of the tenant
std::string quota_use(std::string_view tenant, std::string_view sender, std::int64_t at_ms, const JobKey& job);
std::string quota_use_prefix(std::string_view tenant, std::string_view sender);
// The time of a quota-use key; none for any other key of the family.
std::optional<std::int64_t> at_of_quota_use(std::string_view key);

// The callback_outbox family: a job's waiting events in order, the number
// its next event takes, and the id of its latest job.status event.
std::string outbox_event(const JobKey& job, std::uint64_t seq);
std::string outbox_next(const JobKey& job);
std::string outbox_status(const JobKey& job);

// The profiles family: a tenant's profiles in user_id order, and the index
// of their aliases.
std::string profile(std::string_view tenant, std::string_view user_id);
std::string profile_prefix(std::string_view tenant);  // every profile record of the tenant
std::string profile_alias(std::string_view tenant, std::string_view label, std::string_view name);
// Segments share the profiles family, under their own tag.
std::string segment(std::string_view tenant, std::string_view id);
std::string segment_prefix(std::string_view tenant);
// Frequency caps share it too: the tenant's rules, and each user's sends.
std::string frequency_rules(std::string_view tenant);
std::string send_history(std::string_view tenant, std::string_view user_id);
// Lists share it: the list records, each list's members (list → user) and
// each user's lists (user → list), the two indexes written together.
std::string user_list(std::string_view tenant, std::string_view list_id);
std::string user_list_prefix(std::string_view tenant);  // every list record of the tenant
std::string list_member(std::string_view tenant, std::string_view list_id, std::string_view user_id);
std::string list_members_prefix(std::string_view tenant, std::string_view list_id);
std::string member_list(std::string_view tenant, std::string_view user_id, std::string_view list_id);
std::string member_lists_prefix(std::string_view tenant, std::string_view user_id);

// The suppressions family: one tenant's entries of one channel are
// contiguous and in address order.
std::string suppression(std::string_view tenant, std::uint8_t channel, std::string_view address);

}  // namespace crier::keys
