#include "api/job_watch.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <vector>

#include "api/metrics.h"
#include "engine/time_format.h"

namespace crier::api {
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct StatusItem {
  JobStatus status, previous;
  std::int64_t at = 0;  // unix ms
  std::int64_t id = 0;
};

struct DataItem {
  std::shared_ptr<const std::string> json;
  std::int64_t id = 0;
};

void append_event(std::string& out, std::int64_t id, std::string_view name, std::string_view data) {
  out += fmt::format("id: {}\nevent: {}\ndata: ", id, name);
  out += data;
  out += "\n\n";
}

}  // namespace

std::int64_t event_id(std::int64_t unix_ms, JobStatus status) {
  return unix_ms * 10 + static_cast<std::int64_t>(status);
}

std::optional<std::int64_t> parse_event_id(std::string_view id) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
  if (ec != std::errc() || end != id.data() + id.size() || v < 0) return std::nullopt;
  if (static_cast<std::size_t>(v % 10) >= kJobStatusCount) return std::nullopt;
  return v;
}

JobStatus status_of_event_id(std::int64_t id) { return static_cast<JobStatus>(id % 10); }

// ---- a job's ticker ----------------------------------------------------------------

struct JobWatchHub::Ticker {
  std::string tenant, job_id;
  std::vector<Watcher*> watchers;
  int joining = 0;       // watchers between lookup and introduction
  bool ready = false;    // has its first snapshot
  bool reading = false;  // the hub's thread is reading it
  bool ended = false;    // a final snapshot was published: no more reads
  JobStatus status = JobStatus::created;  // the last status published
  std::int64_t status_at = 0;              // the job's updated_at when it changed to it
  // The newest updated_at the ticker has seen, from a lifecycle event or a
  // read: an event or a read older than it is stale (events come after the
  // job's lock is gone, so two may arrive out of order; a read may have
  // started before a change an event already told).
  std::int64_t known_at = 0;
  std::shared_ptr<const std::string> json;  // the last snapshot published
  JobStatus json_status = JobStatus::created;  // the status `json` shows
  std::int64_t json_id = 0;                   // the id `json` was published with
  std::int64_t last_ms = 0;  // of the last id handed out
  SteadyClock::time_point due{};

  std::int64_t next_id(JobStatus s, std::int64_t now_ms) {
    last_ms = std::max(now_ms, last_ms + 1);
    return event_id(last_ms, s);
  }
};

// ---- a watcher: one client's stream ---------------------------------------------------

class JobWatchHub::Watcher final : public ResponseStream {
 public:
  Watcher(JobWatchHub& hub, std::shared_ptr<Ticker> ticker) : hub_(hub), ticker_(std::move(ticker)) {
    if (hub_.metrics_) hub_.metrics_->sse.connections.add(1);
  }
  ~Watcher() override {
    hub_.leave(*this);
    if (hub_.metrics_) hub_.metrics_->sse.connections.add(-1);
  }

  void start(std::function<void()> wake) override {
    std::lock_guard lock(hub_.mu_);
    wake_ = std::move(wake);
  }

  Piece take() override {
    std::deque<StatusItem> statuses;
    std::optional<DataItem> progress, end;
    {
      std::lock_guard lock(hub_.mu_);
      statuses.swap(statuses_);
      progress.swap(progress_);
      end.swap(end_);
    }
    Piece piece;
    const auto now = SteadyClock::now();
    if (statuses.empty() && !progress && !end) {
      if (now - last_sent_ >= hub_.options_.keep_alive) {
        piece.bytes = ": keep-alive\n\n";
        last_sent_ = now;
        count(SseEvent::keep_alive);
      }
      return piece;
    }
    // In id order: a status change that came after the snapshot waiting
    // here goes after it, and one that came before goes before.
    struct Out {
      std::int64_t id;
      const StatusItem* status;
      const DataItem* data;
      bool is_end;
    };
    std::vector<Out> out;
    for (const auto& s : statuses) out.push_back({s.id, &s, nullptr, false});
    if (progress) out.push_back({progress->id, nullptr, &*progress, false});
    if (end) out.push_back({end->id, nullptr, &*end, true});
    std::sort(out.begin(), out.end(), [](const Out& a, const Out& b) { return a.id < b.id; });
    for (const auto& o : out) {
      if (o.status) {
        json::object data{{"status", to_string(o.status->status)},
                          {"previous", to_string(o.status->previous)},
                          {"at", format_rfc3339(o.status->at)}};
        append_event(piece.bytes, o.id, "status", json::serialize(data));
        count(SseEvent::status);
      } else {
        append_event(piece.bytes, o.id, o.is_end ? "end" : "progress", *o.data->json);
        count(o.is_end ? SseEvent::end : SseEvent::progress);
      }
    }
    piece.last = end.has_value();
    last_sent_ = now;
    return piece;
  }

