#include "api/ingest/ndjson_reader.h"

#include <fmt/format.h>

#include "api/ingest/accumulator.h"
#include "api/ingest/ndjson_lines.h"
#include "api/ingest/user_parser.h"
#include "api/routes/routes.h"

namespace crier::api {
namespace {
using ingest::bad_user;
using ingest::SyntaxError;
using ingest::thread_parser;
using ingest::throw_if_fatal;
using ingest::UserParser;
namespace od = simdjson::ondemand;

class NdjsonStream final : public BodyStream {
 public:
  NdjsonStream(ApiContext& ctx, const ApiRequest& req, Job job)
      : ctx_(ctx),
        req_(req),
        acc_(ctx, std::move(job)),
        lines_(ctx.limits.max_line_bytes,
               [this](simdjson::padded_string_view line, std::size_t line_no) { return parse_line(line, line_no); }) {}

  Result<void> feed(std::string_view chunk) override { return lines_.feed(chunk); }

  ApiResponse finish() override {
    if (auto r = lines_.finish(); !r) return abort(r.error());
    if (auto r = acc_.commit(); !r) return abort(r.error());
    return json_response(200, acc_.summary());
  }

  void answer_under(const IdempotencyClaim* claim) override {
    acc_.answer_under(claim, [](const IngestReport& r) { return json_response(200, r.summary); });
  }

  ApiResponse abort(const Error& e) override { return acc_.error(e, req_); }

 private:
  Result<void> parse_line(simdjson::padded_string_view input, std::size_t line_no) {
    const std::size_t index = index_++;
    try {
      od::document doc;
      throw_if_fatal(thread_parser().iterate(input).get(doc));
      od::object obj;
      auto e = doc.get_object().get(obj);
      throw_if_fatal(e);
      if (e) {
        acc_.reject(index, line_no, bad_user("invalid_user", "each line must be a JSON object"));
      } else {
        auto user = users_.parse(obj);
        if (user && !doc.current_location().error()) throw SyntaxError{"trailing content after the object"};
        acc_.add(index, line_no, user);
      }
    } catch (const SyntaxError& e) {
      acc_.reject(index, line_no, bad_user("invalid_json", "the line is not valid JSON (UTF-8): " + e.message));
    }
    if (acc_.queued() >= ctx_.limits.stream_commit_users) return acc_.commit_behind();
    return {};
  }

  ApiContext& ctx_;
  ApiRequest req_;
  IngestAccumulator acc_;
  ingest::NdjsonLines lines_;
  UserParser users_;
  std::size_t index_ = 0;
};

}  // namespace

std::unique_ptr<BodyStream> ndjson_user_stream(ApiContext& ctx, const ApiRequest& req, Job job) {
  return std::make_unique<NdjsonStream>(ctx, req, std::move(job));
}

}  // namespace crier::api
