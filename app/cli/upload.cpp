#include "app/cli/upload.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <xxhash.h>

#include <chrono>

#include "app/cli/interrupt.h"
#include "app/cli/output.h"

namespace crier::cli {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxBatchBytes = std::size_t{16} << 20;
constexpr std::size_t kRejectedKept = 1000;
constexpr int kAttempts = 4;

std::uint64_t counter(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (v && v->is_int64()) return static_cast<std::uint64_t>(v->as_int64());
  if (v && v->is_uint64()) return v->as_uint64();
  return 0;
}

std::string error_code(const Reply& r) {
  auto v = r.json();
  if (v.is_object())
    if (auto* e = v.as_object().if_contains("error"); e && e->is_object())
      if (auto* c = e->as_object().if_contains("code"); c && c->is_string()) return std::string(c->as_string());
  return {};
}

// Worth sending again: no answer, or the server is busy or unavailable for
// now, or the same key's first attempt is still being processed.
bool transient(const Reply& r) {
  return r.status == 0 || r.status == 503 || (r.status == 409 && error_code(r) == "idempotency_key_in_use");
}

// The server's rejected entries, with the body's line turned into the file's.
void collect_rejected(const json::object& answer, const UserBatch& batch, UserFormat format, UploadTotals& totals) {
  auto* list = answer.if_contains("rejected");
  if (!list || !list->is_array()) return;
  for (const auto& item : list->as_array()) {
    if (totals.rejected.size() >= kRejectedKept) return;
    if (!item.is_object()) continue;
    const auto& r = item.as_object();
    json::object out;
    auto line = counter(r, "line");
    // The body's line 1 is the batch's first row, or (CSV) the header we repeated.
    if (line > 0)
      out["line"] = batch.first_record + line - (format == UserFormat::csv ? 2 : 1);
    for (const char* key : {"code", "message", "field"})
      if (auto* v = r.if_contains(key)) out[key] = *v;
    totals.rejected.push_back(std::move(out));
  }
}

void print_resume_hint(const std::string& job_id, const UploadOptions& options) {
  fmt::print(stderr, "to continue: crier ingest {} {} --resume\n", job_id, options.file);
}

}  // namespace

void set_progress(UploadOptions& options, OutputMode mode) {
  bool text = mode == OutputMode::text;
  options.progress = text && stdout_is_terminal();
  options.plain_progress = text && !options.progress;
}

int upload_users(ApiClient& api, const std::string& job_id, const UploadOptions& options, UploadTotals& totals) {
  auto format = user_format(options.format, options.file);
  if (!format)
    return report_input_error(fmt::format("{}: say --format csv or --format ndjson (the extension does not tell)", options.file));
  auto reader = UserFileReader::open(options.file, *format);
  if (!reader) return report_input_error(reader.error().message);
  auto& file = **reader;
  const std::string path = "/v1/jobs/" + path_segment(job_id) + "/users";

  if (options.resume) {
    auto job = api.get("/v1/jobs/" + path_segment(job_id));
    if (!job.ok()) return report_failure(job, api.connection());
    auto received = counter(job.object(), "received");
    auto skipped = file.skip(received);
    if (!skipped) return report_input_error(skipped.error().message);
    totals.skipped_rows = *skipped;
    totals.received_total = received;
    totals.unique_total = counter(job.object(), "unique");
    if (options.progress || options.plain_progress)
      fmt::print("resuming: the job has received {} users; skipping the file's first {} rows\n", with_commas(received),
                 with_commas(*skipped));
  }

  StatusLine status(options.progress);
  const auto start = std::chrono::steady_clock::now();
  auto progress = [&] {
    IngestProgress p;
    p.rows = totals.rows;
    p.bytes = file.bytes_read();
    p.total_bytes = file.total_bytes();
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return p;
  };
  auto draw = [&](bool force) {
    if (options.progress || options.plain_progress) status.update(describe_ingest(progress(), options.progress), force);
  };
  if (options.progress) draw(true);  // a bar from the start; plain lines once there is something to say

  UserBatch batch;
  for (;;) {
    if (interrupted()) {
      totals.interrupted = true;
      break;
    }
    auto more = file.next(batch, options.batch_rows, kMaxBatchBytes);
    if (!more) {
      status.finish();
      return report_input_error(more.error().message);
    }
    if (!*more) break;
    if (batch.rows == 0) continue;  // only blank rows left

    auto key = fmt::format("crier-cli-ingest.{}.{}.{:016x}", job_id, batch.first_record,
                           XXH3_64bits(batch.body.data(), batch.body.size()));
    Reply reply;
    for (int attempt = 1;; ++attempt) {
      reply = api.call("POST", path, batch.body, content_type(*format), {{"Idempotency-Key", key}});
      if (!transient(reply) || attempt == kAttempts) break;
      // A second Ctrl-C ends the process; the first lets this batch finish.
      sleep_unless_interrupted(500 << attempt);
    }
    if (!reply.ok()) {
      status.finish();
      int code = report_failure(reply, api.connection());
      // A failed streamed request may still have committed whole chunks.
      auto v = reply.json();
      if (v.is_object())
        if (auto* ing = v.as_object().if_contains("ingested"); ing && ing->is_object())
          totals.received_total = counter(ing->as_object(), "received_total");
      // Worth resuming when part of the file is in, or the failure may pass.
      if (totals.batches > 0 || reply.status == 0 || reply.status >= 500) {
        fmt::print(stderr, "stopped at row {} of {}: {} rows in {} batches were ingested before it\n",
                   batch.first_record, options.file, with_commas(totals.rows), totals.batches);
        print_resume_hint(job_id, options);
      }
      totals.seconds = progress().seconds;
      return code;
    }
    auto answer = reply.json();
    if (!answer.is_object()) {
      status.finish();
      return report_input_error("the server's ingest answer is not a JSON object");
    }
    const auto& a = answer.as_object();
    totals.rows += batch.rows;
    totals.batches += 1;
    // A replayed answer's totals are the job's counters when it was first
    // given: only the earlier run's numbers, so leave the counters as the
    // last fresh answer (or the resume's look at the job) left them.
    if (reply.replayed) {
      totals.replayed_batches += 1;
      totals.replayed_rows += batch.rows;
      draw(false);
      continue;
    }
    totals.accepted += counter(a, "accepted");
    totals.duplicates += counter(a, "duplicates");
    totals.rejected_count += counter(a, "rejected_count");
    totals.received_total = counter(a, "received_total");
    totals.unique_total = counter(a, "unique_total");
    collect_rejected(a, batch, *format, totals);
    draw(false);
  }
  totals.bytes = file.bytes_read();
  totals.seconds = progress().seconds;
  if (totals.replayed_batches) {
    // Replayed answers carry old totals: ask the job for its counters now.
    auto job = api.get("/v1/jobs/" + path_segment(job_id));
    if (job.ok()) {
      totals.received_total = counter(job.object(), "received");
      totals.unique_total = counter(job.object(), "unique");
    }
  }
  if (options.progress) draw(true);  // the bar's last state; in plain text the summary says it
  status.finish();
  return exit_code::ok;
}

