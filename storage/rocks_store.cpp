#include "storage/rocks_store.h"

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_buffer_manager.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include "engine/time_format.h"
#include "storage/counter_merge.h"
#include "storage/info_log.h"
#include "storage/job_codec.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/sender_codec.h"
#include "storage/state_runs.h"
#include "storage/profile_table.h"
#include "storage/frequency_table.h"
#include "storage/list_table.h"
#include "storage/segment_table.h"
#include "storage/status_error.h"
#include "storage/suppression_table.h"
#include "storage/write_gate.h"

namespace crier {
namespace {

enum Cf : std::size_t {
  kDefault,
  kJobs,
  kJobsByTenant,
  kRecipients,
  kRecipientState,
  kDedupe,
  kCounters,
  kIdempotency,
  kTemplates,
  kRetries,
  kStateRuns,
  kNotificationGroups,
  kGroupJobs,
  kSenders,
  kCallbackOutbox,
  kProfiles,
  kSuppressions,
  kCfCount
};

constexpr std::array<std::string_view, kCfCount> kCfNames = {
    "default",                         keys::kJobs,   keys::kJobsByTenant,
    keys::kRecipients,                 keys::kRecipientState, keys::kDedupe,
    keys::kCounters,                   keys::kIdempotency,    keys::kTemplates,
    keys::kRetries,                    keys::kStateRuns,      keys::kNotificationGroups,
    keys::kGroupJobs,                  keys::kSenders,        keys::kCallbackOutbox,
    keys::kProfiles,                   keys::kSuppressions};

// Idempotency answers: expires_at(8, big-endian) ▸ status(8) ▸ hash_len(8) ▸
// hash ▸ body. Status 0 is the record an action's batch writes before its
// answer exists; its body is the job(16) the action made or changed.
std::string encode_answer(const IdempotentAnswer& a) {
  std::string out;
  keys::put_u64(out, static_cast<std::uint64_t>(a.expires_at));
  keys::put_u64(out, static_cast<std::uint64_t>(a.status));
  keys::put_u64(out, a.request_hash.size());
  out.append(a.request_hash);
  if (a.answered()) out.append(a.body);
  else if (a.committed_job) out.append(reinterpret_cast<const char*>(a.committed_job->data()), a.committed_job->size());
  return out;
}

std::optional<IdempotentAnswer> decode_answer(std::string_view in) {
  if (in.size() < 24) return std::nullopt;
  IdempotentAnswer a;
  a.expires_at = static_cast<std::int64_t>(keys::get_u64(in));
  a.status = static_cast<int>(keys::get_u64(in.substr(8)));
  auto n = keys::get_u64(in.substr(16));
  if (in.size() < 24 + n) return std::nullopt;
  a.request_hash = std::string(in.substr(24, n));
  a.body = std::string(in.substr(24 + n));
  if (!a.answered()) {
    JobKey job;
    if (a.body.size() != job.size()) return std::nullopt;
    std::memcpy(job.data(), a.body.data(), job.size());
    a.committed_job = job;
    a.body.clear();
  }
  return a;
}

// Drops idempotency answers once they expire, so the column family does not
// grow without bound.
class ExpiredAnswerFilter final : public rocksdb::CompactionFilter {
 public:
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    if (value.size() < 8) return false;
    return static_cast<std::int64_t>(keys::get_u64({value.data(), value.size()})) < now_unix_ms();
  }
  const char* Name() const override { return "crier.ExpiredAnswerFilter"; }
};

// Drops quota uses an hour after they left the 24-hour window (the hour
// covers clocks that differ a little), so the senders family holds about
// a day of uses whatever the traffic. Sender records are kept.
class ExpiredQuotaUseFilter final : public rocksdb::CompactionFilter {
 public:
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*, bool*) const override {
    auto at = keys::at_of_quota_use({key.data(), key.size()});
    return at && *at + kQuotaWindowMs + 3600 * 1000 < now_unix_ms();
  }
  const char* Name() const override { return "crier.ExpiredQuotaUseFilter"; }
};


}  // namespace

struct RocksStore::Impl {
  explicit Impl(const StoreOptions& o) : options(o), gate(o.path) {}

  StoreOptions options;
  // Before `db`: the DB (which calls the gate's listener) goes first.
  WriteGate gate;
  std::unique_ptr<rocksdb::DB> db;
  std::array<rocksdb::ColumnFamilyHandle*, kCfCount> cf{};
  ExpiredAnswerFilter answer_filter;
  ExpiredQuotaUseFilter quota_use_filter;
  std::optional<ProfileTable> profiles;  // once the DB is open
  std::optional<SegmentTable> segments;
  std::optional<FrequencyTable> frequency;
  std::optional<SuppressionTable> suppressions;
  std::optional<ListTable> lists;

  ~Impl() {
    gate.detach();
    if (!db) return;
    for (auto* h : cf)
      if (h) db->DestroyColumnFamilyHandle(h);
    db->Close();
  }

  rocksdb::WriteOptions write_options(bool sync) const {
    rocksdb::WriteOptions w;
    w.sync = sync && options.sync_writes;
    return w;
  }

