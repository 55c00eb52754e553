#include "workers/callback_notifier.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "engine/time_format.h"
#include "workers/http_client.h"

namespace crier {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string recipient_event(const Job& job, const RecipientView& v) {
  const auto& s = v.state;
  const std::string mid = message_id(job.key, v.recipient.seq);
  json::object e{{"id", fmt::format("{}.{}.{}", mid, to_string(s.status), s.attempts)},
                 {"type", "recipient.status"},
                 {"job_id", job.id()},
                 {"seq", v.recipient.seq},
                 {"message_id", mid},
                 {"user_id", v.recipient.user_id.empty() ? json::value(nullptr) : json::value(v.recipient.user_id)},
                 {"status", to_string(s.status)},
                 {"attempts", s.attempts},
                 {"error", s.error_code.empty() ? json::value(nullptr)
                                                : json::value(json::object{{"code", s.error_code},
                                                                           {"message", s.error_message}})},
                 {"at", format_rfc3339(s.updated_at ? s.updated_at : now_unix_ms())}};
  if (s.next_attempt_at) e["next_attempt_at"] = format_rfc3339(s.next_attempt_at);
  return json::serialize(e);
}

// The same change of the same job always has the same id (a status and the
// time the job record took it), so a re-emission after a crash dedupes.
std::string status_event_id(const Job& job) {
  return fmt::format("{}.{}.{}", job.id(), to_string(job.status), job.updated_at);
}

// Transport failures, 429 and 5xx are worth another try; other answers,
// and a destination the egress policy refuses, are final.
bool worth_retrying(const Result<HttpResponse>& r) {
  if (!r) return r.error().code != "egress_denied";
  return r->status == 429 || r->status >= 500;
}

HttpClientOptions client_options(const CallbackOptions& o) {
  HttpClientOptions c;
  c.max_connections_per_origin = 8;
  c.timeout = o.timeout;
  c.egress = o.egress;
  c.network = o.network;
  return c;
}

}  // namespace

struct CallbackNotifier::Impl {
  // One job's events in the outbox: [sent, next) are stored and not yet
  // delivered or given up.
  struct Feed {
    std::string url;
    std::string tenant;
    std::uint64_t sent = 0, next = 0;
    std::uint64_t dropped = 0;  // since the last batch
    bool finished = false;      // the job reached a final status
  };

  JobStore& store;
  CallbackOutbox& outbox;
  CallbackOptions options;
  PooledHttpClient client;

  // Also serialises the outbox writes, so a job's events are numbered in the
  // order they happened.
  mutable std::mutex mu;
  std::map<JobKey, Feed> feeds;
  CallbackStats stats;
  // Batch numbers are unique across jobs and feeds (a cancelled job's feed
  // may end and start again for its sweep) and across restarts: they start
  // from the clock, so a webhook-id is never reused for other events.
  std::uint64_t last_batch = static_cast<std::uint64_t>(now_unix_ms()) * 1000;
  bool stopping = false;

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  std::thread thread;

