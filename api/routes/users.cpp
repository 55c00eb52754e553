// POST /v1/jobs/{id}/users (buffered JSON; streamed bodies go through
// user_ingest.h from the server), GET /v1/jobs/{id}/users
#include <boost/json.hpp>

#include "api/cursor.h"
#include "api/routes/routes.h"
#include "api/user_ingest.h"
#include "api/views.h"

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
  json::array items;
  for (const auto& r : page->items) items.push_back(recipient_view(*job, r));
  json::object paging{{"more", page->next_seq.has_value()},
                      {"cursor", page->next_seq ? json::value(encode_seq_cursor(job->key, *page->next_seq))
                                                : json::value(nullptr)}};
  return json_response(200, json::object{{"users", std::move(items)}, {"paging", std::move(paging)}});
}

}  // namespace crier::api
