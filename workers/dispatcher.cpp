#include "workers/dispatcher.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <latch>
#include <cmath>
#include <random>

#include "engine/backoff.h"
#include "engine/render.h"
#include "engine/profile_resolution.h"
#include "engine/suppression.h"
#include "engine/routing.h"
#include "engine/time_format.h"
#include "workers/thread_priority.h"

namespace crier {
namespace asio = boost::asio;

namespace {

// A turn is kept to about this long at the tightest rate, so pause, cancel
// and limit changes are seen quickly.
constexpr double kTurnSeconds = 0.2;
// Messages paced as one chunk: ~50 chunks a second at the tightest rate.
constexpr double kChunksPerSecond = 50;
// The longest a loop sleeps waiting for a retry before it looks at the job again.
constexpr std::int64_t kMaxIdleMs = 1000;
// The most messages handed to a provider at once, and how often a long
// window looks at the job's status between chunks.
constexpr std::size_t kMaxChunk = 250;
constexpr double kStatusLookSeconds = 0.2;
// Chunks handed to the provider at once: while one waits for its slowest
// answer, the next keeps the connections busy.
constexpr std::size_t kChunksInFlight = 4;
// After a failed turn, the wait before the next: 1 s, doubling with each
// failure in a row, up to 30 s.
constexpr auto kRetryFirstDelay = std::chrono::milliseconds(1000);
constexpr auto kRetryMaxDelay = std::chrono::milliseconds(30'000);
// Failed turns in a row after which the job shows as held.
constexpr std::uint32_t kHoldAfterFailures = 3;
// How often a held job looks whether its store takes writes again.
constexpr auto kStoreLookEvery = std::chrono::milliseconds(500);
// A scheduled start that could not be written is tried again after this.
constexpr auto kScheduleRetryDelay = std::chrono::seconds(2);

std::chrono::milliseconds retry_delay(std::uint32_t failures) {
  auto d = kRetryFirstDelay;
  for (std::uint32_t i = 1; i < failures && d < kRetryMaxDelay; ++i) d *= 2;
  return std::min(d, kRetryMaxDelay);
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
  if (d <= std::chrono::steady_clock::duration::zero()) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

asio::awaitable<void> sleep_seconds(double s) {
  co_await sleep_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s)));
}

// The provider's backoff (engine/backoff.h) with this thread's random draw.
std::int64_t backoff_ms(const ProviderSettings& s, std::uint32_t attempts_made) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return retry_delay_ms(s.backoff_base_ms, s.backoff_max_ms, attempts_made, unit(rng));
}

// co_spawn runs a new coroutine inline, on the spawning thread, until its
// first suspension: a lane that only computes and writes would run there to
// its end, one lane after another. Its first step is therefore to queue
// itself on the pool, so an idle thread takes it.
asio::awaitable<void> to_another_thread() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

using ChunkChannel = asio::experimental::concurrent_channel<void(boost::system::error_code, std::size_t)>;

// Sends one chunk and reports its index on `done`; never throws, and fills
// `out` with exactly one outcome per message.
asio::awaitable<void> send_chunk(Provider& provider, ProviderMetrics& metrics, std::span<const OutboundMessage> chunk,
                                 std::vector<DeliveryOutcome>& out, ChunkChannel& done, std::size_t index) {
  const auto n = static_cast<std::int64_t>(chunk.size());
  metrics.in_flight.fetch_add(n, std::memory_order_relaxed);
  try {
    out = co_await provider.send(chunk);
  } catch (const std::exception& e) {
    out.clear();
    spdlog::error("provider {}: {}", provider.name(), e.what());
  }
  metrics.in_flight.fetch_sub(n, std::memory_order_relaxed);
  out.resize(chunk.size(), DeliveryOutcome{false, true, "no_outcome", "the provider gave no answer"});
  // The channel holds one slot per chunk, so this never waits.
  co_await done.async_send(boost::system::error_code{}, index, asio::use_awaitable);
}

// The items of a window that it sends: not final, not waiting in the retry
// queue. PENDING ones become ENQUEUED (in memory; counted in `delta`); those
// ENQUEUED already (an interrupted turn) are not counted again.
std::vector<RecipientView> take_sendable(std::vector<RecipientView>&& items, JobCounters& delta, std::int64_t now) {
  // Filtered in place: on a first pass every item is sent, and none moves.
  std::erase_if(items, [](const RecipientView& item) {
    return is_final(item.state.status) || item.state.next_attempt_at > 0;
  });
  for (auto& item : items)
    if (item.state.status == RecipientStatus::pending) {
      count_transition(delta, RecipientStatus::pending, RecipientStatus::enqueued);
      item.state.status = RecipientStatus::enqueued;
      item.state.updated_at = now;
    }
  return std::move(items);
}

}  // namespace

// What a job's loop keeps between turns.
struct Dispatcher::Turn {
  // One per lane (a renderer is not thread-safe); [0] is compiled first and
  // decides whether the job's content compiles at all.
  std::vector<std::unique_ptr<JobRenderer>> renderers;
  // One per lane, reused turn after turn: a message's strings keep their
  // capacity, so a steady dispatch allocates nothing per message for them.
  // Grown with `renderers`, before the lanes run side by side.
  std::vector<std::vector<OutboundMessage>> messages;
  // One per lane too, for the recipients a lane reads, for the same reason.
  std::vector<std::vector<RecipientView>> items;
  std::optional<TokenBucket> job_bucket;
  std::shared_ptr<RateMeter> meter;
  // Why the last turn failed (retry_later), for the job's hold.
  Error last_error;

  // Logs a turn's failure and keeps it; the turn is tried again later.
  Dispatcher::TurnOutcome failed(std::string_view job_id, Error e) {
    if (e.detail.empty()) spdlog::error("dispatch of {}: {}", job_id, e.message);
    else spdlog::error("dispatch of {}: {} ({})", job_id, e.message, e.detail);
    last_error = std::move(e);
    return TurnOutcome::retry_later;
  }
};

