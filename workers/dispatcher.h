// Runs jobs: one coroutine per PROCESSING (or CANCELLED, to sweep) job on a
// pool of threads of its own, so dispatch never competes with the HTTP pool.
//
// A job advances batch by batch. Each turn of its loop takes, in order:
//   - the retries that are due (recipients whose last attempt failed
//     transiently; they wait in the job's retry queue, still ENQUEUED), or
//   - the next window of recipients in seq order from the dispatch cursor
//     (a bounded range scan: flat memory whatever the job size).
// A window's PENDING recipients are first marked ENQUEUED (one batch, not
// synced: losing it only makes them PENDING again, with the same message
// ids). Each message is rendered for the channel route_for picks for its
// recipient (a routed job's recipients may use different channels), grouped
// by that channel's provider, paced by three token buckets (job, tenant,
// provider: the tightest wins) in small chunks, and handed to its provider.
// Outcomes, counter deltas, retry-queue entries and the new cursor are then
// written in one synced batch. A crash before that batch re-sends the window
// with the same ids; a crash after it never sends them again.
// An unlimited job's turn takes `lanes` windows: each lane reads its seq
// range, then (after one ENQUEUED record for them all) renders, sends and
// commits its part on its own, side by side on the pool; the cursor moves
// once every part is committed. A rate-limited job keeps one window a turn.
// The loop re-reads the job every turn, so pause, cancel and a changed
// rate limit take effect within one turn (a turn is kept under ~200 ms).
#pragma once

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/dispatch_hold.h"
#include "engine/job_service.h"
#include "engine/frequency_cap.h"
#include "engine/profile_store.h"
#include "engine/suppression.h"
#include "workers/dispatch_metrics.h"
#include "workers/provider.h"
#include "workers/rate_limiter.h"
#include "workers/rate_meter.h"

namespace crier {

struct DispatchOptions {
  std::size_t window = 1000;  // recipients per turn
  unsigned threads = 2;       // dispatch pool size
  // Windows of one unlimited job sent side by side in a turn (each rendered,
  // sent and committed on its own), so one job uses every thread.
  unsigned lanes = 2;
  // The nice value (0..19) the pool's threads lower themselves to, so the
  // HTTP API keeps priority over dispatch (workers/thread_priority.h);
  // 0 leaves them at the process's. The server sets 10 (dispatch.nice).
  int nice = 0;
  // The provider of a job that names none: the channel's, else the default.
  std::string default_provider = "log";
  std::map<Channel, std::string> channel_providers;
};

// How the dispatcher treats one provider.
struct ProviderSettings {
  RateLimit limit;                  // messages/s through this provider, all jobs together
  unsigned max_attempts = 5;        // attempts per recipient, the first included
  std::int64_t backoff_base_ms = 500;    // wait before the 2nd attempt; doubles after
  std::int64_t backoff_max_ms = 60000;   // cap of one wait (before jitter)
};

// Told of what dispatch does, for callbacks and live events. Called on a
// dispatch thread after the change is durable; must not block.
class DispatchObserver {
 public:
  virtual ~DispatchObserver() = default;
  // Whether on_recipients_changed wants this job's recipients at all: when
  // not, dispatch does not copy them for it.
  virtual bool wants_recipients(const Job& job) const = 0;
  virtual void on_recipients_changed(const Job& job, std::span<const RecipientView> changed) = 0;
  virtual void on_job_status(const Job& job) = 0;
};

class Dispatcher final : public JobListener {
 public:
  Dispatcher(JobService& service, JobStore& store, DispatchOptions options);
  ~Dispatcher() override;

