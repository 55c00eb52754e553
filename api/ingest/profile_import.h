// POST /v1/profiles/import: a tenant's profiles streamed in the body and
// upserted, the way POST /v1/jobs/{id}/users streams users (the same
// framing: ndjson_lines.h, csv_rows.h; the same limits and per-record
// error reporting). Each record is a JSON Merge Patch of its profile, as
// PATCH /v1/profiles/{user_id} applies, creating the profile when there is
// none; batches are committed as they fill (profile_batch.h), so what was
// committed before a broken stream stays imported.
//   NDJSON: one object per line in PUT /v1/profiles/{user_id}'s shape, with
//     its "user_id" as a member.
//   CSV: a header row, then one profile per row. Columns user_id, email,
//     phone, locale, timezone, webhook_url, push_token (one token),
//     subscriptions.<channel>; any other column is an attribute of that
//     name (attributes.<name> says so explicitly). An empty cell sets
//     nothing. An attribute cell that reads as a JSON number, true or false
//     is stored as one, anything else as a string.
#pragma once

#include <memory>

#include "api/context.h"
#include "api/http_types.h"
#include "api/ingest/body_stream.h"

namespace crier::api {

// Whether the request is the import (POST /v1/profiles/import).
bool is_profile_import(const ApiRequest& req);
// The stream for an NDJSON or CSV body. Errors: 503 profiles_unavailable,
// 415 unsupported_media_type for any other type.
Result<std::unique_ptr<BodyStream>> open_profile_import(ApiContext& ctx, const ApiRequest& req);

}  // namespace crier::api