  std::chrono::milliseconds max_idle() const override { return hub_.options_.keep_alive; }

  // ---- under the hub's lock ----
  Ticker& ticker() { return *ticker_; }
  const std::shared_ptr<Ticker>& ticker_ptr() const { return ticker_; }

  void push_status(const StatusItem& s) {
    if (statuses_.size() < hub_.options_.max_status_backlog) {
      statuses_.push_back(s);
      return;
    }
    // A watcher this far behind gets the changes it missed as one.
    auto& last = statuses_.back();
    last.status = s.status;
    last.at = s.at;
    last.id = s.id;
    if (last.status == last.previous) statuses_.pop_back();
  }
  void push_progress(DataItem d) {
    if (progress_ && hub_.metrics_) hub_.metrics_->sse.progress_dropped.add();
    progress_ = std::move(d);
  }
  void push_end(DataItem d) { end_ = std::move(d); }
  void wake() {
    if (wake_) wake_();
  }

 private:
  void count(SseEvent e) {
    if (hub_.metrics_) hub_.metrics_->sse.events_sent[static_cast<std::size_t>(e)].add();
  }

  JobWatchHub& hub_;
  std::shared_ptr<Ticker> ticker_;
  // Guarded by the hub's lock.
  std::function<void()> wake_;
  std::deque<StatusItem> statuses_;
  std::optional<DataItem> progress_, end_;
  // The connection's own (take() is called from one strand).
  SteadyClock::time_point last_sent_ = SteadyClock::now();
};

// ---- the hub ---------------------------------------------------------------------------

JobWatchHub::JobWatchHub(Reader read, WatchOptions options, Metrics* metrics, Clock clock)
    : read_(std::move(read)), options_(options), metrics_(metrics), clock_(std::move(clock)) {
  thread_ = std::thread([this] { run(); });
}

JobWatchHub::~JobWatchHub() { stop(); }

void JobWatchHub::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t JobWatchHub::watchers() const {
  std::lock_guard lock(mu_);
  return watchers_;
}

Result<std::shared_ptr<ResponseStream>> JobWatchHub::watch(const Job& job,
                                                           std::optional<std::int64_t> last_event_id) {
  std::unique_lock lock(mu_);
  if (stopping_) return make_error(ErrorKind::unavailable, "shutting_down", "the server is stopping");
  if (watchers_ >= options_.max_watchers)
    return make_error(ErrorKind::unavailable, "too_many_event_streams",
                      fmt::format("{} event streams are open, the limit (server.max_event_streams); retry later",
                                  options_.max_watchers));
  ++watchers_;
  auto& slot = tickers_[{job.tenant, job.id()}];
  if (!slot) {
    slot = std::make_shared<Ticker>();
    slot->tenant = job.tenant;
    slot->job_id = job.id();
  }
  std::shared_ptr<Ticker> t = slot;
  ++t->joining;
  if (!t->ready) {
    // The job's first watcher reads it here, so its stream opens with the
    // snapshot (two first watchers at once may both read; the first wins).
    lock.unlock();
    auto snap = read_(t->tenant, t->job_id);
    if (metrics_) metrics_->sse.ticks.add();
    lock.lock();
    if (!snap) {
      --t->joining;
      --watchers_;
      drop_if_unwatched(t);
      return snap.error();
    }
    if (!t->ready) first_snapshot(*t, std::move(*snap));
  }
  auto w = std::make_shared<Watcher>(*this, t);
  introduce(*w, *t, last_event_id);
  t->watchers.push_back(w.get());
  --t->joining;
  lock.unlock();
  cv_.notify_all();  // a new ticker is due a tick from now
  return std::shared_ptr<ResponseStream>(std::move(w));
}

void JobWatchHub::first_snapshot(Ticker& t, JobSnapshot snap) {
  t.ready = true;
  t.status = t.json_status = snap.status;
  t.status_at = t.known_at = snap.updated_at;
  t.json = std::make_shared<const std::string>(std::move(snap.json));
  t.json_id = t.next_id(t.json_status, clock_());
  t.ended = is_final(snap.status);
  t.due = SteadyClock::now() + options_.tick;
}

