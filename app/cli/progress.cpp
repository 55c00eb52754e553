#include "app/cli/progress.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <sys/ioctl.h>
#include <unistd.h>

namespace crier::cli {

namespace json = boost::json;

std::string with_commas(std::uint64_t n) {
  auto digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(std::uint64_t n) {
  if (n < 1000) return fmt::format("{} B", n);
  const char* units[] = {"KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = -1;
  while (v >= 1000 && u < 3) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string human_duration(double seconds) {
  auto s = static_cast<std::uint64_t>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::string bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  int full = static_cast<int>(fraction * width);
  std::string out;
  out.reserve(static_cast<std::size_t>(width) + 2);
  out += '[';
  out.append(static_cast<std::size_t>(full), '#');
  out.append(static_cast<std::size_t>(width - full), '-');
  out += ']';
  return out;
}

std::string describe_ingest(const IngestProgress& p, bool with_bar) {
  std::string out;
  double rate = p.seconds > 0 ? p.rows / p.seconds : 0;
  bool sized = p.total_bytes > 0;
  double fraction = sized ? static_cast<double>(p.bytes) / p.total_bytes : 0;
  if (with_bar && sized) out += fmt::format("{} {:3.0f}%  ", bar(fraction, 24), fraction * 100);
  out += fmt::format("{} rows  {} rows/s  {}", with_commas(p.rows), with_commas(static_cast<std::uint64_t>(rate)),
                     human_bytes(p.bytes));
  if (sized) out += " / " + human_bytes(p.total_bytes);
  if (sized && p.bytes > 0 && p.bytes < p.total_bytes && p.seconds > 0) {
    double byte_rate = p.bytes / p.seconds;
    out += "  ETA " + human_duration((p.total_bytes - p.bytes) / byte_rate);
  }
  return out;
}

std::uint64_t job_counter(const json::object& job, const char* name) {
  auto* v = job.if_contains(name);
  if (!v) return 0;
  if (v->is_int64()) return static_cast<std::uint64_t>(std::max<std::int64_t>(0, v->as_int64()));
  if (v->is_uint64()) return v->as_uint64();
  return 0;
}

std::uint64_t job_done(const json::object& job) {
  std::uint64_t done = 0;
  for (const char* c : {"sent", "delivered", "failed", "skipped", "cancelled"}) done += job_counter(job, c);
  return done;
}

namespace {
std::string text(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
double number(const json::object& o, const char* key, double fallback) {
  auto* v = o.if_contains(key);
  if (!v) return fallback;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return fallback;
}
}  // namespace

std::string describe_job(const json::object& job, bool with_bar) {
  auto unique = job_counter(job, "unique");
  auto done = job_done(job);
  auto status = text(job, "status");
  // The bar's line must fit one terminal row to be redrawn in place: the
  // job id (printed once above it) stays out of it.
  std::string out = with_bar ? fmt::format("{:<10}", status) : fmt::format("{} {}", text(job, "job_id"), status);
  double fraction = unique ? static_cast<double>(done) / unique : (status == "COMPLETED" ? 1.0 : 0.0);
  if (with_bar) out += fmt::format(" {} {:3.0f}%", bar(fraction, 24), fraction * 100);
  // Delivered recipients were sent first: people read them as sent.
  out += fmt::format("  sent {}  failed {}  skipped {}", with_commas(job_counter(job, "sent") + job_counter(job, "delivered")),
                     with_commas(job_counter(job, "failed")), with_commas(job_counter(job, "skipped")));
  if (auto cancelled = job_counter(job, "cancelled")) out += fmt::format("  cancelled {}", with_commas(cancelled));
  out += fmt::format("  of {}", with_commas(unique));
  double rate = number(job, "rate_per_second", 0);
  if (rate > 0) out += fmt::format("  {}/s", rate >= 10 ? with_commas(static_cast<std::uint64_t>(rate)) : fmt::format("{:.1f}", rate));
  double eta = number(job, "estimated_seconds_remaining", -1);
  if (status == "PROCESSING" && eta >= 0) out += "  ETA " + human_duration(eta);
  if (status == "SCHEDULED") out += "  starts " + text(job, "schedule_at");
  if (auto* hold = job.if_contains("dispatch_hold"); hold && hold->is_object())
    out += "  held: " + text(hold->as_object(), "code");
  return out;
}

StatusLine::StatusLine(bool terminal, std::chrono::milliseconds plain_every)
    : terminal_(terminal), plain_every_(plain_every), last_(std::chrono::steady_clock::now()) {}

namespace {
// The terminal's width; a line longer than that would wrap, and \r would
// then redraw only its last row.
std::size_t terminal_columns() {
  struct winsize ws {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}
}  // namespace

void StatusLine::update(const std::string& line, bool force) {
  auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    if (!force && drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    // \r back to the start, the line, then erase what a longer line left.
    std::string draw = "\r";
    draw.append(line, 0, terminal_columns() - 1);
    draw += "\x1b[K";
    std::fputs(draw.c_str(), stdout);
    drawn_ = true;
  } else {
    if ((!force && now - last_ < plain_every_) || line == printed_) return;
    std::fputs((line + "\n").c_str(), stdout);
    printed_ = line;
  }
  last_ = now;
  std::fflush(stdout);
}

void StatusLine::finish() {
  if (terminal_ && drawn_) {
    std::fputs("\n", stdout);
    std::fflush(stdout);
  }
  drawn_ = false;
}

}  // namespace crier::cli
