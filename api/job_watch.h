// The watchers of jobs' event streams (GET /v1/jobs/{id}/events) and the
// tickers that feed them.
//
// One ticker per watched job, made when its first watcher comes and gone
// with its last: it reads the job (its view, as GET /v1/jobs/{id} shows it)
// at most once per tick (500 ms) on the hub's own thread, whatever the
// number of watchers, and hands what changed to every watcher. Status
// changes come at once from the engine's lifecycle events (JobEventObserver),
// and from the snapshots too, should the two disagree.
//
// A watcher never holds up the ticker, dispatch or the other watchers: what
// is waiting for its connection is bounded — the latest progress snapshot
// (a newer one replaces it: the tick is dropped for that watcher), a few
// status changes (merged beyond max_status_backlog) and the end. The
// snapshot's text is shared, never copied per watcher.
//
// Event ids are unix ms * 10 + the job status the client knows once it has
// the event (JobStatus's number): they increase within a job's streams
// (across tickers and restarts too, the clock permitting), and a
// reconnecting client's Last-Event-ID says which status it was last told,
// so it is not told it again.
//
// Thread-safe. Watchers are ResponseStreams the server drives; one lock
// guards the tickers and watchers (held for pointer copies, never for a read
// of the store or for formatting).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "api/response_stream.h"
#include "engine/job.h"
#include "engine/job_events.h"
#include "engine/result.h"

namespace crier::api {

class Metrics;

// What a ticker reads of a job at each tick.
struct JobSnapshot {
  JobStatus status = JobStatus::created;
  std::int64_t updated_at = 0;  // unix ms
  std::string json;             // the job as GET /v1/jobs/{id} shows it
};

struct WatchOptions {
  // A watched job is read at most this often.
  std::chrono::milliseconds tick{500};
  // A stream with nothing to say sends a comment this often (proxies and
  // browsers drop connections that stay silent).
  std::chrono::milliseconds keep_alive{15'000};
  // Streams open at once, over every job (server.max_event_streams);
  // beyond, 503 too_many_event_streams.
  std::size_t max_watchers = 1000;
  // Status changes waiting for one slow watcher; beyond, the last two merge.
  std::size_t max_status_backlog = 16;
};

// unix_ms * 10 + the status's number.
std::int64_t event_id(std::int64_t unix_ms, JobStatus status);
// An id as a client sends it back (Last-Event-ID); nullopt when it is not
// one of ours.
std::optional<std::int64_t> parse_event_id(std::string_view id);
JobStatus status_of_event_id(std::int64_t id);

class JobWatchHub final : public JobEventObserver {
 public:
  // Reads the tenant's job for a ticker; called on the hub's thread (and
  // once on the caller's for a job's first watcher).
  using Reader = std::function<Result<JobSnapshot>(const std::string& tenant, const std::string& job_id)>;
  using Clock = std::function<std::int64_t()>;  // unix ms, for event ids

  // Starts the hub's thread. `metrics` may be null.
  JobWatchHub(Reader read, WatchOptions options, Metrics* metrics, Clock clock);
  ~JobWatchHub() override;
  JobWatchHub(const JobWatchHub&) = delete;
  JobWatchHub& operator=(const JobWatchHub&) = delete;

  // Stops the thread (no more ticks, no more events); watchers may still be
  // destroyed afterwards. Idempotent.
  void stop();

  // A stream of `job`'s events for a client whose last event was
  // `last_event_id` (its Last-Event-ID; nullopt for a new client): it
  // starts with the current snapshot, its ids are above that one, and it
  // tells no status the client knows. Errors: too_many_event_streams
  // (unavailable), or the reader's when this is the job's first watcher.
  Result<std::shared_ptr<ResponseStream>> watch(const Job& job, std::optional<std::int64_t> last_event_id);

  std::size_t watchers() const;

  void on_job_event(const Job& job, JobEvent event, std::optional<JobStatus> from) override;
  void on_users_ingested(const Job&, std::int64_t, std::int64_t, std::int64_t) override {}

 private:
  struct Ticker;
  class Watcher;
  using TickerKey = std::pair<std::string, std::string>;  // tenant, job id

  void run();
  // Under mu_: the first snapshot of a ticker; a later one, published.
  void first_snapshot(Ticker& t, JobSnapshot snap);
  void apply_snapshot(Ticker& t, JobSnapshot snap);
  // Under mu_: what a new watcher is sent first.
  void introduce(Watcher& w, Ticker& t, std::optional<std::int64_t> last_event_id);
  void leave(Watcher& w);
  void drop_if_unwatched(const std::shared_ptr<Ticker>& t);

  Reader read_;
  WatchOptions options_;
  Metrics* metrics_;
  Clock clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<TickerKey, std::shared_ptr<Ticker>> tickers_;
  std::size_t watchers_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace crier::api
