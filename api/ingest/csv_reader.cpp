#include "api/ingest/csv_reader.h"

#include <boost/json.hpp>
#include <csv.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <optional>
#include <string>
#include <vector>

#include "api/ingest/accumulator.h"
#include "api/ingest/user_parser.h"
#include "api/routes/routes.h"

namespace crier::api {
namespace {
namespace json = boost::json;
using ingest::bad_user;

class CsvStream final : public BodyStream {
 public:
  CsvStream(ApiContext& ctx, const ApiRequest& req, Job job)
      : ctx_(ctx), req_(req), acc_(ctx, std::move(job)) {
    csv_init(&parser_, CSV_APPEND_NULL);
  }
  ~CsvStream() override { csv_free(&parser_); }

  // Counts the bytes fed since the last row ended, whatever they are (an
  // open quoted field included: libcsv buffers it without limit). The chunk
  // is fed in pieces that end at each CR or LF, the only bytes that can end
  // a row, so after each piece either a row just ended or the whole piece
  // belongs to the row still open.
  Result<void> feed(std::string_view chunk) override {
    while (!chunk.empty()) {
      auto end = chunk.find_first_of("\r\n");
      std::size_t n = end == std::string_view::npos ? chunk.size() : end + 1;
      // Checked before the piece is parsed: a row over the limit is never
      // handed on, and libcsv never holds more than the limit.
      if (row_bytes_ + n > ctx_.limits.max_line_bytes)
        return make_error(ErrorKind::too_large, "line_too_long",
                          fmt::format("row {} is longer than {} bytes", row_no_ + 1, ctx_.limits.max_line_bytes));
      row_ended_ = false;
      if (csv_parse(&parser_, chunk.data(), n, &CsvStream::on_field, &CsvStream::on_row, this) != n)
        return make_error(ErrorKind::invalid, "invalid_csv", csv_strerror(csv_error(&parser_)));
      if (error_) return *error_;
      row_bytes_ = row_ended_ ? 0 : row_bytes_ + n;
      chunk.remove_prefix(n);
    }
    return {};
  }

  ApiResponse finish() override {
    csv_fini(&parser_, &CsvStream::on_field, &CsvStream::on_row, this);
    if (error_) return abort(*error_);
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

  static void on_field(void* field, std::size_t size, void* self) {
    auto* s = static_cast<CsvStream*>(self);
    s->fields_.emplace_back(static_cast<const char*>(field), size);
  }
  static void on_row(int, void* self) { static_cast<CsvStream*>(self)->row(); }

  void row() {
    ++row_no_;
    std::vector<std::string> fields = std::move(fields_);
    fields_.clear();
    row_ended_ = true;
    if (error_) return;
    if (columns_.empty()) return header(fields);
    if (fields.size() == 1 && fields[0].empty()) return;  // a blank line
    std::size_t index = index_++;
    if (fields.size() != columns_.size())
      return acc_.reject(index, row_no_, bad_user("invalid_csv_row",
                                                  fmt::format("the row has {} fields; the header has {}", fields.size(), columns_.size())));
    for (const auto& f : fields)
      if (!simdjson::validate_utf8(f.data(), f.size()))
        return acc_.reject(index, row_no_, bad_user("invalid_utf8", "the row is not valid UTF-8"));
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
    acc_.add(index, row_no_, u);
    if (acc_.queued() >= ctx_.limits.stream_commit_users) {
      if (auto r = acc_.commit_behind(); !r) error_ = r.error();
    }
  }

  void header(const std::vector<std::string>& names) {
    for (std::string name : names) {
      // A name goes into the error's message and field, which the answer
      // carries as JSON strings: it must be UTF-8 first.
      if (!simdjson::validate_utf8(name.data(), name.size())) {
        error_ = make_error(ErrorKind::invalid, "invalid_csv_header", "the header row is not valid UTF-8");
        return;
      }
      if (columns_.empty() && name.rfind("\xEF\xBB\xBF", 0) == 0) name.erase(0, 3);  // a UTF-8 BOM
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
      else if (!prefixed("data.", Column::data) && !prefixed("preferences.", Column::preferences)) {
        error_ = make_error(ErrorKind::invalid, "invalid_csv_header",
                            fmt::format("unknown column '{}': expected user_id, email, phone, push_token, webhook_url, locale, data.<name> or preferences.<name>", name),
                            name);
        return;
      }
      columns_.push_back(std::move(c));
    }
  }

  ApiContext& ctx_;
  ApiRequest req_;
  IngestAccumulator acc_;
  csv_parser parser_{};
  std::vector<std::string> fields_;
  std::vector<ColumnSpec> columns_;
  std::string data_buf_, prefs_buf_;
  std::optional<Error> error_;
  std::size_t row_no_ = 0, index_ = 0;
  std::size_t row_bytes_ = 0;  // fed since the last row ended
  bool row_ended_ = false;     // a row ended in the piece being parsed
};

}  // namespace

std::unique_ptr<BodyStream> csv_user_stream(ApiContext& ctx, const ApiRequest& req, Job job) {
  return std::make_unique<CsvStream>(ctx, req, std::move(job));
}

}  // namespace crier::api
