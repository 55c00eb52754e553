#include "engine/job_service.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/render.h"

namespace crier {

JobService::JobService(JobStore& jobs, TemplateStore& templates, Clock clock)
    : jobs_(jobs), templates_(templates), clock_(std::move(clock)) {}

std::mutex& JobService::lock_for(const JobKey& key) {
  std::size_t h = 0;
  for (auto b : key) h = h * 131 + b;
  return locks_[h % locks_.size()];
}

std::mutex& JobService::sender_lock(std::string_view tenant, std::string_view sender) {
  std::size_t h = std::hash<std::string_view>{}(tenant) * 31 + std::hash<std::string_view>{}(sender);
  return sender_locks_[h % sender_locks_.size()];
}

namespace {

Error unknown_sender(std::string_view id) {
  return make_error(ErrorKind::unprocessable, "unknown_sender", fmt::format("no WhatsApp sender '{}' exists", id),
                    "sender");
}

// The unique recipients of a new job's first entries: what its store will
// accept (a fresh job has no earlier recipients to be duplicates of).
std::int64_t unique_entries(std::span<const IngestEntry> entries) {
  std::set<DedupeKey> seen;
  std::int64_t unkeyed = 0;
  for (const auto& e : entries) {
    if (e.dedupe) seen.insert(*e.dedupe);
    else ++unkeyed;
  }
  return static_cast<std::int64_t>(seen.size()) + unkeyed;
}

// The commit insert_job_with made of these entries for a new job: the first
// of each identity accepted in order (seqs from 0), the others duplicates.
// Pure, so an attempt that finds its job already made answers as the first.
IngestCommit first_commit(std::span<const IngestEntry> entries, std::int64_t rejected) {
  IngestCommit c;
  std::set<DedupeKey> seen;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].dedupe && !seen.insert(*entries[i].dedupe).second) {
      c.duplicate_entries.push_back(static_cast<std::uint32_t>(i));
      ++c.duplicates;
    } else {
      ++c.accepted;
    }
  }
  c.counters[Counter::received] = static_cast<std::int64_t>(entries.size()) + rejected;
  c.counters[Counter::unique] = c.accepted;
  c.counters[Counter::pending] = c.accepted;
  c.counters[Counter::duplicates] = c.duplicates;
  c.counters[Counter::rejected] = rejected;
  return c;
}

}  // namespace

Result<Job> JobService::committed_job(std::string_view tenant, const JobKey& key) {
  auto job = jobs_.find_job(key);
  if (!job) return job.error();
  if (!*job || (*job)->tenant != tenant)
    return make_error(ErrorKind::internal, "storage_corrupt",
                      "an Idempotency-Key's record names a job that does not exist");
  return std::move(**job);
}

Result<void> JobService::apply_sender(std::string_view tenant, JobSpec& spec) {
  if (spec.sender.empty()) return {};
  if (spec.channel != Channel::whatsapp)
    return make_error(ErrorKind::invalid, "invalid_sender", "only a whatsapp job can name a sender", "sender");
  if (!senders_) return unknown_sender(spec.sender);
  auto sender = senders_->find_sender(tenant, spec.sender);
  if (!sender) return sender.error();
  if (!*sender) return unknown_sender(spec.sender);
  const Sender& s = **sender;
  if (spec.provider.empty()) {
    spec.provider = s.provider;
  } else if (!s.provider.empty() && spec.provider != s.provider) {
    return make_error(ErrorKind::unprocessable, "sender_provider_mismatch",
                      fmt::format("sender '{}' is carried by provider '{}', not '{}'", s.phone_number_id, s.provider,
                                  spec.provider),
                      "provider");
  }
  spec.rate_limit = spec.rate_limit > 0 ? std::min(spec.rate_limit, s.messages_per_second) : s.messages_per_second;
  return {};
}