Dispatcher::Dispatcher(JobService& service, JobStore& store, DispatchOptions options)
    : service_(service), store_(store), options_(std::move(options)) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::add_provider(std::unique_ptr<Provider> provider, ProviderSettings settings) {
  std::string name(provider->name());
  provider_limits_.set(name, settings.limit);
  providers_[name] = Registered{std::move(provider), settings, std::make_unique<ProviderMetrics>()};
}

bool Dispatcher::has_provider(std::string_view name) const { return providers_.count(name) > 0; }

void Dispatcher::set_provider_limit(std::string_view provider, RateLimit limit) {
  provider_limits_.set(provider, limit);
}

void Dispatcher::set_tenant_limit(std::string_view tenant, RateLimit limit) {
  tenant_limits_.set(tenant, limit);
}

void Dispatcher::start() {
  work_.emplace(io_.get_executor());
  const unsigned n = std::max(1u, options_.threads);
  // start() returns once every thread has its name and priority, so what
  // the process shows after start (in /proc, to ps and top) is final.
  std::latch ready(n);
  for (unsigned i = 0; i < n; ++i)
    threads_.emplace_back([this, &ready] {
      become_bulk_thread("crier-dispatch", options_.nice);
      ready.count_down();
      io_.run();
    });
  ready.wait();
}

void Dispatcher::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [key, timer] : timers_) timer->cancel();
  }
  work_.reset();  // loops end at their next turn, then run() returns
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (running_jobs() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Sends still in flight are abandoned: their recipients are ENQUEUED and
  // go out again, with the same ids, when the job resumes.
  if (running_jobs() > 0) io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

Result<void> Dispatcher::recover() {
  std::vector<Job> jobs;
  // A job that cannot be read is reported and left alone: the others still
  // recover, and the server still starts.
  auto r = store_.for_each_job(
      [&](const Job& job) {
        if (job.status == JobStatus::processing || job.status == JobStatus::scheduled ||
            job.status == JobStatus::cancelling || job.status == JobStatus::cancelled)
          jobs.push_back(job);
      },
      [](std::string_view key_hex, std::string_view why) {
        spdlog::error("recovery skips the job record at key {}: {}", key_hex, why);
      });
  if (!r) return r;
  for (const auto& job : jobs) {
    // CANCELLED with recipients outstanding: a store from before
    // CANCELLING, whose sweep ran under the final status.
    if (job.status == JobStatus::cancelled) {
      auto c = store_.counters(job.key);
      if (!c) {
        spdlog::error("recovery skips job {}: its counters cannot be read: {}", job.id(), c.error().message);
        continue;
      }
      if (c->outstanding() == 0) continue;
    }
    spdlog::info("recovering job {} ({})", job.id(), to_string(job.status));
    on_status_changed(job);
  }
  return {};
}

void Dispatcher::on_status_changed(const Job& job) {
  switch (job.status) {
    case JobStatus::processing:
    case JobStatus::cancelling:
    case JobStatus::cancelled: ensure_loop(job.key); break;
    case JobStatus::scheduled: arm_schedule(job); break;
    default: break;  // a paused loop notices at its next turn
  }
  if (observer_) observer_->on_job_status(job);
}

double Dispatcher::rate_per_second(const JobKey& job) const {
  std::lock_guard lock(mu_);
  auto it = meters_.find(job);
  return it == meters_.end() ? 0.0 : it->second->per_second();
}

std::size_t Dispatcher::running_jobs() const {
  std::lock_guard lock(mu_);
  return running_.size();
}

void Dispatcher::ensure_loop(const JobKey& key) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (running_.count(key)) {
      rerun_.insert(key);  // the running loop may be on its way out: make it look again
      return;
    }
    running_.insert(key);
    meters_.try_emplace(key, std::make_shared<RateMeter>());
  }
  // Spawned outside the lock: on a pool thread (a schedule timer firing)
  // co_spawn starts the loop inline, and the loop takes mu_ itself.
  asio::co_spawn(io_, run_loop(key), [this, key](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("dispatch loop of {} ended by an exception: {}", job_id_string(key), ex.what());
    } catch (...) {
      spdlog::error("dispatch loop of {} ended by an unknown exception", job_id_string(key));
    }
    std::lock_guard lock(mu_);
    running_.erase(key);
  });
}

void Dispatcher::arm_schedule(const Job& job) {
  if (!job.spec.schedule_at) return;
  std::lock_guard lock(mu_);
  // Armed once: a second timer would replace the first, whose cancelled
  // handler would then erase the second.
  if (stopping_ || timers_.count(job.key)) return;
  auto delay = std::chrono::milliseconds(std::max<std::int64_t>(0, *job.spec.schedule_at - now_unix_ms()));
  arm_timer(job.key, delay);
}

void Dispatcher::arm_timer(const JobKey& key, std::chrono::milliseconds delay) {
  // Under mu_ (arm_schedule's lock, or the handler's below).
  auto timer = std::make_unique<asio::steady_timer>(io_, delay);
  timer->async_wait([this, key](boost::system::error_code ec) {
    {
      std::lock_guard lock(mu_);
      timers_.erase(key);
    }
    if (ec) return;  // cancelled at shutdown
    // An exception escaping a completion handler would end io_.run() and
    // the process with it: this one is caught and logged. A start that was
    // not written (a full disk) leaves the job SCHEDULED: it is tried again.
    try {
      auto r = service_.apply(key, JobAction::start);
      if (r || r.error().kind == ErrorKind::conflict) return;  // conflict: cancelled meanwhile
      spdlog::error("cannot start scheduled job {} (trying again): {}", job_id_string(key), r.error().message);
    } catch (const std::exception& e) {
      spdlog::error("cannot start scheduled job {} (trying again): exception: {}", job_id_string(key), e.what());
    } catch (...) {
      spdlog::error("cannot start scheduled job {} (trying again): unknown exception", job_id_string(key));
    }
    std::lock_guard lock(mu_);
    if (!stopping_ && !timers_.count(key)) arm_timer(key, kScheduleRetryDelay);
  });
  timers_[key] = std::move(timer);
}

