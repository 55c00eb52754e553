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
  json::object e{{"type", "recipient.status"},
                 {"job_id", job.id()},
                 {"seq", v.recipient.seq},
                 {"message_id", message_id(job.key, v.recipient.seq)},
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
  return c;
}

}  // namespace

struct CallbackNotifier::Impl {
  struct Feed {
    std::string url;
    std::string tenant;
    std::deque<std::string> events;  // serialised JSON objects
    std::uint64_t dropped = 0;       // since the last batch
    bool finished = false;           // the job reached a final status
  };

  JobStore& store;
  CallbackOptions options;
  PooledHttpClient client;

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

  Impl(JobStore& s, CallbackOptions o)
      : store(s), options(std::move(o)), client(client_options(options)) {
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

  // Queues an event; starts the job's sender when it has none. Never blocks
  // on the network.
  void push(const Job& job, std::string event, bool final_event) {
    bool start = false;
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      auto [it, inserted] = feeds.try_emplace(job.key);
      Feed& f = it->second;
      start = inserted;
      if (inserted) {
        f.url = job.spec.callback_url;
        f.tenant = job.tenant;
        // A feed that starts after the job's final event (a cancel sweep)
        // ends once drained, like the first one.
        f.finished = is_final(job.status);
      }
      if (f.events.size() >= options.max_queued_per_job) {
        f.events.pop_front();
        ++f.dropped;
        ++stats.events_dropped;
      }
      f.events.push_back(std::move(event));
      if (final_event) f.finished = true;
    }
    if (start)
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
  }

  asio::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
  }

  // One job's sender: a batch per interval until the job is final and its
  // queue is empty.
  asio::awaitable<void> run_feed(JobKey key, std::string job_id) {
    for (;;) {
      co_await sleep(options.interval);
      // No `continue` around co_await in this loop: g++ 12 miscompiles some.
      auto next = take_batch(key);
      if (next.stop) co_return;
      if (!next.events.empty()) co_await send_batch(job_id, std::move(next));
    }
  }

  struct Batch {
    bool stop = false;  // the feed is done (or the notifier stopping)
    std::vector<std::string> events;
    std::uint64_t dropped = 0, number = 0;
    std::string url, tenant;
  };

  // The next batch of a job's feed; empty when there is nothing to send yet.
  Batch take_batch(const JobKey& key) {
    Batch b;
    std::lock_guard lock(mu);
    if (stopping) {
      b.stop = true;
      return b;
    }
    Feed& f = feeds[key];
    if (f.events.empty()) {
      if (f.finished) {
        feeds.erase(key);
        b.stop = true;
      }
      return b;
    }
    std::size_t n = std::min(f.events.size(), options.max_batch);
    b.events.assign(std::make_move_iterator(f.events.begin()), std::make_move_iterator(f.events.begin() + n));
    f.events.erase(f.events.begin(), f.events.begin() + n);
    b.dropped = std::exchange(f.dropped, 0);
    b.number = ++last_batch;
    b.url = f.url;
    b.tenant = f.tenant;
    return b;
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

CallbackNotifier::CallbackNotifier(JobStore& store, CallbackOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}

CallbackNotifier::~CallbackNotifier() = default;

void CallbackNotifier::on_recipients_changed(const Job& job, std::span<const RecipientView> changed) {
  if (job.spec.callback_url.empty()) return;
  for (const auto& v : changed) impl_->push(job, recipient_event(job, v), false);
}

void CallbackNotifier::on_job_status(const Job& job) {
  if (job.spec.callback_url.empty()) return;
  json::object e{{"type", "job.status"}, {"job_id", job.id()}, {"status", to_string(job.status)},
                 {"at", format_rfc3339(job.updated_at)}};
  if (is_final(job.status)) {
    if (auto c = impl_->store.counters(job.key)) {
      json::object counters;
      for (std::size_t i = 0; i < kCounterCount; ++i) counters[to_string(static_cast<Counter>(i))] = c->values[i];
      e["counters"] = std::move(counters);
    }
  }
  impl_->push(job, json::serialize(e), is_final(job.status));
}

CallbackStats CallbackNotifier::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace crier
