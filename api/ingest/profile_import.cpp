#include "api/ingest/profile_import.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "api/compat/common.h"
#include "api/ingest/csv_rows.h"
#include "api/ingest/ndjson_lines.h"
#include "api/ingest/profile_batch.h"
#include "api/routes/routes.h"
#include "engine/channel.h"
#include "engine/profile_json.h"
#include "engine/user_validation.h"

namespace crier::api {
namespace json = boost::json;
namespace {

using ingest::ProfileBatch;

Error bad_record(std::string code, std::string message, std::string field = {}) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

// What both readers share: the batch, and committing it as it fills.
class ImportStream : public BodyStream {
 public:
  ImportStream(ApiContext& ctx, const ApiRequest& req) : req_(req), batch_(ctx, req.tenant) {}

  // The record's user_id: a string member, checked as the path's would be.
  // The record goes to the batch or is refused; the batch is committed when
  // full.
  Result<void> record(std::size_t line, json::object patch, std::size_t bytes) {
    const std::size_t index = index_++;
    const auto* id = patch.if_contains("user_id");
    if (!id || !id->is_string()) {
      batch_.reject(index, line, bad_record("invalid_user_id", "each profile needs a user_id string", "user_id"));
    } else if (auto ok = check_profile_user_id(id->get_string()); !ok) {
      batch_.reject(index, line, ok.error());
    } else {
      std::string user_id(id->get_string());
      batch_.add(index, line, std::move(user_id), std::move(patch), bytes);
    }
    if (batch_.full()) return batch_.commit();
    return {};
  }
  void refuse(std::size_t line, const Error& e) { batch_.reject(index_++, line, e); }

  ApiResponse done() {
    if (auto r = batch_.commit(); !r) return abort(r.error());
    return json_response(200, batch_.summary());
  }
  // An import under an Idempotency-Key stores its answer after the last
  // commit (api/idempotency.cpp), not in its write: a crash in between
  // leaves the key without an answer, and the retry imports again, which
  // upserts the same profiles to the same values.
  void answer_under(const IdempotencyClaim*) override {}
  ApiResponse abort(const Error& e) override { return batch_.error(e, req_); }

 protected:
  ApiRequest req_;
  ProfileBatch batch_;
  std::size_t index_ = 0;
};

class NdjsonImport final : public ImportStream {
 public:
  NdjsonImport(ApiContext& ctx, const ApiRequest& req)
      : ImportStream(ctx, req),
        lines_(ctx.limits.max_line_bytes,
               [this](simdjson::padded_string_view line, std::size_t line_no) { return parse_line(line, line_no); }) {
    // Deeper than the default 32 levels, so that attributes nested too deep
    // meet the profile's own limit and error (as PUT's body does).
    options_.max_depth = 2 * kMaxUserDataDepth;
  }

  Result<void> feed(std::string_view chunk) override { return lines_.feed(chunk); }
  ApiResponse finish() override {
    if (auto r = lines_.finish(); !r) return abort(r.error());
    return done();
  }

 private:
  Result<void> parse_line(std::string_view line, std::size_t line_no) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec, {}, options_);
    if (ec) {
      refuse(line_no, bad_record("invalid_json", "the line is not valid JSON (UTF-8): " + ec.message()));
      return {};
    }
    if (!v.is_object()) {
      refuse(line_no, bad_record("invalid_profile", "each line must be a JSON object"));
      return {};
    }
    return record(line_no, std::move(v.as_object()), line.size());
  }

  ingest::NdjsonLines lines_;
  json::parse_options options_;
};