Dispatcher::Registered* Dispatcher::provider_for(const Job& job, Channel channel) {
  auto it = providers_.find(crier::provider_for(job.spec, channel, options_.default_provider, options_.channel_providers));
  return it == providers_.end() ? nullptr : &it->second;
}

double Dispatcher::tightest_rate(const Job& job, std::string_view provider) const {
  double tightest = 0;
  for (double r : {job.spec.rate_limit, tenant_limits_.get(job.tenant).rate,
                   provider_limits_.get(provider).rate})
    if (r > 0 && (tightest == 0 || r < tightest)) tightest = r;
  return tightest;
}

double Dispatcher::tightest_rate(const Job& job) {
  double tightest = 0;
  for (Channel channel : routed_channels(job.spec)) {
    Registered* p = provider_for(job, channel);
    double r = tightest_rate(job, p ? p->provider->name() : std::string_view());
    if (r > 0 && (tightest == 0 || r < tightest)) tightest = r;
  }
  return tightest;
}

void Dispatcher::notify(const Job& job, std::span<const RecipientView> changed) {
  if (observer_ && !changed.empty()) observer_->on_recipients_changed(job, changed);
}

asio::awaitable<void> Dispatcher::run_loop(JobKey key) {
  Turn turn;
  {
    std::lock_guard lock(mu_);
    turn.meter = meters_[key];
  }
  const std::string id = job_id_string(key);
  std::uint32_t failures = 0;  // turns failed in a row
  for (;;) {
    TurnOutcome next = TurnOutcome::idle;
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    auto found = stopping ? Result<std::optional<Job>>(std::optional<Job>()) : store_.find_job(key);
    if (!found) {
      next = turn.failed(id, found.error());
    } else if (*found) {
      const Job& job = **found;
      // Sending (or sweeping) is only worth it if its outcome can be
      // written: while the store refuses writes, nothing leaves, and the
      // job waits, held, until the store takes writes again.
      const bool sweeping = job.status == JobStatus::cancelling || job.status == JobStatus::cancelled;
      auto writable = sweeping || job.status == JobStatus::processing ? store_.writable() : Result<void>();
      if (!writable) {
        hold(key, writable.error(), failures);
        next = TurnOutcome::store_refuses;
      } else if (sweeping) {
        next = sweep(job, turn, RecipientStatus::cancelled, "cancelled", "the job was cancelled");
      } else if (job.status == JobStatus::processing) {
        try {
          next = co_await process_turn(job, turn);
        } catch (const std::exception& e) {
          // A bug or resource exhaustion in one turn must not strand the
          // job: what the turn did not commit is re-sent with the same ids.
          next = turn.failed(id, make_error(ErrorKind::internal, "dispatch_failed", e.what()));
        }
      }
      // A CANCELLING job whose sweep is done becomes CANCELLED.
      if (next == TurnOutcome::finished &&
          (job.status == JobStatus::processing || job.status == JobStatus::cancelling)) {
        auto r = service_.apply(key, JobAction::finish);
        if (!r && r.error().kind != ErrorKind::conflict)  // not written: the loop must stay to try again
          next = turn.failed(id, r.error());
        else if (!r)  // a status change raced us (pause, cancel): the loop looks again
          spdlog::debug("job {} not finished: {}", id, r.error().message);
        else
          spdlog::info("job {} finished: {}", id, to_string(r->status));
      }
    }
    if (next == TurnOutcome::retry_later) {
      // Nothing is lost (what was not committed goes again with the same
      // ids), and the job must not sit PROCESSING with no loop: try again,
      // later and later; after a few failures in a row, show it held.
      ++failures;
      if (failures >= kHoldAfterFailures) hold(key, turn.last_error, failures);
      if (!stopping) co_await sleep_for(retry_delay(failures));
    } else if (next == TurnOutcome::store_refuses) {
      if (!stopping) co_await sleep_for(kStoreLookEvery);
    } else {
      failures = 0;
      release(key);
    }
    // No `continue` around co_await here: g++ 12 miscompiles some such loops.
    const bool ends = next == TurnOutcome::finished || next == TurnOutcome::idle || stopping;
    if (ends && loop_ends(key)) co_return;
  }
}

void Dispatcher::hold(const JobKey& key, const Error& why, std::uint32_t failures) {
  std::lock_guard lock(mu_);
  auto [it, added] = holds_.try_emplace(key);
  if (added) it->second.since_ms = now_unix_ms();
  if (added || it->second.code != why.code)
    spdlog::warn("job {}: dispatch held ({}: {})", job_id_string(key), why.code, why.message);
  it->second.code = why.code.empty() ? "dispatch_failed" : why.code;
  it->second.message = why.message;
  it->second.failures = failures;
}

void Dispatcher::release(const JobKey& key) {
  std::lock_guard lock(mu_);
  auto it = holds_.find(key);
  if (it == holds_.end()) return;
  spdlog::info("job {}: dispatch goes on after {} ms held", job_id_string(key), now_unix_ms() - it->second.since_ms);
  holds_.erase(it);
}

std::optional<DispatchHold> Dispatcher::hold_of(const JobKey& key) const {
  std::lock_guard lock(mu_);
  auto it = holds_.find(key);
  if (it == holds_.end()) return std::nullopt;
  return it->second;
}