  Result<std::optional<std::string>> get(Cf family, std::string_view key,
                                         const rocksdb::ReadOptions& ro = {}) {
    std::string value;
    auto s = db->Get(ro, cf[family], slice(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return storage_error(s, "read");
    return std::optional<std::string>(std::move(value));
  }

  // Iterators over several column families that all see one moment, made
  // without an explicit snapshot when they can be. RocksDB 7.8, on every
  // ReleaseSnapshot, marks each last-level file whose sequence numbers are
  // not yet zeroed (a file that got there by a trivial move, as every file
  // of a fresh ingest does) for a compaction that only rewrites it to zero
  // them. With a snapshot per read, the first read of a job's dispatch set
  // off the rewrite of every file its ingest had written, on the cores the
  // dispatch needed: 0.6-1.1 s of CPU in a 1.6 s dispatch of 1 M (docs/
  // benchmarks.md). Iterators pin what they read, so one NewIterators call
  // needs no snapshot to stay coherent while writes go on, with one caveat:
  // 7.8 reads the sequence number before it takes each family's
  // superversion, so a flush installed in between could have dropped a
  // version that number should see. No superversion changed across the
  // call means none was installed in between; else it tries again, and
  // after three tries takes a snapshot (coherent, whatever the cost).
  using Iterators = std::vector<std::unique_ptr<rocksdb::Iterator>>;
  Result<Iterators> view(const rocksdb::ReadOptions& base, std::initializer_list<Cf> families) {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    for (Cf f : families) handles.push_back(cf[f]);
    auto versions = [&] {
      std::vector<std::uint64_t> v(handles.size());
      for (std::size_t i = 0; i < handles.size(); ++i)
        db->GetIntProperty(handles[i], rocksdb::DB::Properties::kCurrentSuperVersionNumber, &v[i]);
      return v;
    };
    auto make = [&](const rocksdb::ReadOptions& ro) -> Result<Iterators> {
      std::vector<rocksdb::Iterator*> raw;
      auto s = db->NewIterators(ro, handles, &raw);
      if (!s.ok()) return storage_error(s, "open iterators");
      Iterators its;
      for (auto* it : raw) its.emplace_back(it);
      return its;
    };
    for (int attempt = 0; attempt < 3; ++attempt) {
      const auto before = versions();
      auto its = make(base);
      if (!its || versions() == before) return its;
    }
    rocksdb::ReadOptions ro = base;
    ro.snapshot = db->GetSnapshot();
    auto its = make(ro);
    db->ReleaseSnapshot(ro.snapshot);  // the iterators pinned what it showed
    return its;
  }

  // The value stored at exactly `key`, read through an iterator of a view;
  // valid until the iterator moves.
  static Result<std::optional<rocksdb::Slice>> value_at(rocksdb::Iterator& it, std::string_view key) {
    it.Seek(slice(key));
    if (!it.status().ok()) return storage_error(it.status(), "read");
    if (!it.Valid() || it.key() != slice(key)) return std::optional<rocksdb::Slice>();
    return std::optional<rocksdb::Slice>(it.value());
  }

  // The range of a job's recipients that dispatch has taken but not yet
  // answered for: [cursor, horizon). Those with no state record are ENQUEUED.
  struct InFlight {
    std::uint64_t cursor = 0, horizon = 0;
    std::int64_t at_ms = 0;  // when the horizon was last moved
    // Applies the range to the state of a recipient with no state record.
    void apply(std::uint64_t seq, RecipientState& state) const {
      if (seq < cursor || seq >= horizon) return;
      state.status = RecipientStatus::enqueued;
      state.updated_at = at_ms;
    }
  };
  // Read through an iterator over the counters family, of the view the
  // states are read in.
  static Result<InFlight> in_flight(rocksdb::Iterator& counters, const JobKey& job) {
    InFlight f;
    auto c = value_at(counters, keys::cursor(job));
    if (!c) return c.error();
    if (*c) {
      if ((*c)->size() != 8) return corrupt("dispatch cursor");
      f.cursor = keys::get_u64({(*c)->data(), (*c)->size()});
    }
    auto h = value_at(counters, keys::horizon(job));
    if (!h) return h.error();
    if (*h) {
      if ((*h)->size() != 16) return corrupt("dispatch horizon");
      const std::string_view v((*h)->data(), (*h)->size());
      f.horizon = keys::get_u64(v.substr(0, 8));
      f.at_ms = static_cast<std::int64_t>(keys::get_u64(v.substr(8)));
    }
    return f;
  }

  // The runs of one job (state_runs.h), looked up for ascending seqs: one
  // iterator and one decode per run, however many recipients it covers.
  class RunReader {
   public:
    // `it` iterates the state-runs family.
    RunReader(std::unique_ptr<rocksdb::Iterator> it, const JobKey& job, std::uint64_t from)
        : prefix_(keys::job(job)), it_(std::move(it)) {
      // The run that holds `from` starts at or before it; else the first after it.
      const std::string start = keys::state_run(job, from);
      it_->SeekForPrev(start);
      if (!it_->Valid() || !it_->key().starts_with(prefix_)) it_->Seek(start);
      load();
    }
    // The state a run gives `seq` (none: no run holds it). Seqs passed to
    // one reader never decrease.
    Result<const RecipientState*> at(std::uint64_t seq) {
      while (current_ && seq >= current_->end) {
        it_->Next();
        load();
      }
      if (!it_->status().ok()) return storage_error(it_->status(), "read state runs");
      if (corrupt_) return corrupt("state run");
      if (!current_ || seq < first_) return nullptr;
      return &current_->state;
    }

   private:
    void load() {
      current_.reset();
      if (!it_->Valid() || !it_->key().starts_with(prefix_)) return;
      first_ = keys::seq_of_recipient({it_->key().data(), it_->key().size()});
      current_ = runs::decode({it_->value().data(), it_->value().size()});
      corrupt_ = !current_;
    }
    std::string prefix_;
    std::unique_ptr<rocksdb::Iterator> it_;
    std::uint64_t first_ = 0;
    std::optional<runs::Decoded> current_;
    bool corrupt_ = false;
  };

  // Every write goes through the gate (write_gate.h).
  Result<void> write(rocksdb::WriteBatch& batch, bool sync) {
    return gate.write([&] { return db->Write(write_options(sync), &batch); }, "write");
  }
};

RocksStore::RocksStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksStore::~RocksStore() = default;
bool RocksStore::sync_writes() const { return impl_->options.sync_writes; }
Result<void> RocksStore::writable() const { return impl_->gate.writable(); }

Result<std::unique_ptr<RocksStore>> RocksStore::open(const StoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec)
    return make_error(ErrorKind::internal, "storage_error",
                      fmt::format("cannot create data directory {}: {}", options.path, ec.message()));

  auto impl = std::make_unique<Impl>(options);

  auto cache = rocksdb::NewLRUCache(options.block_cache_mb << 20);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  // Writes come in large batches (a chunk of ingest, a window of states),
  // one at a time per job: inserting each batch in one thread lets the
  // memtable use insert hints (below), which beats concurrent inserts on a
  // small machine.
  db_options.allow_concurrent_memtable_write = false;
  // Writers that queue behind a group commit (dispatch lanes, ingest) wait
  // on a futex instead of spinning and yielding for up to 100 µs: on two
  // cores the spinning took CPU from the leader it was waiting for.
  db_options.enable_write_thread_adaptive_yield = false;
  // Compactions and flushes run at the lowest CPU priority (nice 19):
  // below the HTTP API and below dispatch (workers/thread_priority.h), they
  // take the cores those leave idle. A campaign sent right after a large
  // ingest would otherwise share the cores with that ingest's leftovers: in
  // its first 400 ms, the flush of the hashed dedupe memtable (its sorted
  // copy) took a quarter of the CPU and compactions another 30 %. Neither
  // can be starved for good: a writer that finds its memtables full, or
  // compaction far behind, waits, and its core goes to them.
  db_options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kLow);
  db_options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH, rocksdb::CpuPriority::kLow);
  db_options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.write_buffers_mb << 20, cache);
  // After an I/O error the write gate, not RocksDB, decides when to recover
  // (write_gate.h): no automatic resume, and the listener vetoes the rest.
  db_options.listeners.push_back(impl->gate.listener());
  db_options.max_bgerror_resume_count = 0;
  // RocksDB's LOG, written so that a full disk loses lines, not the process
  // (info_log.h).
  db_options.info_log = open_info_log(options.path, db_options.info_log_level);
  // The gate's marker is written without the WAL, which would make a close
  // flush every memtable; the log keeps their data as before.
  db_options.avoid_flush_during_shutdown = true;

  auto table_options = [&](bool bloom, bool scanned) {
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Families read by range scans (dispatch windows, listings) use 16 KiB
    // blocks: they compress better (10 M recipients: 57.1 -> 52.2 bytes each
    // after compaction), their in-memory index is a quarter of the size, and
    // a scan reads the same bytes either way.
    if (scanned) t.block_size = 16 * 1024;
    return std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(t));
  };

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < kCfCount; ++i) {
    rocksdb::ColumnFamilyOptions o;
    o.write_buffer_size = 32 << 20;
    o.compression = rocksdb::kLZ4Compression;
    // Suppressions are looked up for every message a tenant with any sends,
    // and nearly every lookup misses: a bloom filter answers those.
    o.table_factory = table_options(i == kDedupe || i == kJobs || i == kSuppressions,
                                    i == kRecipients || i == kRecipientState);
    if (i == kCounters) {
      o.merge_operator = std::make_shared<CounterMergeOperator>();
      // Fold merge operands in the memtable, so status reads stay cheap
      // while dispatch merges deltas continuously.
      o.max_successive_merges = 64;
    }
    if (i == kIdempotency) o.compaction_filter = &impl->answer_filter;
    if (i == kSenders) {
      o.compaction_filter = &impl->quota_use_filter;
      o.write_buffer_size = 4 << 20;  // a few records per tenant and a day of quota uses
    }
    // Dedupe keys are random hashes, read only by point lookups, and most
    // lookups of an ingest miss: a bloom filter over the memtable answers
    // those without searching its skip list.
    // Inserts go to a hash of small skip lists (2^18 buckets, 2 MB per
    // memtable), bucketed by the job and the hash's first two bytes, instead
    // of one long list searched from the top. Nothing iterates this family,
    // so the hashed memtable's costlier ordered iteration (at flush) is paid
    // once per flush only.
    if (i == kDedupe) {
      o.memtable_whole_key_filtering = true;
      o.memtable_prefix_bloom_size_ratio = 0.05;
      o.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(18));
      o.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(1 << 18));
      // Its flush builds a sorted copy of the entries: a smaller memtable
      // keeps that copy, and the idle memtable a finished ingest leaves
      // behind, small.
      o.write_buffer_size = 16 << 20;
      // Random keys: every L0 file spans the whole of L1, so each L0→L1
      // compaction rewrites all of L1. Compacting at 8 files instead of 4
      // halves how often (five compactions of a 2 M ingest became three, with
      // a quarter less CPU), and lookups still skip most files by their bloom
      // filters. A dispatch right after an ingest shares the cores with those
      // compactions: 536-648 -> 635-762 k/s to null in four A/B pairs.
      o.level0_file_num_compaction_trigger = 8;
    }
    // Keys of a job (job ▸ seq) arrive in order: the memtable keeps an
    // insert hint per job and skips most of each skip-list search.
    if (i == kRecipients || i == kRecipientState || i == kRetries || i == kStateRuns)
      o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
    // Retry entries are deleted as they are taken, at the front of each
    // job's range: compact files dense with tombstones, so the scans for
    // due retries do not wade through them.
    if (i == kRetries)
      o.table_properties_collector_factories.push_back(
          rocksdb::NewCompactOnDeletionCollectorFactory(1024, 256));
    descriptors.emplace_back(std::string(kCfNames[i]), o);
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw);
  if (!s.ok())
    return make_error(ErrorKind::internal, "storage_error",
                      fmt::format("cannot open RocksDB at {}: {}", options.path, s.ToString()));
  impl->db.reset(raw);
  for (std::size_t i = 0; i < kCfCount; ++i) impl->cf[i] = handles[i];
  if (auto g = impl->gate.attach(raw); !g) return g.error();
  // The layout's version, so a later release can tell what it opens and
  // migrate; a store of an unknown (newer) format is refused.
  // Format 2 added the in-flight horizon, format 3 the state runs, format 4
  // state records v3 (sent_at, delivered_at) and the notification groups'
  // families, format 5 the callback outbox, format 6 the profiles and
  // suppressions (keys.h);
  // a store of an earlier format is a valid format-6 store with none, and
  // is marked 6 when opened (so an older build, which would not read them,
  // refuses it from then on).
  constexpr std::string_view kFormatKey("meta\0format", 11), kFormat = "6";
  auto format = impl->get(kDefault, kFormatKey);
  if (!format) return format.error();
  if (!*format || **format == "1" || **format == "2" || **format == "3" || **format == "4" || **format == "5") {
    rocksdb::WriteBatch batch;
    batch.Put(impl->cf[kDefault], slice(kFormatKey), slice(kFormat));
    if (auto w = impl->write(batch, true); !w) return w.error();
  } else if (**format != kFormat) {
    return make_error(ErrorKind::internal, "storage_format",
                      fmt::format("{} holds a store of format {}; this build reads format {}", options.path,
                                  **format, kFormat));
  }
  Impl* store = impl.get();
  impl->profiles.emplace(*raw, *impl->cf[kProfiles],
                         [store](rocksdb::WriteBatch& batch) { return store->write(batch, true); });
  impl->segments.emplace(*raw, *impl->cf[kProfiles],
                         [store](rocksdb::WriteBatch& batch) { return store->write(batch, true); });
  impl->frequency.emplace(*raw, *impl->cf[kProfiles],
                          [store](rocksdb::WriteBatch& batch) { return store->write(batch, true); });
  impl->lists.emplace(*raw, *impl->cf[kProfiles],
                      [store](rocksdb::WriteBatch& batch) { return store->write(batch, true); });
  impl->suppressions.emplace(*raw, *impl->cf[kSuppressions],
                             [store](rocksdb::WriteBatch& batch) { return store->write(batch, true); });
  return std::unique_ptr<RocksStore>(new RocksStore(std::move(impl)));
}

