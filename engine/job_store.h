// The storage the engine needs, declared here and implemented in storage/
// (RocksDB). Every method is thread-safe. Methods that write say what they
// make durable; `sync` means the write-ahead log is fsync'd before return.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/counters.h"
#include "engine/job.h"
#include "engine/recipient.h"
#include "engine/result.h"
#include "engine/sender_quota.h"
#include "engine/user_validation.h"

namespace crier {

struct IngestEntry {
  Recipient recipient;  // seq is assigned by the store
  std::optional<DedupeKey> dedupe;
};

struct IngestCommit {
  std::int64_t accepted = 0;
  std::int64_t duplicates = 0;
  // Indexes (into the committed entries, ascending) of the duplicates. The
  // others were accepted in order: the k-th accepted entry got seq
  // `counters[unique] - accepted + k`, so callers can name their messages.
  std::vector<std::uint32_t> duplicate_entries;
  JobCounters counters;  // the job's counters after this commit
};

// An Idempotency-Key's hold on the durable write of the request it guards.
// A store that is given one writes the key's record ("done; answer to
// follow", naming the job the action made or changed) in the SAME atomic
// batch as the action, so no crash can leave the action stored and the key
// unaware of it: a retry finds the record and is answered from that job
// instead of doing the action again (a second job).
struct IdempotencyClaim {
  std::string tenant;
  std::string key;
  std::string request_hash;     // of method, path and body
  std::int64_t expires_at = 0;  // unix ms
  // Set when an earlier attempt under this key committed its action and
  // its answer was never stored (a crash, a failed answer write): the job
  // that action made or changed. The action is not done again.
  std::optional<JobKey> committed_job;
};

// A stored answer to a request made with an Idempotency-Key, or, with
// status 0, the record its action's batch left (IdempotencyClaim): the
// action is done, its answer was not stored.
struct IdempotentAnswer {
  std::string request_hash;  // of method, path and body
  int status = 0;            // 0: no answer yet, see committed_job
  std::string body;
  std::int64_t expires_at = 0;  // unix ms
  std::optional<JobKey> committed_job;  // status 0: the job the action made or changed

  bool answered() const { return status != 0; }
};

// A key's answer written in the SAME batch as the action it answers, for an
// action that could not be answered again from what it left: a user ingest
// (which of its users were new is gone once they are stored), a secret
// rotation (the secret it made). A retry then finds the answer itself and
// replays it; the pending record of an IdempotencyClaim would make it act
// again.
struct IdempotentRecord {
  std::string tenant;
  std::string key;
  IdempotentAnswer answer;
};

// Makes an ingest's answer from what its write found (the store calls it
// once, after its dedupe look-ups and before the write).
using AnswerOfCommit = std::function<IdempotentRecord(const IngestCommit&)>;

struct JobPage {
  std::vector<Job> jobs;
  std::string next_after;  // opaque position to continue from; empty when done
};

struct RecipientPage {
  std::vector<RecipientView> items;
  std::optional<std::uint64_t> next_seq;  // where the next page starts; none when done
};

// A recipient's move to a new state, written by dispatch. A state with
// next_attempt_at > 0 also files the recipient in the job's retry queue;
// `previous_retry_at` (> 0) takes it out of the slot it was filed under.
struct StateChange {
  std::uint64_t seq = 0;
  RecipientState state;
  std::int64_t previous_retry_at = 0;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Writes a new job, its tenant-listing entry and zero counters, synced;
  // a job made from a notification group (spec.notification_group) is filed
  // under the group in the same batch (GroupStore::list_group_jobs). With a
  // claim, the key's record naming the job goes in that batch too.
  virtual Result<void> insert_job(const Job& job, const IdempotencyClaim* claim = nullptr) = 0;
  virtual Result<std::optional<Job>> find_job(const JobKey& key) = 0;
  // Overwrites the job record (synced). Callers serialise per job. With a
  // claim, the key's record naming the job is in the same batch.
  virtual Result<void> update_job(const Job& job, const IdempotencyClaim* claim = nullptr) = 0;
  // update_job and the sender's quota use in ONE atomic write (synced).
  virtual Result<void> update_job_with(const Job& job, const QuotaReservation& reservation,
                                       const IdempotencyClaim* claim = nullptr) = 0;
  // The tenant's jobs, newest first, after position `after` (empty: start).
  virtual Result<JobPage> list_jobs(std::string_view tenant, std::optional<JobStatus> status,
                                    std::string_view after, std::size_t limit) = 0;
  // Every job of every tenant in one pass (start-up recovery). A record
  // that cannot be decoded is skipped and reported to `unreadable` (its key,
  // in hex, and why), so one corrupt job does not stop the others; errors
  // are the store's own (I/O, a failed scan).
  using UnreadableJob = std::function<void(std::string_view key_hex, std::string_view why)>;
  virtual Result<void> for_each_job(const std::function<void(const Job&)>& visit,
                                    const UnreadableJob& unreadable) = 0;

