// Shared set-up for the dispatcher tests: a real RocksStore in a temp dir, the
// JobService on it, and a Dispatcher with the null provider and the real log
// provider writing to a file in the temp dir, read back by the tests.
#pragma once

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/job_service.h"
#include "engine/time_format.h"
#include "engine/user_validation.h"
#include "storage/rocks_store.h"
#include "tests/support/temp_dir.h"
#include "workers/dispatcher.h"
#include "workers/provider.h"

namespace crier::testing {

namespace json = boost::json;

// Polls `done` every few milliseconds until it holds or `limit` passes.
template <typename F>
bool eventually(F done, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// Forwards every status change to the dispatcher and remembers it, so a test
// can see the sequence of states a job went through.
class RecordingListener final : public JobListener {
 public:
  explicit RecordingListener(JobListener& next) : next_(next) {}
  void on_status_changed(const Job& job) override {
    {
      std::lock_guard lock(mu_);
      seen_.push_back(job.status);
    }
    next_.on_status_changed(job);
  }
  std::vector<JobStatus> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  JobListener& next_;
  mutable std::mutex mu_;
  std::vector<JobStatus> seen_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  static constexpr std::size_t kWindow = 100;

  DispatcherTest() {
    auto opened = RocksStore::open(StoreOptions{(dir_.path() / "data").string()});
    if (!opened) throw std::runtime_error("cannot open store: " + opened.error().message);
    store_ = std::move(opened).value();
    service_ = std::make_unique<JobService>(*store_, *store_, now_unix_ms);
    log_path_ = (dir_.path() / "delivery.log").string();
    dispatcher_ = make_dispatcher();
    service_->set_listener(dispatcher_.get());
  }

  ~DispatcherTest() override {
    service_->set_listener(nullptr);
    dispatcher_.reset();
  }

  // A started dispatcher on the fixture's store, logging to log_path_.
  std::unique_ptr<Dispatcher> make_dispatcher(unsigned lanes = 2, unsigned threads = 2) {
    DispatchOptions options;
    options.window = kWindow;
    options.threads = threads;
    options.lanes = lanes;
    options.default_provider = "log";
    auto d = std::make_unique<Dispatcher>(*service_, *store_, options);
    d->add_provider(make_null_provider());
    d->add_provider(make_log_provider(log_path_));
    d->start();
    return d;
  }

  static JobSpec email_spec() {
    JobSpec spec;
    spec.channel = Channel::email;
    spec.content.base.email = EmailContent{"Hi {{name}}", "Hello {{name}}, #{{n}} {{user.email}}", ""};
    spec.data_json = R"({"brand":"Acme"})";
    return spec;
  }

  Job create(JobSpec spec) {
    auto job = service_->create("acme", std::move(spec));
    EXPECT_TRUE(job.ok()) << (job.ok() ? "" : job.error().message);
    if (!job) throw std::runtime_error("cannot create job");
    return *job;
  }

  static std::string email_of(int i) { return fmt::format("u{}@example.com", i); }

  // Users i in [from, to), validated as the api validates them, each with
  // data {"name": "User i", "n": i}.
  static std::vector<IngestEntry> users(const Job& job, int from, int to) {
    std::vector<IngestEntry> out;
    for (int i = from; i < to; ++i) {
      std::string email = email_of(i);
      std::string data = fmt::format(R"({{"name":"User {}","n":{}}})", i, i);
      RawUser raw;
      raw.email = email;
      raw.data_json = data;
      auto r = validate_user(raw, job.spec);
      EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
      if (!r) continue;
      IngestEntry e;
      e.dedupe = dedupe_key(*r, job.spec.channel);
      e.recipient = std::move(*r);
      out.push_back(std::move(e));
    }
    return out;
  }

  void ingest(const Job& job, const std::vector<IngestEntry>& entries) {
    auto r = service_->ingest(job, entries, 0, false);
    ASSERT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    ASSERT_EQ(r->accepted, static_cast<std::int64_t>(entries.size()));
  }

  Job run(const Job& job) {
    auto r = service_->apply(job.key, JobAction::run);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r) throw std::runtime_error("cannot run job");
    return *r;
  }

  Job current(const Job& job) {
    auto found = store_->find_job(job.key);
    if (!found || !*found) throw std::runtime_error("job vanished");
    return **found;
  }

  JobCounters counters(const Job& job) {
    auto c = store_->counters(job.key);
    if (!c) throw std::runtime_error("cannot read counters");
    return *c;
  }

  // Waits for the job to reach a final status with its loop gone.
  JobStatus wait_final(const Job& job, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    JobStatus s = JobStatus::created;
    bool done = eventually(
        [&] {
          s = current(job).status;
          return is_final(s) && counters(job).outstanding() == 0 && dispatcher_->running_jobs() == 0;
        },
        limit);
    EXPECT_TRUE(done) << "job still " << to_string(s);
    return s;
  }

  // Every recipient with its state, in seq order.
  std::vector<RecipientView> recipients(const Job& job) {
    auto page = store_->list_recipients(job.key, 0, 1'000'000, std::nullopt, 1'000'000);
    if (!page) throw std::runtime_error("cannot list recipients");
    return page->items;
  }

  // The log provider's lines, parsed.
  std::vector<json::object> log_lines() {
    std::vector<json::object> out;
    std::ifstream in(log_path_);
    std::string line;
    while (std::getline(in, line)) {
      boost::system::error_code ec;
      auto v = json::parse(line, ec);
      EXPECT_FALSE(ec) << "log line is not JSON: " << line;
      if (!ec) out.push_back(v.as_object());
    }
    return out;
  }

  static std::uint64_t seq_of(const json::object& line) { return line.at("seq").to_number<std::uint64_t>(); }

  static void expect_invariants(const JobCounters& c) {
    EXPECT_EQ(c[Counter::received], c[Counter::unique] + c[Counter::duplicates] + c[Counter::rejected]);
    EXPECT_EQ(c[Counter::unique], c[Counter::pending] + c[Counter::enqueued] + c[Counter::sent] +
                                      c[Counter::delivered] + c[Counter::failed] + c[Counter::skipped] +
                                      c[Counter::cancelled]);
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
  std::unique_ptr<JobService> service_;
  std::string log_path_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace crier::testing