// ---- jobs -------------------------------------------------------------------

void RocksStore::put_new_job(rocksdb::WriteBatch& batch, const Job& job) {
  batch.Put(impl_->cf[kJobs], keys::job(job.key), records::encode(job));
  batch.Put(impl_->cf[kJobsByTenant], keys::tenant_job(job.tenant, job.created_at, job.key), "");
  batch.Put(impl_->cf[kCounters], keys::counters(job.key), encode_counters({}));
  if (!job.spec.notification_group.empty())
    batch.Put(impl_->cf[kGroupJobs], keys::group_job(job.tenant, job.spec.notification_group, job.key), "");
}

Result<void> RocksStore::insert_job(const Job& job, const IdempotencyClaim* claim) {
  rocksdb::WriteBatch batch;
  put_new_job(batch, job);
  add_claim(batch, claim, job.key);
  return impl_->write(batch, true);
}

Result<std::optional<Job>> RocksStore::find_job(const JobKey& key) {
  auto v = impl_->get(kJobs, keys::job(key));
  if (!v) return v.error();
  if (!*v) return std::optional<Job>();
  auto job = records::decode_job(**v);
  if (!job) return corrupt("job record");
  return std::optional<Job>(std::move(*job));
}

Result<void> RocksStore::update_job(const Job& job, const IdempotencyClaim* claim) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf[kJobs], keys::job(job.key), records::encode(job));
  add_claim(batch, claim, job.key);
  return impl_->write(batch, true);
}

Result<void> RocksStore::update_job_with(const Job& job, const QuotaReservation& reservation,
                                         const IdempotencyClaim* claim) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf[kJobs], keys::job(job.key), records::encode(job));
  add_reservation(batch, reservation);
  add_claim(batch, claim, job.key);
  return impl_->write(batch, true);
}

void RocksStore::add_claim(rocksdb::WriteBatch& batch, const IdempotencyClaim* claim, const JobKey& job) {
  if (!claim) return;
  IdempotentAnswer pending{claim->request_hash, 0, {}, claim->expires_at, job};
  batch.Put(impl_->cf[kIdempotency], keys::tenant_scoped(claim->tenant, claim->key), encode_answer(pending));
}

void RocksStore::add_answer(rocksdb::WriteBatch& batch, const IdempotentRecord& record) {
  batch.Put(impl_->cf[kIdempotency], keys::tenant_scoped(record.tenant, record.key), encode_answer(record.answer));
}

void RocksStore::add_reservation(rocksdb::WriteBatch& batch, const QuotaReservation& r) {
  batch.Put(impl_->cf[kSenders], keys::quota_use(r.tenant, r.sender, r.at_ms, r.job),
            records::encode_quota_count(r.count));
}

