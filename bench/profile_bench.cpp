// Profiles at scale, on a real RocksDB (synced writes, as the server runs):
//   crier_profile_bench import DIR N      N profiles through the batched store
//       path (ProfileStore::upsert_profiles with the import's merge, batches
//       of 5 000), then N more as an NDJSON body fed to the real import
//       handler (Router::open_stream, 64 KiB chunks, no socket)
//   crier_profile_bench populate DIR N    N profiles through the store path
//       only (to set up the runs below in a process of their own)
//   crier_profile_bench evaluate DIR      every stored profile read a page of
//       1 000 at a time and matched against a filter (what a segment's run
//       does before it ingests the matches)
//   crier_profile_bench stream DIR        a job whose audience is that filter,
//       its matches streamed into it (api add_audience, the run's step);
//       prints the process's peak RSS (VmHWM), to compare 1 000 profiles
//       with 1 000 000
// Each prints one JSON line. bench/profiles.sh runs them; docs/benchmarks.md
// quotes the figures. Not part of `make test`.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <variant>

#include "api/context.h"
#include "api/ingest/body_stream.h"
#include "api/router.h"
#include "api/routes/routes.h"
#include "engine/audience_filter.h"
#include "engine/job_service.h"
#include "engine/profile_json.h"
#include "engine/time_format.h"
#include "storage/rocks_store.h"

namespace {
using namespace crier;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kTenant = "bench";
constexpr std::size_t kBatch = 5000;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU seconds (user + system) of this thread, or of the whole process
// (RocksDB's flushes and compactions included). On a machine shared with
// other work, N / thread CPU is what the path costs, whatever the wall
// clock says.
double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}
struct Cost {
  Clock::time_point wall = Clock::now();
  double thread = cpu_seconds(RUSAGE_THREAD), process = cpu_seconds(RUSAGE_SELF);
  // {"<name>_per_s": wall rate, "<name>_per_cpu_s": per CPU second of the thread}
  std::string rates(std::string_view name, std::size_t n, double minus_wall = 0, double minus_cpu = 0) const {
    const double w = seconds_since(wall) - minus_wall;
    const double t = cpu_seconds(RUSAGE_THREAD) - thread - minus_cpu;
    const double p = cpu_seconds(RUSAGE_SELF) - process - minus_cpu;
    return fmt::format(R"("{0}_per_s":{1:.0f},"{0}_per_thread_cpu_s":{2:.0f},"{0}_per_process_cpu_s":{3:.0f})", name,
                       n / w, n / t, n / p);
  }
};

// The peak resident set of this process, in KiB (VmHWM), and the current one.
long status_kib(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

// The sample profile: an email, three attributes, a subscription. One in
// ten is on the "pro" plan, which the filter below asks for.
json::object sample_profile(std::size_t i) {
  return json::object{{"user_id", fmt::format("user-{:08}", i)},
                      {"email", fmt::format("user{}@example.com", i)},
                      {"locale", "en"},
                      {"attributes", {{"plan", i % 10 == 0 ? "pro" : "free"},
                                      {"visits", static_cast<std::int64_t>(i % 97)},
                                      {"signed_up", "2026-03-01T10:00:00Z"}}},
                      {"subscriptions", {{"email", i % 50 == 0 ? "unsubscribed" : "subscribed"}}}};
}

json::value sample_filter() {
  return json::parse(R"({"AND":[{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"pro"}},
    {"custom_attribute":{"custom_attribute_name":"visits","comparison":"greater_than","value":10}},
    {"email_subscription_status":{"comparison":"is_not","value":"unsubscribed"}}]})");
}

struct Rig {
  std::unique_ptr<RocksStore> store;
  std::unique_ptr<JobService> service;
  std::unique_ptr<api::ApiContext> ctx;
  std::unique_ptr<api::Router> router;

  explicit Rig(const std::string& dir) {
    auto opened = RocksStore::open({dir});
    if (!opened) throw std::runtime_error("open: " + opened.error().message);
    store = std::move(opened).value();
    service = std::make_unique<JobService>(*store, *store, now_unix_ms);
    ctx.reset(new api::ApiContext{*service, *store, *store, *store, *store, {{"bench-key-0001", kTenant}}});
    ctx->profiles = store.get();
    ctx->segments = store.get();
    ctx->ready = true;
    router = std::make_unique<api::Router>(*ctx);
  }
};

// N profiles from `first` through upsert_profiles, as the import commits
// them (merge_into each line's object into what is stored).
std::string import_store(Rig& rig, std::string_view name, std::size_t first, std::size_t n) {
  std::vector<json::object> patches;
  std::vector<std::string> ids;
  Cost cost;
  double building = 0, building_cpu = 0;
  for (std::size_t at = first; at < first + n; at += kBatch) {
    const std::size_t count = std::min(kBatch, first + n - at);
    auto b = Clock::now();
    const double bc = cpu_seconds(RUSAGE_THREAD);
    patches.clear();
    ids.clear();
    for (std::size_t i = 0; i < count; ++i) {
      patches.push_back(sample_profile(at + i));
      ids.push_back(fmt::format("user-{:08}", at + i));
    }
    building += seconds_since(b);
    building_cpu += cpu_seconds(RUSAGE_THREAD) - bc;
    std::vector<std::string_view> views(ids.begin(), ids.end());
    const std::int64_t now = now_unix_ms();
    auto out = rig.store->upsert_profiles(kTenant, views, [&](std::size_t i, const std::optional<Profile>& cur) {
      return merge_into(cur, patches[i], kTenant, ids[i], now);
    });
    if (!out) throw std::runtime_error("upsert: " + out.error().message);
    for (const auto& o : *out)
      if (o.error) throw std::runtime_error("refused: " + o.error->message);
  }
  // The sample objects are the caller's input, not the store's work.
  return cost.rates(name, n, building, building_cpu);
}