  // Registers a provider under its name; before start().
  void add_provider(std::unique_ptr<Provider> provider, ProviderSettings settings = {});
  bool has_provider(std::string_view name) const;
  // Limits that may change while jobs run (a config reload); they apply to
  // the next chunk sent.
  void set_provider_limit(std::string_view provider, RateLimit limit);
  void set_tenant_limit(std::string_view tenant, RateLimit limit);
  void set_observer(DispatchObserver* observer) { observer_ = observer; }
  // Checked again before a stored job sends (it may predate the rule, or a
  // config that took the provider from its tenant): a job whose tenant may
  // not use its provider has its recipients FAILED provider_not_allowed.
  void set_provider_access(const ProviderAccess* access) { access_ = access; }
  // The tenants' suppression lists, looked at as each message is about to
  // be built: a suppressed address is SKIPPED `suppressed`, also when it was
  // suppressed after the job started. Null: nothing is suppressed.
  void set_suppressions(SuppressionStore* suppressions) { suppressions_ = suppressions; }
  // The tenants' profiles, read as each batch's messages are built: a
  // recipient with a user_id takes what it lacks from its profile, and its
  // standing on the channel decides whether the job sends to it
  // (engine/profile_resolution.h). Null: no recipient has a profile.
  void set_profiles(ProfileStore* profiles) { profiles_ = profiles; }
  // The tenants' frequency caps (engine/frequency_cap.h), checked last as
  // each batch's messages are built. Null: nothing is capped.
  void set_frequency_caps(FrequencyCapStore* caps) { caps_ = caps; }

  void start();
  // Stops the loops at their next turn (waiting up to `grace` for sends in
  // flight; what is cut off is re-sent after restart with the same ids) and
  // joins the threads.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // Resumes what a previous process left: PROCESSING jobs run again from
  // their cursor and retry queue, SCHEDULED jobs get their timers, CANCELLED
  // jobs with recipients still outstanding are swept.
  Result<void> recover();

  void on_status_changed(const Job& job) override;

  // Measured recipients per second reaching a final state (0 when idle).
  double rate_per_second(const JobKey& job) const;
  // Jobs with a loop running now (for tests and readiness).
  std::size_t running_jobs() const;
  // Why a running job sends nothing for now, if it does not: its store
  // refuses writes (it is then held at once), or its turns failed
  // kHoldAfterFailures times in a row. Cleared by the next good turn.
  std::optional<DispatchHold> hold_of(const JobKey& job) const;

  // What dispatch counted (for /metrics): rate-limit waits, and per
  // provider, attempts by channel and outcome, retries and messages in
  // flight. Providers are all registered before start(), so the names and
  // slots `f` sees stay valid while the dispatcher lives.
  const DispatchMetrics& metrics() const { return metrics_; }
  template <typename F>
  void for_each_provider_metrics(F f) const {
    for (const auto& [name, reg] : providers_) f(std::string_view(name), static_cast<const ProviderMetrics&>(*reg.metrics));
  }

 private:
  struct Registered {
    std::unique_ptr<Provider> provider;
    ProviderSettings settings;
    std::unique_ptr<ProviderMetrics> metrics;  // its slots, fixed at registration
  };
  struct Turn;  // one job's loop state, defined in the .cpp
  // What a turn leaves the loop to do.
  enum class TurnOutcome {
    again,        // more to do now
    finished,     // nothing outstanding: the job can finish (or, swept, is done)
    idle,         // nothing to do until the job's status changes
    retry_later,  // the turn failed (a storage error...): try again after a pause, longer each time
    store_refuses,  // the store takes no writes: nothing was sent; look again shortly
  };

