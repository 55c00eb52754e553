#include "api/user_ingest.h"

#include <boost/json.hpp>
#include <csv.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <set>
#include <utility>

#include "api/errors.h"
#include "api/routes/routes.h"

namespace crier::api {
namespace json = boost::json;
namespace od = simdjson::ondemand;

// ---- the accumulator ---------------------------------------------------------

IngestAccumulator::IngestAccumulator(ApiContext& ctx, Job job) : ctx_(ctx), job_(std::move(job)) {}

UserOutcome& IngestAccumulator::outcome(std::size_t index) {
  if (outcomes_.size() <= index) outcomes_.resize(index + 1);
  return outcomes_[index];
}

void IngestAccumulator::reject(std::size_t index, std::size_t line, const Error& e) {
  ++seen_;
  ++uncommitted_rejects_;
  if (tracking_) outcome(index) = UserOutcome{UserOutcome::Kind::rejected, 0, e};
  if (rejected_list_.size() >= ctx_.limits.max_rejected_listed) return;
  json::object r{{"index", index}, {"code", e.code}, {"message", e.message}};
  if (line) r["line"] = line;
  if (!e.field.empty()) r["field"] = e.field;
  rejected_list_.push_back(std::move(r));
}

void IngestAccumulator::add(std::size_t index, std::size_t line, const Result<RawUser>& user) {
  if (!user) return reject(index, line, user.error());
  auto r = validate_user(*user, job_.spec);
  if (!r) return reject(index, line, r.error());
  ++seen_;
  auto key = dedupe_key(*r, job_.spec);
  entries_.push_back({std::move(*r), key});
  entry_indexes_.push_back(index);
}

void IngestAccumulator::note_committed(const IngestCommit& c, const std::vector<std::size_t>& indexes) {
  auto seq = static_cast<std::uint64_t>(c.counters[Counter::unique] - c.accepted);
  std::size_t d = 0;
  for (std::size_t i = 0; i < indexes.size(); ++i) {
    bool dup = d < c.duplicate_entries.size() && c.duplicate_entries[d] == i;
    if (dup) {
      ++d;
      if (duplicated_list_.size() < ctx_.limits.max_rejected_listed)
        duplicated_list_.push_back(json::object{{"index", indexes[i]}});
    }
    if (tracking_) outcome(indexes[i]) = UserOutcome{dup ? UserOutcome::Kind::duplicate : UserOutcome::Kind::accepted,
                                                      dup ? 0 : seq, {}};
    if (!dup) ++seq;
  }
}

bool IngestAccumulator::whole_batch_acceptable() {
  std::vector<bool> duplicate(entries_.size(), false);
  bool acceptable = uncommitted_rejects_ == 0;
  std::set<DedupeKey> seen;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].dedupe || seen.insert(*entries_[i].dedupe).second) continue;
    duplicate[i] = true;
    acceptable = false;
  }
  if (acceptable) return true;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (duplicate[i]) {
      ++duplicates_;
      if (duplicated_list_.size() < ctx_.limits.max_rejected_listed)
        duplicated_list_.push_back(json::object{{"index", entry_indexes_[i]}});
    }
    if (tracking_)
      outcome(entry_indexes_[i]) =
          UserOutcome{duplicate[i] ? UserOutcome::Kind::duplicate : UserOutcome::Kind::withheld, 0, {}};
  }
  return false;
}

Result<void> IngestAccumulator::commit() {
  if (auto r = settle(); !r) return r;
  if (entries_.empty() && uncommitted_rejects_ == 0 && !creating_) return {};
  if (creating_ && all_or_nothing_ && !whole_batch_acceptable()) {
    refused_ = true;
    creating_ = false;
    rejected_ += std::exchange(uncommitted_rejects_, 0);
    entries_.clear();
    entry_indexes_.clear();
    return {};
  }
  auto c = creating_ ? ctx_.jobs.create_with(job_, entries_, uncommitted_rejects_, run_, true, claim_)
                     : ctx_.jobs.ingest(job_, entries_, uncommitted_rejects_, true);
  creating_ = false;
  if (!c) return c.error();
  accepted_ += c->accepted;
  duplicates_ += c->duplicates;
  rejected_ += uncommitted_rejects_;
  counters_ = c->counters;
  note_committed(*c, entry_indexes_);
  entries_.clear();
  entry_indexes_.clear();
  uncommitted_rejects_ = 0;
  return {};
}