// N profiles from `first` as one NDJSON body through the real handler.
std::pair<std::string, json::object> import_http_handler(Rig& rig, std::size_t first, std::size_t n) {
  std::string body;
  for (std::size_t i = first; i < first + n; ++i) body += json::serialize(sample_profile(i)) + "\n";
  api::ApiRequest req;
  req.method = "POST";
  req.path = "/v1/profiles/import";
  req.authorization = "Bearer bench-key-0001";
  req.content_type = "application/x-ndjson";
  req.request_id = "req_bench";
  Cost cost;
  auto opened = rig.router->open_stream(req);
  if (!std::holds_alternative<std::unique_ptr<api::BodyStream>>(opened))
    throw std::runtime_error("open: " + std::get<api::ApiResponse>(opened).body);
  auto stream = std::move(std::get<std::unique_ptr<api::BodyStream>>(opened));
  for (std::size_t at = 0; at < body.size(); at += 65536)
    if (auto r = stream->feed(std::string_view(body).substr(at, 65536)); !r)
      throw std::runtime_error("feed: " + r.error().message);
  auto answer = stream->finish();
  const std::string rate = cost.rates("handler_ndjson", n);
  if (answer.status != 200) throw std::runtime_error("import: " + answer.body);
  return {rate, json::parse(answer.body).as_object()};
}

class Subject final : public AudienceSubject {
 public:
  explicit Subject(const Profile& p) : p_(p) {}
  const json::value* attribute(std::string_view name) const override { return p_.attributes.if_contains(name); }
  SubscriptionState subscription(Channel c) const override { return p_.subscription(c); }
  bool in_list(std::string_view) const override { return false; }

 private:
  const Profile& p_;
};

int evaluate(Rig& rig) {
  auto filter = AudienceFilter::parse(sample_filter());
  if (!filter) throw std::runtime_error(filter.error().message);
  const std::int64_t now = now_unix_ms();
  std::size_t examined = 0, matched = 0;
  double reading = 0;
  std::string after;
  Cost cost;
  for (;;) {
    auto r = Clock::now();
    auto page = rig.store->list_profiles(kTenant, after, 1000);
    reading += seconds_since(r);
    if (!page) throw std::runtime_error(page.error().message);
    for (const auto& p : *page) {
      ++examined;
      if (filter->matches(Subject(p), now)) ++matched;
    }
    if (page->size() < 1000) break;
    after = page->back().user_id;
  }
  const double total = seconds_since(cost.wall);
  fmt::print(R"({{"scenario":"segment_evaluate","profiles":{},"matched":{},"seconds":{:.3f},{},"reading_pages_s":{:.3f},"matching_s":{:.3f}}})"
             "\n",
             examined, matched, total, cost.rates("profiles", examined), reading, total - reading);
  return 0;
}

int stream(Rig& rig) {
  json::object spec{{"channel", "email"},
                    {"content", {{"email", {{"subject", "Hi"}, {"text", "Hello"}}}}},
                    {"audience", {{"filter", sample_filter()}}}};
  auto job = api::create_job_from(*rig.ctx, kTenant, spec, nullptr);
  if (!job) throw std::runtime_error("job: " + job.error().message);
  const long before = status_kib("VmHWM:");
  Cost cost;
  auto added = api::add_audience(*rig.ctx, *job);
  const double secs = seconds_since(cost.wall);
  if (!added) throw std::runtime_error("audience: " + added.error().message);
  fmt::print(R"({{"scenario":"segment_stream","profiles":{},"matched":{},"seconds":{:.3f},{},"peak_rss_kib_before":{},"peak_rss_kib":{},"rss_kib":{}}})"
             "\n",
             added->examined, added->matched, secs, cost.rates("profiles", added->examined), before, status_kib("VmHWM:"),
             status_kib("VmRSS:"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::cerr << "usage: crier_profile_bench import|populate DIR N | evaluate|stream DIR\n";
    return 2;
  }
  const std::string mode = argv[1];
  Rig rig(argv[2]);
  if (mode == "evaluate") return evaluate(rig);
  if (mode == "stream") return stream(rig);
  const std::size_t n = argc > 3 ? std::stoul(argv[3]) : 200000;
  const std::string store_rate = import_store(rig, "store_create", 0, n);
  if (mode == "populate") {
    fmt::print(R"({{"scenario":"profile_populate","profiles":{},{}}})" "\n", n, store_rate);
    return 0;
  }
  // Again over the same ids: every one an update (a MultiGet that finds
  // it, a decode and a merge).
  const std::string update_rate = import_store(rig, "store_update", 0, n);
  auto [handler_rate, answer] = import_http_handler(rig, n, n);
  fmt::print(R"({{"scenario":"profile_import","profiles":{},{},{},{},"handler_created":{}}})"
             "\n",
             n, store_rate, update_rate, handler_rate, answer.at("created").as_int64());
  return 0;
} catch (const std::exception& e) {
  std::cerr << "crier_profile_bench: " << e.what() << "\n";
  return 1;
}
