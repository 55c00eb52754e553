// Runs jobs: one coroutine per PROCESSING (or CANCELLED, to sweep) job on a
// pool of threads of its own, so dispatch never competes with the HTTP pool.
//
// A job advances window by window in seq order from its dispatch cursor:
//   1. read up to `window` recipients (a bounded range scan: flat memory);
//   2. mark the not-yet-final ones ENQUEUED (one batch, not synced: losing
//      it only means they are PENDING again, and get the same message ids);
//   3. render and hand them to the job's provider;
//   4. write SENT/FAILED, the counter deltas and the new cursor in one batch,
//      synced. A crash before 4 re-sends the window with the same ids; a crash
//      after it never sends them again.
// Between windows it re-reads the job, so pause and cancel take effect
// within one window.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/job_service.h"
#include "workers/provider.h"
#include "workers/rate_meter.h"

namespace crier {

struct DispatchOptions {
  std::size_t window = 1000;        // recipients per window
  unsigned threads = 2;             // dispatch pool size
  std::string default_provider = "log";
};

class Dispatcher final : public JobListener {
 public:
  Dispatcher(JobService& service, JobStore& store, DispatchOptions options);
  ~Dispatcher() override;

  // Registers a provider under its name; before start().
  void add_provider(std::unique_ptr<Provider> provider);
  bool has_provider(std::string_view name) const;

  void start();
  // Stops the loops at their next window boundary and joins the threads.
  void stop();

  // Resumes what a previous process left: PROCESSING jobs run again from
  // their cursor, SCHEDULED jobs get their timers, CANCELLED jobs with
  // recipients still pending are swept.
  Result<void> recover();

  void on_status_changed(const Job& job) override;

  // Measured recipients per second reaching a final state (0 when idle).
  double rate_per_second(const JobKey& job) const;
  // Jobs with a loop running now (for tests and readiness).
  std::size_t running_jobs() const;

 private:
  boost::asio::awaitable<void> run_loop(JobKey key);
  // Sends one window; false when the job has no recipients left.
  boost::asio::awaitable<bool> dispatch_window(const Job& job, class JobRenderer& renderer,
                                               Provider& provider, RateMeter& meter,
                                               class TokenBucket* bucket);
  // Moves one window of not-final recipients to `to`; false when none are left.
  bool sweep_window(const Job& job, RecipientStatus to, const char* code, const char* message);
  void ensure_loop(const JobKey& key);
  void arm_schedule(const Job& job);
  Provider* provider_for(const Job& job);

  JobService& service_;
  JobStore& store_;
  DispatchOptions options_;
  std::map<std::string, std::unique_ptr<Provider>, std::less<>> providers_;

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;

  mutable std::mutex mu_;
  std::set<JobKey> running_;  // jobs with a loop
  std::set<JobKey> rerun_;    // jobs whose loop must look again before it ends
  std::map<JobKey, std::shared_ptr<RateMeter>> meters_;
  std::map<JobKey, std::unique_ptr<boost::asio::steady_timer>> timers_;
  bool stopping_ = false;
};

}  // namespace crier