json::object totals_json(const std::string& job_id, const UploadOptions& options, const UploadTotals& t) {
  json::object o;
  o["job_id"] = job_id;
  o["file"] = options.file;
  o["rows"] = t.rows;
  o["batches"] = t.batches;
  o["bytes"] = t.bytes;
  o["skipped_rows"] = t.skipped_rows;
  o["accepted"] = t.accepted;
  o["duplicates"] = t.duplicates;
  o["rejected_count"] = t.rejected_count;
  o["rejected"] = t.rejected;
  o["received_total"] = t.received_total;
  o["unique_total"] = t.unique_total;
  o["replayed_batches"] = t.replayed_batches;
  o["replayed_rows"] = t.replayed_rows;
  o["milliseconds"] = static_cast<std::uint64_t>(t.seconds * 1000);
  o["interrupted"] = t.interrupted;
  return o;
}

void print_totals(const std::string& job_id, const UploadOptions& options, const UploadTotals& t) {
  fmt::print("{} {} rows of {} in {} batches ({}, {}): {} accepted, {} duplicates, {} rejected\n",
             t.interrupted ? "interrupted after" : "ingested", with_commas(t.rows), options.file, t.batches,
             human_bytes(t.bytes), human_duration(t.seconds), with_commas(t.accepted), with_commas(t.duplicates),
             with_commas(t.rejected_count));
  if (t.replayed_batches)
    fmt::print("  {} of those rows ({} batches) were already ingested by an earlier run: not ingested again\n",
               with_commas(t.replayed_rows), t.replayed_batches);
  constexpr std::size_t kShown = 10;
  for (std::size_t i = 0; i < t.rejected.size() && i < kShown; ++i) {
    const auto& r = t.rejected[i].as_object();
    auto text = [&](const char* key) {
      auto* v = r.if_contains(key);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    auto* line = r.if_contains("line");
    fmt::print("  {} {}: {}: {}\n", user_format(options.format, options.file) == UserFormat::csv ? "row" : "line",
               line ? json::serialize(*line) : "?", text("code"), text("message"));
  }
  if (t.rejected_count > kShown)
    fmt::print("  ... {} more rejected (--output json lists the first {})\n", with_commas(t.rejected_count - kShown),
               kRejectedKept);
  fmt::print("job {} holds {} users (received {})\n", job_id, with_commas(t.unique_total), with_commas(t.received_total));
}

}  // namespace crier::cli