Result<void> IngestAccumulator::commit_behind() {
  if (auto r = settle(); !r) return r;
  if (entries_.empty() && uncommitted_rejects_ == 0) return {};
  in_flight_rejects_ = std::exchange(uncommitted_rejects_, 0);
  in_flight_indexes_ = std::exchange(entry_indexes_, {});
  // The task owns its batch and a copy of the job; the future's destructor
  // waits for it, so it never outlives the service it calls.
  in_flight_ = std::async(std::launch::async, [&jobs = ctx_.jobs, job = job_, entries = std::move(entries_),
                                               rejects = in_flight_rejects_]() -> Result<IngestCommit> {
    try {
      return jobs.ingest(job, entries, rejects, true);
    } catch (const std::exception& e) {
      return make_error(ErrorKind::internal, "ingest_failed", e.what());
    }
  });
  entries_ = {};
  return {};
}

Result<void> IngestAccumulator::settle() {
  if (!in_flight_.valid()) return {};
  auto c = in_flight_.get();  // valid() is false from here on
  if (!c) return c.error();
  accepted_ += c->accepted;
  duplicates_ += c->duplicates;
  rejected_ += in_flight_rejects_;
  counters_ = c->counters;
  note_committed(*c, in_flight_indexes_);
  return {};
}

json::object IngestAccumulator::summary() const {
  JobCounters c = counters_.value_or(JobCounters{});
  if (!counters_)  // nothing was committed: show the job as it stands
    if (auto now = ctx_.store.counters(job_.key)) c = *now;
  return json::object{{"accepted", accepted_},
                      {"duplicates", duplicates_},
                      {"rejected", rejected_list_},
                      {"rejected_count", rejected_},
                      {"rejected_truncated", static_cast<std::size_t>(rejected_) > rejected_list_.size()},
                      {"duplicated", duplicated_list_},
                      {"received_total", c[Counter::received]},
                      {"unique_total", c[Counter::unique]}};
}

ApiResponse IngestAccumulator::error(const Error& e, const ApiRequest& req) {
  // A commit still in flight counts if it succeeds; if it failed, `e` is
  // the error answered either way.
  (void)settle();
  ApiResponse r = error_response(e, req.request_id);
  boost::system::error_code ec;
  auto parsed = json::parse(r.body, ec);
  if (ec || !parsed.is_object()) return r;  // never: error bodies are made UTF-8
  auto& body = parsed.as_object();
  body["ingested"] = summary();
  r.body = json::serialize(body);
  return r;
}

// ---- parsing one user ----------------------------------------------------------

namespace {

Error bad_user(std::string code, std::string message, std::string field = {}) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message), std::move(field));
}

// A body-level syntax error: the whole request is malformed.
struct SyntaxError {
  std::string message;
};

bool recoverable(simdjson::error_code e) {
  return e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_ERROR ||
         e == simdjson::NUMBER_OUT_OF_RANGE;
}

void throw_if_fatal(simdjson::error_code e) {
  if (e && !recoverable(e)) throw SyntaxError{simdjson::error_message(e)};
}

// simdjson_result's implicit conversions throw simdjson_error, which nothing
// here catches (a 500 for a malformed line): values are read through these,
// which turn any error into the body's (or the line's) syntax error.
bool null_value(od::value& v) {
  bool null = false;
  if (auto e = v.is_null().get(null)) throw SyntaxError{simdjson::error_message(e)};
  return null;
}

od::json_type type_of(od::value& v) {
  od::json_type type{};
  if (auto e = v.type().get(type)) throw SyntaxError{simdjson::error_message(e)};
  return type;
}

// "-12", "0", "18446744073709551615": digits only, within int64 or uint64.
bool whole_64bit(std::string_view s) {
  if (s.empty() || s.find_first_not_of("-0123456789") != std::string_view::npos) return false;
  const char* end = s.data() + s.size();
  if (s.front() == '-') {
    std::int64_t i;
    auto [p, ec] = std::from_chars(s.data(), end, i);
    return ec == std::errc() && p == end;
  }
  std::uint64_t u;
  auto [p, ec] = std::from_chars(s.data(), end, u);
  return ec == std::errc() && p == end;
}

