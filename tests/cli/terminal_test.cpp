// The CLI in a real terminal (tmux): progress bars redrawn in place, plain
// lines when stdout is a pipe, and Ctrl-C during `send` leaving a job that
// the printed commands finish.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <regex>

#include "app/cli/progress.h"
#include "tests/cli/cli_fixture.h"
#include "tests/cli/tmux_terminal.h"
#include "tests/support/http_client.h"

namespace crier::cli_test {
namespace {

// "EXIT=<digits>": the shell's echo after the command. The typed command line
// itself shows "EXIT=$?", which must not count.
bool has_exit_line(const std::string& screen) { return std::regex_search(screen, std::regex("EXIT=[0-9]")); }

class TerminalTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    term_ = std::make_unique<TmuxTerminal>(std::vector<std::string>{
        "CRIER_URL=" + url(), std::string("CRIER_API_KEY=") + kApiKey, "PATH=" + std::string(std::getenv("PATH"))});
  }
  void TearDown() override {
    if (HasFailure() && term_) std::cerr << "--- terminal ---\n" << term_->screen() << "\n";
    term_.reset();
    CliTest::TearDown();
  }
  // Types `clear; command; echo EXIT<n>=$?` and waits for that line (a
  // number of its own, so an earlier command's screen cannot pass for it);
  // returns the screen and sets last_exit_.
  std::string run_in_terminal(const std::string& command) {
    const int n = ++commands_;
    term_->type(fmt::format("clear; {}; echo EXIT{}=$?", command, n));
    std::string screen;
    std::smatch m;
    const std::regex exit_line(fmt::format("EXIT{}=([0-9]+)", n));
    EXPECT_TRUE(term_->wait_for([&](const std::string& s) { return std::regex_search(s, m, exit_line); }, screen))
        << screen;
    std::regex_search(screen, m, exit_line);
    last_exit_ = m.empty() ? -1 : std::stoi(m[1]);
    return screen;
  }
  static int lines_containing(const std::string& screen, const std::string& needle) {
    int n = 0;
    std::size_t at = 0;
    while ((at = screen.find(needle, at)) != std::string::npos) {
      ++n;
      at += needle.size();
    }
    return n;
  }
  std::string new_job(const std::string& extra = "") {
    auto r = crier({"jobs", "create", "--channel", "email", "--content", R"({"email":{"text":"hi"}})", "-o", "json"});
    if (r.exit_code != 0) throw std::runtime_error(r.describe());
    return str(stdout_object(r), "job_id");
  }
  std::unique_ptr<TmuxTerminal> term_;
  int commands_ = 0;
  int last_exit_ = -1;
  const std::string crier_ = CRIER_BINARY;
};

TEST_F(TerminalTest, IngestDrawsOneBarInPlaceOnATerminalAndPlainLinesInAPipe) {
  auto id = new_job();
  auto file = write_file("users.csv", csv_users(0, 1000));
  auto screen = run_in_terminal(fmt::format("{} ingest {} {} --batch-rows 100", crier_, id, file.string()));
  EXPECT_EQ(last_exit_, 0) << screen;
  // Ten batches, one row on the screen: the bar was redrawn, not reprinted.
  EXPECT_EQ(lines_containing(screen, "rows/s"), 1) << screen;
  const auto size = crier::cli::human_bytes(csv_users(0, 1000).size());
  EXPECT_TRUE(std::regex_search(screen, std::regex(R"(\[#{24}\] 100%  1,000 rows  [0-9,]+ rows/s  )")))
      << screen;
  EXPECT_NE(screen.find(fmt::format("rows/s  {} / {}\n", size, size)), std::string::npos) << screen;
  EXPECT_NE(screen.find("ingested 1,000 rows of"), std::string::npos) << screen;
  EXPECT_NE(screen.find("1,000 accepted, 0 duplicates"), std::string::npos) << screen;

  // The same through a pipe: no bar, no escape sequences, plain lines.
  auto id2 = new_job();
  auto piped = run_in_terminal(fmt::format("{} ingest {} {} --batch-rows 100 | cat -v", crier_, id2, file.string()));
  EXPECT_EQ(last_exit_, 0) << piped;
  EXPECT_EQ(piped.find("[#"), std::string::npos) << piped;
  EXPECT_EQ(piped.find("^["), std::string::npos) << "no ANSI escapes in a pipe: " << piped;
  EXPECT_NE(piped.find("ingested 1,000 rows of"), std::string::npos) << piped;
}

TEST_F(TerminalTest, SendWatchShowsTheJobsBarUntilItEnds) {
  auto file = write_file("users.ndjson", ndjson_users(0, 300));
  auto screen = run_in_terminal(fmt::format(
      R"({} send --channel email --content '{{"email":{{"text":"hi"}}}}' --ndjson {} --rate 1000 --watch)", crier_,
      file.string()));
  EXPECT_EQ(last_exit_, 0) << screen;
  EXPECT_TRUE(std::regex_search(screen, std::regex(R"(COMPLETED  \[#{24}\] 100%  sent 300  failed 0  skipped 0  of 300)")))
      << screen;
  EXPECT_EQ(lines_containing(screen, "sent "), 1) << "the job's bar is redrawn in place: " << screen;
}