Result<JobPage> RocksStore::list_jobs(std::string_view tenant, std::optional<JobStatus> status,
                                      std::string_view after, std::size_t limit) {
  // With a status filter, scan a bounded number of index entries per page;
  // the page may then be short, with a position to continue from.
  constexpr std::size_t kMaxScan = 10000;
  const std::string prefix = keys::tenant_prefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf[kJobsByTenant]));
  JobPage page;
  std::size_t scanned = 0;
  std::string last;
  if (after.empty()) {
    it->Seek(prefix);
  } else {
    if (after.substr(0, prefix.size()) != prefix)
      return make_error(ErrorKind::invalid, "invalid_cursor", "the cursor is not from this listing",
                        "cursor");
    it->Seek(slice(after));
    if (it->Valid() && it->key() == slice(after)) it->Next();
  }
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (page.jobs.size() == limit || scanned == kMaxScan) {
      page.next_after = last;
      return page;
    }
    ++scanned;
    last = it->key().ToString();
    auto job = find_job(keys::job_of_tenant_job(last));
    if (!job) return job.error();
    if (!*job) continue;  // index entry of a job being written
    if (status && (*job)->status != *status) continue;
    page.jobs.push_back(std::move(**job));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list jobs");
  return page;
}

Result<void> RocksStore::for_each_job(const std::function<void(const Job&)>& visit, const UnreadableJob& unreadable) {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf[kJobs]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto job = records::decode_job({it->value().data(), it->value().size()});
    if (job) {
      visit(*job);
    } else if (unreadable) {
      std::string hex;
      for (unsigned char c : it->key().ToStringView()) hex += fmt::format("{:02x}", c);
      unreadable(hex, "the job record cannot be decoded");
    }
  }
  if (!it->status().ok()) return storage_error(it->status(), "scan jobs");
  return {};
}

// ---- recipients -------------------------------------------------------------

Result<JobCounters> RocksStore::counters(const JobKey& job) {
  auto v = impl_->get(kCounters, keys::counters(job));
  if (!v) return v.error();
  if (!*v) return JobCounters{};
  return decode_counters(**v);
}

Result<IngestCommit> RocksStore::ingest(const JobKey& job, std::span<const IngestEntry> entries,
                                        std::int64_t rejected, bool sync, const AnswerOfCommit& answer) {
  auto before = counters(job);
  if (!before) return before.error();
  rocksdb::WriteBatch batch;
  auto out = add_recipients(batch, job, *before, entries, rejected);
  if (!out) return out.error();
  if (answer) add_answer(batch, answer(*out));
  if (auto r = impl_->write(batch, sync); !r) return r.error();
  return out;
}

Result<IngestCommit> RocksStore::insert_job_with(const Job& job, std::span<const IngestEntry> entries,
                                                 std::int64_t rejected, bool sync,
                                                 const std::optional<QuotaReservation>& reservation,
                                                 const IdempotencyClaim* claim) {
  rocksdb::WriteBatch batch;
  if (reservation) add_reservation(batch, *reservation);
  put_new_job(batch, job);
  add_claim(batch, claim, job.key);
  auto out = add_recipients(batch, job.key, JobCounters{}, entries, rejected);
  if (!out) return out.error();
  if (auto r = impl_->write(batch, sync); !r) return r.error();
  return out;
}

Result<IngestCommit> RocksStore::add_recipients(rocksdb::WriteBatch& batch, const JobKey& job, const JobCounters& before,
                                                std::span<const IngestEntry> entries, std::int64_t rejected) {
  auto next_seq = static_cast<std::uint64_t>(before[Counter::unique]);

  // Look the whole batch's identities up in one MultiGet.
  std::vector<std::string> dedupe_keys;
  std::vector<std::size_t> keyed;  // entry index of each dedupe key
  dedupe_keys.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].dedupe) continue;
    dedupe_keys.push_back(keys::dedupe(job, *entries[i].dedupe));
    keyed.push_back(i);
  }
  std::vector<bool> duplicate(entries.size(), false);
  IngestCommit out;
  if (!dedupe_keys.empty()) {
    std::vector<rocksdb::Slice> key_slices;
    key_slices.reserve(dedupe_keys.size());
    for (const auto& k : dedupe_keys) key_slices.emplace_back(k);
    std::vector<rocksdb::PinnableSlice> values(dedupe_keys.size());
    std::vector<rocksdb::Status> statuses(dedupe_keys.size());
    impl_->db->MultiGet({}, impl_->cf[kDedupe], key_slices.size(), key_slices.data(), values.data(),
                        statuses.data());
    std::unordered_set<std::string_view> in_batch;
    in_batch.reserve(dedupe_keys.size());
    for (std::size_t j = 0; j < dedupe_keys.size(); ++j) {
      if (statuses[j].ok()) {
        duplicate[keyed[j]] = true;
      } else if (!statuses[j].IsNotFound()) {
        return storage_error(statuses[j], "dedupe lookup");
      } else if (!in_batch.insert(dedupe_keys[j]).second) {
        duplicate[keyed[j]] = true;  // the same user twice in this batch
      }
    }
  }

  std::size_t j = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    bool has_key = entries[i].dedupe.has_value();
    const std::string* dkey = has_key ? &dedupe_keys[j++] : nullptr;
    if (duplicate[i]) {
      ++out.duplicates;
      out.duplicate_entries.push_back(static_cast<std::uint32_t>(i));
      continue;
    }
    std::uint64_t seq = next_seq + static_cast<std::uint64_t>(out.accepted);
    batch.Put(impl_->cf[kRecipients], keys::recipient(job, seq), records::encode(entries[i].recipient));
    if (dkey) {
      std::string seq_bytes;
      keys::put_u64(seq_bytes, seq);
      batch.Put(impl_->cf[kDedupe], *dkey, seq_bytes);
    }
    ++out.accepted;
  }
  JobCounters delta;
  delta[Counter::received] = static_cast<std::int64_t>(entries.size()) + rejected;
  delta[Counter::unique] = out.accepted;
  delta[Counter::pending] = out.accepted;
  delta[Counter::duplicates] = out.duplicates;
  delta[Counter::rejected] = rejected;
  batch.Merge(impl_->cf[kCounters], keys::counters(job), encode_counters(delta));
  out.counters = before;
  out.counters += delta;
  return out;
}

Result<RecipientPage> RocksStore::list_recipients(const JobKey& job, std::uint64_t from_seq,
                                                  std::size_t limit,
                                                  std::optional<RecipientStatus> status,
                                                  std::size_t max_scan) {
  RecipientPage page;
  page.items.reserve(std::min<std::size_t>({limit, max_scan, 1000}));
  if (auto r = list_recipients_into(job, from_seq, limit, status, max_scan, page); !r) return r.error();
  return page;
}

