// POST /v1/receipts/{provider}: delivery receipts (delivered, read, failed)
// for messages the provider accepted. One receipt or {"receipts":[...]};
// each is applied on its own, so one bad receipt never loses the others.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "api/routes/routes.h"
#include "engine/routing.h"
#include "engine/suppression.h"

namespace crier::api {
namespace json = boost::json;
namespace {

// A hard bounce or a complaint suppresses the address the message went to,
// on the channel it went by, for every later message of the tenant; also
// when it repeats a failure already recorded (it is what the receipt says).
Result<void> suppress_address_of(ApiContext& ctx, const std::string& tenant, std::string_view message_id,
                                 const RecipientView& done, const std::string& code) {
  if (!ctx.suppressions) return {};
  auto at = parse_message_id(message_id);
  if (!at) return {};
  auto job = ctx.jobs.get(tenant, job_id_string(at->first));
  if (!job) return job.error();
  auto channel = route_for(job->spec, done.recipient);
  if (!channel) return {};
  const std::string address = suppression_form(*channel, address_on(job->spec, done.recipient, *channel));
  // Added if absent: a repeated receipt costs a read, and the reason an
  // operator gave (a GDPR request, say) is not overwritten.
  auto existing = ctx.suppressions->find_suppression(tenant, *channel, address);
  if (!existing) return existing.error();
  if (*existing) return {};
  auto put = ctx.suppressions->put_suppression(Suppression{tenant, *channel, address, code, ctx.jobs.now_ms()});
  if (!put) return put.error();
  return {};
}

constexpr std::size_t kMaxReceipts = 10000;

Error bad(std::string code, std::string message, std::string field = {}) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

// A receipt's fields, or the error that says which is wrong.
Result<Receipt> parse_receipt(const json::value& v) {
  if (!v.is_object()) return bad("invalid_receipt", "a receipt must be a JSON object");
  const auto& o = v.get_object();
  Receipt r;
  auto* id = o.if_contains("message_id");
  if (!id || !id->is_string()) return bad("invalid_receipt", "message_id must be a string", "message_id");
  r.message_id = std::string(id->get_string());
  auto* status = o.if_contains("status");
  std::optional<ReceiptKind> kind;
  if (status && status->is_string()) kind = parse_receipt_kind(status->get_string());
  if (!kind) return bad("invalid_receipt", "status must be delivered, read or failed", "status");
  r.kind = *kind;
  if (auto* e = o.if_contains("error"); e && !e->is_null()) {
    if (!e->is_object()) return bad("invalid_receipt", "error must be an object {code, message}", "error");
    auto& eo = e->get_object();
    if (auto* c = eo.if_contains("code"); c && c->is_string()) r.error_code = std::string(c->get_string());
    if (auto* m = eo.if_contains("message"); m && m->is_string()) r.error_message = std::string(m->get_string());
    if (r.error_code.size() > 64 || r.error_message.size() > 1024)
      return bad("invalid_receipt", "error.code is at most 64 and error.message at most 1024 bytes", "error");
  }
  return r;
}

}  // namespace

ApiResponse post_receipts(ApiContext& ctx, const ApiRequest& req, std::string_view provider) {
  if (!ctx.provider_exists(provider))
    return fail(make_error(ErrorKind::not_found, "provider_not_found",
                           fmt::format("no provider '{}' is configured", provider)),
                req);
  if (auto r = expect_json(req); !r) return fail(r.error(), req);
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec) return fail(bad("invalid_json", fmt::format("the body is not valid JSON: {}", ec.message())), req);
  json::array single;
  const json::array* list = nullptr;
  if (body.is_object() && body.get_object().contains("receipts")) {
    list = body.get_object().at("receipts").if_array();
    if (!list) return fail(bad("invalid_body", "receipts must be an array", "receipts"), req);
  } else {
    single.push_back(body);
    list = &single;
  }
  if (list->size() > kMaxReceipts)
    return fail(make_error(ErrorKind::too_large, "too_many_receipts",
                           fmt::format("at most {} receipts per request", kMaxReceipts), "receipts"),
                req);

  std::size_t applied = 0;
  json::array rejected;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto receipt = parse_receipt((*list)[i]);
    Result<RecipientView> done = receipt ? ctx.jobs.apply_receipt(req.tenant, *receipt)
                                         : Result<RecipientView>(receipt.error());
    if (done) {
      ++applied;
      if (receipt->kind == ReceiptKind::failed && receipt_suppresses(receipt->error_code))
        if (auto r = suppress_address_of(ctx, req.tenant, receipt->message_id, *done, receipt->error_code); !r)
          return fail(r.error(), req);
      continue;
    }
    if (done.error().kind == ErrorKind::internal) return fail(done.error(), req);
    json::object item{{"index", i}, {"code", done.error().code}, {"message", done.error().message}};
    if (!done.error().status.empty()) item["status"] = done.error().status;
    rejected.push_back(std::move(item));
  }
  return json_response(200, json::object{{"applied", applied}, {"rejected", std::move(rejected)}});
}

}  // namespace crier::api