Result<void> JobService::reserve_quota(
    const Job& job, std::int64_t needed,
    const std::function<Result<void>(const std::optional<QuotaReservation>&)>& write) {
  const std::string& id = job.spec.sender;
  if (id.empty() || needed <= 0) return write(std::nullopt);
  if (!senders_) return unknown_sender(id);
  std::lock_guard lock(sender_lock(job.tenant, id));
  auto sender = senders_->find_sender(job.tenant, id);
  if (!sender) return sender.error();
  if (!*sender) return unknown_sender(id);
  const std::int64_t now = clock_();
  auto uses = senders_->quota_uses(job.tenant, id, now - kQuotaWindowMs);
  if (!uses) return uses.error();
  const MessagingTier tier = (*sender)->tier;
  const QuotaCheck check = check_quota(tier, *uses, needed, now);
  if (!check.can_send) {
    const std::int64_t total = check.before.total.value_or(0);
    const std::int64_t available = check.before.available.value_or(0);
    auto e = make_error(ErrorKind::exhausted, "sender_quota_exceeded",
                        fmt::format("sender '{}' ({}) has {} of its {} conversations per 24 hours left; this send needs {}",
                                    id, to_string(tier), available, total, needed),
                        "sender");
    e.details = {{"quota_needed", needed}, {"quota_available", available}, {"quota_total", total},
                 {"quota_used_24h", check.before.used}};
    if (check.fits_at_ms)
      e.details.emplace_back("retry_after_seconds",
                             std::max<std::int64_t>(1, (*check.fits_at_ms - now + 999) / 1000));
    return e;
  }
  return write(QuotaReservation{job.tenant, id, job.key, now, needed});
}

Result<Job> JobService::create(std::string_view tenant, JobSpec spec, const IdempotencyClaim* claim) {
  if (claim && claim->committed_job) return committed_job(tenant, *claim->committed_job);
  auto job = prepare(tenant, std::move(spec));
  if (!job) return job;
  if (auto r = jobs_.insert_job(*job, claim); !r) return r.error();
  if (events_) events_->on_job_event(*job, JobEvent::created, std::nullopt);
  return job;
}

Result<IngestCommit> JobService::create_with(Job& job, std::span<const IngestEntry> entries, std::int64_t rejected,
                                             bool run, bool sync, const IdempotencyClaim* claim) {
  if (claim && claim->committed_job) {
    auto made = committed_job(job.tenant, *claim->committed_job);
    if (!made) return made.error();
    job = std::move(*made);
    return first_commit(entries, rejected);
  }
  Job stored = job;
  if (run) {
    auto started = apply_action(stored, JobAction::run);
    if (!started) return started.error();
    stored = std::move(*started);
  }
  Result<IngestCommit> c = make_error(ErrorKind::internal, "unreachable", "");
  // Only a started job consumes quota; a CREATED one reserves when it runs.
  auto written = reserve_quota(stored, run ? unique_entries(entries) : 0,
                               [&](const std::optional<QuotaReservation>& reservation) -> Result<void> {
                                 c = jobs_.insert_job_with(stored, entries, rejected, sync, reservation, claim);
                                 if (!c) return c.error();
                                 return {};
                               });
  if (!written) return written.error();
  job = std::move(stored);
  if (events_) {
    events_->on_job_event(job, JobEvent::created, std::nullopt);
    events_->on_users_ingested(job, c->accepted, c->duplicates, rejected);
    if (run) events_->on_job_event(job, event_of(JobAction::run, job.status), JobStatus::created);
  }
  if (run && listener_) listener_->on_status_changed(job);
  return c;
}

Result<Job> JobService::prepare(std::string_view tenant, JobSpec spec) {
  if (spec.routing) {
    if (auto r = check_routing(*spec.routing); !r) return r.error();
    spec.channel = spec.routing->channels.front();
    // One provider cannot carry several channels (a webhook endpoint sends
    // no email): a routed job's channels each take their configured one.
    if (!spec.provider.empty() && spec.routing->channels.size() > 1)
      return make_error(ErrorKind::invalid, "invalid_field",
                        "provider cannot be given with a routing of several channels: each channel "
                        "goes through its configured provider (dispatch.channels)",
                        "provider");
  }
  if (auto r = apply_sender(tenant, spec); !r) return r.error();
  // The one place a job's providers are checked against its tenant: every
  // create (native, with users, the vendors' façades) prepares first, and
  // after the sender has set its provider, so that one is checked too.
  if (access_)
    if (auto r = access_->check(tenant, spec); !r) return r.error();
  if (!spec.template_id.empty()) {
    auto t = templates_.find_template(tenant, spec.template_id);
    if (!t) return t.error();
    if (!*t)
      return make_error(ErrorKind::unprocessable, "unknown_template",
                        fmt::format("no template '{}' exists", spec.template_id), "template");
    spec.content = (*t)->content;
  }
  if (auto r = check_templates(spec.content); !r) return r.error();
  // Every channel the job may send on must be renderable from the content
  // (base variant).
  if (auto r = JobRenderer::compile(spec); !r) return r.error();

  Job job;
  job.created_at = job.updated_at = clock_();
  job.key = new_job_key(job.created_at);
  job.tenant = tenant;
  job.spec = std::move(spec);
  job.status = JobStatus::created;
  return job;
}