TEST_F(TerminalTest, CtrlCDuringWatchLeavesTheJobRunningAndSaysHowToComeBack) {
  auto id = new_job();
  ASSERT_EQ(crier({"ingest", id, write_file("u.ndjson", ndjson_users(0, 40)).string()}).exit_code, 0);
  ASSERT_EQ(api().request("PATCH", "/v1/jobs/" + id, R"({"rate_limit":2})", {{"Content-Type", "application/json"}}).status,
            200);
  term_->type(fmt::format("clear; {} jobs run {} --watch; echo EXIT=$?", crier_, id));
  std::string screen;
  ASSERT_TRUE(term_->wait_for([](const std::string& s) { return s.find("PROCESSING [") != std::string::npos; }, screen))
      << screen;
  term_->ctrl_c();
  ASSERT_TRUE(term_->wait_for(has_exit_line, screen))
      << screen;
  EXPECT_NE(screen.find("EXIT=130"), std::string::npos) << screen;
  EXPECT_NE(screen.find("stopped watching; job " + id + " is PROCESSING"), std::string::npos) << screen;
  EXPECT_NE(screen.find("crier watch " + id), std::string::npos) << screen;
  EXPECT_EQ(str(job(id), "status"), "PROCESSING") << "watching stopped, the job did not";

  auto cancel = crier({"jobs", "cancel", id, "-o", "json"});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.describe();
  // Recipients were still waiting: CANCELLING while they are swept, then
  // CANCELLED.
  const std::string answered = str(stdout_object(cancel), "status");
  EXPECT_TRUE(answered == "CANCELLING" || answered == "CANCELLED") << answered;
  EXPECT_TRUE(crier::testing::poll_until(20s, [&] { return str(job(id), "status") == "CANCELLED"; }));
}

// Users arrive through a FIFO, so the test decides where the upload stands
// when Ctrl-C comes: two batches in, the third one half read.
TEST_F(TerminalTest, CtrlCDuringSendStopsAfterTheBatchInFlightAndTheHintFinishesTheJob) {
  auto fifo = scratch("users.ndjson");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  term_->type(fmt::format(
      R"(clear; {} send --channel email --content '{{"email":{{"text":"hi"}}}}' --ndjson {} --batch-rows 100 --watch; echo EXIT=$?)",
      crier_, fifo.string()));
  // The CLI opens the FIFO once the job exists; until then a writer gets ENXIO.
  int fd = -1;
  ASSERT_TRUE(crier::testing::poll_until(20s, [&] { return (fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; }));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  auto write_all = [&](const std::string& s) { ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size())); };
  write_all(ndjson_users(0, 250));

  std::string screen;
  std::smatch m;
  ASSERT_TRUE(term_->wait_for([&](const std::string& s) { return std::regex_search(s, m, std::regex("created (job_[0-9A-Z]+)")); }, screen));
  const std::string id = m[1];
  ASSERT_TRUE(crier::testing::poll_until(20s, [&] { return num(job(id), "received") == 200; }));
  term_->ctrl_c();
  ASSERT_TRUE(term_->wait_for([](const std::string& s) { return s.find("stopping at the next safe point") != std::string::npos; }, screen))
      << screen;
  // The third batch completes, and is the last one sent.
  write_all(ndjson_users(250, 50));
  ASSERT_TRUE(term_->wait_for(has_exit_line, screen));
  ::close(fd);
  EXPECT_NE(screen.find("EXIT=130"), std::string::npos) << screen;
  EXPECT_NE(screen.find(fmt::format("job {} is CREATED and holds 300 users", id)), std::string::npos) << screen;
  auto view = job(id);
  EXPECT_EQ(str(view, "status"), "CREATED");
  EXPECT_EQ(num(view, "received"), 300);
  EXPECT_EQ(num(view, "unique"), 300);

  // The printed way on: the whole file with --resume, then run.
  auto hint = fmt::format("crier ingest {} {} --resume && crier jobs run {} --watch", id, fifo.string(), id);
  EXPECT_NE(screen.find(hint.substr(0, 60)), std::string::npos) << screen;
  auto whole = write_file("whole.ndjson", ndjson_users(0, 500));
  auto resumed = crier({"ingest", id, whole.string(), "--resume", "-o", "json"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_EQ(num(stdout_object(resumed), "skipped_rows"), 300);
  EXPECT_EQ(num(stdout_object(resumed), "accepted"), 200);
  auto ran = crier({"jobs", "run", id, "--watch", "-o", "json"});
  ASSERT_EQ(ran.exit_code, 0) << ran.describe();
  auto final_view = stdout_object(ran);
  EXPECT_EQ(str(final_view, "status"), "COMPLETED");
  EXPECT_EQ(num(final_view, "sent"), 500);
  EXPECT_EQ(num(final_view, "duplicates"), 0);
}

}  // namespace
}  // namespace crier::cli_test