void JobWatchHub::introduce(Watcher& w, Ticker& t, std::optional<std::int64_t> last_event_id) {
  const auto now = clock_();
  std::optional<JobStatus> known;
  if (last_event_id) {
    known = status_of_event_id(*last_event_id);
    // Above the client's last id, even from a ticker made since (the ms
    // part of ids moves on by one when events come faster than the clock);
    // an id from the future is not believed.
    if (*last_event_id / 10 <= now + 60'000) t.last_ms = std::max(t.last_ms, *last_event_id / 10);
  }
  // The snapshot first, always, with the id it was published with (so
  // watchers that come in the same tick get the same event), or a fresh one
  // for a client that had it already (its ids must go on increasing).
  // Then the status, unless the client knows it already (a reconnect that
  // saw the last change); one that knows an older status is told the
  // current one as a change from what it knew, and a new client learns it
  // from the snapshot (and from a change the snapshot does not show yet).
  const bool seen = last_event_id && *last_event_id >= t.json_id;
  w.push_progress({t.json, seen ? t.next_id(t.json_status, now) : t.json_id});
  const JobStatus told = known.value_or(t.json_status);
  if (told != t.status) w.push_status({t.status, told, t.status_at, t.next_id(t.status, now)});
  if (t.ended) w.push_end({t.json, t.next_id(t.status, now)});
}

void JobWatchHub::apply_snapshot(Ticker& t, JobSnapshot snap) {
  if (t.ended || snap.updated_at < t.known_at) return;  // the next read will be fresh
  t.known_at = snap.updated_at;
  const auto now = clock_();
  if (snap.status != t.status) {
    // A change the lifecycle events did not tell.
    StatusItem s{snap.status, t.status, snap.updated_at, t.next_id(snap.status, now)};
    for (auto* w : t.watchers) w->push_status(s);
    t.status = snap.status;
    t.status_at = snap.updated_at;
  }
  const bool changed = *t.json != snap.json;
  if (changed || is_final(snap.status)) {
    t.json = std::make_shared<const std::string>(std::move(snap.json));
    t.json_status = t.status;
  }
  if (is_final(snap.status)) {
    t.ended = true;
    t.json_id = t.next_id(t.status, now);  // the final snapshot, as a later watcher's first event
    DataItem end{t.json, t.next_id(t.status, now)};
    for (auto* w : t.watchers) w->push_end(end);
  } else if (changed) {
    t.json_id = t.next_id(t.json_status, now);
    DataItem progress{t.json, t.json_id};
    for (auto* w : t.watchers) w->push_progress(progress);
  }
  for (auto* w : t.watchers) w->wake();
}

void JobWatchHub::on_job_event(const Job& job, JobEvent, std::optional<JobStatus>) {
  std::lock_guard lock(mu_);
  if (stopping_ || tickers_.empty()) return;
  auto it = tickers_.find(TickerKey{job.tenant, job.id()});
  if (it == tickers_.end()) return;
  Ticker& t = *it->second;
  if (!t.ready || t.ended || job.updated_at < t.known_at) return;
  t.known_at = job.updated_at;
  // Told twice, or after a read already showed it: nothing new.
  if (job.status == t.status) return;
  StatusItem s{job.status, t.status, job.updated_at, t.next_id(job.status, clock_())};
  t.status = job.status;
  t.status_at = job.updated_at;
  for (auto* w : t.watchers) {
    w->push_status(s);
    w->wake();
  }
}

void JobWatchHub::leave(Watcher& w) {
  std::lock_guard lock(mu_);
  auto& t = w.ticker();
  std::erase(t.watchers, &w);
  --watchers_;
  drop_if_unwatched(w.ticker_ptr());
}

void JobWatchHub::drop_if_unwatched(const std::shared_ptr<Ticker>& t) {
  if (!t->watchers.empty() || t->joining > 0 || t->reading) return;
  auto it = tickers_.find(TickerKey{t->tenant, t->job_id});
  if (it != tickers_.end() && it->second == t) tickers_.erase(it);
}

void JobWatchHub::run() {
  std::unique_lock lock(mu_);
  std::vector<std::shared_ptr<Ticker>> due;
  std::vector<Result<JobSnapshot>> read;
  while (!stopping_) {
    const auto now = SteadyClock::now();
    auto next = SteadyClock::time_point::max();
    due.clear();
    for (auto& [key, t] : tickers_) {
      if (!t->ready || t->ended || t->reading) continue;
      if (t->due <= now)
        due.push_back(t);
      else
        next = std::min(next, t->due);
    }
    if (due.empty()) {
      if (next == SteadyClock::time_point::max())
        cv_.wait(lock);
      else
        cv_.wait_until(lock, next);
    } else {
      for (auto& t : due) t->reading = true;
      lock.unlock();
      // The store is read with the lock released: watchers come, go and
      // take meanwhile.
      read.clear();
      for (auto& t : due) read.push_back(read_(t->tenant, t->job_id));
      if (metrics_) metrics_->sse.ticks.add(due.size());
      lock.lock();
      for (std::size_t i = 0; i < due.size(); ++i) {
        auto& t = due[i];
        t->reading = false;
        t->due = now + options_.tick;
        if (read[i])
          apply_snapshot(*t, std::move(*read[i]));
        else
          spdlog::warn("event stream of job {}: cannot read it: {} (next tick tries again)", t->job_id,
                       read[i].error().message);
        drop_if_unwatched(t);
      }
    }
  }
}

}  // namespace crier::api
