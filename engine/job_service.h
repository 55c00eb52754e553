// The jobs use cases, shared by the api and the workers. It owns the rules
// that need more than one store call: per-job serialisation of ingest and of
// state changes (so a run can never race an ingest, nor a pause a finish),
// tenant isolation, template resolution, and a WhatsApp sender's provider,
// pace and quota for the jobs that name one.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "engine/job_events.h"
#include "engine/job_state.h"
#include "engine/job_store.h"
#include "engine/sender_store.h"
#include "engine/provider_access.h"

namespace crier {

// Told of every committed status change (the workers start, pause or sweep
// dispatch from it). Called on the changing thread, after the lock is gone.
class JobListener {
 public:
  virtual ~JobListener() = default;
  virtual void on_status_changed(const Job& job) = 0;
};

// What a provider reports about a message it accepted.
enum class ReceiptKind : std::uint8_t { delivered, read, failed };
std::optional<ReceiptKind> parse_receipt_kind(std::string_view s);

struct Receipt {
  std::string message_id;
  ReceiptKind kind = ReceiptKind::delivered;
  std::string error_code;  // for `failed` (default "bounced")
  std::string error_message;
};

class JobService {
 public:
  using Clock = std::function<std::int64_t()>;
  JobService(JobStore& jobs, TemplateStore& templates, Clock clock);

  void set_listener(JobListener* listener) { listener_ = listener; }
  // Told of lifecycle events and ingests (logs, metrics); may be null.
  void set_events(JobEventObserver* events) { events_ = events; }
  // Where senders are kept; without it, a job naming a sender is refused.
  void set_senders(SenderStore* senders) { senders_ = senders; }
  // Which tenant may use which provider; checked by prepare() (so by every
  // create). Null: any provider, for tests of other rules.
  void set_provider_access(const ProviderAccess* access) { access_ = access; }
  std::int64_t now_ms() const { return clock_(); }

  // Validates the spec, snapshots a named template's content into the job,
  // checks every template compiles, and stores the job CREATED. A routing
  // must pass check_routing (invalid_routing) and, with several channels,
  // comes without a provider (invalid_field); its first channel becomes
  // spec.channel. The content needs a base variant for every routed channel
  // (content_missing_channel).
  // A job that names a sender takes the sender's provider when it names none
  // (another provider than the sender's is refused) and its pace: rate_limit
  // is the sender's messages_per_second, or the job's own when that is lower.
  // Every provider the job may send through (each routed channel's, the
  // sender's) must be the tenant's to use (provider_not_allowed).
  //
  // With an Idempotency-Key's claim, the key's record is written with the
  // job; a claim whose earlier attempt already made its job (committed_job)
  // makes none and returns that one.
  Result<Job> create(std::string_view tenant, JobSpec spec, const IdempotencyClaim* claim = nullptr);
  // The job `create` would store, validated but not stored yet: for
  // create_with, whose users are validated against it first.
  Result<Job> prepare(std::string_view tenant, JobSpec spec);
  // Stores a prepared job and its first users in one atomic write: created,
  // ingested and, with `run`, already started (PROCESSING, or SCHEDULED
  // before its schedule_at). Nothing is stored if the write fails. `job` is
  // updated to what was stored. A started job with a sender reserves its
  // unique recipients of the sender's quota in the same write, or is
  // refused (exhausted, sender_quota_exceeded) with nothing stored.
  // A claim is written in the same write; one whose earlier attempt already
  // made its job stores nothing: `job` becomes that job, and the commit is
  // the one that attempt made (same entries, same seqs and duplicates).
  Result<IngestCommit> create_with(Job& job, std::span<const IngestEntry> entries, std::int64_t rejected,
                                   bool run, bool sync, const IdempotencyClaim* claim = nullptr);

  // The tenant's job; not_found for unknown ids and other tenants' jobs alike.
  Result<Job> get(std::string_view tenant, std::string_view job_id);
  Result<JobCounters> counters(const Job& job) { return jobs_.counters(job.key); }

  // Stores validated users while the job is CREATED (conflict otherwise);
  // with `answer`, an Idempotency-Key's answer in the same write
  // (JobStore::ingest).
  Result<IngestCommit> ingest(const Job& job, std::span<const IngestEntry> entries,
                              std::int64_t rejected, bool sync, const AnswerOfCommit& answer = {});

  // An API action (run, pause, resume, cancel) on the tenant's job. `run` of
  // a job with a sender reserves its unique recipients of the sender's
  // quota in the same write as the status change, or is refused. A claim
  // is written with the change; one whose earlier attempt already changed
  // this job changes nothing and returns the job as it is.
  Result<Job> apply(std::string_view tenant, std::string_view job_id, JobAction action,
                    const IdempotencyClaim* claim = nullptr);
  // Any action by key, for the workers (start a scheduled job, finish).
  Result<Job> apply(const JobKey& key, JobAction action);

  // Changes a job's own rate limit (0: none) while it is not final; a
  // running dispatch applies it on its next turn.
  Result<Job> set_rate_limit(std::string_view tenant, std::string_view job_id, double rate);

  // Applies a delivery receipt to the tenant's message: SENT → DELIVERED
  // (delivered), SENT/DELIVERED → DELIVERED and counted read once (read),
  // SENT/DELIVERED → FAILED (failed: a bounce). A repeated receipt changes
  // nothing; one for a message not sent yet is a conflict naming its state.
  // Returns the recipient as it is afterwards.
  Result<RecipientView> apply_receipt(std::string_view tenant, const Receipt& receipt);

 private:
  std::mutex& lock_for(const JobKey& key);
  // Serialises the quota checks and reservations of one sender.
  std::mutex& sender_lock(std::string_view tenant, std::string_view sender);
  // Resolves the spec's sender into its provider and pace.
  Result<void> apply_sender(std::string_view tenant, JobSpec& spec);
  // Under the sender's lock: checks that `needed` recipients fit the
  // quota of `job`'s sender now, then calls `write` with the reservation
  // to store with the job (none when nothing is needed).
  Result<void> reserve_quota(const Job& job, std::int64_t needed,
                             const std::function<Result<void>(const std::optional<QuotaReservation>&)>& write);
  Result<Job> apply_locked(Job job, JobAction action, const IdempotencyClaim* claim = nullptr);
  // The tenant's job an earlier attempt under an Idempotency-Key made.
  Result<Job> committed_job(std::string_view tenant, const JobKey& key);
  // The job after `action`, in memory only.
  Result<Job> apply_action(Job job, JobAction action, const JobCounters& counters = {});

  JobStore& jobs_;
  TemplateStore& templates_;
  Clock clock_;
  JobListener* listener_ = nullptr;
  JobEventObserver* events_ = nullptr;
  SenderStore* senders_ = nullptr;
  const ProviderAccess* access_ = nullptr;
  // Striped: bounded memory whatever the number of jobs.
  std::array<std::mutex, 64> locks_;
  std::array<std::mutex, 16> sender_locks_;
};

}  // namespace crier