bool Dispatcher::loop_ends(const JobKey& key) {
  std::lock_guard lock(mu_);
  if (rerun_.erase(key) && !stopping_) return false;  // a change came in meanwhile: look again
  running_.erase(key);
  meters_.erase(key);  // bounded memory: a job's meter and hold live while its loop does
  holds_.erase(key);
  return true;
}

asio::awaitable<Dispatcher::TurnOutcome> Dispatcher::process_turn(const Job& job, Turn& turn) {
  const std::string id = job.id();
  if (job.spec.expires_at && now_unix_ms() >= *job.spec.expires_at)
    co_return sweep(job, turn, RecipientStatus::skipped, "expired",
                    "the job expired before this recipient was sent");

  // Every channel the job may send on needs its provider.
  for (Channel channel : routed_channels(job.spec)) {
    if (Registered* p = provider_for(job, channel)) {
      // Checked at create time; checked again in case the operator took the
      // provider from this tenant since.
      if (access_ && !access_->may_use(job.tenant, p->provider->name()))
        co_return sweep(job, turn, RecipientStatus::failed, "provider_not_allowed",
                        "the job's tenant may not use its provider");
      continue;
    }
    // Validated at create time, so the config changed since: the job waits
    // (PROCESSING, nothing lost) until a restart brings the provider back.
    spdlog::error("job {}: the provider of its {} messages ('{}') is not configured: it waits until it is",
                  id, to_string(channel), job.spec.provider);
    co_return TurnOutcome::idle;
  }
  if (turn.renderers.empty()) {
    auto compiled = JobRenderer::compile(job.spec);
    if (compiled) {
      turn.renderers.push_back(std::move(*compiled));
      turn.messages.resize(1);
    } else spdlog::error("dispatch of {}: {}", id, compiled.error().message);
  }
  if (turn.renderers.empty())
    co_return sweep(job, turn, RecipientStatus::failed, "render_failed", "the job's content cannot be compiled");

  // The job's own limit, re-read every turn so a change applies at once.
  if (job.spec.rate_limit > 0) {
    RateLimit l{job.spec.rate_limit, 0};
    if (!turn.job_bucket) turn.job_bucket.emplace(l.rate, effective_burst(l));
    else if (turn.job_bucket->rate() != l.rate) turn.job_bucket->set_rate(l.rate, effective_burst(l));
  } else {
    turn.job_bucket.reset();
  }
  std::size_t window = options_.window;
  // An unlimited job's turn takes one window per lane, sent side by side;
  // a limited one takes one window, paced in order.
  std::size_t lanes = std::max(1u, options_.lanes);
  if (double rate = tightest_rate(job); rate > 0) {
    window = std::clamp<std::size_t>(static_cast<std::size_t>(rate * kTurnSeconds), 1, window);
    lanes = 1;
  }

  // Due retries first: they have waited already.
  auto due = store_.due_retries(job.key, now_unix_ms(), window);
  if (!due) co_return turn.failed(id, due.error());
  if (!due->empty()) {
    auto r = co_await send_and_commit(job, turn, 0, *due, std::nullopt);
    co_return r ? TurnOutcome::again : turn.failed(id, r.error());
  }

  auto cursor = store_.dispatch_cursor(job.key);
  if (!cursor) co_return turn.failed(id, cursor.error());
  // An unlimited job: its lanes read, send and commit their parts of the
  // window side by side. Seqs are dense ([0, unique): ingest gives them in
  // order and nothing removes a recipient), so the parts are seq ranges
  // known before anything is read.
  if (lanes > 1) {
    auto counters = store_.counters(job.key);
    if (!counters) co_return turn.failed(id, counters.error());
    const auto total = static_cast<std::uint64_t>(std::max<std::int64_t>(0, (*counters)[Counter::unique]));
    if (*cursor < total) {
      auto r = co_await run_lanes(job, turn, *cursor, std::min<std::uint64_t>(total, *cursor + window * lanes), lanes);
      co_return r ? TurnOutcome::again : turn.failed(id, r.error());
    }
  }
  auto page = store_.list_recipients(job.key, *cursor, window, std::nullopt, window);
  if (!page) co_return turn.failed(id, page.error());
  if (!page->items.empty()) {
    const std::uint64_t next_cursor =
        page->next_seq ? *page->next_seq : page->items.back().recipient.seq + 1;
    // ENQUEUED, not synced (see the header): the window's end becomes the
    // job's in-flight horizon, one record for the whole window.
    JobCounters delta;
    const std::int64_t now = now_unix_ms();
    std::vector<RecipientView> to_send = take_sendable(std::move(page->items), delta, now);
    if (!delta.empty()) {
      auto r = store_.mark_enqueued(job.key, next_cursor, now, delta, false);
      if (!r) co_return turn.failed(id, r.error());
    }
    auto r = co_await send_and_commit(job, turn, 0, to_send, next_cursor);
    co_return r ? TurnOutcome::again : turn.failed(id, r.error());
  }

  // The window is done; what is left waits in the retry queue.
  auto next = store_.next_retry_at(job.key);
  if (!next) co_return turn.failed(id, next.error());
  if (!*next) co_return TurnOutcome::finished;
  co_await sleep_for(std::chrono::milliseconds(
      std::clamp<std::int64_t>(**next - now_unix_ms(), 1, kMaxIdleMs)));
  co_return TurnOutcome::again;
}

asio::awaitable<void> Dispatcher::take_tokens(const Job& job, Turn& turn, const Provider& provider,
                                              std::size_t n) {
  // Innermost level first, and the most shared one last, so each bucket is
  // debited as close as possible to the moment the messages really leave.
  const double count = static_cast<double>(n);
  if (turn.job_bucket) co_await wait_for_tokens(RateLevel::job, turn.job_bucket->reserve(steady_seconds(), count));
  co_await wait_for_tokens(RateLevel::tenant, tenant_limits_.reserve(job.tenant, steady_seconds(), count));
  co_await wait_for_tokens(RateLevel::provider, provider_limits_.reserve(provider.name(), steady_seconds(), count));
}

