#include "api/router.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <vector>

#include "api/auth.h"
#include "api/compat/facades.h"
#include "api/errors.h"
#include "api/event_ticket.h"
#include "api/routes/metrics.h"
#include "api/routes/routes.h"

namespace crier::api {
namespace json = boost::json;
namespace {

constexpr std::int64_t kIdempotencyTtlMs = 24LL * 3600 * 1000;

using compat::path_parts;

// The vendors' APIs, by the first segments of their paths. Each façade
// authenticates, routes and answers errors in its vendor's style.
struct FacadeRoute {
  std::string_view prefix;  // without the leading slash
  const compat::Facade& (*facade)();
};
const FacadeRoute kFacades[] = {
    {"bulk", compat::courier},                    // Courier's Bulk API
    {"v2/notify", compat::prelude},               // Prelude's Notify batch
    {"api/v1/organizations", compat::blerify},  // Blerify's notification items
    {"api/v1/meta-templates", compat::mindo},   // Mindo's WhatsApp send-bulk
};

const compat::Facade* facade_for(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (const auto& f : kFacades)
    if (path.starts_with(f.prefix) && (path.size() == f.prefix.size() || path[f.prefix.size()] == '/'))
      return &f.facade();
  return nullptr;
}

ApiResponse method_not_allowed(const ApiRequest& req, std::string allow) {
  auto r = fail(make_error(ErrorKind::method_not_allowed, "method_not_allowed",
                           fmt::format("{} is not allowed on {}; allowed: {}", req.method, req.path, allow)),
                req);
  r.headers.emplace_back("Allow", std::move(allow));
  return r;
}

std::string hex128(XXH128_hash_t h) { return fmt::format("{:016x}{:016x}", h.high64, h.low64); }

std::string request_hash_prefix(const ApiRequest& req) { return req.method + "\n" + req.path + "\n"; }

bool valid_idempotency_key(std::string_view key) {
  return !key.empty() && key.size() <= 255 &&
         std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::optional<JobAction> action_named(std::string_view s) {
  if (s == "run") return JobAction::run;
  if (s == "cancel") return JobAction::cancel;
  if (s == "pause") return JobAction::pause;
  if (s == "resume") return JobAction::resume;
  return std::nullopt;
}

ApiResponse replay(const IdempotentAnswer& a) {
  ApiResponse r;
  r.status = a.status;
  r.body = a.body;
  if (r.body.empty()) r.content_type.clear();
  r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

Error key_reused() {
  return make_error(ErrorKind::conflict, "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request in the last 24 hours");
}

Error key_in_use() {
  return make_error(ErrorKind::conflict, "idempotency_key_in_use",
                    "a request with this Idempotency-Key is still being processed; retry later");
}

}  // namespace

// ---- streamed bodies under an Idempotency-Key -----------------------------------

// Hashes the body as it streams. With a stored answer, it only hashes, then
// replays the answer (same body) or refuses (different body); otherwise it
// feeds the real stream and stores its answer.
class IdempotentStream final : public BodyStream {
 public:
  IdempotentStream(Router& router, ApiRequest req, std::unique_ptr<BodyStream> inner,
                   std::optional<IdempotentAnswer> stored)
      : router_(router), req_(std::move(req)), inner_(std::move(inner)), stored_(std::move(stored)) {
    state_ = XXH3_createState();
    XXH3_128bits_reset(state_);
    auto prefix = request_hash_prefix(req_);
    XXH3_128bits_update(state_, prefix.data(), prefix.size());
  }
  ~IdempotentStream() override {
    XXH3_freeState(state_);
    router_.release(req_.tenant, req_.idempotency_key);
  }

  Result<void> feed(std::string_view chunk) override {
    XXH3_128bits_update(state_, chunk.data(), chunk.size());
    return inner_ ? inner_->feed(chunk) : Result<void>();
  }

  ApiResponse finish() override {
    std::string hash = hex128(XXH3_128bits_digest(state_));
    if (stored_) return stored_->request_hash == hash ? replay(*stored_) : fail(key_reused(), req_);
    ApiResponse r = inner_->finish();
    if (r.status < 500) {
      IdempotentAnswer a{hash, r.status, r.body, router_.ctx_.jobs.now_ms() + kIdempotencyTtlMs, {}};
      (void)router_.ctx_.idempotency.put_answer(req_.tenant, req_.idempotency_key, a);
    }
    return r;
  }

  ApiResponse abort(const Error& e) override { return inner_ ? inner_->abort(e) : fail(e, req_); }

 private:
  Router& router_;
  ApiRequest req_;
  std::unique_ptr<BodyStream> inner_;
  std::optional<IdempotentAnswer> stored_;
  XXH3_state_t* state_;
};

// ---- the router --------------------------------------------------------------------

bool Router::claim(const std::string& tenant, const std::string& key) {
  std::lock_guard lock(in_flight_mu_);
  return in_flight_.emplace(tenant, key).second;
}

void Router::release(const std::string& tenant, const std::string& key) {
  std::lock_guard lock(in_flight_mu_);
  in_flight_.erase({tenant, key});
}

std::optional<ApiResponse> Router::authenticate(ApiRequest& req) const {
  if (presents_ticket(req)) {
    if (auto r = authenticate_ticket(ctx_.event_tickets, req); !r) return fail(r.error(), req);
    return std::nullopt;
  }
  if (auto r = authenticate_bearer(ctx_.api_keys, req); !r) return fail(r.error(), req);
  return std::nullopt;
}

std::optional<ApiResponse> Router::authenticate_headers(ApiRequest& req) const {
  if (req.path == "/healthz" || req.path == "/readyz" || metrics_open(ctx_, req)) return std::nullopt;
  if (const auto* facade = facade_for(req.path)) {
    if (auto auth = facade->authenticate(ctx_, req); !auth) return facade->error(auth.error(), req);
    return std::nullopt;
  }
  return authenticate(req);
}

bool Router::wants_stream(const ApiRequest& req) const {
  if (req.method != "POST" || !is_streamed_type(req.content_type)) return false;
  auto parts = path_parts(req.path);
  return parts.size() == 4 && parts[0] == "v1" && parts[1] == "jobs" && parts[3] == "users";
}

std::variant<ApiResponse, std::unique_ptr<BodyStream>> Router::open_stream(ApiRequest& req) {
  try {
    return open_stream_unguarded(req);
  } catch (...) {
    return exception_answer(req, "opening the stream");
  }
}

std::variant<ApiResponse, std::unique_ptr<BodyStream>> Router::open_stream_unguarded(ApiRequest& req) {
  if (auto denied = authenticate(req)) return std::move(*denied);
  auto parts = path_parts(req.path);
  auto job = ctx_.jobs.get(req.tenant, parts[2]);
  if (!job) return fail(job.error(), req);

  if (req.idempotency_key.empty()) {
    auto s = open_user_stream(ctx_, req, std::move(*job));
    if (!s) return fail(s.error(), req);
    return std::move(*s);
  }
  if (!valid_idempotency_key(req.idempotency_key))
    return fail(make_error(ErrorKind::invalid, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters"), req);
  if (!claim(req.tenant, req.idempotency_key)) return fail(key_in_use(), req);
  auto stored = ctx_.idempotency.find_answer(req.tenant, req.idempotency_key, ctx_.jobs.now_ms());
  if (!stored) {
    release(req.tenant, req.idempotency_key);
    return fail(stored.error(), req);
  }
  std::unique_ptr<BodyStream> inner;
  if (!*stored) {
    auto s = open_user_stream(ctx_, req, std::move(*job));
    if (!s) {
      release(req.tenant, req.idempotency_key);
      return fail(s.error(), req);
    }
    inner = std::move(*s);
  }
  return std::unique_ptr<BodyStream>(new IdempotentStream(*this, req, std::move(inner), std::move(*stored)));
}

ApiResponse Router::handle(ApiRequest& req) {
  try {
    return handle_unguarded(req);
  } catch (...) {
    return exception_answer(req, "handler");
  }
}

ApiResponse Router::exception_answer(const ApiRequest& req, std::string_view where) const {
  std::string what = "unknown exception";
  try {
    throw;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  spdlog::error("{} {} {}: exception in {}: {}", req.method, req.path, req.request_id, where, what);
  // The exception's text stays in the log: it may name internals.
  return error_answer(make_error(ErrorKind::internal, "internal_error",
                                 "the server failed to answer this request; quote the request id " + req.request_id +
                                     " to its operator"),
                      req);
}

ApiResponse Router::handle_unguarded(ApiRequest& req) {
  if (req.path == "/healthz") {
    if (req.method != "GET" && req.method != "HEAD") return method_not_allowed(req, "GET");
    return json_response(200, json::object{{"status", "ok"}});
  }
  if (req.path == "/readyz") {
    if (req.method != "GET" && req.method != "HEAD") return method_not_allowed(req, "GET");
    if (!ctx_.ready.load())
      return fail(make_error(ErrorKind::unavailable, "not_ready", "recovering jobs; not ready yet"), req);
    // A store that refuses writes (a full disk) cannot take what a client
    // would send: not ready, though reads and /healthz still answer.
    if (auto writable = ctx_.store.writable(); !writable) {
      Error e = writable.error();
      e.kind = ErrorKind::unavailable;
      e.detail.clear();  // logged once by the store, not at every probe
      return fail(e, req);
    }
    return json_response(200, json::object{{"status", "ready"}});
  }
  if (req.path == "/metrics") {
    if (!metrics_open(ctx_, req))
      if (auto denied = authenticate(req)) return std::move(*denied);
    return serve_metrics(ctx_, req);
  }
  if (const auto* facade = facade_for(req.path)) {
    if (auto auth = facade->authenticate(ctx_, req); !auth) return facade->error(auth.error(), req);
    auto serve = [&](ApiRequest& r) { return facade->route(ctx_, r); };
    if (req.method == "POST" && !req.idempotency_key.empty()) return with_idempotency(req, serve, facade->error);
    return serve(req);
  }
  if (auto denied = authenticate(req)) return std::move(*denied);
  if (req.method == "POST" && !req.idempotency_key.empty())
    return with_idempotency(req, [this](ApiRequest& r) { return route(r); }, fail);
  return route(req);
}

ApiResponse Router::error_answer(const Error& e, const ApiRequest& req) const {
  if (const auto* facade = facade_for(req.path)) return facade->error(e, req);
  return fail(e, req);
}

ApiResponse Router::with_idempotency(ApiRequest& req, const std::function<ApiResponse(ApiRequest&)>& serve,
                                     ErrorShape fail) {
  if (!valid_idempotency_key(req.idempotency_key))
    return fail(make_error(ErrorKind::invalid, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters"), req);
  auto prefix = request_hash_prefix(req);
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  XXH3_128bits_update(state, prefix.data(), prefix.size());
  XXH3_128bits_update(state, req.body.data(), req.body.size());
  std::string hash = hex128(XXH3_128bits_digest(state));
  XXH3_freeState(state);

  if (!claim(req.tenant, req.idempotency_key)) return fail(key_in_use(), req);
  struct Release {
    Router* r;
    ApiRequest* q;
    ~Release() {
      q->idempotency = nullptr;  // it points at key_claim below
      r->release(q->tenant, q->idempotency_key);
    }
  } release{this, &req};

  auto stored = ctx_.idempotency.find_answer(req.tenant, req.idempotency_key, ctx_.jobs.now_ms());
  if (!stored) return fail(stored.error(), req);
  IdempotencyClaim key_claim{req.tenant, req.idempotency_key, hash, ctx_.jobs.now_ms() + kIdempotencyTtlMs, {}};
  if (*stored) {
    if ((*stored)->request_hash != hash) return fail(key_reused(), req);
    if ((*stored)->answered()) return replay(**stored);
    // The action was stored and its answer lost (a crash in between): the
    // handler runs again, and the engine answers from what it did then.
    key_claim.committed_job = (*stored)->committed_job;
  }
  req.idempotency = &key_claim;
  ApiResponse r = serve(req);
  req.idempotency = nullptr;
  ctx_.crash_point("idempotent_answer");
  // Server errors are not stored: a retry should try again.
  if (r.status < 500) {
    IdempotentAnswer a{hash, r.status, r.body, ctx_.jobs.now_ms() + kIdempotencyTtlMs, {}};
    if (auto put = ctx_.idempotency.put_answer(req.tenant, req.idempotency_key, a); !put)
      return fail(put.error(), req);
  }
  return r;
}

ApiResponse Router::route(ApiRequest& req) {
  auto p = path_parts(req.path);
  const std::string& m = req.method;
  auto not_found = [&] {
    return fail(make_error(ErrorKind::not_found, "route_not_found", fmt::format("no route {} {}", m, req.path)), req);
  };
  if (p.empty() || p[0] != "v1") return not_found();
  if (p.size() >= 2 && p[1] == "jobs") {
    if (p.size() == 2) {
      if (m == "POST") return create_job(ctx_, req);
      if (m == "GET") return list_jobs(ctx_, req);
      return method_not_allowed(req, "GET, POST");
    }
    if (p.size() == 3) {
      if (m == "GET") return get_job(ctx_, req, p[2]);
      if (m == "PATCH") return patch_job(ctx_, req, p[2]);
      return method_not_allowed(req, "GET, PATCH");
    }
    if (p.size() == 4 && p[3] == "users") {
      if (m == "POST") {
        if (is_streamed_type(req.content_type)) {
          // A streamed type that arrived buffered: feed it whole.
          auto job = ctx_.jobs.get(req.tenant, p[2]);
          if (!job) return fail(job.error(), req);
          auto s = open_user_stream(ctx_, req, std::move(*job));
          if (!s) return fail(s.error(), req);
          if (auto fed = (*s)->feed(req.body); !fed) return (*s)->abort(fed.error());
          return (*s)->finish();
        }
        return ingest_users_json(ctx_, req, p[2]);
      }
      if (m == "GET") return list_users(ctx_, req, p[2]);
      return method_not_allowed(req, "GET, POST");
    }
    if (p.size() == 4 && p[3] == "events") {
      if (m == "GET") return job_events(ctx_, req, p[2]);
      return method_not_allowed(req, "GET");
    }
    if (p.size() == 5 && p[3] == "events" && p[4] == "ticket") {
      if (m == "POST") return create_event_ticket(ctx_, req, p[2]);
      return method_not_allowed(req, "POST");
    }
    if (p.size() == 4) {
      if (auto action = action_named(p[3])) {
        if (m == "POST") return job_action(ctx_, req, p[2], *action);
        return method_not_allowed(req, "POST");
      }
    }
    return not_found();
  }
  if (p.size() >= 2 && p[1] == "webhook-secret") {
    if (p.size() == 2) {
      if (m == "GET") return get_webhook_secret(ctx_, req);
      return method_not_allowed(req, "GET");
    }
    if (p.size() == 3 && p[2] == "rotate") {
      if (m == "POST") return rotate_webhook_secret(ctx_, req);
      return method_not_allowed(req, "POST");
    }
    return not_found();
  }
  if (p.size() == 3 && p[1] == "receipts") {
    if (m == "POST") return post_receipts(ctx_, req, p[2]);
    return method_not_allowed(req, "POST");
  }
  if (p.size() == 3 && p[1] == "sms" && p[2] == "segments") {
    if (m == "POST") return count_segments(ctx_, req);
    return method_not_allowed(req, "POST");
  }
  if (p.size() >= 2 && p[1] == "senders") {
    if (p.size() == 2) {
      if (m == "GET") return list_senders(ctx_, req);
      return method_not_allowed(req, "GET");
    }
    if (p.size() == 3) {
      if (m == "PUT") return put_sender(ctx_, req, p[2]);
      if (m == "GET") return get_sender(ctx_, req, p[2]);
      if (m == "DELETE") return delete_sender(ctx_, req, p[2]);
      return method_not_allowed(req, "GET, PUT, DELETE");
    }
  }
  if (p.size() >= 2 && p[1] == "templates") {
    if (p.size() == 2) {
      if (m == "GET") return list_templates(ctx_, req);
      return method_not_allowed(req, "GET");
    }
    if (p.size() == 3) {
      if (m == "PUT") return put_template(ctx_, req, p[2]);
      if (m == "GET") return get_template(ctx_, req, p[2]);
      if (m == "DELETE") return delete_template(ctx_, req, p[2]);
      return method_not_allowed(req, "GET, PUT, DELETE");
    }
  }
  if (p.size() >= 2 && p[1] == "notification-groups") {
    if (p.size() == 2) {
      if (m == "GET") return list_notification_groups(ctx_, req);
      return method_not_allowed(req, "GET");
    }
    if (p.size() == 3) {
      if (m == "PUT") return put_notification_group(ctx_, req, p[2]);
      if (m == "GET") return get_notification_group(ctx_, req, p[2]);
      if (m == "DELETE") return delete_notification_group(ctx_, req, p[2]);
      return method_not_allowed(req, "GET, PUT, DELETE");
    }
  }
  return not_found();
}

}  // namespace crier::api
