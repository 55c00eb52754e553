#include "workers/dispatcher.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/render.h"
#include "engine/time_format.h"
#include "engine/token_bucket.h"

namespace crier {
namespace asio = boost::asio;

namespace {

std::string address_for(const Job& job, const Recipient& r) {
  switch (job.spec.channel) {
    case Channel::email: return r.email;
    case Channel::sms:
    case Channel::whatsapp: return r.phone;
    case Channel::push: return r.push_token;
    case Channel::webhook: return r.webhook_url.empty() ? job.spec.webhook_url : r.webhook_url;
  }
  return {};
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Dispatcher::Dispatcher(JobService& service, JobStore& store, DispatchOptions options)
    : service_(service), store_(store), options_(std::move(options)) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::add_provider(std::unique_ptr<Provider> provider) {
  std::string name(provider->name());
  providers_[name] = std::move(provider);
}

bool Dispatcher::has_provider(std::string_view name) const { return providers_.count(name) > 0; }

void Dispatcher::start() {
  work_.emplace(io_.get_executor());
  for (unsigned i = 0; i < std::max(1u, options_.threads); ++i)
    threads_.emplace_back([this] { io_.run(); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [key, timer] : timers_) timer->cancel();
  }
  work_.reset();  // loops end at their next window boundary, then run() returns
  for (auto& t : threads_) t.join();
  threads_.clear();
}

Result<void> Dispatcher::recover() {
  std::vector<Job> jobs;
  auto r = store_.for_each_job([&](const Job& job) {
    if (job.status == JobStatus::processing || job.status == JobStatus::scheduled ||
        job.status == JobStatus::cancelled)
      jobs.push_back(job);
  });
  if (!r) return r;
  for (const auto& job : jobs) {
    if (job.status == JobStatus::cancelled) {
      auto c = store_.counters(job.key);
      if (!c) return c.error();
      if (c->outstanding() == 0) continue;
    }
    spdlog::info("recovering job {} ({})", job.id(), to_string(job.status));
    on_status_changed(job);
  }
  return {};
}

void Dispatcher::on_status_changed(const Job& job) {
  switch (job.status) {
    case JobStatus::processing:
    case JobStatus::cancelled: ensure_loop(job.key); break;
    case JobStatus::scheduled: arm_schedule(job); break;
    default: break;  // a paused loop notices at its next window
  }
}

double Dispatcher::rate_per_second(const JobKey& job) const {
  std::lock_guard lock(mu_);
  auto it = meters_.find(job);
  return it == meters_.end() ? 0.0 : it->second->per_second();
}

std::size_t Dispatcher::running_jobs() const {
  std::lock_guard lock(mu_);
  return running_.size();
}

void Dispatcher::ensure_loop(const JobKey& key) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (running_.count(key)) {
      rerun_.insert(key);  // the running loop may be on its way out: make it look again
      return;
    }
    running_.insert(key);
    meters_.try_emplace(key, std::make_shared<RateMeter>());
  }
  // Spawned outside the lock: on a pool thread (a schedule timer firing)
  // co_spawn starts the loop inline, and the loop takes mu_ itself.
  asio::co_spawn(io_, run_loop(key), [id = job_id_string(key)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("dispatch loop of {} ended by an exception: {}", id, ex.what());
    }
  });
}

void Dispatcher::arm_schedule(const Job& job) {
  if (!job.spec.schedule_at) return;
  std::lock_guard lock(mu_);
  if (stopping_) return;
  auto delay = std::chrono::milliseconds(std::max<std::int64_t>(0, *job.spec.schedule_at - now_unix_ms()));
  auto timer = std::make_unique<asio::steady_timer>(io_, delay);
  JobKey key = job.key;
  timer->async_wait([this, key](boost::system::error_code ec) {
    {
      std::lock_guard lock(mu_);
      timers_.erase(key);
    }
    if (ec) return;  // cancelled at shutdown
    auto r = service_.apply(key, JobAction::start);
    if (!r && r.error().kind != ErrorKind::conflict)  // conflict: cancelled meanwhile
      spdlog::error("cannot start scheduled job {}: {}", job_id_string(key), r.error().message);
  });
  timers_[key] = std::move(timer);
}