  Impl(JobStore& s, CallbackOutbox& o, CallbackOptions opts)
      : store(s), outbox(o), options(std::move(opts)), client(client_options(options)) {
    thread = std::thread([this] { io.run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    work.reset();
    io.stop();
    thread.join();
  }

  // The job's feed, made from what the outbox holds when it has none; null
  // when the outbox cannot be read. Under mu.
  Feed* feed_of(const Job& job) {
    auto it = feeds.find(job.key);
    if (it != feeds.end()) return &it->second;
    auto span = outbox.event_span(job.key);
    if (!span) {
      spdlog::error("callbacks of {}: {}", job.id(), span.error().message);
      return nullptr;
    }
    Feed& f = feeds[job.key];
    f.url = job.spec.callback_url;
    f.tenant = job.tenant;
    f.sent = span->first;
    f.next = span->end;
    // A feed that starts after the job's final event (a cancel sweep, or a
    // restart) ends once drained, like the first one.
    f.finished = is_final(job.status);
    asio::co_spawn(io, run_feed(job.key, job.id()), [this, key = job.key](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("callbacks of {}: {}", job_id_string(key), ex.what());
      } catch (...) {
        spdlog::error("callbacks of {}: unknown exception", job_id_string(key));
      }
      std::lock_guard lock(mu);
      feeds.erase(key);
    });
    return &f;
  }

  // Stores events of the job in its outbox (synced) and wakes its sender.
  // Never blocks on the network. A store that refuses the write (a full
  // disk) loses nothing that was recorded: dispatch writes a recipient's
  // state after its event, and a job's latest status is sent again at start
  // (recover) when its event is missing.
  void push(const Job& job, std::span<const std::string> events, std::optional<std::string_view> status_id,
            bool final_event) {
    std::lock_guard lock(mu);
    if (stopping) return;
    Feed* f = feed_of(job);
    if (!f) return;
    // Bounded: past max_queued_per_job waiting events, the oldest go.
    const std::uint64_t waiting = f->next - f->sent + events.size();
    if (waiting > options.max_queued_per_job) {
      const std::uint64_t drop = std::min<std::uint64_t>(waiting - options.max_queued_per_job, f->next - f->sent);
      if (drop > 0) {
        if (auto r = outbox.trim_events(job.key, f->sent + drop); !r)
          spdlog::warn("callbacks of {}: {}", job.id(), r.error().message);
        f->sent += drop;
        f->dropped += drop;
        stats.events_dropped += drop;
      }
    }
    if (auto r = outbox.append_events(job.key, f->next, events, status_id); !r) {
      spdlog::error("callbacks of {}: {} events not stored: {}", job.id(), events.size(), r.error().message);
      return;
    }
    f->next += events.size();
    if (final_event) f->finished = true;
  }

  asio::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
  }

  // One job's sender: a batch per interval until the job is final and its
  // outbox is empty.
  asio::awaitable<void> run_feed(JobKey key, std::string job_id) {
    for (;;) {
      co_await sleep(options.interval);
      // No `continue` around co_await in this loop: g++ 12 miscompiles some.
      auto next = take_batch(key);
      if (next.stop) co_return;
      if (!next.events.empty()) {
        const std::uint64_t end = next.end;
        co_await send_batch(job_id, std::move(next));
        done_with(key, end);
      }
    }
  }

  struct Batch {
    bool stop = false;  // the feed is done (or the notifier stopping)
    std::vector<std::string> events;
    std::uint64_t end = 0;  // the first event seq after the batch
    std::uint64_t dropped = 0, number = 0;
    std::string url, tenant;
  };

  // The next batch of a job's feed; empty when there is nothing to send yet.
  Batch take_batch(const JobKey& key) {
    Batch b;
    std::lock_guard lock(mu);
    auto it = feeds.find(key);
    if (stopping || it == feeds.end()) {
      b.stop = true;
      return b;
    }
    Feed& f = it->second;
    if (f.sent == f.next) {
      if (f.finished) {
        feeds.erase(it);
        b.stop = true;
      }
      return b;
    }
    auto stored = outbox.read_events(key, f.sent, options.max_batch);
    if (!stored) {
      spdlog::error("callbacks of {}: {}", job_id_string(key), stored.error().message);
      return b;  // tried again next interval
    }
    if (stored->empty()) {  // trimmed meanwhile (cannot happen with one writer): nothing to send
      f.sent = f.next;
      return b;
    }
    for (auto& e : *stored) b.events.push_back(std::move(e.json));
    b.end = stored->back().seq + 1;
    b.dropped = std::exchange(f.dropped, 0);
    b.number = ++last_batch;
    b.url = f.url;
    b.tenant = f.tenant;
    return b;
  }

  // A batch delivered or given up: its events leave the outbox.
  void done_with(const JobKey& key, std::uint64_t end) {
    std::lock_guard lock(mu);
    if (stopping) return;  // they stay stored, and go out after the restart
    if (auto r = outbox.trim_events(key, end); !r)
      spdlog::warn("callbacks of {}: {}", job_id_string(key), r.error().message);
    auto it = feeds.find(key);
    if (it != feeds.end()) it->second.sent = std::max(it->second.sent, end);
  }