Result<void> RocksStore::list_recipients_into(const JobKey& job, std::uint64_t from_seq, std::size_t limit,
                                              std::optional<RecipientStatus> status, std::size_t max_scan,
                                              RecipientPage& page) {
  // One view of the four families, so a page is coherent while dispatch
  // writes states. The bound holds for all of them: state runs share the
  // recipients' keys, and a job's counter keys sort below its last seq.
  rocksdb::ReadOptions ro;
  std::string upper = keys::recipient(job, ~0ULL);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  auto its = impl_->view(ro, {kRecipients, kRecipientState, kStateRuns, kCounters});
  if (!its) return its.error();
  auto& rit = (*its)[0];
  auto& sit = (*its)[1];
  const std::string start = keys::recipient(job, from_seq);
  rit->Seek(start);
  sit->Seek(start);

  auto flight = Impl::in_flight(*(*its)[3], job);
  if (!flight) return flight.error();
  Impl::RunReader runs(std::move((*its)[2]), job, from_seq);

  page.next_seq.reset();
  // Items already in the page are overwritten, the first `n` of them; the
  // rest are dropped at the end.
  std::size_t n = 0;
  std::size_t scanned = 0;
  for (; rit->Valid(); rit->Next()) {
    std::uint64_t seq = keys::seq_of_recipient({rit->key().data(), rit->key().size()});
    if (n == limit || scanned == max_scan) {
      page.next_seq = seq;
      break;
    }
    ++scanned;
    // The state iterator trails the recipient iterator: same keys, sparser.
    while (sit->Valid() && sit->key().compare(rit->key()) < 0) sit->Next();
    RecipientState state;
    if (sit->Valid() && sit->key() == rit->key()) {
      auto s = records::decode_state({sit->value().data(), sit->value().size()});
      if (!s) return corrupt("recipient state");
      state = std::move(*s);
    } else if (auto run = runs.at(seq); !run) {
      return run.error();
    } else if (*run) {
      state = **run;
    } else {
      flight->apply(seq, state);
    }
    if (status && state.status != *status) continue;
    if (n == page.items.size()) page.items.emplace_back();
    auto& item = page.items[n];
    if (!records::decode_recipient_into({rit->value().data(), rit->value().size()}, seq, item.recipient))
      return corrupt("recipient record");
    item.state = std::move(state);
    ++n;
  }
  if (!rit->status().ok()) return storage_error(rit->status(), "list recipients");
  if (!sit->status().ok()) return storage_error(sit->status(), "list recipient states");
  page.items.resize(n);
  return {};
}

Result<void> RocksStore::commit_states(const JobKey& job, std::span<const StateChange> changes,
                                       const JobCounters& delta,
                                       std::optional<std::uint64_t> cursor, bool sync) {
  const runs::Plan plan = runs::plan(changes);
  rocksdb::WriteBatch batch;
  if (!plan.runs.empty()) {
    // A recipient's own state record would hide the run's state from it:
    // one written before this run (an ENQUEUED record of an older release)
    // goes in the same batch. Nothing else writes these seqs meanwhile: the
    // job's loop commits its outcomes, and receipts need them SENT first.
    rocksdb::ReadOptions ro;
    const std::string upper = keys::recipient(job, ~0ULL);
    rocksdb::Slice upper_slice(upper);
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[kRecipientState]));
    for (const auto& run : plan.runs) {
      const std::string end = keys::recipient(job, run.end);
      for (it->Seek(keys::recipient(job, run.first)); it->Valid() && it->key().compare(end) < 0; it->Next())
        batch.Delete(impl_->cf[kRecipientState], it->key());
      batch.Put(impl_->cf[kStateRuns], keys::state_run(job, run.first),
                runs::encode(run.end, changes[run.change].state));
    }
    if (!it->status().ok()) return storage_error(it->status(), "read states under a run");
  }
  for (std::size_t i : plan.singles)
    batch.Put(impl_->cf[kRecipientState], keys::recipient(job, changes[i].seq), records::encode(changes[i].state));
  for (const auto& c : changes) {
    if (c.previous_retry_at > 0) batch.Delete(impl_->cf[kRetries], keys::retry(job, c.previous_retry_at, c.seq));
    if (c.state.next_attempt_at > 0)
      batch.Put(impl_->cf[kRetries], keys::retry(job, c.state.next_attempt_at, c.seq), "");
  }
  if (!delta.empty()) batch.Merge(impl_->cf[kCounters], keys::counters(job), encode_counters(delta));
  if (cursor) {
    std::string v;
    keys::put_u64(v, *cursor);
    batch.Put(impl_->cf[kCounters], keys::cursor(job), v);
  }
  return impl_->write(batch, sync);
}

Result<void> RocksStore::mark_enqueued(const JobKey& job, std::uint64_t horizon, std::int64_t at_ms,
                                       const JobCounters& delta, bool sync) {
  std::string v;
  keys::put_u64(v, horizon);
  keys::put_u64(v, static_cast<std::uint64_t>(at_ms));
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf[kCounters], keys::horizon(job), v);
  if (!delta.empty()) batch.Merge(impl_->cf[kCounters], keys::counters(job), encode_counters(delta));
  return impl_->write(batch, sync);
}

Result<std::uint64_t> RocksStore::dispatch_cursor(const JobKey& job) {
  auto v = impl_->get(kCounters, keys::cursor(job));
  if (!v) return v.error();
  if (!*v) return std::uint64_t{0};
  if ((*v)->size() != 8) return corrupt("dispatch cursor");
  return keys::get_u64(**v);
}

Result<std::vector<RecipientView>> RocksStore::due_retries(const JobKey& job, std::int64_t until_ms,
                                                           std::size_t limit) {
  rocksdb::ReadOptions ro;
  const std::string upper = keys::retry(job, until_ms, ~0ULL);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[kRetries]));
  std::vector<std::uint64_t> seqs;
  for (it->Seek(keys::retry(job, 0, 0)); it->Valid() && seqs.size() < limit; it->Next())
    seqs.push_back(keys::seq_of_retry({it->key().data(), it->key().size()}));
  if (!it->status().ok()) return storage_error(it->status(), "scan retries");

  // Records and states of the whole set in two MultiGets.
  std::vector<std::string> ks;
  ks.reserve(seqs.size());
  for (auto seq : seqs) ks.push_back(keys::recipient(job, seq));
  std::vector<rocksdb::Slice> slices(ks.begin(), ks.end());
  std::vector<rocksdb::PinnableSlice> records(ks.size()), states(ks.size());
  std::vector<rocksdb::Status> rs(ks.size()), ss(ks.size());
  impl_->db->MultiGet({}, impl_->cf[kRecipients], slices.size(), slices.data(), records.data(), rs.data());
  impl_->db->MultiGet({}, impl_->cf[kRecipientState], slices.size(), slices.data(), states.data(), ss.data());
  std::vector<RecipientView> out;
  out.reserve(seqs.size());
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (!rs[i].ok() || !ss[i].ok()) return corrupt("retry entry without its recipient");
    auto r = records::decode_recipient({records[i].data(), records[i].size()}, seqs[i]);
    auto s = records::decode_state({states[i].data(), states[i].size()});
    if (!r || !s) return corrupt("recipient record");
    out.push_back({std::move(*r), std::move(*s)});
  }
  return out;
}

Result<std::optional<std::int64_t>> RocksStore::next_retry_at(const JobKey& job) {
  rocksdb::ReadOptions ro;
  const std::string upper = keys::retry(job, INT64_MAX, ~0ULL);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[kRetries]));
  it->Seek(keys::retry(job, 0, 0));
  if (!it->status().ok()) return storage_error(it->status(), "scan retries");
  if (!it->Valid()) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(keys::due_of_retry({it->key().data(), it->key().size()}));
}