Provider* Dispatcher::provider_for(const Job& job) {
  const std::string& name = job.spec.provider.empty() ? options_.default_provider : job.spec.provider;
  auto it = providers_.find(name);
  return it == providers_.end() ? nullptr : it->second.get();
}

asio::awaitable<void> Dispatcher::run_loop(JobKey key) {
  std::unique_ptr<JobRenderer> renderer;
  std::optional<TokenBucket> bucket;
  std::shared_ptr<RateMeter> meter;
  {
    std::lock_guard lock(mu_);
    meter = meters_[key];
  }
  const std::string id = job_id_string(key);
  for (;;) {
    bool more = false;
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    auto found = stopping ? Result<std::optional<Job>>(std::optional<Job>()) : store_.find_job(key);
    if (!found) spdlog::error("dispatch of {}: {}", id, found.error().message);
    if (found && *found) {
      const Job& job = **found;
      if (job.status == JobStatus::cancelled) {
        more = sweep_window(job, RecipientStatus::cancelled, "cancelled", "the job was cancelled");
      } else if (job.status == JobStatus::processing) {
        if (job.spec.expires_at && now_unix_ms() >= *job.spec.expires_at) {
          more = sweep_window(job, RecipientStatus::skipped, "expired",
                              "the job expired before this recipient was sent");
        } else {
          Provider* provider = provider_for(job);
          if (!renderer && provider) {
            auto compiled = JobRenderer::compile(job.spec);
            if (compiled) renderer = std::move(*compiled);
            else spdlog::error("dispatch of {}: {}", id, compiled.error().message);
          }
          if (!provider || !renderer) {
            more = sweep_window(job, RecipientStatus::failed,
                                provider ? "render_failed" : "unknown_provider",
                                provider ? "the job's content cannot be compiled"
                                         : "the job's provider is not configured");
          } else {
            // The job's own rate limit, re-read every window so a change applies at once.
            if (job.spec.rate_limit > 0) {
              if (!bucket) bucket.emplace(job.spec.rate_limit, std::max(1.0, job.spec.rate_limit / 10));
              else if (bucket->rate() != job.spec.rate_limit)
                bucket->set_rate(job.spec.rate_limit, std::max(1.0, job.spec.rate_limit / 10));
            } else {
              bucket.reset();
            }
            more = co_await dispatch_window(job, *renderer, *provider, *meter,
                                            bucket ? &*bucket : nullptr);
          }
        }
        if (!more) {
          auto r = service_.apply(key, JobAction::finish);
          if (!r && r.error().kind != ErrorKind::conflict)
            spdlog::error("cannot finish job {}: {}", id, r.error().message);
          else if (r)
            spdlog::info("job {} finished: {}", id, to_string(r->status));
        }
      }
    }
    if (more) continue;
    std::lock_guard lock(mu_);
    if (rerun_.erase(key) && !stopping_) continue;
    running_.erase(key);
    co_return;
  }
}