Result<Job> JobService::get(std::string_view tenant, std::string_view job_id) {
  auto key = parse_job_id(job_id);
  auto not_found = [&] {
    return make_error(ErrorKind::not_found, "job_not_found", fmt::format("no job '{}'", job_id));
  };
  if (!key) return not_found();
  auto job = jobs_.find_job(*key);
  if (!job) return job.error();
  if (!*job || (*job)->tenant != tenant) return not_found();
  return std::move(**job);
}

Result<IngestCommit> JobService::ingest(const Job& job, std::span<const IngestEntry> entries,
                                        std::int64_t rejected, bool sync, const AnswerOfCommit& answer) {
  Result<IngestCommit> c = make_error(ErrorKind::internal, "unreachable", "");
  {
    std::lock_guard lock(lock_for(job.key));
    auto current = jobs_.find_job(job.key);
    if (!current) return current.error();
    if (!*current) return make_error(ErrorKind::not_found, "job_not_found", "the job is gone");
    // The caller's copy of the job may be stale: the stored one decides.
    if ((*current)->status != JobStatus::created) {
      auto e = make_error(ErrorKind::conflict, "invalid_state_transition",
                          fmt::format("users can be added only while the job is CREATED; it is {}",
                                      to_string((*current)->status)));
      e.status = std::string(to_string((*current)->status));
      return e;
    }
    c = jobs_.ingest(job.key, entries, rejected, sync, answer);
  }
  if (c && events_) events_->on_users_ingested(job, c->accepted, c->duplicates, rejected);
  return c;
}

Result<Job> JobService::apply(std::string_view tenant, std::string_view job_id, JobAction action,
                              const IdempotencyClaim* claim) {
  auto job = get(tenant, job_id);
  if (!job) return job.error();
  // Done by the attempt whose answer was lost: not again.
  if (claim && claim->committed_job == job->key) return job;
  Result<Job> result = make_error(ErrorKind::internal, "unreachable", "");
  JobStatus from = JobStatus::created;
  {
    std::lock_guard lock(lock_for(job->key));
    auto current = jobs_.find_job(job->key);
    if (!current) return current.error();
    if (!*current) return make_error(ErrorKind::not_found, "job_not_found", "no such job");
    from = (*current)->status;
    result = apply_locked(std::move(**current), action, claim);
  }
  if (result && events_) events_->on_job_event(*result, event_of(action, result->status), from);
  if (result && listener_) listener_->on_status_changed(*result);
  return result;
}

Result<Job> JobService::apply(const JobKey& key, JobAction action) {
  Result<Job> result = make_error(ErrorKind::internal, "unreachable", "");
  JobStatus from = JobStatus::created;
  {
    std::lock_guard lock(lock_for(key));
    auto job = jobs_.find_job(key);
    if (!job) return job.error();
    if (!*job) return make_error(ErrorKind::not_found, "job_not_found", "no such job");
    from = (*job)->status;
    result = apply_locked(std::move(**job), action);
  }
  if (result && events_) events_->on_job_event(*result, event_of(action, result->status), from);
  if (result && listener_) listener_->on_status_changed(*result);
  return result;
}

Result<Job> JobService::set_rate_limit(std::string_view tenant, std::string_view job_id, double rate) {
  auto job = get(tenant, job_id);
  if (!job) return job.error();
  Result<Job> result = make_error(ErrorKind::internal, "unreachable", "");
  {
    std::lock_guard lock(lock_for(job->key));
    auto current = jobs_.find_job(job->key);
    if (!current) return current.error();
    if (!*current) return make_error(ErrorKind::not_found, "job_not_found", "the job is gone");
    Job j = std::move(**current);
    if (is_final(j.status)) {
      auto e = make_error(ErrorKind::conflict, "invalid_state_transition",
                          fmt::format("the rate limit of a {} job cannot change", to_string(j.status)));
      e.status = std::string(to_string(j.status));
      return e;
    }
    j.spec.rate_limit = rate;
    j.updated_at = clock_();
    if (auto r = jobs_.update_job(j); !r) return r.error();
    result = std::move(j);
  }
  return result;
}