Result<std::optional<RecipientView>> RocksStore::find_recipient(const JobKey& job, std::uint64_t seq) {
  // One view: the state and the in-flight range must agree.
  auto its = impl_->view({}, {kRecipients, kRecipientState, kStateRuns, kCounters});
  if (!its) return its.error();
  const std::string key = keys::recipient(job, seq);
  auto r = Impl::value_at(*(*its)[0], key);
  if (!r) return r.error();
  if (!*r) return std::optional<RecipientView>();
  auto recipient = records::decode_recipient({(*r)->data(), (*r)->size()}, seq);
  if (!recipient) return corrupt("recipient record");
  RecipientView view{std::move(*recipient), {}};
  auto s = Impl::value_at(*(*its)[1], key);
  if (!s) return s.error();
  if (*s) {
    auto state = records::decode_state({(*s)->data(), (*s)->size()});
    if (!state) return corrupt("recipient state");
    view.state = std::move(*state);
    return std::optional<RecipientView>(std::move(view));
  }
  Impl::RunReader runs(std::move((*its)[2]), job, seq);  // the state it hands out lives in it
  if (auto run = runs.at(seq); !run) {
    return run.error();
  } else if (*run) {
    view.state = **run;
  } else {
    auto flight = Impl::in_flight(*(*its)[3], job);
    if (!flight) return flight.error();
    flight->apply(seq, view.state);
  }
  return std::optional<RecipientView>(std::move(view));
}

// ---- templates --------------------------------------------------------------

Result<void> RocksStore::put_template(const Template& t) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf[kTemplates], keys::tenant_scoped(t.tenant, t.id), records::encode(t));
  return impl_->write(batch, true);
}

Result<std::optional<Template>> RocksStore::find_template(std::string_view tenant,
                                                          std::string_view id) {
  auto v = impl_->get(kTemplates, keys::tenant_scoped(tenant, id));
  if (!v) return v.error();
  if (!*v) return std::optional<Template>();
  auto t = records::decode_template(**v);
  if (!t) return corrupt("template record");
  return std::optional<Template>(std::move(*t));
}

Result<bool> RocksStore::delete_template(std::string_view tenant, std::string_view id) {
  auto existing = impl_->get(kTemplates, keys::tenant_scoped(tenant, id));
  if (!existing) return existing.error();
  if (!*existing) return false;
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf[kTemplates], keys::tenant_scoped(tenant, id));
  if (auto r = impl_->write(batch, true); !r) return r.error();
  return true;
}

Result<std::vector<Template>> RocksStore::list_templates(std::string_view tenant,
                                                         std::string_view after_id,
                                                         std::size_t limit) {
  const std::string prefix = keys::tenant_prefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf[kTemplates]));
  std::string start = keys::tenant_scoped(tenant, after_id);
  it->Seek(start);
  if (!after_id.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::vector<Template> out;
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
    auto t = records::decode_template({it->value().data(), it->value().size()});
    if (!t) return corrupt("template record");
    out.push_back(std::move(*t));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list templates");
  return out;
}

// ---- notification groups ----------------------------------------------------

Result<void> RocksStore::put_group(const NotificationGroup& g) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf[kNotificationGroups], keys::tenant_scoped(g.tenant, g.id), records::encode(g));
  return impl_->write(batch, true);
}

Result<std::optional<NotificationGroup>> RocksStore::find_group(std::string_view tenant, std::string_view id) {
  auto v = impl_->get(kNotificationGroups, keys::tenant_scoped(tenant, id));
  if (!v) return v.error();
  if (!*v) return std::optional<NotificationGroup>();
  auto g = records::decode_group(**v);
  if (!g) return corrupt("notification group record");
  return std::optional<NotificationGroup>(std::move(*g));
}

Result<bool> RocksStore::delete_group(std::string_view tenant, std::string_view id) {
  auto existing = impl_->get(kNotificationGroups, keys::tenant_scoped(tenant, id));
  if (!existing) return existing.error();
  if (!*existing) return false;
  // The record and the group's list of jobs in one batch: one range
  // tombstone, however many jobs the group had.
  std::string from = keys::group_jobs_prefix(tenant, id);
  std::string to = from;
  to.back() = '\x01';  // just past every key of the prefix (it ends in 0x00)
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf[kNotificationGroups], keys::tenant_scoped(tenant, id));
  batch.DeleteRange(impl_->cf[kGroupJobs], slice(from), slice(to));
  if (auto r = impl_->write(batch, true); !r) return r.error();
  return true;
}

Result<std::vector<NotificationGroup>> RocksStore::list_groups(std::string_view tenant, std::string_view after_id,
                                                               std::size_t limit) {
  const std::string prefix = keys::tenant_prefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf[kNotificationGroups]));
  std::string start = keys::tenant_scoped(tenant, after_id);
  it->Seek(start);
  if (!after_id.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::vector<NotificationGroup> out;
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
    auto g = records::decode_group({it->value().data(), it->value().size()});
    if (!g) return corrupt("notification group record");
    out.push_back(std::move(*g));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list notification groups");
  return out;
}

Result<GroupJobPage> RocksStore::list_group_jobs(std::string_view tenant, std::string_view group_id,
                                                 std::optional<JobKey> after, std::size_t limit) {
  const std::string prefix = keys::group_jobs_prefix(tenant, group_id);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf[kGroupJobs]));
  GroupJobPage page;
  if (after) {
    const std::string start = keys::group_job(tenant, group_id, *after);
    it->Seek(start);
    if (it->Valid() && it->key() == slice(start)) it->Next();
  } else {
    it->Seek(prefix);
  }
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (page.jobs.size() == limit) {
      page.next_after = page.jobs.back();
      break;
    }
    page.jobs.push_back(keys::job_of_group_job({it->key().data(), it->key().size()}));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list a group's jobs");
  return page;
}

Result<bool> RocksStore::group_has_job(std::string_view tenant, std::string_view group_id, const JobKey& job) {
  auto v = impl_->get(kGroupJobs, keys::group_job(tenant, group_id, job));
  if (!v) return v.error();
  return v->has_value();
}

// ---- idempotency ------------------------------------------------------------

Result<std::optional<IdempotentAnswer>> RocksStore::find_answer(std::string_view tenant,
                                                                std::string_view key,
                                                                std::int64_t now_ms) {
  auto v = impl_->get(kIdempotency, keys::tenant_scoped(tenant, key));
  if (!v) return v.error();
  if (!*v) return std::optional<IdempotentAnswer>();
  auto a = decode_answer(**v);
  if (!a) return corrupt("idempotency record");
  if (a->expires_at <= now_ms) return std::optional<IdempotentAnswer>();
  return std::optional<IdempotentAnswer>(std::move(*a));
}

Result<void> RocksStore::put_answer(std::string_view tenant, std::string_view key,
                                    const IdempotentAnswer& answer) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf[kIdempotency], keys::tenant_scoped(tenant, key), encode_answer(answer));
  return impl_->write(batch, true);
}

Result<std::optional<TenantSigningSecrets>> RocksStore::find_signing_secrets(std::string_view tenant) {
  auto v = impl_->get(kDefault, keys::signing_secrets(tenant));
  if (!v) return v.error();
  if (!*v) return std::optional<TenantSigningSecrets>();
  auto s = records::decode_signing_secrets(**v);
  if (!s) return corrupt("signing secrets record");
  return std::optional<TenantSigningSecrets>(std::move(*s));
}

Result<void> RocksStore::put_signing_secrets(std::string_view tenant, const TenantSigningSecrets& secrets,
                                             const IdempotentRecord* answer) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf[kDefault], keys::signing_secrets(tenant), records::encode(secrets));
  if (answer) add_answer(batch, *answer);
  // Synced (unless --no-sync): a secret handed out, and configured in a
  // receiver, must survive a crash.
  return impl_->write(batch, true);
}

