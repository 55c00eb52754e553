// Progress for people: a bar redrawn in place on one terminal line (carriage
// return + ANSI erase-to-end-of-line) when stdout is a terminal, plain lines
// at a calmer pace when it is a pipe or a file, so logs stay readable.
//
// The formatting functions are pure (numbers in, text out) so they can be
// tested without a terminal; StatusLine does the drawing.
#pragma once

#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace crier::cli {

// "1,234,567"
std::string with_commas(std::uint64_t n);
// "512 B", "1.5 KB", "12.3 MB", "2.0 GB" (powers of 1000, as transfer tools show)
std::string human_bytes(std::uint64_t n);
// "4s", "1m05s", "2h03m"
std::string human_duration(double seconds);
// "[########----------------]" of `width` cells between the brackets.
std::string bar(double fraction, int width);

struct IngestProgress {
  std::uint64_t rows = 0;         // rows sent and answered
  std::uint64_t bytes = 0;        // bytes of the file consumed
  std::uint64_t total_bytes = 0;  // the file's size (0 when unknown, e.g. a pipe)
  double seconds = 0;             // since the upload began
};
// "[#####-----]  52%  520,000 rows  130,000 rows/s  52.0 MB / 100.0 MB  ETA 4s"
// (without the bar and percentage when the size is unknown).
std::string describe_ingest(const IngestProgress& p, bool with_bar);

// The job's view (GET /v1/jobs/{id}) as one line:
// "job_01... PROCESSING [#####-----]  50%  sent 500  failed 0  skipped 0  of 1,000  250/s  ETA 2s"
std::string describe_job(const boost::json::object& job, bool with_bar);
// Recipients in a final state, and all of them: the bar's fraction.
std::uint64_t job_done(const boost::json::object& job);
std::uint64_t job_counter(const boost::json::object& job, const char* name);

class StatusLine {
 public:
  // `terminal`: redraw in place; otherwise print a line at most every `plain_every`.
  StatusLine(bool terminal, std::chrono::milliseconds plain_every = std::chrono::seconds(5));
  // Shows `line` now on a terminal (at most 10 times a second), or as a plain
  // line when `plain_every` has passed since the last one or the start (or
  // `force`), unless it is the line printed last.
  void update(const std::string& line, bool force = false);
  // Ends the in-place line (a newline) so later output starts below it.
  void finish();
  bool terminal() const { return terminal_; }

 private:
  bool terminal_;
  std::chrono::milliseconds plain_every_;
  std::chrono::steady_clock::time_point last_;
  std::string printed_;  // the last plain line, not repeated
  bool drawn_ = false;
};

}  // namespace crier::cli