asio::awaitable<void> Dispatcher::wait_for_tokens(RateLevel level, double seconds) {
  if (seconds <= 0) co_return;
  const auto i = static_cast<std::size_t>(level);
  metrics_.rate_waits[i].fetch_add(1, std::memory_order_relaxed);
  metrics_.rate_wait_ns[i].fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  co_await sleep_seconds(seconds);
}

// One lane's part of an unlimited job's turn: a seq range, what of it is
// sent, and how that went.
struct Dispatcher::LanePart {
  std::uint64_t from = 0, to = 0;
  std::vector<RecipientView> items;
  JobCounters delta;  // PENDING -> ENQUEUED of its items
  Result<bool> result{false};
};

asio::awaitable<Result<bool>> Dispatcher::run_lanes(const Job& job, Turn& turn, std::uint64_t from,
                                                    std::uint64_t end, std::size_t lanes) {
  const std::uint64_t per = (end - from + lanes - 1) / lanes;
  std::vector<LanePart> parts;
  for (std::uint64_t f = from; f < end; f += per) {
    auto& part = parts.emplace_back();
    part.from = f;
    part.to = std::min(end, f + per);
  }
  const std::int64_t now = now_unix_ms();
  auto ex = co_await asio::this_coro::executor;
  // A renderer per lane, compiled here, before the lanes run side by side
  // (lane 0's compiled already, so this succeeds unless memory runs out).
  while (turn.renderers.size() < parts.size()) {
    auto compiled = JobRenderer::compile(job.spec);
    if (!compiled) co_return compiled.error();
    turn.renderers.push_back(std::move(*compiled));
  }
  if (turn.messages.size() < parts.size()) turn.messages.resize(parts.size());
  if (turn.items.size() < parts.size()) turn.items.resize(parts.size());
  // Each part reads into its lane's recipients of the last turn (moved, with
  // their storage), and hands them back however the turn ends.
  for (std::size_t i = 0; i < parts.size(); ++i) parts[i].items = std::move(turn.items[i]);
  struct GiveBack {
    Turn& turn;
    std::vector<LanePart>& parts;
    ~GiveBack() {
      for (std::size_t i = 0; i < parts.size(); ++i) turn.items[i] = std::move(parts[i].items);
    }
  } give_back{turn, parts};

  // 1. Each lane reads its range.
  LaneChannel read(ex, parts.size());
  for (auto& part : parts) asio::co_spawn(ex, read_part(job, part, now, read), asio::detached);
  for (std::size_t i = 0; i < parts.size(); ++i) co_await read.async_receive(asio::use_awaitable);
  JobCounters delta;
  for (auto& part : parts) {
    if (!part.result) co_return part.result.error();
    delta += part.delta;
  }
  // 2. ENQUEUED, not synced (see the header): the turn's end becomes the
  // job's in-flight horizon, one record for all the lanes.
  if (!delta.empty())
    if (auto r = store_.mark_enqueued(job.key, end, now, delta, false); !r) co_return r.error();

  // 3. Each lane sends its part and commits its outcomes (RocksDB groups
  // the concurrent synced writes into one fsync). The cursor moves only once
  // every part is committed and fully sent: until then a crash, pause or
  // error leaves it where it was, and the next turn skips what is final and
  // sends again, with the same ids, what is still ENQUEUED.
  LaneChannel sent(ex, parts.size());
  std::size_t running = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].items.empty()) continue;  // all final already: nothing to send or write
    asio::co_spawn(ex, run_lane(job, turn, i, parts[i].items, parts[i].result, sent), asio::detached);
    ++running;
  }
  for (std::size_t i = 0; i < running; ++i) co_await sent.async_receive(asio::use_awaitable);
  bool complete = true;
  for (auto& part : parts) {
    if (!part.result) co_return part.result.error();
    complete = complete && *part.result;
  }
  if (!complete) co_return false;
  // Not synced: the next synced write carries it, and losing it only makes
  // the next run skip this turn's final recipients again.
  if (auto r = store_.commit_states(job.key, {}, JobCounters{}, end, false); !r) co_return r.error();
  co_return true;
}

asio::awaitable<void> Dispatcher::read_part(const Job& job, LanePart& part, std::int64_t now, LaneChannel& done) {
  co_await to_another_thread();
  try {
    const std::size_t n = part.to - part.from;
    RecipientPage page;
    page.items = std::move(part.items);  // the lane's storage from the last turn
    auto read = store_.list_recipients_into(job.key, part.from, n, std::nullopt, n, page);
    if (!read) {
      part.result = read.error();
      part.items = std::move(page.items);  // nothing is sent this turn; the storage stays the lane's
    } else {
      std::erase_if(page.items, [&](const RecipientView& v) { return v.recipient.seq >= part.to; });
      part.items = take_sendable(std::move(page.items), part.delta, now);
      part.result = true;
    }
  } catch (const std::exception& e) {
    part.result = make_error(ErrorKind::internal, "dispatch_failed", e.what());
  }
  // The channel holds one slot per lane, so this never waits.
  co_await done.async_send(boost::system::error_code{}, 0, asio::use_awaitable);
}

asio::awaitable<void> Dispatcher::run_lane(const Job& job, Turn& turn, std::size_t lane,
                                           std::vector<RecipientView>& items, Result<bool>& result,
                                           LaneChannel& done) {
  co_await to_another_thread();
  try {
    result = co_await send_and_commit(job, turn, lane, items, std::nullopt);
  } catch (const std::exception& e) {
    result = make_error(ErrorKind::internal, "dispatch_failed", e.what());
  }
  // The channel holds one slot per lane, so this never waits.
  co_await done.async_send(boost::system::error_code{}, lane, asio::use_awaitable);
}