asio::awaitable<bool> Dispatcher::dispatch_window(const Job& job, JobRenderer& renderer,
                                                  Provider& provider, RateMeter& meter,
                                                  TokenBucket* bucket) {
  const std::string id = job.id();
  std::size_t window = options_.window;
  if (job.spec.rate_limit > 0)  // ~5 windows a second, so pacing is smooth
    window = std::clamp<std::size_t>(static_cast<std::size_t>(job.spec.rate_limit / 5), 1, window);

  auto cursor = store_.dispatch_cursor(job.key);
  if (!cursor) {
    spdlog::error("dispatch of {}: {}", id, cursor.error().message);
    co_return false;
  }
  auto page = store_.list_recipients(job.key, *cursor, window, std::nullopt, window);
  if (!page) {
    spdlog::error("dispatch of {}: {}", id, page.error().message);
    co_return false;
  }
  if (page->items.empty()) co_return false;
  const std::uint64_t next_cursor = page->next_seq ? *page->next_seq : page->items.back().recipient.seq + 1;

  // 1. ENQUEUED, not synced (see the header).
  std::int64_t now = now_unix_ms();
  std::vector<StateChange> enqueued;
  JobCounters delta;
  for (auto& item : page->items) {
    if (is_final(item.state.status)) continue;
    if (item.state.status == RecipientStatus::pending) {
      count_transition(delta, RecipientStatus::pending, RecipientStatus::enqueued);
      item.state.status = RecipientStatus::enqueued;
      item.state.updated_at = now;
      enqueued.push_back({item.recipient.seq, item.state});
    }
  }
  if (!enqueued.empty()) {
    auto r = store_.commit_states(job.key, enqueued, delta, std::nullopt, false);
    if (!r) {
      spdlog::error("dispatch of {}: {}", id, r.error().message);
      co_return false;
    }
  }

  // 2. Render and send.
  std::vector<OutboundMessage> messages;
  std::vector<std::size_t> message_item;  // page index of each message
  std::vector<StateChange> final_states;
  std::vector<bool> active(page->items.size(), false);  // handled by this window
  delta = JobCounters{};
  for (std::size_t i = 0; i < page->items.size(); ++i) {
    auto& item = page->items[i];
    if (item.state.status != RecipientStatus::enqueued) continue;
    active[i] = true;
    auto rendered = renderer.render(item.recipient);
    if (!rendered) {
      item.state.attempts += 1;
      item.state.status = RecipientStatus::failed;
      item.state.error_code = rendered.error().code;
      item.state.error_message = rendered.error().message;
      continue;
    }
    OutboundMessage m;
    m.message_id = message_id(job.key, item.recipient.seq);
    m.job_id = id;
    m.seq = item.recipient.seq;
    m.channel = job.spec.channel;
    m.to = address_for(job, item.recipient);
    m.user_id = item.recipient.user_id;
    m.correlation_id = job.spec.correlation_id;
    m.content = std::move(*rendered);
    messages.push_back(std::move(m));
    message_item.push_back(i);
  }
  if (bucket && !messages.empty()) {
    double wait = bucket->reserve(steady_seconds(), static_cast<double>(messages.size()));
    if (wait > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor,
                           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(wait)));
      co_await t.async_wait(asio::use_awaitable);
    }
  }
  std::vector<DeliveryOutcome> outcomes;
  if (!messages.empty()) outcomes = co_await provider.send(messages);
  outcomes.resize(messages.size(), DeliveryOutcome{false, true, "no_outcome", "the provider gave no answer"});
  for (std::size_t k = 0; k < messages.size(); ++k) {
    auto& state = page->items[message_item[k]].state;
    state.attempts += 1;
    if (outcomes[k].ok) {
      state.status = RecipientStatus::sent;
      state.error_code.clear();
      state.error_message.clear();
    } else {
      state.status = RecipientStatus::failed;
      state.error_code = outcomes[k].error_code;
      state.error_message = outcomes[k].error_message;
    }
  }

  // 3. Final states, counters and cursor in one synced batch.
  now = now_unix_ms();
  std::int64_t finalized = 0;
  for (std::size_t i = 0; i < page->items.size(); ++i) {
    if (!active[i]) continue;
    auto& item = page->items[i];
    count_transition(delta, RecipientStatus::enqueued, item.state.status);
    item.state.updated_at = now;
    final_states.push_back({item.recipient.seq, item.state});
    ++finalized;
  }
  auto r = store_.commit_states(job.key, final_states, delta, next_cursor, true);
  if (!r) {
    spdlog::error("dispatch of {}: {}", id, r.error().message);
    co_return false;
  }
  meter.add(finalized);
  co_return true;
}

bool Dispatcher::sweep_window(const Job& job, RecipientStatus to, const char* code,
                              const char* message) {
  auto cursor = store_.dispatch_cursor(job.key);
  if (!cursor) return false;
  auto page = store_.list_recipients(job.key, *cursor, options_.window, std::nullopt, options_.window);
  if (!page || page->items.empty()) return false;
  std::int64_t now = now_unix_ms();
  std::vector<StateChange> changes;
  JobCounters delta;
  for (auto& item : page->items) {
    if (is_final(item.state.status)) continue;
    count_transition(delta, item.state.status, to);
    item.state.status = to;
    item.state.error_code = code;
    item.state.error_message = message;
    item.state.updated_at = now;
    changes.push_back({item.recipient.seq, item.state});
  }
  const std::uint64_t next = page->next_seq ? *page->next_seq : page->items.back().recipient.seq + 1;
  auto r = store_.commit_states(job.key, changes, delta, next, true);
  if (!r) {
    spdlog::error("sweep of {}: {}", job.id(), r.error().message);
    return false;
  }
  return true;
}

}  // namespace crier