std::optional<ReceiptKind> parse_receipt_kind(std::string_view s) {
  if (s == "delivered") return ReceiptKind::delivered;
  if (s == "read") return ReceiptKind::read;
  if (s == "failed") return ReceiptKind::failed;
  return std::nullopt;
}

Result<RecipientView> JobService::apply_receipt(std::string_view tenant, const Receipt& receipt) {
  auto not_found = [&] {
    return make_error(ErrorKind::not_found, "message_not_found",
                      fmt::format("no message '{}'", receipt.message_id), "message_id");
  };
  auto id = parse_message_id(receipt.message_id);
  if (!id) return not_found();
  auto job = jobs_.find_job(id->first);
  if (!job) return job.error();
  if (!*job || (*job)->tenant != tenant) return not_found();

  // Under the job's lock, so two receipts for one message never both count.
  std::lock_guard lock(lock_for(id->first));
  auto found = jobs_.find_recipient(id->first, id->second);
  if (!found) return found.error();
  if (!*found) return not_found();
  RecipientView view = std::move(**found);
  RecipientState& s = view.state;
  const RecipientStatus before = s.status;
  if (before != RecipientStatus::sent && before != RecipientStatus::delivered) {
    if (receipt.kind == ReceiptKind::failed && before == RecipientStatus::failed) return view;
    auto e = make_error(ErrorKind::conflict, "receipt_not_applicable",
                        fmt::format("the message is {}: only a SENT or DELIVERED message takes a receipt",
                                    to_string(before)),
                        "message_id");
    e.status = std::string(to_string(before));
    return e;
  }
  JobCounters delta;
  const std::int64_t now = clock_();
  const std::int64_t delivered_before = s.delivered_at;
  switch (receipt.kind) {
    case ReceiptKind::delivered:
      s.status = RecipientStatus::delivered;
      if (s.delivered_at == 0) s.delivered_at = now;
      break;
    case ReceiptKind::read:
      s.status = RecipientStatus::delivered;
      if (s.read_at == 0) {
        s.read_at = now;
        delta[Counter::read] += 1;
      }
      break;
    case ReceiptKind::failed:
      s.status = RecipientStatus::failed;
      s.error_code = receipt.error_code.empty() ? "bounced" : receipt.error_code;
      s.error_message = receipt.error_message.empty() ? "the provider reported the message undelivered"
                                                      : receipt.error_message;
      break;
  }
  // A repeated receipt changes nothing (a first `delivered` after a `read`
  // still records when delivery was reported).
  if (s.status == before && delta.empty() && s.delivered_at == delivered_before) return view;
  if (s.status != before) count_transition(delta, before, s.status);
  s.updated_at = now;
  StateChange change{view.recipient.seq, s, 0};
  if (auto r = jobs_.commit_states(id->first, std::span(&change, 1), delta, std::nullopt, true); !r)
    return r.error();
  return view;
}

Result<Job> JobService::apply_locked(Job job, JobAction action, const IdempotencyClaim* claim) {
  JobCounters counters;
  const bool reserves = action == JobAction::run && !job.spec.sender.empty();
  // finish and cancel depend on what is outstanding.
  if (action == JobAction::finish || action == JobAction::cancel || reserves) {
    auto c = jobs_.counters(job.key);
    if (!c) return c.error();
    counters = *c;
  }
  auto next = apply_action(std::move(job), action, counters);
  if (!next) return next;
  if (reserves) {
    auto written = reserve_quota(*next, counters[Counter::unique],
                                 [&](const std::optional<QuotaReservation>& reservation) -> Result<void> {
                                   return reservation ? jobs_.update_job_with(*next, *reservation, claim)
                                                      : jobs_.update_job(*next, claim);
                                 });
    if (!written) return written.error();
    return next;
  }
  if (auto r = jobs_.update_job(*next, claim); !r) return r.error();
  return next;
}

Result<Job> JobService::apply_action(Job job, JobAction action, const JobCounters& counters) {
  std::int64_t now = clock_();
  auto next = next_status(job, action, now, counters);
  if (!next) {
    Error e = next.error();
    e.status = std::string(to_string(job.status));
    return e;
  }
  job.status = *next;
  job.updated_at = now;
  if (job.status == JobStatus::processing && !job.started_at) job.started_at = now;
  if (is_final(job.status)) job.finished_at = now;
  return job;
}

}  // namespace crier