// Parses user objects; the views it returns live until its next parse.
class UserParser {
 public:
  Result<RawUser> parse(od::value value) {
    od::object obj;
    auto e = value.get_object().get(obj);
    throw_if_fatal(e);
    if (e) {
      check_skipped(value);
      return bad_user("invalid_user", "each user must be a JSON object");
    }
    return parse(obj);
  }

  Result<RawUser> parse(od::object& obj) {
    RawUser u;
    std::optional<Error> error;
    for (auto field : obj) {
      std::string_view key;
      throw_if_fatal(field.unescaped_key().get(key));
      od::value v;
      throw_if_fatal(field.value().get(v));
      if (error) {  // keep walking so the document stays in step
        check_skipped(v);
        continue;
      }
      if (key == "data" || key == "preferences") {
        auto r = raw_object(v, key == "data" ? data_ : prefs_, std::string(key));
        if (!r) error = r.error();
        else (key == "data" ? u.data_json : u.preferences_json) = *r;
      } else if (key == "user_id") {
        auto r = user_id(v);
        if (!r) error = r.error();
        else u.user_id = *r;
      } else {
        std::string_view* target = key == "email"         ? &u.email
                                   : key == "phone"       ? &u.phone
                                   : key == "push_token"  ? &u.push_token
                                   : key == "webhook_url" ? &u.webhook_url
                                   : key == "locale"      ? &u.locale
                                                          : nullptr;
        if (!target) {  // unknown fields are ignored (documented)
          check_skipped(v);
          continue;
        }
        if (null_value(v)) continue;
        std::string_view s;
        auto e = v.get_string().get(s);
        throw_if_fatal(e);
        if (e) {
          check_skipped(v);
          error = bad_user("invalid_field", fmt::format("{} must be a string", key), std::string(key));
        } else if (s.empty()) error = bad_user("invalid_field", fmt::format("{} must not be empty", key), std::string(key));
        else *target = s;
      }
    }
    if (error) return *error;
    return u;
  }

  // ondemand checks only the structure of a value it skips (a bracket, a
  // quote), not its atoms or escapes: a value left unread (an unknown
  // field, a field after an error, one of the wrong type) is parsed whole
  // here, so malformed JSON is refused (invalid_json) wherever it sits.
  // Only unread values pay for it; the fields a user is made of are read.
  void check_skipped(od::value& v) {
    od::json_type type = type_of(v);
    std::string_view raw;
    if (type == od::json_type::object) {
      od::object o;
      throw_if_fatal(v.get_object().get(o));
      throw_if_fatal(o.raw_json().get(raw));
    } else if (type == od::json_type::array) {
      od::array a;
      throw_if_fatal(v.get_array().get(a));
      throw_if_fatal(a.raw_json().get(raw));
    } else {
      raw = v.raw_json_token();
    }
    skipped_.resize(raw.size() + simdjson::SIMDJSON_PADDING);
    std::memcpy(skipped_.data(), raw.data(), raw.size());
    simdjson::dom::element el;
    if (auto e = validator_.parse(skipped_.data(), raw.size(), false).get(el))
      throw SyntaxError{simdjson::error_message(e)};
    // A scalar is consumed too: ondemand skips an unread one by counting
    // brackets of any kind up to the next closing one, which swallowed
    // what follows it ({"users":[{...},"e":"z"}]} was accepted); read, the
    // next token must be a comma or the right closing bracket.
    switch (type) {
      case od::json_type::string: {
        od::raw_json_string unused;
        throw_if_fatal(v.get_raw_json_string().get(unused));
        break;
      }
      case od::json_type::number: {
        double unused;
        throw_if_fatal(v.get_double().get(unused));
        break;
      }
      case od::json_type::boolean: {
        bool unused;
        throw_if_fatal(v.get_bool().get(unused));
        break;
      }
      case od::json_type::null: null_value(v); break;
      default: break;  // objects and arrays: consumed by raw_json()
    }
  }

