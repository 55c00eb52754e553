#include "api/router.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "api/auth.h"
#include "api/compat/facades.h"
#include "api/errors.h"
#include "api/event_ticket.h"
#include "api/ingest/profile_import.h"
#include "api/routes/metrics.h"
#include "api/routes/routes.h"

namespace crier::api {
namespace json = boost::json;
namespace {

using compat::path_parts;

// The vendors' APIs, by the first segments of their paths. Each façade
// authenticates, routes and answers errors in its vendor's style.
struct FacadeRoute {
  std::string_view prefix;  // without the leading slash
  const compat::Facade& (*facade)();
};
const FacadeRoute kFacades[] = {
    {"bulk", compat::courier},                    // Courier's Bulk API
    {"lists", compat::courier},                   // Courier's Lists API (client.lists.*)
    {"v2/notify", compat::prelude},               // Prelude's Notify batch
    {"api/v1/organizations", compat::blerify},  // Blerify's notification items
    {"api/v1/meta-templates", compat::mindo},   // Mindo's WhatsApp send-bulk
    {"users/track", compat::braze},             // Braze's REST API
    {"messages/send", compat::braze},
    {"sends/id/create", compat::braze},
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

std::optional<JobAction> action_named(std::string_view s) {
  if (s == "run") return JobAction::run;
  if (s == "cancel") return JobAction::cancel;
  if (s == "pause") return JobAction::pause;
  if (s == "resume") return JobAction::resume;
  return std::nullopt;
}

// The API key, or for the event stream a ticket instead (an EventSource
// cannot send headers: api/event_ticket.h).
std::optional<ApiResponse> authenticate_caller(const ApiContext& ctx, ApiRequest& req) {
  if (presents_ticket(req)) {
    if (auto r = authenticate_ticket(ctx.event_tickets, req); !r) return fail(r.error(), req);
    return std::nullopt;
  }
  return authenticate_native(ctx.api_keys, req);
}

}  // namespace

// ---- the router --------------------------------------------------------------------

std::optional<ApiResponse> Router::authenticate_headers(ApiRequest& req) const {
  if (req.path == "/healthz" || req.path == "/readyz" || metrics_open(ctx_, req)) return std::nullopt;
  if (is_dashboard_path(req.path)) return std::nullopt;
  if (const auto* facade = facade_for(req.path)) {
    if (auto auth = facade->authenticate(ctx_, req); !auth) return facade->error(auth.error(), req);
    return std::nullopt;
  }
  return authenticate_caller(ctx_, req);
}

bool Router::wants_stream(const ApiRequest& req) const {
  if (req.method != "POST" || !is_streamed_type(req.content_type)) return false;
  if (is_profile_import(req)) return true;
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
  if (auto denied = authenticate_caller(ctx_, req)) return std::move(*denied);
  if (is_profile_import(req)) {
    if (req.idempotency_key.empty()) {
      auto s = open_profile_import(ctx_, req);
      if (!s) return fail(s.error(), req);
      return std::move(*s);
    }
    return idempotent_.open_stream(req, [&] { return open_profile_import(ctx_, req); }, fail);
  }
  auto parts = path_parts(req.path);
  auto job = ctx_.jobs.get(req.tenant, parts[2]);
  if (!job) return fail(job.error(), req);

  if (req.idempotency_key.empty()) {
    auto s = open_user_stream(ctx_, req, std::move(*job));
    if (!s) return fail(s.error(), req);
    return std::move(*s);
  }
  return idempotent_.open_stream(
      req, [&] { return open_user_stream(ctx_, req, std::move(*job)); }, fail);
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
  if (is_dashboard_path(req.path)) return serve_dashboard(req);
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
      if (auto denied = authenticate_caller(ctx_, req)) return std::move(*denied);
    return serve_metrics(ctx_, req);
  }
  if (const auto* facade = facade_for(req.path)) {
    if (auto auth = facade->authenticate(ctx_, req); !auth) return facade->error(auth.error(), req);
    auto serve = [&](ApiRequest& r) { return facade->route(ctx_, r); };
    if (req.method == "POST" && !req.idempotency_key.empty()) return idempotent_.serve(req, serve, facade->error);
    return serve(req);
  }
  if (auto denied = authenticate_caller(ctx_, req)) return std::move(*denied);
  if (req.method == "POST" && !req.idempotency_key.empty())
    return idempotent_.serve(req, [this](ApiRequest& r) { return route(r); }, fail);
  return route(req);
}

ApiResponse Router::error_answer(const Error& e, const ApiRequest& req) const {
  if (const auto* facade = facade_for(req.path)) return facade->error(e, req);
  return fail(e, req);
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
          (*s)->answer_under(req.idempotency);
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
  if (p.size() >= 2 && p[1] == "suppressions") {
    if (p.size() == 2) {
      if (m == "POST") return bulk_suppressions(ctx_, req);
      return method_not_allowed(req, "POST");
    }
    if (p.size() == 3) {
      if (m == "GET") return list_suppressions(ctx_, req, p[2]);
      return method_not_allowed(req, "GET");
    }
    if (p.size() == 4) {
      if (m == "PUT") return put_suppression(ctx_, req, p[2], p[3]);
      if (m == "GET") return get_suppression(ctx_, req, p[2], p[3]);
      if (m == "DELETE") return delete_suppression(ctx_, req, p[2], p[3]);
      return method_not_allowed(req, "GET, PUT, DELETE");
    }
  }
  if (p.size() >= 2 && p[1] == "profiles") {
    if (p.size() == 2) {
      if (m == "GET") return list_profiles(ctx_, req);
      return method_not_allowed(req, "GET");
    }
    if (p.size() == 3 && p[2] == "import" && m == "POST") {
      // A streamed body that arrived buffered (the server streams it
      // otherwise), or another type: refused by open_profile_import.
      auto s = open_profile_import(ctx_, req);
      if (!s) return fail(s.error(), req);
      if (auto fed = (*s)->feed(req.body); !fed) return (*s)->abort(fed.error());
      return (*s)->finish();
    }
    if (p.size() == 3) {
      if (m == "PUT") return put_profile(ctx_, req, p[2]);
      if (m == "PATCH") return patch_profile(ctx_, req, p[2]);
      if (m == "GET") return get_profile(ctx_, req, p[2]);
      if (m == "DELETE") return delete_profile(ctx_, req, p[2]);
      return method_not_allowed(req, "GET, PUT, PATCH, DELETE");
    }
  }
  if (p.size() == 2 && p[1] == "frequency-caps") {
    if (m == "PUT") return put_frequency_caps(ctx_, req);
    if (m == "GET") return get_frequency_caps(ctx_, req);
    return method_not_allowed(req, "GET, PUT");
  }
  if (p.size() >= 2 && p[1] == "segments") {
    if (p.size() == 2) {
      if (m == "GET") return list_segments(ctx_, req);
      return method_not_allowed(req, "GET");
    }
    if (p.size() == 3) {
      if (m == "PUT") return put_segment(ctx_, req, p[2]);
      if (m == "GET") return get_segment(ctx_, req, p[2]);
      if (m == "DELETE") return delete_segment(ctx_, req, p[2]);
      return method_not_allowed(req, "GET, PUT, DELETE");
    }
  }
  if (p.size() >= 2 && p[1] == "lists") {
    if (p.size() == 2) {
      if (m == "GET") return list_lists(ctx_, req);
      return method_not_allowed(req, "GET");
    }
    if (p.size() == 3) {
      if (m == "PUT") return put_list(ctx_, req, p[2]);
      if (m == "GET") return get_list(ctx_, req, p[2]);
      if (m == "DELETE") return delete_list(ctx_, req, p[2]);
      return method_not_allowed(req, "GET, PUT, DELETE");
    }
    if (p.size() >= 4 && p[3] == "members") {
      if (p.size() == 4) {
        if (m == "POST") return change_members(ctx_, req, p[2], true);
        if (m == "GET") return list_members(ctx_, req, p[2]);
        return method_not_allowed(req, "GET, POST");
      }
      // A user id "remove" stays reachable: only POST names the bulk removal.
      if (p.size() == 5 && p[4] == "remove" && m == "POST") return change_members(ctx_, req, p[2], false);
      if (p.size() == 5) {
        if (m == "PUT" || m == "GET" || m == "DELETE") return one_member(ctx_, req, p[2], p[4]);
        return method_not_allowed(req, "GET, PUT, DELETE");
      }
    }
    return not_found();
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