// A lane's messages for its items, built in its pool grouped by provider.
struct Dispatcher::Batch {
  // Channels that share a provider share its group: group g's messages are
  // pool[from, to), so each chunk handed to a provider is one contiguous
  // span and takes that provider's tokens.
  struct Group {
    Registered* reg = nullptr;
    std::size_t from = 0, to = 0;
  };
  std::array<Group, kMaxRoutedChannels> groups;
  std::size_t group_count = 0;
  std::size_t count = 0;                   // messages built, the first `count` of the pool
  std::vector<std::size_t> message_item;   // items index of each message
  std::vector<std::int64_t> previous_retry;  // each item's retry due time before this attempt
};

void Dispatcher::build_batch(const Job& job, JobRenderer& renderer, std::vector<OutboundMessage>& pool,
                             std::vector<RecipientView>& items, Batch& batch) {
  const std::string id = job.id();
  // The job's channels and their providers (process_turn checked that each
  // has one).
  const std::span<const Channel> channels = routed_channels(job.spec);
  std::array<std::size_t, kMaxRoutedChannels> group_of_channel{};
  for (std::size_t c = 0; c < channels.size(); ++c) {
    Registered* reg = provider_for(job, channels[c]);
    std::size_t g = 0;
    while (g < batch.group_count && batch.groups[g].reg != reg) ++g;
    if (g == batch.group_count) batch.groups[batch.group_count++].reg = reg;
    group_of_channel[c] = g;
  }
  // Each item's channel, as an index into `channels`: computed only for a
  // job that has several (a single-channel job's items all take channel 0).
  constexpr std::uint8_t kNoRoute = 0xff;
  constexpr std::uint8_t kHeld = 0xfe;  // not attempted this turn (its profile was unreadable)
  std::vector<std::uint8_t> route;

  // Profiles: looked up only for a tenant that keeps some.
  std::vector<std::optional<Profile>> profiles;
  std::vector<bool> held;
  bool resolving = false;
  if (profiles_) {
    auto may = profiles_->may_have_profiles(job.tenant);
    resolving = !may || *may;
  }
  const bool profiles_readable = !resolving || resolve_profiles(job, items, profiles, held);
  // A recipient named by its user_id alone may have found no address: routed
  // one by one, as a job over several channels always is.
  if (channels.size() > 1 || resolving) route.resize(items.size());
  // Standings matter where profiles exist, and to a job that sends to
  // opted-in users only (without a profile, nobody is).
  const bool check_standing = resolving || job.spec.subscription_state == SubscriptionRequirement::opted_in;

  // Most tenants keep no suppression list: then nothing is looked up.
  bool screen = false;
  if (suppressions_) {
    auto may = suppressions_->may_suppress(job.tenant);
    screen = !may || *may;
  }
  batch.message_item.reserve(items.size());
  batch.previous_retry.assign(items.size(), 0);
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto& item = items[i];
    batch.previous_retry[i] = item.state.next_attempt_at;
    item.state.next_attempt_at = 0;
    if (route.empty()) continue;
    if (!held.empty() && held[i]) {
      route[i] = kHeld;
      if (profiles_readable) continue;  // failed profile_unreadable already
      item.state.error_code = "profile_unknown";
      item.state.error_message = "the user's profile could not be read; retried later";
      item.state.next_attempt_at = now_unix_ms() + 1000;
      continue;
    }
    auto channel = route_for(job.spec, item.recipient);
    route[i] = channel ? static_cast<std::uint8_t>(std::find(channels.begin(), channels.end(), *channel) -
                                                   channels.begin())
                       : kNoRoute;
    if (channel) continue;
    // Ingest stores no such recipient; a record that has none is not sent.
    item.state.attempts += 1;
    item.state.status = RecipientStatus::failed;
    item.state.error_code = "missing_address";
    item.state.error_message = resolving && !profiles[i]
                                   ? "the recipient has no address on any of the job's channels and no stored profile"
                                   : "the recipient has no address on any of the job's channels";
  }
  // Whether an item is not sent on `channel` (its state says why): its
  // standing, no address, or the suppression list.
  auto excluded = [&](std::size_t i, Channel channel) {
    auto& item = items[i];
    if (check_standing) {
      const Profile* profile = profiles.empty() || !profiles[i] ? nullptr : &*profiles[i];
      if (auto why = ineligible(job.spec.subscription_state, profile, channel)) {
        item.state.status = RecipientStatus::skipped;
        item.state.error_code = std::move(why->code);
        item.state.error_message = std::move(why->message);
        return true;
      }
    }
    // A user given by user_id alone whose profile gave no address (a
    // single-channel job routes no one, so it is checked here).
    if (address_on(job.spec, item.recipient, channel).empty()) {
      item.state.attempts += 1;
      item.state.status = RecipientStatus::failed;
      item.state.error_code = "missing_address";
      item.state.error_message = "the recipient has no address on the job's channel and no stored profile gives one";
      return true;
    }
    return screen && held_back(job, item, channel);
  };
  // Frequency caps, for a tenant with rules: the items that would be sent
  // take their users' slots, one reservation per channel; a capped one is
  // SKIPPED. Checked last, so a user skipped for another reason keeps its slot.
  const bool capping = caps_active(job);
  if (capping) {
    if (route.empty()) route.assign(items.size(), 0);
    for (std::size_t c = 0; c < channels.size(); ++c) {
      std::vector<std::string_view> ids;
      std::vector<std::uint64_t> marks;
      std::vector<std::size_t> index;
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (route[i] != c) continue;
        if (excluded(i, channels[c])) {
          route[i] = kHeld;
          continue;
        }
        if (items[i].recipient.user_id.empty()) continue;
        ids.push_back(items[i].recipient.user_id);
        marks.push_back(message_mark(job.key, items[i].recipient.seq));
        index.push_back(i);
      }
      if (ids.empty()) continue;
      auto allowed = caps_->reserve_sends(job.tenant, channels[c], ids, marks, now_unix_ms());
      for (std::size_t k = 0; k < index.size(); ++k) {
        auto& item = items[index[k]];
        if (allowed && (*allowed)[k]) continue;
        route[index[k]] = kHeld;
        if (allowed) {
          item.state.status = RecipientStatus::skipped;
          item.state.error_code = "frequency_capped";
          item.state.error_message = fmt::format("the user reached the tenant's frequency cap on {}", to_string(channels[c]));
        } else {
          // Not known whether it may be sent: not now (as suppression_unknown).
          item.state.error_code = "frequency_cap_unknown";
          item.state.error_message = "the send history could not be read; retried later";
          item.state.next_attempt_at = now_unix_ms() + 1000;
        }
      }
      if (!allowed)
        spdlog::warn("job {}: frequency caps unreadable: {} ({})", job.id(), allowed.error().message,
                     allowed.error().detail);
    }
  }
  for (std::size_t g = 0; g < batch.group_count; ++g) {
    batch.groups[g].from = batch.count;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::size_t c = route.empty() ? 0 : route[i];
      if (c == kNoRoute || c == kHeld || group_of_channel[c] != g) continue;
      const Channel channel = channels[c];
      auto& item = items[i];
      if (!capping && excluded(i, channel)) continue;
      // Rendered in place, in the storage of the pool's message (render_into
      // clears what an earlier turn left there).
      if (batch.count == pool.size()) pool.emplace_back();
      OutboundMessage& m = pool[batch.count];
      auto rendered = renderer.render_into(item.recipient, channel, m.content);
      if (!rendered) {
        item.state.attempts += 1;
        item.state.status = RecipientStatus::failed;
        item.state.error_code = rendered.error().code;
        item.state.error_message = rendered.error().message;
        continue;
      }
      // Assigned, not moved: the strings' buffers stay with the pool.
      message_id_into(m.message_id, id, item.recipient.seq);
      m.job_id.assign(id);
      m.tenant.assign(job.tenant);
      m.seq = item.recipient.seq;
      m.channel = channel;
      m.to.assign(address_on(job.spec, item.recipient, channel));
      m.user_id.assign(item.recipient.user_id);
      m.correlation_id.assign(job.spec.correlation_id);
      batch.message_item.push_back(i);
      ++batch.count;
    }
    batch.groups[g].to = batch.count;
  }
}