std::uint64_t RocksStore::disk_bytes() const {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(impl_->options.path, ec))
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  return total;
}

Result<void> RocksStore::compact() {
  // CompactRange rewrites SST files only: flush first so what sits in the
  // memtables (and the WAL behind them) is compacted too, and the WAL goes.
  std::vector<rocksdb::ColumnFamilyHandle*> all(impl_->cf.begin(), impl_->cf.end());
  auto s = impl_->db->Flush(rocksdb::FlushOptions(), all);
  if (!s.ok()) return storage_error(s, "flush");
  // kForce also rewrites files already in the last level, which drops the
  // older versions of a key (a retried recipient's earlier states, tombstones
  // of the retry queue) and expired answers.
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : impl_->cf) {
    s = impl_->db->CompactRange(o, h, nullptr, nullptr);
    if (!s.ok()) return storage_error(s, fmt::format("compact {}", h->GetName()));
  }
  return {};
}

std::vector<RocksStore::FamilySize> RocksStore::family_sizes() const {
  std::vector<FamilySize> out;
  for (std::size_t i = 0; i < kCfCount; ++i) {
    FamilySize f{std::string(kCfNames[i])};
    impl_->db->GetIntProperty(impl_->cf[i], rocksdb::DB::Properties::kLiveSstFilesSize, &f.sst_bytes);
    impl_->db->GetIntProperty(impl_->cf[i], rocksdb::DB::Properties::kEstimateNumKeys, &f.keys);
    out.push_back(std::move(f));
  }
  return out;
}

RocksStore::Stats RocksStore::stats() const {
  Stats out;
  auto& db = *impl_->db;
  for (std::size_t i = 0; i < kCfCount; ++i) {
    Stats::Family f{kCfNames[i]};
    db.GetIntProperty(impl_->cf[i], rocksdb::DB::Properties::kLiveSstFilesSize, &f.sst_bytes);
    db.GetIntProperty(impl_->cf[i], rocksdb::DB::Properties::kCurSizeAllMemTables, &f.memtable_bytes);
    db.GetIntProperty(impl_->cf[i], rocksdb::DB::Properties::kEstimatePendingCompactionBytes,
                      &f.pending_compaction_bytes);
    out.families.push_back(f);
    // Stalls are counted per family (its L0 files, memtables, pending
    // compaction bytes); the keys are those of RocksDB's cfstats map.
    std::map<std::string, std::string> cf_stats;
    if (db.GetMapProperty(impl_->cf[i], rocksdb::DB::Properties::kCFStats, &cf_stats)) {
      auto number = [&](const char* key) -> std::uint64_t {
        auto it = cf_stats.find(key);
        return it == cf_stats.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
      };
      out.write_stops += number("io_stalls.total_stop");
      out.write_slowdowns += number("io_stalls.total_slowdown");
    }
  }
  std::uint64_t stopped = 0;
  db.GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &stopped);
  out.write_stopped = stopped != 0;
  return out;
}

// ---- senders ----------------------------------------------------------------

Result<void> RocksStore::put_sender(const Sender& s) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cf[kSenders], keys::sender(s.tenant, s.phone_number_id), records::encode(s));
  return impl_->write(batch, true);
}

Result<std::optional<Sender>> RocksStore::find_sender(std::string_view tenant, std::string_view id) {
  auto v = impl_->get(kSenders, keys::sender(tenant, id));
  if (!v) return v.error();
  if (!*v) return std::optional<Sender>();
  auto s = records::decode_sender(**v);
  if (!s) return corrupt("sender record");
  return std::optional<Sender>(std::move(*s));
}

Result<bool> RocksStore::delete_sender(std::string_view tenant, std::string_view id) {
  auto existing = impl_->get(kSenders, keys::sender(tenant, id));
  if (!existing) return existing.error();
  if (!*existing) return false;
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->cf[kSenders], keys::sender(tenant, id));
  if (auto r = impl_->write(batch, true); !r) return r.error();
  return true;
}

Result<std::vector<Sender>> RocksStore::list_senders(std::string_view tenant, std::string_view after_id,
                                                     std::size_t limit) {
  const std::string prefix = keys::sender_prefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf[kSenders]));
  const std::string start = keys::sender(tenant, after_id);
  it->Seek(start);
  if (!after_id.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::vector<Sender> out;
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
    auto s = records::decode_sender({it->value().data(), it->value().size()});
    if (!s) return corrupt("sender record");
    out.push_back(std::move(*s));
  }
  if (!it->status().ok()) return storage_error(it->status(), "list senders");
  return out;
}

Result<std::vector<QuotaUse>> RocksStore::quota_uses(std::string_view tenant, std::string_view id,
                                                     std::int64_t since_ms) {
  const std::string prefix = keys::quota_use_prefix(tenant, id);
  rocksdb::ReadOptions ro;
  std::string upper = prefix;
  upper.back() = '\x01';  // the prefix ends in 0x00: every key of this sender sorts below
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[kSenders]));
  std::string start = prefix;
  keys::put_u64(start, static_cast<std::uint64_t>(std::max<std::int64_t>(0, since_ms + 1)));
  std::vector<QuotaUse> out;
  for (it->Seek(start); it->Valid(); it->Next()) {
    auto at = keys::at_of_quota_use({it->key().data(), it->key().size()});
    auto count = records::decode_quota_count({it->value().data(), it->value().size()});
    if (!at || !count) return corrupt("quota use");
    out.push_back({*at, *count});
  }
  if (!it->status().ok()) return storage_error(it->status(), "read quota uses");
  return out;
}

// ---- callback outbox ------------------------------------------------------

Result<void> RocksStore::append_events(const JobKey& job, std::uint64_t first_seq,
                                       std::span<const std::string> events,
                                       std::optional<std::string_view> status_event_id) {
  rocksdb::WriteBatch batch;
  auto* family = impl_->cf[kCallbackOutbox];
  std::uint64_t seq = first_seq;
  for (const auto& e : events) batch.Put(family, keys::outbox_event(job, seq++), slice(e));
  std::string next;
  keys::put_u64(next, seq);
  batch.Put(family, keys::outbox_next(job), next);
  if (status_event_id) batch.Put(family, keys::outbox_status(job), slice(*status_event_id));
  return impl_->write(batch, true);
}

Result<std::vector<OutboxEvent>> RocksStore::read_events(const JobKey& job, std::uint64_t from_seq,
                                                         std::size_t limit) {
  const std::string upper = keys::outbox_next(job);  // 'n' sorts right after every 'e' key of the job
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf[kCallbackOutbox]));
  std::vector<OutboxEvent> out;
  for (it->Seek(keys::outbox_event(job, from_seq)); it->Valid() && out.size() < limit; it->Next()) {
    if (it->key().size() != 16 + 1 + 8) return corrupt("callback outbox key");
    out.push_back({keys::get_u64({it->key().data() + 17, 8}), it->value().ToString()});
  }
  if (!it->status().ok()) return storage_error(it->status(), "read callback events");
  return out;
}

Result<void> RocksStore::trim_events(const JobKey& job, std::uint64_t end_seq) {
  rocksdb::WriteBatch batch;
  batch.DeleteRange(impl_->cf[kCallbackOutbox], keys::outbox_event(job, 0), keys::outbox_event(job, end_seq));
  // Not synced: an event trimmed after a crash is one delivered again (its
  // id lets the receiver see that), never one lost.
  return impl_->write(batch, false);
}

