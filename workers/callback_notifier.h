// Job callbacks: for a job with a callback_url, POSTs what dispatch did —
// each recipient's move to a final state (or to a retry), and each change of
// the job's status — in signed batches, at most one batch a second per job.
//
// The body of one batch:
//   {"type":"crier.events","job_id":"job_…","batch":3,"dropped":0,
//    "events":[{"type":"recipient.status","job_id":…,"seq":…,"message_id":…,
//               "user_id":…,"status":"SENT","attempts":1,"error":null,"at":…},
//              {"type":"job.status","job_id":…,"status":"COMPLETED",
//               "counters":{…},"at":…}]}
// Headers: webhook-id "<job_id>.<batch>" (the same on every retry of the
// batch), webhook-timestamp, webhook-signature (Standard Webhooks, with the
// job's tenant's signing secret: tenant_signing.h).
//
// A dead or slow callback URL never slows dispatch: events wait in a bounded
// queue per job (the oldest are dropped past it, and the next batch says how
// many in "dropped"), and batches are sent from a thread of their own. A
// failed batch (transport error, 429, 5xx) is retried with exponential
// backoff up to max_attempts, then given up; other statuses give it up at
// once; so is one whose callback_url the egress policy refuses. Events live
// in memory: a restart loses those not yet sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/job_store.h"
#include "workers/dispatcher.h"
#include "workers/egress_policy.h"
#include "workers/tenant_signing.h"

namespace crier {

struct CallbackOptions {
  TenantSigning* signing = nullptr;  // signs with the job's tenant's secret; null: unsigned
  EgressPolicy egress;               // where a callback_url may lead (egress_policy.h)
  std::size_t max_queued_per_job = 10000;
  std::size_t max_batch = 1000;  // events per POST
  std::chrono::milliseconds interval{1000};  // at most one POST per job per interval
  unsigned max_attempts = 8;
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{60000};
  std::chrono::milliseconds timeout{10000};
};

struct CallbackStats {
  std::uint64_t batches_sent = 0;    // acknowledged with a 2xx
  std::uint64_t batches_failed = 0;  // given up
  std::uint64_t events_sent = 0;
  std::uint64_t events_dropped = 0;  // queue overflow or batches given up
};

class CallbackNotifier final : public DispatchObserver {
 public:
  // `store` supplies the counters of the job.status events.
  CallbackNotifier(JobStore& store, CallbackOptions options);
  ~CallbackNotifier() override;  // stops sending; queued events are lost
  CallbackNotifier(const CallbackNotifier&) = delete;
  CallbackNotifier& operator=(const CallbackNotifier&) = delete;

  bool wants_recipients(const Job& job) const override { return !job.spec.callback_url.empty(); }
  void on_recipients_changed(const Job& job, std::span<const RecipientView> changed) override;
  void on_job_status(const Job& job) override;

  CallbackStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crier
