#include "api/ingest/ndjson_reader.h"

#include <fmt/format.h>

#include "api/ingest/accumulator.h"
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
      : ctx_(ctx), req_(req), acc_(ctx, std::move(job)) {}

  Result<void> feed(std::string_view chunk) override {
    buf_.append(chunk);
    std::size_t start = 0;
    for (;;) {
      auto nl = buf_.find('\n', start);
      if (nl == std::string::npos) break;
      if (auto r = line(start, nl); !r) return r;
      start = nl + 1;
    }
    buf_.erase(0, start);
    if (buf_.size() > ctx_.limits.max_line_bytes)
      return make_error(ErrorKind::too_large, "line_too_long",
                        fmt::format("line {} is longer than {} bytes", line_no_ + 1, ctx_.limits.max_line_bytes));
    return {};
  }

  ApiResponse finish() override {
    if (!buf_.empty()) {
      buf_.push_back('\n');
      if (auto r = line(0, buf_.size() - 1); !r) return abort(r.error());
    }
    if (auto r = acc_.commit(); !r) return abort(r.error());
    return json_response(200, acc_.summary());
  }

  void answer_under(const IdempotencyClaim* claim) override {
    acc_.answer_under(claim, [](const IngestReport& r) { return json_response(200, r.summary); });
  }

  ApiResponse abort(const Error& e) override { return acc_.error(e, req_); }

 private:
  Result<void> line(std::size_t begin, std::size_t end) {
    ++line_no_;
    std::size_t stop = end;
    if (stop > begin && buf_[stop - 1] == '\r') --stop;
    std::string_view text(buf_.data() + begin, stop - begin);
    if (text.find_first_not_of(" \t") == std::string_view::npos) return {};  // blank lines are skipped
    std::size_t index = index_++;
    // The line sits in buf_ with the rest of the buffer after it: the parser
    // may read that far as padding; make sure there is room.
    if (buf_.capacity() - begin < text.size() + simdjson::SIMDJSON_PADDING) {
      line_copy_.reserve(text.size() + simdjson::SIMDJSON_PADDING);
      line_copy_.assign(text);
      text = line_copy_;
      return parse_line(simdjson::padded_string_view(line_copy_.data(), line_copy_.size(), line_copy_.capacity()), index);
    }
    return parse_line(simdjson::padded_string_view(text.data(), text.size(), buf_.capacity() - begin), index);
  }

  Result<void> parse_line(simdjson::padded_string_view input, std::size_t index) {
    try {
      od::document doc;
      throw_if_fatal(thread_parser().iterate(input).get(doc));
      od::object obj;
      auto e = doc.get_object().get(obj);
      throw_if_fatal(e);
      if (e) {
        acc_.reject(index, line_no_, bad_user("invalid_user", "each line must be a JSON object"));
      } else {
        auto user = users_.parse(obj);
        if (user && !doc.current_location().error()) throw SyntaxError{"trailing content after the object"};
        acc_.add(index, line_no_, user);
      }
    } catch (const SyntaxError& e) {
      acc_.reject(index, line_no_, bad_user("invalid_json", "the line is not valid JSON (UTF-8): " + e.message));
    }
    if (acc_.queued() >= ctx_.limits.stream_commit_users) return acc_.commit_behind();
    return {};
  }

  ApiContext& ctx_;
  ApiRequest req_;
  IngestAccumulator acc_;
  UserParser users_;
  std::string buf_, line_copy_;
  std::size_t line_no_ = 0, index_ = 0;
};

}  // namespace

std::unique_ptr<BodyStream> ndjson_user_stream(ApiContext& ctx, const ApiRequest& req, Job job) {
  return std::make_unique<NdjsonStream>(ctx, req, std::move(job));
}

}  // namespace crier::api
