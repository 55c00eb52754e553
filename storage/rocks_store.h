// Crier's store of record: one embedded RocksDB (see keys.h for the layout).
// Implements the engine's JobStore, TemplateStore, IdempotencyStore and
// GroupStore, SenderStore, SigningSecretStore, CallbackOutbox and
// ProfileStore, SuppressionStore, SegmentStore, FrequencyCapStore and
// UserListStore.
// Thread-safe. RocksDB headers stay inside the .cpp (compile time).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/job_store.h"
#include "engine/callback_outbox.h"
#include "engine/notification_group.h"
#include "engine/profile_store.h"
#include "engine/frequency_cap.h"
#include "engine/segment.h"
#include "engine/suppression.h"
#include "engine/user_list.h"
#include "engine/sender_store.h"
#include "engine/signing_secrets.h"

namespace rocksdb {
class WriteBatch;
}

namespace crier {

struct StoreOptions {
  std::string path;                // the data directory; created if missing
  bool sync_writes = true;         // fsync the WAL before acknowledging writes
  std::size_t block_cache_mb = 64;
  std::size_t write_buffers_mb = 128;  // memtables of all column families together
};

class RocksStore final : public JobStore, public TemplateStore, public IdempotencyStore, public GroupStore,
                         public SenderStore, public SigningSecretStore, public CallbackOutbox,
                         public ProfileStore, public SuppressionStore, public SegmentStore,
                         public FrequencyCapStore, public UserListStore {
 public:
  static Result<std::unique_ptr<RocksStore>> open(const StoreOptions& options);
  ~RocksStore() override;
  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  bool sync_writes() const;
  // Ok while writes are admitted; after an I/O error (a full disk) writes
  // are refused, without touching RocksDB, until the store has recovered
  // with DB::Resume() (storage/write_gate.h).
  Result<void> writable() const override;

  // JobStore
  Result<void> insert_job(const Job& job, const IdempotencyClaim* claim = nullptr) override;
  Result<std::optional<Job>> find_job(const JobKey& key) override;
  Result<void> update_job(const Job& job, const IdempotencyClaim* claim = nullptr) override;
  Result<void> update_job_with(const Job& job, const QuotaReservation& reservation,
                               const IdempotencyClaim* claim = nullptr) override;
  Result<JobPage> list_jobs(std::string_view tenant, std::optional<JobStatus> status,
                            std::string_view after, std::size_t limit) override;
  Result<void> for_each_job(const std::function<void(const Job&)>& visit, const UnreadableJob& unreadable) override;
  Result<IngestCommit> insert_job_with(const Job& job, std::span<const IngestEntry> entries,
                                       std::int64_t rejected, bool sync,
                                       const std::optional<QuotaReservation>& reservation,
                                       const IdempotencyClaim* claim = nullptr) override;
  Result<IngestCommit> ingest(const JobKey& job, std::span<const IngestEntry> entries,
                              std::int64_t rejected, bool sync, const AnswerOfCommit& answer = {}) override;
  Result<JobCounters> counters(const JobKey& job) override;
  Result<RecipientPage> list_recipients(const JobKey& job, std::uint64_t from_seq,
                                        std::size_t limit, std::optional<RecipientStatus> status,
                                        std::size_t max_scan) override;
  Result<void> list_recipients_into(const JobKey& job, std::uint64_t from_seq, std::size_t limit,
                                    std::optional<RecipientStatus> status, std::size_t max_scan,
                                    RecipientPage& page) override;
  Result<void> commit_states(const JobKey& job, std::span<const StateChange> changes,
                             const JobCounters& delta, std::optional<std::uint64_t> cursor,
                             bool sync) override;
  Result<std::uint64_t> dispatch_cursor(const JobKey& job) override;
  Result<void> mark_enqueued(const JobKey& job, std::uint64_t horizon, std::int64_t at_ms,
                             const JobCounters& delta, bool sync) override;
  Result<std::vector<RecipientView>> due_retries(const JobKey& job, std::int64_t until_ms,
                                                 std::size_t limit) override;
  Result<std::optional<std::int64_t>> next_retry_at(const JobKey& job) override;
  Result<std::optional<RecipientView>> find_recipient(const JobKey& job, std::uint64_t seq) override;

  // TemplateStore
  Result<void> put_template(const Template& t) override;
  Result<std::optional<Template>> find_template(std::string_view tenant,
                                                std::string_view id) override;
  Result<bool> delete_template(std::string_view tenant, std::string_view id) override;
  Result<std::vector<Template>> list_templates(std::string_view tenant, std::string_view after_id,
                                               std::size_t limit) override;

  // IdempotencyStore
  Result<std::optional<IdempotentAnswer>> find_answer(std::string_view tenant, std::string_view key,
                                                      std::int64_t now_ms) override;
  Result<void> put_answer(std::string_view tenant, std::string_view key,
                          const IdempotentAnswer& answer) override;

  // GroupStore
  Result<void> put_group(const NotificationGroup& g) override;
  Result<std::optional<NotificationGroup>> find_group(std::string_view tenant, std::string_view id) override;
  Result<bool> delete_group(std::string_view tenant, std::string_view id) override;
  Result<std::vector<NotificationGroup>> list_groups(std::string_view tenant, std::string_view after_id,
                                                     std::size_t limit) override;
  Result<GroupJobPage> list_group_jobs(std::string_view tenant, std::string_view group_id,
                                       std::optional<JobKey> after, std::size_t limit) override;
  Result<bool> group_has_job(std::string_view tenant, std::string_view group_id, const JobKey& job) override;
  // SenderStore
  Result<void> put_sender(const Sender& s) override;
  Result<std::optional<Sender>> find_sender(std::string_view tenant, std::string_view id) override;
  Result<bool> delete_sender(std::string_view tenant, std::string_view id) override;
  Result<std::vector<Sender>> list_senders(std::string_view tenant, std::string_view after_id,
                                           std::size_t limit) override;
  Result<std::vector<QuotaUse>> quota_uses(std::string_view tenant, std::string_view id,
                                           std::int64_t since_ms) override;
  // SigningSecretStore (the default family; synced)
  Result<std::optional<TenantSigningSecrets>> find_signing_secrets(std::string_view tenant) override;
  Result<void> put_signing_secrets(std::string_view tenant, const TenantSigningSecrets& secrets,
                                   const IdempotentRecord* answer = nullptr) override;
  // CallbackOutbox (the callback_outbox family; appends synced)
  Result<void> append_events(const JobKey& job, std::uint64_t first_seq, std::span<const std::string> events,
                             std::optional<std::string_view> status_event_id) override;
  Result<std::vector<OutboxEvent>> read_events(const JobKey& job, std::uint64_t from_seq, std::size_t limit) override;
  Result<void> trim_events(const JobKey& job, std::uint64_t end_seq) override;
  Result<Span> event_span(const JobKey& job) override;
  Result<std::vector<JobKey>> jobs_with_events() override;
  Result<std::optional<std::string>> last_status_event(const JobKey& job) override;
  // ProfileStore (the profiles family; writes synced, one at a time)
  Result<Upserted> upsert_profile(std::string_view tenant, std::string_view user_id,
                                  const ProfileChange& change) override;
  Result<std::vector<BatchOutcome>> upsert_profiles(std::string_view tenant, std::span<const std::string_view> user_ids,
                                                    const BatchChange& change) override;
  Result<std::optional<Profile>> find_profile(std::string_view tenant, std::string_view user_id) override;
  Result<std::optional<std::string>> find_profile_by_alias(std::string_view tenant,
                                                           const ProfileAlias& alias) override;
  Result<bool> delete_profile(std::string_view tenant, std::string_view user_id) override;
  Result<std::vector<Found>> find_profiles(std::string_view tenant,
                                           std::span<const std::string_view> user_ids) override;
  Result<bool> may_have_profiles(std::string_view tenant) override;

  // FrequencyCapStore (the profiles family, tags 'f' and 'h'; writes synced)
  Result<void> put_frequency_rules(std::string_view tenant, const std::vector<FrequencyRule>& rules) override;
  Result<std::vector<FrequencyRule>> frequency_rules(std::string_view tenant) override;
  Result<std::vector<bool>> reserve_sends(std::string_view tenant, Channel channel,
                                          std::span<const std::string_view> user_ids,
                                          std::span<const std::uint64_t> messages, std::int64_t now_ms) override;

  // SegmentStore (the profiles family, tag 'g'; writes synced)
  Result<bool> put_segment(const Segment& s) override;
  Result<std::optional<Segment>> find_segment(std::string_view tenant, std::string_view id) override;
  Result<bool> delete_segment(std::string_view tenant, std::string_view id) override;
  Result<std::vector<Segment>> list_segments(std::string_view tenant, std::string_view after,
                                             std::size_t limit) override;
  Result<std::vector<Profile>> list_profiles(std::string_view tenant, std::string_view after_id,
                                             std::size_t limit) override;
  // UserListStore (the profiles family, tags 'l', 'm', 'u'; writes synced)
  Result<bool> put_list(const UserList& list) override;
  Result<std::optional<UserList>> find_list(std::string_view tenant, std::string_view id) override;
  Result<bool> delete_list(std::string_view tenant, std::string_view id) override;
  Result<std::vector<UserList>> list_lists(std::string_view tenant, std::string_view after,
                                           std::size_t limit) override;
  Result<std::optional<MembershipChange>> add_members(std::string_view tenant, std::string_view list_id,
                                                      std::span<const std::string_view> user_ids) override;
  Result<std::optional<MembershipChange>> remove_members(std::string_view tenant, std::string_view list_id,
                                                         std::span<const std::string_view> user_ids) override;
  Result<std::vector<std::string>> list_members(std::string_view tenant, std::string_view list_id,
                                                std::string_view after, std::size_t limit) override;
  Result<std::vector<bool>> members_among(std::string_view tenant, std::string_view list_id,
                                          std::span<const std::string_view> user_ids) override;
  Result<std::vector<std::string>> lists_of(std::string_view tenant, std::string_view user_id) override;
  // SuppressionStore (the suppressions family; writes synced)
  Result<bool> put_suppression(const Suppression& s) override;
  Result<bool> delete_suppression(std::string_view tenant, Channel channel, std::string_view address) override;
  Result<std::optional<Suppression>> find_suppression(std::string_view tenant, Channel channel,
                                                      std::string_view address) override;
  Result<std::vector<Suppression>> list_suppressions(std::string_view tenant, Channel channel,
                                                     std::string_view after, std::size_t limit) override;
  Result<bool> is_suppressed(std::string_view tenant, Channel channel, std::string_view address) override;
  Result<bool> may_suppress(std::string_view tenant) override;

  // Approximate bytes on disk (SST + WAL), for status and benchmarks.
  std::uint64_t disk_bytes() const;

  // Flushes the memtables and rewrites every column family down to its
  // last level, so the data directory holds each key once (`crier compact`,
  // and the per-recipient size of the scale benchmark).
  Result<void> compact();

  // Live SST bytes and estimated keys of each column family, for telling
  // which one a data directory's size comes from.
  struct FamilySize {
    std::string name;
    std::uint64_t sst_bytes = 0;
    std::uint64_t keys = 0;  // RocksDB's estimate
  };
  std::vector<FamilySize> family_sizes() const;

  // What /metrics shows of RocksDB, read from its properties (cheap: no
  // I/O). Per family: live SST bytes, memtable bytes, the compaction bytes
  // RocksDB estimates it still owes; for the whole store: writes RocksDB
  // stopped or slowed down since it opened (summed over the families), and
  // whether writes are stopped now.
  struct Stats {
    struct Family {
      std::string_view name;
      std::uint64_t sst_bytes = 0, memtable_bytes = 0, pending_compaction_bytes = 0;
    };
    std::vector<Family> families;
    std::uint64_t write_stops = 0, write_slowdowns = 0;
    bool write_stopped = false;
  };
  Stats stats() const;

 private:
  struct Impl;
  explicit RocksStore(std::unique_ptr<Impl> impl);
  // Puts a new job's records into `batch`: the job, its tenant-listing
  // entry, zero counters and, for a job made from a notification group, its
  // entry in the group's list.
  void put_new_job(rocksdb::WriteBatch& batch, const Job& job);
  // Puts the entries not already in the job into `batch` (ingest's rules).
  Result<IngestCommit> add_recipients(rocksdb::WriteBatch& batch, const JobKey& job, const JobCounters& before,
                                      std::span<const IngestEntry> entries, std::int64_t rejected);
  // Puts a quota use into `batch`.
  void add_reservation(rocksdb::WriteBatch& batch, const QuotaReservation& r);
  // The claim's "done, answer to follow" record naming `job`, if any.
  void add_claim(rocksdb::WriteBatch& batch, const IdempotencyClaim* claim, const JobKey& job);
  void add_answer(rocksdb::WriteBatch& batch, const IdempotentRecord& record);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crier