  // Appends the entries not already in the job (by dedupe key, within the
  // batch too) with consecutive seqs after the job's last, plus counter
  // deltas (`rejected` users included), in one atomic write batch; with
  // `answer`, the key's answer it makes of the commit in that batch too.
  // Callers serialise ingest per job.
  virtual Result<IngestCommit> ingest(const JobKey& job, std::span<const IngestEntry> entries,
                                      std::int64_t rejected, bool sync, const AnswerOfCommit& answer = {}) = 0;
  // insert_job and ingest in ONE atomic write batch: the job (in whatever
  // status it is given, e.g. already PROCESSING) exists with its recipients
  // (and, with a reservation, the sender's quota use; with a claim, the
  // key's record), or nothing was written.
  virtual Result<IngestCommit> insert_job_with(const Job& job, std::span<const IngestEntry> entries,
                                               std::int64_t rejected, bool sync,
                                               const std::optional<QuotaReservation>& reservation,
                                               const IdempotencyClaim* claim = nullptr) = 0;

  virtual Result<JobCounters> counters(const JobKey& job) = 0;

  // Up to `limit` recipients in seq order from `from_seq`, with their state;
  // with `status`, only those in it, scanning at most `max_scan` records.
  virtual Result<RecipientPage> list_recipients(const JobKey& job, std::uint64_t from_seq,
                                                std::size_t limit,
                                                std::optional<RecipientStatus> status,
                                                std::size_t max_scan) = 0;
  // The same page, into `page`: the items it holds are overwritten in place
  // (their strings' buffers reused), so a caller that reads window after
  // window into one page allocates next to nothing per recipient.
  virtual Result<void> list_recipients_into(const JobKey& job, std::uint64_t from_seq, std::size_t limit,
                                            std::optional<RecipientStatus> status, std::size_t max_scan,
                                            RecipientPage& page) = 0;

  // State changes and the counter deltas they imply, atomically; with a
  // cursor, also the job's dispatch cursor (first seq not yet final).
  virtual Result<void> commit_states(const JobKey& job, std::span<const StateChange> changes,
                                     const JobCounters& delta,
                                     std::optional<std::uint64_t> cursor, bool sync) = 0;
  // The job's dispatch cursor; 0 before dispatch began.
  virtual Result<std::uint64_t> dispatch_cursor(const JobKey& job) = 0;
  // Moves the recipients from the cursor up to `horizon` (exclusive) that
  // have no state yet (PENDING) to ENQUEUED, as of `at_ms`, with the counter
  // deltas that implies: one small record instead of a state per recipient.
  // Reads (list_recipients, find_recipient) show them ENQUEUED until a state
  // is written for them. The horizon never moves back.
  virtual Result<void> mark_enqueued(const JobKey& job, std::uint64_t horizon, std::int64_t at_ms,
                                     const JobCounters& delta, bool sync) = 0;

  // Up to `limit` recipients of the retry queue due at or before `until_ms`,
  // earliest first, with their state.
  virtual Result<std::vector<RecipientView>> due_retries(const JobKey& job, std::int64_t until_ms,
                                                         std::size_t limit) = 0;
  // When the job's earliest queued retry is due; none when the queue is empty.
  virtual Result<std::optional<std::int64_t>> next_retry_at(const JobKey& job) = 0;
  // One recipient with its state; none when the job has no such seq.
  virtual Result<std::optional<RecipientView>> find_recipient(const JobKey& job,
                                                              std::uint64_t seq) = 0;

  // Ok while the store takes writes. After an I/O error (a full disk) a
  // store may refuse every write until it has recovered; then this is the
  // error a write would get now (storage_full, storage_unavailable), and
  // callers that are about to do work whose outcome they must write (send a
  // window) wait instead. Reads are not affected. Cheap: no I/O.
  virtual Result<void> writable() const { return {}; }
};

class TemplateStore {
 public:
  virtual ~TemplateStore() = default;
  virtual Result<void> put_template(const Template& t) = 0;
  virtual Result<std::optional<Template>> find_template(std::string_view tenant,
                                                        std::string_view id) = 0;
  // Returns whether it existed.
  virtual Result<bool> delete_template(std::string_view tenant, std::string_view id) = 0;
  // Templates in id order after `after_id`.
  virtual Result<std::vector<Template>> list_templates(std::string_view tenant,
                                                       std::string_view after_id,
                                                       std::size_t limit) = 0;
};

class IdempotencyStore {
 public:
  virtual ~IdempotencyStore() = default;
  // The unexpired answer under (tenant, key), if any.
  virtual Result<std::optional<IdempotentAnswer>> find_answer(std::string_view tenant,
                                                              std::string_view key,
                                                              std::int64_t now_ms) = 0;
  virtual Result<void> put_answer(std::string_view tenant, std::string_view key,
                                  const IdempotentAnswer& answer) = 0;
};

}  // namespace crier
