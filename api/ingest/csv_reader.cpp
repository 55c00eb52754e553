#include "api/ingest/csv_reader.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "api/ingest/accumulator.h"
#include "api/ingest/csv_rows.h"
#include "api/ingest/user_parser.h"
#include "api/routes/routes.h"

namespace crier::api {
namespace {
namespace json = boost::json;
using ingest::bad_user;

class CsvStream final : public BodyStream {
 public:
  CsvStream(ApiContext& ctx, const ApiRequest& req, Job job)
      : ctx_(ctx),
        req_(req),
        acc_(ctx, std::move(job)),
        rows_(ctx.limits.max_line_bytes,
              [this](std::vector<std::string>& fields, std::size_t row_no) { return row(fields, row_no); }) {}

  Result<void> feed(std::string_view chunk) override { return rows_.feed(chunk); }

  ApiResponse finish() override {
    if (auto r = rows_.finish(); !r) return abort(r.error());
    if (columns_.empty())
      return abort(make_error(ErrorKind::invalid, "invalid_csv_header", "the CSV body has no header row"));
    if (auto r = acc_.commit(); !r) return abort(r.error());
    return json_response(200, acc_.summary());
  }

  void answer_under(const IdempotencyClaim* claim) override {
    acc_.answer_under(claim, [](const IngestReport& r) { return json_response(200, r.summary); });
  }

  ApiResponse abort(const Error& e) override { return acc_.error(e, req_); }

 private:
  enum class Column { user_id, email, phone, push_token, webhook_url, locale, data, preferences };
  struct ColumnSpec {
    Column kind;
    std::vector<std::string> path;  // for data.* and preferences.*
  };

  Result<void> row(std::vector<std::string>& fields, std::size_t row_no) {
    if (columns_.empty()) return header(fields);
    if (fields.size() == 1 && fields[0].empty()) return {};  // a blank line
    std::size_t index = index_++;
    if (fields.size() != columns_.size()) {
      acc_.reject(index, row_no, bad_user("invalid_csv_row",
                                          fmt::format("the row has {} fields; the header has {}", fields.size(), columns_.size())));
      return {};
    }
    if (!ingest::fields_are_utf8(fields)) {
      acc_.reject(index, row_no, bad_user("invalid_utf8", "the row is not valid UTF-8"));
      return {};
    }
    RawUser u;
    json::object data, prefs;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const auto& c = columns_[i];
      const std::string& v = fields[i];
      switch (c.kind) {
        case Column::user_id: u.user_id = v; break;
        case Column::email: u.email = v; break;
        case Column::phone: u.phone = v; break;
        case Column::push_token: u.push_token = v; break;
        case Column::webhook_url: u.webhook_url = v; break;
        case Column::locale: u.locale = v; break;
        case Column::data:
        case Column::preferences: {
          if (v.empty()) break;  // an empty cell sets nothing
          json::object* o = c.kind == Column::data ? &data : &prefs;
          for (std::size_t k = 0; k + 1 < c.path.size(); ++k) {
            auto& next = (*o)[c.path[k]];
            if (!next.is_object()) next = json::object();
            o = &next.get_object();
          }
          (*o)[c.path.back()] = v;
          break;
        }
      }
    }
    data_buf_ = data.empty() ? "" : json::serialize(data);
    prefs_buf_ = prefs.empty() ? "" : json::serialize(prefs);
    u.data_json = data_buf_;
    u.preferences_json = prefs_buf_;
    acc_.add(index, row_no, u);
    if (acc_.queued() >= ctx_.limits.stream_commit_users) return acc_.commit_behind();
    return {};
  }

  Result<void> header(const std::vector<std::string>& names) {
    // A name goes into the error's message and field, which the answer
    // carries as JSON strings: it must be UTF-8 first.
    if (!ingest::fields_are_utf8(names))
      return make_error(ErrorKind::invalid, "invalid_csv_header", "the header row is not valid UTF-8");
    for (const auto& written : names) {
      std::string name = ingest::header_name(written, columns_.empty());
      ColumnSpec c{};
      auto prefixed = [&](std::string_view prefix, Column kind) {
        if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return false;
        c.kind = kind;
        std::string rest = name.substr(prefix.size());
        std::size_t start = 0;
        for (;;) {
          auto dot = rest.find('.', start);
          c.path.push_back(rest.substr(start, dot - start));
          if (dot == std::string::npos) break;
          start = dot + 1;
        }
        return true;
      };
      if (name == "user_id") c.kind = Column::user_id;
      else if (name == "email") c.kind = Column::email;
      else if (name == "phone") c.kind = Column::phone;
      else if (name == "push_token") c.kind = Column::push_token;
      else if (name == "webhook_url") c.kind = Column::webhook_url;
      else if (name == "locale") c.kind = Column::locale;
      else if (!prefixed("data.", Column::data) && !prefixed("preferences.", Column::preferences))
        return make_error(ErrorKind::invalid, "invalid_csv_header",
                          fmt::format("unknown column '{}': expected user_id, email, phone, push_token, webhook_url, locale, data.<name> or preferences.<name>", name),
                          name);
      columns_.push_back(std::move(c));
    }
    return {};
  }

  ApiContext& ctx_;
  ApiRequest req_;
  IngestAccumulator acc_;
  ingest::CsvRows rows_;
  std::vector<ColumnSpec> columns_;
  std::string data_buf_, prefs_buf_;
  std::size_t index_ = 0;
};

}  // namespace

std::unique_ptr<BodyStream> csv_user_stream(ApiContext& ctx, const ApiRequest& req, Job job) {
  return std::make_unique<CsvStream>(ctx, req, std::move(job));
}

}  // namespace crier::api
