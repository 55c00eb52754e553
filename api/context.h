// What the handlers work with: the engine, the stores, the limits and the
// keys. Built once in app/serve.cpp and passed down explicitly.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "api/auth.h"
#include "engine/dispatch_hold.h"
#include "engine/job_service.h"
#include "engine/notification_group.h"
#include "engine/profile_store.h"
#include "engine/frequency_cap.h"
#include "engine/segment.h"
#include "engine/suppression.h"
#include "engine/user_list.h"
#include "workers/egress_policy.h"
#include "workers/tenant_signing.h"

namespace crier::api {

class Metrics;
class JobWatchHub;   // job_watch.h
class EventTickets;  // event_ticket.h

struct ApiLimits {
  std::size_t max_body_bytes = 64u << 20;     // buffered bodies (413 beyond)
  std::size_t max_users_per_batch = 100000;   // users in one JSON body (413 beyond)
  std::size_t stream_commit_users = 10000;    // users per committed chunk of a stream
  std::size_t max_line_bytes = 1u << 20;      // one NDJSON line or CSV row
  std::size_t max_rejected_listed = 10000;    // rejected users listed in one answer
  std::size_t default_page = 100;
  std::size_t max_page = 1000;
  std::size_t max_scan = 50000;               // records scanned per filtered page
};

struct ApiContext {
  JobService& jobs;
  JobStore& store;
  TemplateStore& templates;
  IdempotencyStore& idempotency;
  GroupStore& groups;
  ApiKeys api_keys;  // SHA-256 of each key -> tenant
  ApiLimits limits;
  bool sync_writes = true;
  std::function<double(const JobKey&)> rate_of = [](const JobKey&) { return 0.0; };
  // Why dispatch holds a running job, if it does (the job view shows it).
  std::function<std::optional<DispatchHold>(const JobKey&)> hold_of = [](const JobKey&) {
    return std::optional<DispatchHold>();
  };
  std::function<bool(std::string_view)> provider_exists = [](std::string_view) { return true; };
  // The tenants' webhook signing secrets (GET/rotate /v1/webhook-secret);
  // null: those routes answer 503.
  TenantSigning* signing = nullptr;
  // Job-level webhook_url and callback_url are checked against it at create
  // (what can be judged without a lookup; the rest when connecting).
  EgressPolicy egress{};
  std::atomic<bool> ready{false};
  // WhatsApp senders (/v1/senders); the same store JobService was given.
  SenderStore* senders = nullptr;
  // Stored profiles (/v1/profiles); null: those routes answer 503.
  ProfileStore* profiles = nullptr;
  // The suppression list (/v1/suppressions); null: those routes answer 503.
  SuppressionStore* suppressions = nullptr;
  // Stored segments (/v1/segments); null: those routes answer 503.
  SegmentStore* segments = nullptr;
  // Lists and their members (/v1/lists); null: those routes answer 503.
  UserListStore* lists = nullptr;
  // Frequency caps (/v1/frequency-caps); null: those routes answer 503.
  FrequencyCapStore* frequency_caps = nullptr;
  // The metrics registry (GET /metrics and what the server records of
  // each request); null: no /metrics. Open to scrapers without a key
  // unless metrics_require_key.
  Metrics* metrics = nullptr;
  bool metrics_require_key = false;
  // The event streams' watchers (GET /v1/jobs/{id}/events) and the tickets
  // that open them without an API key; null: those routes answer 503.
  JobWatchHub* watches = nullptr;
  const EventTickets* event_tickets = nullptr;
  // Called at the named points where a crash would be hardest to survive
  // ("idempotent_answer": an action under an Idempotency-Key is done, its
  // answer not stored yet), so tests can crash there on purpose: app/serve.cpp
  // kills the process when CRIER_CRASH_AT names the point; api tests throw.
  std::function<void(std::string_view point)> crash_point = [](std::string_view) {};
};

}  // namespace crier::api
