// POST /v1/sms/segments: {"body": "..."} -> the body's encoding, length and
// segments, as an SMS job would report them. Stateless: nothing is stored.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/routes/routes.h"
#include "api/views.h"
#include "engine/sms_segments.h"

namespace crier::api {
namespace json = boost::json;

ApiResponse count_segments(ApiContext&, const ApiRequest& req) {
  if (auto r = expect_json(req); !r) return fail(r.error(), req);
  json::value parsed;
  if (!req.body.empty()) {
    boost::system::error_code ec;
    parsed = json::parse(req.body, ec);
    if (ec)
      return fail(make_error(ErrorKind::invalid, "invalid_json", "the body is not valid JSON (UTF-8): " + ec.message()),
                  req);
  }
  const json::object* o = parsed.if_object();
  if (!req.body.empty() && !o)
    return fail(make_error(ErrorKind::invalid, "invalid_body", "the body must be a JSON object: {\"body\": \"...\"}"), req);
  if (o)
    for (const auto& [k, v] : *o)
      if (k != "body")
        return fail(make_error(ErrorKind::invalid, "unknown_field", fmt::format("unknown field '{}'", std::string_view(k)),
                               std::string(k)),
                    req);
  const json::value* body = o ? o->if_contains("body") : nullptr;
  if (!body || body->is_null())
    return fail(make_error(ErrorKind::invalid, "missing_field", "body is required: the SMS text to measure", "body"), req);
  if (!body->is_string())
    return fail(make_error(ErrorKind::invalid, "invalid_field", "body must be a string", "body"), req);
  return json_response(200, sms_view(count_sms_segments(body->get_string())));
}

}  // namespace crier::api