asio::awaitable<Result<bool>> Dispatcher::send_and_commit(const Job& job, Turn& turn, std::size_t lane,
                                                          std::vector<RecipientView>& items,
                                                          std::optional<std::uint64_t> cursor) {
  // Compiled before the lanes start (run_lanes): lanes run at once and must
  // not grow the vectors under each other.
  std::vector<OutboundMessage>& pool = turn.messages.at(lane);
  Batch batch;
  build_batch(job, *turn.renderers.at(lane), pool, items, batch);
  const auto& groups = batch.groups;
  const auto& message_item = batch.message_item;
  const bool observe = observer_ && observer_->wants_recipients(job);
  const std::span<const OutboundMessage> messages(pool.data(), batch.count);

  // Paced in chunks, so a limited job flows evenly instead of in bursts;
  // an unlimited one is chunked too, so a pause or cancel is seen within a
  // chunk even when the receiver is slow. A chunk holds one group's
  // messages, sized by the rate that applies to its provider.
  struct Chunk {
    std::size_t group, from, n;
  };
  std::vector<Chunk> chunks;
  for (std::size_t g = 0; g < batch.group_count; ++g) {
    const std::size_t size = groups[g].to - groups[g].from;
    if (size == 0) continue;
    std::size_t chunk = std::min(size, kMaxChunk);
    if (double rate = tightest_rate(job, groups[g].reg->provider->name()); rate > 0)
      chunk = std::clamp<std::size_t>(static_cast<std::size_t>(rate / kChunksPerSecond), 1, chunk);
    for (std::size_t from = groups[g].from; from < groups[g].to; from += chunk)
      chunks.push_back({g, from, std::min(chunk, groups[g].to - from)});
  }
  // Up to kChunksInFlight chunks are out at once, so the providers'
  // connections stay busy while a chunk waits for its slowest answer. Chunks
  // are launched in order and stop being launched once the job is paused or
  // cancelled, so what was sent is always a prefix of `messages`.
  const std::size_t chunk_count = chunks.size();
  std::vector<std::vector<DeliveryOutcome>> chunk_outcomes(chunk_count);
  ChunkChannel done(co_await asio::this_coro::executor, chunk_count);
  std::size_t launched = 0, finished = 0;
  bool interrupted = false;
  double last_look = steady_seconds();
  while (finished < launched || (launched < chunk_count && !interrupted)) {
    if (launched < chunk_count && !interrupted && launched - finished < kChunksInFlight) {
      // Looked at before a chunk leaves, so nothing more leaves once it is seen.
      if (launched > 0 && steady_seconds() - last_look >= kStatusLookSeconds) {
        last_look = steady_seconds();
        auto current = store_.find_job(job.key);
        interrupted = current && *current && (*current)->status != JobStatus::processing;
      }
      // A store that stopped taking writes could not record what the rest
      // of the window would get: it stays ENQUEUED, to go once it can.
      if (launched > 0 && !interrupted && !store_.writable()) interrupted = true;
      if (!interrupted) {
        const Chunk& c = chunks[launched];
        Provider& provider = *groups[c.group].reg->provider;
        co_await take_tokens(job, turn, provider, c.n);
        asio::co_spawn(co_await asio::this_coro::executor,
                       send_chunk(provider, *groups[c.group].reg->metrics, messages.subspan(c.from, c.n),
                                  chunk_outcomes[launched], done, launched),
                       asio::detached);
        ++launched;
      }
    } else {
      co_await done.async_receive(asio::use_awaitable);
      ++finished;
    }
  }
  // In message order: chunks were cut from `messages` in order.
  std::vector<DeliveryOutcome> outcomes;
  outcomes.reserve(messages.size());
  for (std::size_t c = 0; c < launched; ++c)
    for (auto& o : chunk_outcomes[c]) outcomes.push_back(std::move(o));
  // Messages not sent because the job was paused or cancelled meanwhile
  // stay as stored (ENQUEUED, or queued for retry): no outcome is written
  // for them, and the cursor does not move past them.
  const std::size_t sent_count = outcomes.size();
  std::vector<bool> untouched(items.size(), false);
  for (std::size_t k = sent_count; k < messages.size(); ++k) untouched[message_item[k]] = true;
  if (sent_count < messages.size()) cursor.reset();

  const std::int64_t now = now_unix_ms();
  std::size_t g = 0;  // the group of message k: groups are contiguous, in order
  AttemptTally tally;
  std::int64_t warned = 0;  // final messages sent with a variable that had no value
  for (std::size_t k = 0; k < sent_count; ++k) {
    while (k >= groups[g].to) {
      tally.flush(*groups[g].reg->metrics);
      ++g;
    }
    const ProviderSettings& settings = groups[g].reg->settings;
    auto& state = items[message_item[k]].state;
    const auto& o = outcomes[k];
    if (state.attempts > 0) ++tally.retries;
    state.attempts += 1;
    // Counted once per recipient, at its last attempt.
    const bool warn = messages[k].content.missing_variables > 0;
    if (o.ok) {
      state.status = RecipientStatus::sent;
      state.sent_at = now;
      state.error_code.clear();
      state.error_message.clear();
      tally.count(messages[k].channel, AttemptOutcome::sent);
      warned += warn;
      continue;
    }
    state.error_code = o.error_code;
    state.error_message = o.error_message;
    if (o.transient && state.attempts < settings.max_attempts) {
      state.next_attempt_at = now + std::max(backoff_ms(settings, state.attempts), o.retry_after_ms);
      tally.count(messages[k].channel, AttemptOutcome::retried);
      continue;  // stays ENQUEUED, in the retry queue
    }
    state.status = RecipientStatus::failed;
    tally.count(messages[k].channel, AttemptOutcome::failed);
    warned += warn;
    if (o.transient)
      state.error_message = fmt::format("gave up after {} attempts: {}", state.attempts, o.error_message);
  }
  if (sent_count > 0) tally.flush(*groups[g].reg->metrics);

  // Outcomes, counters, retry queue and cursor in one synced batch.
  std::vector<StateChange> changes;
  std::vector<RecipientView> changed;
  changes.reserve(items.size());
  JobCounters delta;
  delta[Counter::render_warnings] = warned;
  std::int64_t finalized = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (untouched[i]) continue;
    auto& item = items[i];
    item.state.updated_at = now;
    if (item.state.status != RecipientStatus::enqueued) {
      count_transition(delta, RecipientStatus::enqueued, item.state.status);
      ++finalized;
    }
    changes.push_back({item.recipient.seq, item.state, batch.previous_retry[i]});
    if (observe) changed.push_back(item);
  }
  // Events first: a crash between the two writes sends an event again
  // (same id) rather than losing it (callback_notifier.h).
  notify(job, changed);
  if (auto r = store_.commit_states(job.key, changes, delta, cursor, true); !r) co_return r.error();
  turn.meter->add(finalized);
  co_return sent_count == messages.size();
}