  // POSTs one batch, retrying with backoff; counts the outcome.
  asio::awaitable<void> send_batch(const std::string& job_id, Batch b) {
    const auto& events = b.events;
    const std::string& url = b.url;
    const std::uint64_t batch = b.number, dropped = b.dropped;
    std::string body = fmt::format(R"({{"type":"crier.events","job_id":"{}","batch":{},"dropped":{},"events":[{}]}})",
                                   job_id, batch, dropped, fmt::join(events, ","));
    const std::string id = fmt::format("{}.{}", job_id, batch);
    bool delivered = false;
    for (unsigned attempt = 1; attempt <= options.max_attempts; ++attempt) {
      HttpRequest req;
      req.url = url;
      req.body = body;
      req.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", id}};
      Result<HttpResponse> r = make_error(ErrorKind::internal, "not_sent", "not sent");
      bool signed_or_unsigned = true;
      if (options.signing) {
        auto now_s = now_unix_ms() / 1000;
        auto signature = options.signing->sign(b.tenant, id, now_s, body);
        if (signature) {
          req.headers.emplace_back("webhook-id", id);
          req.headers.emplace_back("webhook-timestamp", std::to_string(now_s));
          req.headers.emplace_back("webhook-signature", std::move(*signature));
        } else {
          r = signature.error();  // never sent unsigned: tried again like a failed POST
          signed_or_unsigned = false;
        }
      }
      if (signed_or_unsigned) r = co_await client.request(std::move(req));
      if (r && r->status >= 200 && r->status < 300) {
        delivered = true;
        break;
      }
      spdlog::warn("callback {} to {}: {}", id, url,
                   r ? fmt::format("HTTP {}", r->status) : r.error().message);
      if (!worth_retrying(r) || attempt == options.max_attempts) break;
      std::chrono::milliseconds wait = std::min<std::chrono::milliseconds>(
          options.backoff_max, options.backoff_base * (std::int64_t{1} << std::min(attempt - 1, 20u)));
      co_await sleep(wait);
      std::lock_guard lock(mu);
      if (stopping) co_return;
    }
    std::lock_guard lock(mu);
    if (delivered) {
      ++stats.batches_sent;
      stats.events_sent += events.size();
    } else {
      ++stats.batches_failed;
      stats.events_dropped += events.size();
    }
  }
};

CallbackNotifier::CallbackNotifier(JobStore& store, CallbackOutbox& outbox, CallbackOptions options)
    : impl_(std::make_unique<Impl>(store, outbox, std::move(options))) {}

CallbackNotifier::~CallbackNotifier() = default;

void CallbackNotifier::on_recipients_changed(const Job& job, std::span<const RecipientView> changed) {
  if (job.spec.callback_url.empty() || changed.empty()) return;
  std::vector<std::string> events;
  events.reserve(changed.size());
  for (const auto& v : changed) events.push_back(recipient_event(job, v));
  impl_->push(job, events, std::nullopt, false);
}

void CallbackNotifier::on_job_status(const Job& job) {
  if (job.spec.callback_url.empty()) return;
  const std::string id = status_event_id(job);
  // Recovery reports the status of every job it resumes: one already in the
  // outbox (or sent from it) is not stored twice.
  if (auto last = impl_->outbox.last_status_event(job.key); last && *last && **last == id) return;
  json::object e{{"id", id}, {"type", "job.status"}, {"job_id", job.id()}, {"status", to_string(job.status)},
                 {"at", format_rfc3339(job.updated_at)}};
  if (is_final(job.status)) {
    if (auto c = impl_->store.counters(job.key)) {
      json::object counters;
      for (std::size_t i = 0; i < kCounterCount; ++i) counters[to_string(static_cast<Counter>(i))] = c->values[i];
      e["counters"] = std::move(counters);
    }
  }
  const std::string event = json::serialize(e);
  impl_->push(job, std::span<const std::string>(&event, 1), id, is_final(job.status));
}

Result<void> CallbackNotifier::recover() {
  // Events a previous run stored and did not deliver.
  auto pending = impl_->outbox.jobs_with_events();
  if (!pending) return pending.error();
  for (const JobKey& key : *pending) {
    auto job = impl_->store.find_job(key);
    if (!job) return job.error();
    if (!*job || (*job)->spec.callback_url.empty()) continue;
    std::lock_guard lock(impl_->mu);
    impl_->feed_of(**job);
  }
  // Each job's latest status, when its event was never stored.
  return impl_->store.for_each_job(
      [&](const Job& job) {
        if (!job.spec.callback_url.empty()) on_job_status(job);
      },
      [](std::string_view key_hex, std::string_view why) {
        spdlog::error("callbacks: job {} skipped: {}", key_hex, why);
      });
}

CallbackStats CallbackNotifier::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace crier