  boost::asio::awaitable<void> run_loop(JobKey key);
  // One turn of a PROCESSING job.
  boost::asio::awaitable<TurnOutcome> process_turn(const Job& job, Turn& turn);
  // Sends `items` (already ENQUEUED) with the lane's renderer and commits
  // their outcomes; `cursor` is written with them when the items came from
  // the main window and all were sent. True when nothing was held back by a
  // pause or cancel seen meanwhile.
  boost::asio::awaitable<Result<bool>> send_and_commit(const Job& job, Turn& turn, std::size_t lane,
                                                       std::vector<RecipientView>& items,
                                                       std::optional<std::uint64_t> cursor);
  // Renders `items` into `pool` (reusing its messages), grouped by the
  // provider of each recipient's routed channel; resets the items' retry
  // times (kept in the batch) and fails those that cannot be rendered.
  // Whether the item may not be sent now, its state set to say why (for a
  // tenant that may have suppressions): its
  // address is suppressed (SKIPPED), or that could not be read (ENQUEUED,
  // retried in a second).
  bool held_back(const Job& job, RecipientView& item, Channel channel);
  // Before routing: each item with a user_id takes its profile's addresses,
  // locale and attributes; `profiles` gets one entry per item, and `held`
  // marks the items not to send this turn: one whose profile record is
  // damaged (FAILED profile_unreadable here), or, when the read failed
  // (false), every item with a user_id, which stays ENQUEUED (build_batch
  // retries them in a second, `profile_unknown`).
  bool resolve_profiles(const Job& job, std::vector<RecipientView>& items,
                        std::vector<std::optional<Profile>>& profiles, std::vector<bool>& held);
  // Whether the job's messages are checked against its tenant's caps.
  bool caps_active(const Job& job);
  struct Batch;
  void build_batch(const Job& job, JobRenderer& renderer, std::vector<OutboundMessage>& pool,
                   std::vector<RecipientView>& items, Batch& batch);
  // An unlimited job's turn over seqs [from, end): cut into `lanes` ranges,
  // each read, then sent and committed, by a lane of its own; the cursor
  // moves to `end` if every part was sent.
  struct LanePart;
  using LaneChannel =
      boost::asio::experimental::concurrent_channel<void(boost::system::error_code, std::size_t)>;
  boost::asio::awaitable<Result<bool>> run_lanes(const Job& job, Turn& turn, std::uint64_t from, std::uint64_t end,
                                                 std::size_t lanes);
  boost::asio::awaitable<void> read_part(const Job& job, LanePart& part, std::int64_t now, LaneChannel& done);
  boost::asio::awaitable<void> run_lane(const Job& job, Turn& turn, std::size_t lane,
                                        std::vector<RecipientView>& items, Result<bool>& result,
                                        LaneChannel& done);
  // Waits until the job, tenant and `provider`'s buckets all allow n messages.
  boost::asio::awaitable<void> take_tokens(const Job& job, Turn& turn, const Provider& provider, std::size_t n);
  // Sleeps `seconds` (a bucket's answer), counted as a wait at `level`.
  boost::asio::awaitable<void> wait_for_tokens(RateLevel level, double seconds);
  // Moves a turn's worth of not-final recipients (main window, then retry
  // queue) to `to`; `finished` when none are left.
  TurnOutcome sweep(const Job& job, Turn& turn, RecipientStatus to, const char* code, const char* message);
  // Shows the job as held for `why`, or lets it go.
  void hold(const JobKey& key, const Error& why, std::uint32_t failures);
  void release(const JobKey& key);
  void ensure_loop(const JobKey& key);
  // Called when a loop has nothing to do: true when it ends (and is
  // forgotten), false when a status change asked it to look again.
  bool loop_ends(const JobKey& key);
  void arm_schedule(const Job& job);
  // The provider of the job's messages on `channel`: the job's own, else
  // the channel's (dispatch.channels), else the default; null when that
  // name is not registered.
  Registered* provider_for(const Job& job, Channel channel);
  // A timer that starts the job after `delay` (under mu_).
  void arm_timer(const JobKey& key, std::chrono::milliseconds delay);
  // The tightest rate among the job's three levels; 0 when none is set.
  double tightest_rate(const Job& job, std::string_view provider) const;
  // The same over the providers of every channel the job may send on: what
  // sizes a turn, so no channel's provider gets more than a turn's worth.
  double tightest_rate(const Job& job);
  void notify(const Job& job, std::span<const RecipientView> changed);

  JobService& service_;
  JobStore& store_;
  DispatchOptions options_;
  // Before the providers: they may hold sockets of this io_context, which
  // must go before it does (members are destroyed in reverse order).
  boost::asio::io_context io_;
  std::map<std::string, Registered, std::less<>> providers_;
  RateLimiter provider_limits_;
  RateLimiter tenant_limits_;
  DispatchObserver* observer_ = nullptr;
  const ProviderAccess* access_ = nullptr;
  SuppressionStore* suppressions_ = nullptr;
  ProfileStore* profiles_ = nullptr;
  FrequencyCapStore* caps_ = nullptr;
  DispatchMetrics metrics_;

  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;

  mutable std::mutex mu_;
  std::set<JobKey> running_;  // jobs with a loop
  std::set<JobKey> rerun_;    // jobs whose loop must look again before it ends
  std::map<JobKey, std::shared_ptr<RateMeter>> meters_;
  std::map<JobKey, std::unique_ptr<boost::asio::steady_timer>> timers_;
  std::map<JobKey, DispatchHold> holds_;  // jobs with a loop that sends nothing for now
  bool stopping_ = false;
};

}  // namespace crier
