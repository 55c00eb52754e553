// The handlers, grouped by the resource they serve (one file per family);
// router.cpp lists every route. Each takes the authenticated request and
// returns a response; none touches a socket.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <memory>
#include <string_view>

#include "api/context.h"
#include "api/http_types.h"
#include "api/job_watch.h"
#include "engine/job_state.h"

namespace crier {
class AudienceFilter;
}

namespace crier::api {

// jobs.cpp
// A JSON request body (an empty one is {}): 415 unless its type is JSON,
// 400 invalid_json when it does not parse.
Result<boost::json::value> parse_json_body(const ApiRequest& req);
ApiResponse create_job(ApiContext& ctx, const ApiRequest& req);
// The native spec ({"channel", "template" | "content", ...}, or
// {"notification_group", ...} with the group's members merged in), validated
// as POST /v1/jobs does; templates are checked by JobService::prepare.
Result<JobSpec> job_spec_from(ApiContext& ctx, std::string_view tenant, const boost::json::object& spec);
// The job a native spec ({"channel", "template" | "content", ...}) describes,
// validated as POST /v1/jobs does and stored CREATED: the vendors' façades
// translate their requests into this spec.
// An Idempotency-Key's claim (ApiRequest::idempotency) is stored with it.
Result<Job> create_job_from(ApiContext& ctx, std::string_view tenant, const boost::json::object& spec,
                            const IdempotencyClaim* claim);
// The same job validated and prepared (template snapshot, renderability)
// but not stored: what create_job_with_users would store, for callers that
// must check a spec before deciding whether to create it.
Result<Job> prepare_job_from(ApiContext& ctx, std::string_view tenant, const boost::json::object& spec);
// The same job stored together with its first users (`users_body`: a native
// {"users": [...]} document) in ONE atomic write, and with `run` already
// started: an answer means the users are stored and will be sent.
struct IngestReport;
Result<IngestReport> create_job_with_users(ApiContext& ctx, std::string_view tenant, const boost::json::object& spec,
                                           const std::string& users_body, bool run, const IdempotencyClaim* claim);
// The same with CreateWith's options (api/ingest/json_reader.h): with all_or_nothing,
// one refused or duplicated user refuses the batch and nothing is stored
// (the report says `stored: false` and which users).
struct CreateWith;
Result<IngestReport> create_job_with_users(ApiContext& ctx, std::string_view tenant, const boost::json::object& spec,
                                           const std::string& users_body, const CreateWith& how);
ApiResponse list_jobs(ApiContext& ctx, const ApiRequest& req);
ApiResponse get_job(ApiContext& ctx, const ApiRequest& req, std::string_view job_id);
ApiResponse job_action(ApiContext& ctx, const ApiRequest& req, std::string_view job_id,
                       JobAction action);

// frequency_caps.cpp: PUT/GET /v1/frequency-caps
ApiResponse put_frequency_caps(ApiContext& ctx, const ApiRequest& req);
ApiResponse get_frequency_caps(ApiContext& ctx, const ApiRequest& req);

// segments.cpp: PUT/GET/DELETE /v1/segments/{id}, GET /v1/segments
ApiResponse put_segment(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse get_segment(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse delete_segment(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse list_segments(ApiContext& ctx, const ApiRequest& req);
// 1-128 bytes of [A-Za-z0-9._-]; error invalid_segment_id naming `field`.
Result<void> check_segment_id(std::string_view id, std::string_view field);
// The tenant's segment: 422 unknown_segment (naming `field`) when none.
Result<Segment> find_segment(ApiContext& ctx, std::string_view tenant, std::string_view id, std::string_view field);

// lists.cpp: PUT/GET/DELETE /v1/lists/{id}, GET /v1/lists, and a list's members
ApiResponse put_list(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse get_list(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse delete_list(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse list_lists(ApiContext& ctx, const ApiRequest& req);
// POST /v1/lists/{id}/members (adding) and /v1/lists/{id}/members/remove:
// {"user_ids": [...]}
ApiResponse change_members(ApiContext& ctx, const ApiRequest& req, std::string_view id, bool adding);
// PUT/GET/DELETE /v1/lists/{id}/members/{user_id}
ApiResponse one_member(ApiContext& ctx, const ApiRequest& req, std::string_view id, std::string_view user_id);
// GET /v1/lists/{id}/members?cursor=&limit=
ApiResponse list_members(ApiContext& ctx, const ApiRequest& req, std::string_view id);
// 1-128 bytes of [A-Za-z0-9._-]; error invalid_list_id naming `field`.
Result<void> check_list_id(std::string_view id, std::string_view field);
// The tenant's list: 422 unknown_list (naming `field`) when none.
Result<UserList> find_list(ApiContext& ctx, std::string_view tenant, std::string_view id, std::string_view field);

// audience.cpp: a job's `audience` ({"filter": <audience filter>} or
// {"segment_id": id} or {"list_id": id}), checked (400 invalid_audience,
// 422 unknown_segment, unknown_list) and normalised for the spec.
Result<boost::json::object> audience_of(ApiContext& ctx, std::string_view tenant, const boost::json::value& audience);
// 422 unknown_list (naming `field`) when a list the filter asks about
// (list_membership) does not exist: segments check it when stored.
Result<void> check_filter_lists(ApiContext& ctx, std::string_view tenant, const AudienceFilter& filter,
                                std::string_view field);
// What running a job with an audience added to it.
struct AudienceAdded {
  std::int64_t matched = 0;   // profiles that matched, each offered once
  std::int64_t examined = 0;  // profiles (members) read
  std::int64_t accepted = 0;  // users the ingests stored (not duplicates, not refused)
};
// Streams the tenant's profiles that match the job's audience (or the
// members of its list) into the job as users by user_id (the ingest path:
// counted as received, deduplicated), a page at a time; nothing when the job
// has no audience.
Result<AudienceAdded> add_audience(ApiContext& ctx, const Job& job);
// The members of a list into the job the same way (a job's {"list_id"},
// Courier's to.list_id and to.list_pattern), each with `data` if given.
Result<AudienceAdded> add_list_members(ApiContext& ctx, const Job& job, std::string_view list_id,
                                       const boost::json::object* data = nullptr);
// POST /v1/jobs/{id}/run's step for every caller: the audience added (a
// CREATED job with one), then the run applied.
Result<Job> run_job(ApiContext& ctx, std::string_view tenant, std::string_view job_id, const IdempotencyClaim* claim);

// PATCH /v1/jobs/{id}: {"rate_limit": number | null}
ApiResponse patch_job(ApiContext& ctx, const ApiRequest& req, std::string_view job_id);

// events.cpp: GET /v1/jobs/{id}/events (Server-Sent Events),
// POST /v1/jobs/{id}/events/ticket
ApiResponse job_events(ApiContext& ctx, const ApiRequest& req, std::string_view job_id);
ApiResponse create_event_ticket(ApiContext& ctx, const ApiRequest& req, std::string_view job_id);
// What the event streams' tickers read of a job: its view, as GET
// /v1/jobs/{id} shows it.
JobWatchHub::Reader job_snapshot_reader(ApiContext& ctx);

// receipts.cpp
ApiResponse post_receipts(ApiContext& ctx, const ApiRequest& req, std::string_view provider);

// users.cpp
ApiResponse ingest_users_json(ApiContext& ctx, const ApiRequest& req, std::string_view job_id);
ApiResponse list_users(ApiContext& ctx, const ApiRequest& req, std::string_view job_id);

// sms.cpp: POST /v1/sms/segments
ApiResponse count_segments(ApiContext& ctx, const ApiRequest& req);

// templates.cpp
ApiResponse put_template(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse get_template(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse delete_template(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse list_templates(ApiContext& ctx, const ApiRequest& req);

// profiles.cpp: PUT/PATCH/GET/DELETE /v1/profiles/{user_id}, GET /v1/profiles
ApiResponse put_profile(ApiContext& ctx, const ApiRequest& req, std::string_view user_id);
ApiResponse patch_profile(ApiContext& ctx, const ApiRequest& req, std::string_view user_id);
ApiResponse get_profile(ApiContext& ctx, const ApiRequest& req, std::string_view user_id);
ApiResponse delete_profile(ApiContext& ctx, const ApiRequest& req, std::string_view user_id);
ApiResponse list_profiles(ApiContext& ctx, const ApiRequest& req);
// PATCH's step: `patch` (a JSON Merge Patch of the profile's JSON) merged
// into the tenant's profile and checked as a PUT body is, in one
// read-change-write step; with `create`, a missing profile starts empty
// (else 404 profile_not_found). What the Braze façade's /users/track does.
Result<ProfileStore::Upserted> merge_into_profile(ApiContext& ctx, std::string_view tenant, std::string_view user_id,
                                                  const boost::json::object& patch, bool create);

// suppressions.cpp: PUT/GET/DELETE /v1/suppressions/{channel}/{address},
// GET /v1/suppressions/{channel}, POST /v1/suppressions
ApiResponse put_suppression(ApiContext& ctx, const ApiRequest& req, std::string_view channel, std::string_view address);
ApiResponse get_suppression(ApiContext& ctx, const ApiRequest& req, std::string_view channel, std::string_view address);
ApiResponse delete_suppression(ApiContext& ctx, const ApiRequest& req, std::string_view channel,
                               std::string_view address);
ApiResponse list_suppressions(ApiContext& ctx, const ApiRequest& req, std::string_view channel);
ApiResponse bulk_suppressions(ApiContext& ctx, const ApiRequest& req);

// notification_groups.cpp: PUT/GET/DELETE /v1/notification-groups/{id}, GET /v1/notification-groups
ApiResponse put_notification_group(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse get_notification_group(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse delete_notification_group(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse list_notification_groups(ApiContext& ctx, const ApiRequest& req);
// The job-spec members a notification group fixes (a job made from the group
// may not give them).
inline constexpr std::array<std::string_view, 5> kGroupMembers = {"channel", "template", "content", "provider",
                                                                  "webhook_url"};
// A group id is 1 to 128 of [A-Za-z0-9._-] (UUIDs fit); `field` names it in
// the error.
// The ids callers choose for stored things (notification groups, segments):
// 1 to 128 of A-Z a-z 0-9 . _ -
bool is_resource_id(std::string_view id);
Result<void> check_group_id(std::string_view id, std::string_view field = "group_id");
Error group_not_found(std::string_view id);
// senders.cpp
ApiResponse put_sender(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse get_sender(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse delete_sender(ApiContext& ctx, const ApiRequest& req, std::string_view id);
ApiResponse list_senders(ApiContext& ctx, const ApiRequest& req);
// webhook_secret.cpp: the tenant's webhook signing secret
// GET /v1/webhook-secret
ApiResponse get_webhook_secret(ApiContext& ctx, const ApiRequest& req);
// POST /v1/webhook-secret/rotate {"grace_period_seconds": 0..2592000 (default 86400)}
ApiResponse rotate_webhook_secret(ApiContext& ctx, const ApiRequest& req);

// dashboard.cpp: GET / and /assets/{file}, the embedded web/ files (no key)
bool is_dashboard_path(std::string_view path);
ApiResponse serve_dashboard(const ApiRequest& req);

// Shared by the families.
ApiResponse json_response(int status, const boost::json::value& body);
ApiResponse fail(const Error& e, const ApiRequest& req);
// Parses ?limit= within [1, max]; the default when absent.
Result<std::size_t> page_limit(const ApiContext& ctx, const ApiRequest& req);
// Where a listing resumes: the position in the request's `cursor` (made by
// encode_bytes_cursor with the same `scope`), or "" for the first page.
// Error: invalid_cursor (another listing's or tenant's cursor, or mangled).
Result<std::string> cursor_after(const ApiRequest& req, std::string_view scope);
// Checks the media type of a JSON body; an empty body counts as "{}".
Result<void> expect_json(const ApiRequest& req);

}  // namespace crier::api
