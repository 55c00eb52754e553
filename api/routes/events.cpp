// GET /v1/jobs/{id}/events: the job's progress as Server-Sent Events, fed by
// the job's shared ticker (api/job_watch.h); POST /v1/jobs/{id}/events/ticket:
// a ticket that opens that stream where no Authorization header can be sent
// (a browser's EventSource), without the API key in a URL
// (api/event_ticket.h).
#include <boost/json.hpp>

#include "api/event_ticket.h"
#include "api/job_watch.h"
#include "api/routes/routes.h"
#include "api/views.h"
#include "engine/time_format.h"

namespace crier::api {
namespace json = boost::json;

namespace {

// The id of the last event the client got (EventSource's Last-Event-ID on a
// reconnect, or ?last_event_id= for a page that opens a new stream);
// nullopt for a new client or an id that is not ours.
std::optional<std::int64_t> last_event_id(const ApiRequest& req) {
  std::string_view last = header(req, "last-event-id");
  if (last.empty())
    if (auto it = req.query.find("last_event_id"); it != req.query.end()) last = it->second;
  if (last.empty()) return std::nullopt;
  return parse_event_id(last);
}

}  // namespace

JobWatchHub::Reader job_snapshot_reader(ApiContext& ctx) {
  return [&ctx](const std::string& tenant, const std::string& job_id) -> Result<JobSnapshot> {
    auto job = ctx.jobs.get(tenant, job_id);
    if (!job) return job.error();
    auto counters = ctx.jobs.counters(*job);
    if (!counters) return counters.error();
    auto hold = ctx.hold_of(job->key);
    return JobSnapshot{job->status, job->updated_at,
                       json::serialize(job_view(*job, *counters, ctx.rate_of(job->key), hold ? &*hold : nullptr))};
  };
}

ApiResponse job_events(ApiContext& ctx, const ApiRequest& req, std::string_view job_id) {
  auto job = ctx.jobs.get(req.tenant, job_id);
  if (!job) return fail(job.error(), req);
  if (!ctx.watches)
    return fail(make_error(ErrorKind::unavailable, "event_streams_unavailable", "this server has no event streams"), req);
  auto last = last_event_id(req);
  // A client that was told the end reconnects (EventSource does, after any
  // close): 204 is what tells an EventSource to stop.
  if (last && is_final(status_of_event_id(*last)) && is_final(job->status)) {
    ApiResponse r;
    r.status = 204;
    r.content_type.clear();
    return r;
  }
  auto stream = ctx.watches->watch(*job, last);
  if (!stream) {
    auto r = fail(stream.error(), req);
    if (stream.error().code == "too_many_event_streams") r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  ApiResponse r;
  r.status = 200;
  r.content_type = "text/event-stream";
  r.headers.emplace_back("Cache-Control", "no-store");
  // Proxies that buffer answers (nginx) pass this one on as it comes.
  r.headers.emplace_back("X-Accel-Buffering", "no");
  r.stream = std::move(*stream);
  return r;
}

ApiResponse create_event_ticket(ApiContext& ctx, const ApiRequest& req, std::string_view job_id) {
  auto job = ctx.jobs.get(req.tenant, job_id);
  if (!job) return fail(job.error(), req);
  if (!ctx.event_tickets)
    return fail(make_error(ErrorKind::unavailable, "tickets_unavailable", "this server issues no event stream tickets"),
                req);
  auto issued = ctx.event_tickets->issue(req.tenant, job->id());
  return json_response(201, json::object{{"ticket", issued.ticket}, {"expires_at", format_rfc3339(issued.expires_at)}});
}

}  // namespace crier::api
