#include "api/ingest/json_reader.h"

#include <fmt/format.h>

#include "api/ingest/user_parser.h"
#include "api/routes/routes.h"

namespace crier::api {
using ingest::bad_user;
using ingest::SyntaxError;
using ingest::thread_parser;
using ingest::throw_if_fatal;
using ingest::UserParser;
namespace od = simdjson::ondemand;

Result<IngestReport> ingest_json_users(ApiContext& ctx, const Job& job, const std::string& body,
                                       std::optional<CreateWith> create, AnswerUnder answer) {
  if (auto r = require_created(job); !r) return r.error();
  IngestAccumulator acc(ctx, job);
  acc.track_outcomes();
  if (create) acc.create_on_commit(create->run, create->all_or_nothing, create->claim);
  else if (answer.claim) acc.answer_under(answer.claim, std::move(answer.render));
  UserParser users;
  try {
    // The server reserves SIMDJSON_PADDING bytes after the body.
    simdjson::padded_string_view input(body.data(), body.size(), body.capacity());
    std::string padded_copy;
    if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
      padded_copy.reserve(body.size() + simdjson::SIMDJSON_PADDING);
      padded_copy = body;
      input = simdjson::padded_string_view(padded_copy.data(), padded_copy.size(), padded_copy.capacity());
    }
    od::document doc;
    throw_if_fatal(thread_parser().iterate(input).get(doc));
    od::object root;
    auto e = doc.get_object().get(root);
    throw_if_fatal(e);
    if (e) return bad_user("invalid_body", "the body must be an object: {\"users\": [...]}");
    od::array list;
    bool found = false;
    for (auto field : root) {
      std::string_view key;
      throw_if_fatal(field.unescaped_key().get(key));
      if (key != "users") {
        od::value other;
        throw_if_fatal(field.value().get(other));
        users.check_skipped(other);
        continue;
      }
      found = true;
      e = field.value().get_array().get(list);
      throw_if_fatal(e);
      if (e) return bad_user("invalid_body", "users must be an array", "users");
      std::size_t index = 0;
      for (auto element : list) {
        od::value v;
        throw_if_fatal(element.get(v));
        if (index == ctx.limits.max_users_per_batch)
          return make_error(ErrorKind::too_large, "too_many_users",
                            fmt::format("at most {} users per JSON batch; send more batches, or stream NDJSON", ctx.limits.max_users_per_batch), "users");
        acc.add(index, 0, users.parse(v));
        ++index;
      }
    }
    if (!found) return bad_user("missing_field", "the body needs a users array: {\"users\": [...]}", "users");
    if (!doc.current_location().error()) throw SyntaxError{"trailing content after the JSON document"};
  } catch (const SyntaxError& e) {
    return bad_user("invalid_json", "the body is not valid JSON (UTF-8): " + e.message);
  }
  if (auto r = acc.commit(); !r) return r.error();
  return acc.report();
}

Error users_refused(const IngestReport& report) {
  std::size_t refused = 0;
  for (const auto& u : report.users)
    refused += u.kind == UserOutcome::Kind::rejected || u.kind == UserOutcome::Kind::duplicate;
  return make_error(ErrorKind::invalid, "users_refused",
                    fmt::format("{} of {} users were refused (invalid, or the same user twice); nothing was stored",
                                refused, report.users.size()),
                    "users");
}

ApiResponse ingest_json_body(ApiContext& ctx, const ApiRequest& req, Job job) {
  auto answer = [](const IngestReport& r) { return json_response(200, r.summary); };
  auto report = ingest_json_users(ctx, job, req.body, std::nullopt, AnswerUnder{req.idempotency, answer});
  if (!report) return fail(report.error(), req);
  return answer(*report);
}

}  // namespace crier::api