Dispatcher::TurnOutcome Dispatcher::sweep(const Job& job, Turn& turn, RecipientStatus to, const char* code,
                                           const char* message) {
  const std::string id = job.id();
  // The main window first, then the retry queue (behind the cursor).
  auto cursor = store_.dispatch_cursor(job.key);
  if (!cursor) return turn.failed(id, cursor.error());
  std::vector<RecipientView> items;
  std::optional<std::uint64_t> next_cursor;
  auto page = store_.list_recipients(job.key, *cursor, options_.window, std::nullopt, options_.window);
  if (!page) return turn.failed(id, page.error());
  if (!page->items.empty()) {
    next_cursor = page->next_seq ? *page->next_seq : page->items.back().recipient.seq + 1;
    items = std::move(page->items);
  } else {
    auto due = store_.due_retries(job.key, INT64_MAX, options_.window);
    if (!due) return turn.failed(id, due.error());
    if (due->empty()) return TurnOutcome::finished;
    items = std::move(*due);
  }
  const std::int64_t now = now_unix_ms();
  std::vector<StateChange> changes;
  std::vector<RecipientView> changed;
  JobCounters delta;
  for (auto& item : items) {
    // In the main window, queued retries are left for the second pass.
    if (is_final(item.state.status) || (next_cursor && item.state.next_attempt_at > 0)) continue;
    count_transition(delta, item.state.status, to);
    std::int64_t previous_retry = item.state.next_attempt_at;
    item.state.status = to;
    item.state.error_code = code;
    item.state.error_message = message;
    item.state.updated_at = now;
    item.state.next_attempt_at = 0;
    changes.push_back({item.recipient.seq, item.state, previous_retry});
    changed.push_back(std::move(item));
  }
  notify(job, changed);  // before the states: see send_and_commit
  auto r = store_.commit_states(job.key, changes, delta, next_cursor, true);
  if (!r) return turn.failed(id, r.error());
  return TurnOutcome::again;
}

}  // namespace crier