Result<CallbackOutbox::Span> RocksStore::event_span(const JobKey& job) {
  Span span;
  auto next = impl_->get(kCallbackOutbox, keys::outbox_next(job));
  if (!next) return next.error();
  if (!*next) return span;
  if ((*next)->size() != 8) return corrupt("callback outbox counter");
  span.end = keys::get_u64(**next);
  auto first = read_events(job, 0, 1);
  if (!first) return first.error();
  span.first = first->empty() ? span.end : first->front().seq;
  return span;
}

Result<std::vector<JobKey>> RocksStore::jobs_with_events() {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf[kCallbackOutbox]));
  std::vector<JobKey> out;
  for (it->SeekToFirst(); it->Valid();) {
    auto k = it->key();
    if (k.size() < 17) return corrupt("callback outbox key");
    JobKey job;
    std::copy_n(k.data(), 16, job.begin());
    if (k[16] == 'e') out.push_back(job);
    // On to the next job: past its 's' key, the last of its keys.
    std::string past = keys::outbox_status(job);
    past.push_back('\0');
    it->Seek(past);
  }
  if (!it->status().ok()) return storage_error(it->status(), "list callback outboxes");
  return out;
}

Result<std::optional<std::string>> RocksStore::last_status_event(const JobKey& job) {
  return impl_->get(kCallbackOutbox, keys::outbox_status(job));
}

// ---- profiles ---------------------------------------------------------------

Result<ProfileStore::Upserted> RocksStore::upsert_profile(std::string_view tenant, std::string_view user_id,
                                                          const ProfileChange& change) {
  return impl_->profiles->upsert(tenant, user_id, change);
}

Result<std::vector<ProfileStore::BatchOutcome>> RocksStore::upsert_profiles(std::string_view tenant,
                                                                            std::span<const std::string_view> user_ids,
                                                                            const BatchChange& change) {
  return impl_->profiles->upsert_many(tenant, user_ids, change);
}

Result<std::optional<Profile>> RocksStore::find_profile(std::string_view tenant, std::string_view user_id) {
  return impl_->profiles->find(tenant, user_id);
}

Result<std::optional<std::string>> RocksStore::find_profile_by_alias(std::string_view tenant,
                                                                     const ProfileAlias& alias) {
  return impl_->profiles->find_by_alias(tenant, alias);
}

Result<std::vector<ProfileStore::Found>> RocksStore::find_profiles(std::string_view tenant,
                                                                   std::span<const std::string_view> user_ids) {
  return impl_->profiles->find_many(tenant, user_ids);
}

Result<bool> RocksStore::may_have_profiles(std::string_view tenant) { return impl_->profiles->may_have_any(tenant); }

Result<void> RocksStore::put_frequency_rules(std::string_view tenant, const std::vector<FrequencyRule>& rules) {
  return impl_->frequency->put_rules(tenant, rules);
}

Result<std::vector<FrequencyRule>> RocksStore::frequency_rules(std::string_view tenant) {
  return impl_->frequency->rules(tenant);
}

Result<std::vector<bool>> RocksStore::reserve_sends(std::string_view tenant, Channel channel,
                                                    std::span<const std::string_view> user_ids,
                                                    std::span<const std::uint64_t> messages, std::int64_t now_ms) {
  return impl_->frequency->reserve(tenant, channel, user_ids, messages, now_ms);
}

Result<bool> RocksStore::put_segment(const Segment& s) { return impl_->segments->put(s); }

Result<std::optional<Segment>> RocksStore::find_segment(std::string_view tenant, std::string_view id) {
  return impl_->segments->find(tenant, id);
}

Result<bool> RocksStore::delete_segment(std::string_view tenant, std::string_view id) {
  return impl_->segments->remove(tenant, id);
}

Result<std::vector<Segment>> RocksStore::list_segments(std::string_view tenant, std::string_view after,
                                                       std::size_t limit) {
  return impl_->segments->list(tenant, after, limit);
}

Result<bool> RocksStore::delete_profile(std::string_view tenant, std::string_view user_id) {
  // Its memberships go in the profile's write; the lists' lock is held
  // until then (taken before the profiles' own: always in that order).
  auto memberships = impl_->lists->lock_memberships();
  return impl_->profiles->remove(tenant, user_id, [&](rocksdb::WriteBatch& batch) {
    return impl_->lists->forget_user(tenant, user_id, batch);
  });
}

Result<std::vector<Profile>> RocksStore::list_profiles(std::string_view tenant, std::string_view after_id,
                                                       std::size_t limit) {
  return impl_->profiles->list(tenant, after_id, limit);
}

// ---- lists ------------------------------------------------------------------

Result<bool> RocksStore::put_list(const UserList& list) { return impl_->lists->put(list); }

Result<std::optional<UserList>> RocksStore::find_list(std::string_view tenant, std::string_view id) {
  return impl_->lists->find(tenant, id);
}

Result<bool> RocksStore::delete_list(std::string_view tenant, std::string_view id) {
  return impl_->lists->remove(tenant, id);
}

Result<std::vector<UserList>> RocksStore::list_lists(std::string_view tenant, std::string_view after,
                                                     std::size_t limit) {
  return impl_->lists->list(tenant, after, limit);
}

Result<std::optional<UserListStore::MembershipChange>> RocksStore::add_members(
    std::string_view tenant, std::string_view list_id, std::span<const std::string_view> user_ids) {
  return impl_->lists->add(tenant, list_id, user_ids);
}

Result<std::optional<UserListStore::MembershipChange>> RocksStore::remove_members(
    std::string_view tenant, std::string_view list_id, std::span<const std::string_view> user_ids) {
  return impl_->lists->drop(tenant, list_id, user_ids);
}

Result<std::vector<std::string>> RocksStore::list_members(std::string_view tenant, std::string_view list_id,
                                                          std::string_view after, std::size_t limit) {
  return impl_->lists->members(tenant, list_id, after, limit);
}

Result<std::vector<bool>> RocksStore::members_among(std::string_view tenant, std::string_view list_id,
                                                    std::span<const std::string_view> user_ids) {
  return impl_->lists->members_among(tenant, list_id, user_ids);
}

Result<std::vector<std::string>> RocksStore::lists_of(std::string_view tenant, std::string_view user_id) {
  return impl_->lists->lists_of(tenant, user_id);
}

// ---- suppressions -----------------------------------------------------------

Result<bool> RocksStore::put_suppression(const Suppression& s) { return impl_->suppressions->put(s); }

Result<bool> RocksStore::delete_suppression(std::string_view tenant, Channel channel, std::string_view address) {
  return impl_->suppressions->remove(tenant, channel, address);
}

Result<std::optional<Suppression>> RocksStore::find_suppression(std::string_view tenant, Channel channel,
                                                                std::string_view address) {
  return impl_->suppressions->find(tenant, channel, address);
}

Result<std::vector<Suppression>> RocksStore::list_suppressions(std::string_view tenant, Channel channel,
                                                               std::string_view after, std::size_t limit) {
  return impl_->suppressions->list(tenant, channel, after, limit);
}

Result<bool> RocksStore::is_suppressed(std::string_view tenant, Channel channel, std::string_view address) {
  return impl_->suppressions->contains(tenant, channel, address);
}

Result<bool> RocksStore::may_suppress(std::string_view tenant) { return impl_->suppressions->may_have_any(tenant); }

}  // namespace crier