// "12", "-3.5", "1e3": a JSON number as written (no leading zeros, no
// sign but minus), so that "007" and "+1" stay strings.
bool reads_as_number(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  const std::size_t int_start = i;
  const std::size_t n = digits();
  if (n == 0 || (n > 1 && s[int_start] == '0')) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

json::value attribute_cell(const std::string& v) {
  if (v == "true") return true;
  if (v == "false") return false;
  if (reads_as_number(v)) {
    boost::system::error_code ec;
    auto n = json::parse(v, ec);
    if (!ec && n.is_number()) return n;
  }
  return json::string(v);
}

class CsvImport final : public ImportStream {
 public:
  CsvImport(ApiContext& ctx, const ApiRequest& req)
      : ImportStream(ctx, req),
        rows_(ctx.limits.max_line_bytes,
              [this](std::vector<std::string>& fields, std::size_t row_no) { return row(fields, row_no); }) {}

  Result<void> feed(std::string_view chunk) override { return rows_.feed(chunk); }
  ApiResponse finish() override {
    if (auto r = rows_.finish(); !r) return abort(r.error());
    if (columns_.empty())
      return abort(make_error(ErrorKind::invalid, "invalid_csv_header", "the CSV body has no header row"));
    return done();
  }

 private:
  enum class Column { member, push_token, subscription, attribute };
  struct ColumnSpec {
    Column kind = Column::member;
    std::string name;  // the member, the channel or the attribute
  };

  Result<void> row(std::vector<std::string>& fields, std::size_t row_no) {
    if (columns_.empty()) return header(fields);
    if (fields.size() == 1 && fields[0].empty()) return {};  // a blank line
    if (fields.size() != columns_.size()) {
      refuse(row_no, bad_record("invalid_csv_row",
                                fmt::format("the row has {} fields; the header has {}", fields.size(), columns_.size())));
      return {};
    }
    if (!ingest::fields_are_utf8(fields)) {
      refuse(row_no, bad_record("invalid_utf8", "the row is not valid UTF-8"));
      return {};
    }
    json::object patch, attributes, subscriptions;
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const std::string& v = fields[i];
      bytes += v.size() + 1;
      if (v.empty()) continue;  // an empty cell sets nothing
      const auto& c = columns_[i];
      switch (c.kind) {
        case Column::member: patch[c.name] = v; break;
        case Column::push_token: patch["push_tokens"] = json::array{json::string(v)}; break;
        case Column::subscription: subscriptions[c.name] = v; break;
        case Column::attribute: attributes[c.name] = attribute_cell(v); break;
      }
    }
    if (!attributes.empty()) patch["attributes"] = std::move(attributes);
    if (!subscriptions.empty()) patch["subscriptions"] = std::move(subscriptions);
    return record(row_no, std::move(patch), bytes);
  }

  Result<void> header(const std::vector<std::string>& names) {
    // Names go into errors, which the answer carries as JSON strings.
    if (!ingest::fields_are_utf8(names))
      return make_error(ErrorKind::invalid, "invalid_csv_header", "the header row is not valid UTF-8");
    static constexpr std::string_view kMembers[] = {"user_id", "email", "phone", "locale", "timezone", "webhook_url"};
    std::set<std::string, std::less<>> seen;
    std::vector<ColumnSpec> columns;
    for (const auto& written : names) {
      const std::string name = ingest::header_name(written, columns.empty());
      auto refuse_header = [&](std::string why) {
        return make_error(ErrorKind::invalid, "invalid_csv_header", std::move(why), name);
      };
      ColumnSpec c;
      if (std::find(std::begin(kMembers), std::end(kMembers), name) != std::end(kMembers)) {
        c = {Column::member, name};
      } else if (name == "push_token") {
        c = {Column::push_token, name};
      } else if (name.rfind("subscriptions.", 0) == 0) {
        auto channel = parse_channel(std::string_view(name).substr(14));
        if (!channel)
          return refuse_header(fmt::format("'{}': subscriptions are by channel: email, sms, push, webhook, whatsapp", name));
        c = {Column::subscription, std::string(to_string(*channel))};
      } else {
        std::string attribute = name.rfind("attributes.", 0) == 0 ? name.substr(11) : name;
        if (attribute.empty()) return refuse_header("a column has no name");
        c = {Column::attribute, std::move(attribute)};
      }
      // Two columns for one thing ("plan" and "attributes.plan"): which wins?
      if (!seen.insert(fmt::format("{}:{}", static_cast<int>(c.kind), c.name)).second)
        return refuse_header(fmt::format("the column '{}' names what another column names", name));
      columns.push_back(std::move(c));
    }
    if (!seen.count(fmt::format("{}:user_id", static_cast<int>(Column::member))))
      return make_error(ErrorKind::invalid, "invalid_csv_header", "the header row has no user_id column");
    columns_ = std::move(columns);
    return {};
  }

  ingest::CsvRows rows_;
  std::vector<ColumnSpec> columns_;
};

}  // namespace

bool is_profile_import(const ApiRequest& req) {
  if (req.method != "POST") return false;
  auto parts = compat::path_parts(req.path);
  return parts.size() == 3 && parts[0] == "v1" && parts[1] == "profiles" && parts[2] == "import";
}

Result<std::unique_ptr<BodyStream>> open_profile_import(ApiContext& ctx, const ApiRequest& req) {
  if (!ctx.profiles)
    return make_error(ErrorKind::unavailable, "profiles_unavailable", "this server keeps no profiles");
  if (req.content_type == "text/csv") return std::unique_ptr<BodyStream>(new CsvImport(ctx, req));
  if (is_streamed_type(req.content_type)) return std::unique_ptr<BodyStream>(new NdjsonImport(ctx, req));
  return make_error(ErrorKind::unsupported, "unsupported_media_type",
                    fmt::format("send the profiles as application/x-ndjson or text/csv, not {}",
                                req.content_type.empty() ? "an untyped body" : req.content_type));
}

}  // namespace crier::api