 private:
  Result<std::string_view> user_id(od::value& v) {
    std::string_view s;
    auto e = v.get_string().get(s);
    if (!e) return s;
    throw_if_fatal(e);
    // Whole numbers that fit 64 bits are accepted as ids, as written. Any
    // other number (1.5, 1e3, 1e999, 2^64) has no one decimal form a client
    // would find it under again: refused rather than stored as something else.
    std::string_view raw = v.raw_json_token();
    if (type_of(v) == od::json_type::number) {
      id_buf_.assign(raw);
      while (!id_buf_.empty() && std::isspace(static_cast<unsigned char>(id_buf_.back()))) id_buf_.pop_back();
      if (whole_64bit(id_buf_)) return std::string_view(id_buf_);
      return bad_user("invalid_user_id", "a numeric user_id must be a whole number of at most 64 bits; send other ids as strings",
                      "user_id");
    }
    check_skipped(v);
    return bad_user("invalid_user_id", "user_id must be a string or a number", "user_id");
  }

  // The object's JSON, minified and fully validated (ondemand only checks
  // the structure of what it skips).
  Result<std::string_view> raw_object(od::value& v, std::string& buf, const std::string& field) {
    if (null_value(v)) return std::string_view();
    od::object o;
    auto e = v.get_object().get(o);
    throw_if_fatal(e);
    if (e) {
      check_skipped(v);
      return bad_user("invalid_" + field, field + " must be a JSON object", field);
    }
    std::string_view raw;
    throw_if_fatal(o.raw_json().get(raw));
    buf.resize(raw.size() + simdjson::SIMDJSON_PADDING);
    std::size_t n = 0;
    // Malformed JSON here is the body's syntax error (api.md: "any part
    // of it"), as anywhere else, not one user's invalid_data.
    if (auto e = simdjson::minify(raw.data(), raw.size(), buf.data(), n))
      throw SyntaxError{field + ": " + simdjson::error_message(e)};
    simdjson::dom::element el;
    if (auto e = validator_.parse(buf.data(), n, false).get(el))
      throw SyntaxError{field + ": " + simdjson::error_message(e)};
    return std::string_view(buf.data(), n);
  }

  std::string data_, prefs_, id_buf_, skipped_;
  simdjson::dom::parser validator_;
};

od::parser& thread_parser() {
  thread_local od::parser p;
  return p;
}

Result<Job> require_created(const Job& job) {
  if (job.status == JobStatus::created) return job;
  auto e = make_error(ErrorKind::conflict, "invalid_state_transition",
                      fmt::format("users can be added only while the job is CREATED; it is {}", to_string(job.status)));
  e.status = std::string(to_string(job.status));
  return e;
}

}  // namespace

// ---- JSON -----------------------------------------------------------------------

Result<IngestReport> ingest_json_users(ApiContext& ctx, const Job& job, const std::string& body,
                                       std::optional<CreateWith> create) {
  if (auto r = require_created(job); !r) return r.error();
  IngestAccumulator acc(ctx, job);
  acc.track_outcomes();
  if (create) acc.create_on_commit(create->run, create->all_or_nothing, create->claim);
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
  IngestReport report{acc.summary(), acc.outcomes(), acc.job()};
  report.stored = !acc.refused();
  return report;
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
  auto report = ingest_json_users(ctx, job, req.body);
  if (!report) return fail(report.error(), req);
  return json_response(200, report->summary);
}

// ---- NDJSON ---------------------------------------------------------------------

namespace {

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

// ---- CSV ------------------------------------------------------------------------

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

bool is_streamed_type(std::string_view content_type) {
  return content_type == "application/x-ndjson" || content_type == "application/ndjson" ||
         content_type == "application/jsonl" || content_type == "application/x-jsonlines" ||
         content_type == "text/csv";
}

Result<std::unique_ptr<BodyStream>> open_user_stream(ApiContext& ctx, const ApiRequest& req, Job job) {
  if (auto r = require_created(job); !r) return r.error();
  if (req.content_type == "text/csv") return std::unique_ptr<BodyStream>(new CsvStream(ctx, req, std::move(job)));
  return std::unique_ptr<BodyStream>(new NdjsonStream(ctx, req, std::move(job)));
}

}  // namespace crier::api
