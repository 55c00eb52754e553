// POST /v1/jobs/{id}/users (buffered JSON; streamed bodies go through
// api/ingest/ from the server), GET /v1/jobs/{id}/users
#include <boost/json.hpp>

#include "api/cursor.h"
#include "api/routes/routes.h"
#include "api/ingest/json_reader.h"
#include "api/views.h"
#include "engine/render.h"

namespace crier::api {
namespace json = boost::json;

ApiResponse ingest_users_json(ApiContext& ctx, const ApiRequest& req, std::string_view job_id) {
  auto job = ctx.jobs.get(req.tenant, job_id);
  if (!job) return fail(job.error(), req);
  if (auto r = expect_json(req); !r) return fail(r.error(), req);
  return ingest_json_body(ctx, req, std::move(*job));
}

ApiResponse list_users(ApiContext& ctx, const ApiRequest& req, std::string_view job_id) {
  auto job = ctx.jobs.get(req.tenant, job_id);
  if (!job) return fail(job.error(), req);
  auto limit = page_limit(ctx, req);
  if (!limit) return fail(limit.error(), req);
  std::optional<RecipientStatus> status;
  if (auto it = req.query.find("status"); it != req.query.end() && !it->second.empty()) {
    status = parse_recipient_status(it->second);
    if (!status)
      return fail(make_error(ErrorKind::invalid, "invalid_status",
                             "status must be one of PENDING, ENQUEUED, SENT, DELIVERED, FAILED, SKIPPED, CANCELLED", "status"),
                  req);
  }
  std::uint64_t from = 0;
  if (auto it = req.query.find("cursor"); it != req.query.end() && !it->second.empty()) {
    auto seq = decode_seq_cursor(job->key, it->second);
    if (!seq) return fail(make_error(ErrorKind::invalid, "invalid_cursor", "the cursor is not valid for this job", "cursor"), req);
    from = *seq;
  }
  auto page = ctx.store.list_recipients(job->key, from, *limit, status, ctx.limits.max_scan);
  if (!page) return fail(page.error(), req);
  // An sms job shows each recipient's message measured: rendered now with
  // one renderer for the page (compiled once); a message that cannot be
  // rendered, or content that cannot be compiled, just goes unmeasured.
  std::unique_ptr<JobRenderer> renderer;
  if (job->spec.channel == Channel::sms)
    if (auto compiled = JobRenderer::compile(job->spec)) renderer = std::move(*compiled);
  RenderedMessage message;
  json::array items;
  for (const auto& r : page->items) {
    json::object view = recipient_view(*job, r);
    if (renderer && renderer->render_into(r.recipient, message) && message.sms) view["sms"] = sms_view(*message.sms);
    items.push_back(std::move(view));
  }
  json::object paging{{"more", page->next_seq.has_value()},
                      {"cursor", page->next_seq ? json::value(encode_seq_cursor(job->key, *page->next_seq))
                                                : json::value(nullptr)}};
  return json_response(200, json::object{{"users", std::move(items)}, {"paging", std::move(paging)}});
}

}  // namespace crier::api
