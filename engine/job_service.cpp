#include "engine/job_service.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "engine/render.h"

namespace crier {

JobService::JobService(JobStore& jobs, TemplateStore& templates, Clock clock)
    : jobs_(jobs), templates_(templates), clock_(std::move(clock)) {}

std::mutex& JobService::lock_for(const JobKey& key) {
  std::size_t h = 0;
  for (auto b : key) h = h * 131 + b;
  return locks_[h % locks_.size()];
}

Result<Job> JobService::create(std::string_view tenant, JobSpec spec) {
  if (!spec.template_id.empty()) {
    auto t = templates_.find_template(tenant, spec.template_id);
    if (!t) return t.error();
    if (!*t)
      return make_error(ErrorKind::unprocessable, "unknown_template",
                        fmt::format("no template '{}' exists", spec.template_id), "template");
    spec.content = (*t)->content;
  }
  if (auto r = check_templates(spec.content); !r) return r.error();
  // The job's channel must be renderable from the content (base variant).
  if (auto r = JobRenderer::compile(spec); !r) return r.error();

  Job job;
  job.created_at = job.updated_at = clock_();
  job.key = new_job_key(job.created_at);
  job.tenant = tenant;
  job.spec = std::move(spec);
  job.status = JobStatus::created;
  if (auto r = jobs_.insert_job(job); !r) return r.error();
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
                                        std::int64_t rejected, bool sync) {
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
  return jobs_.ingest(job.key, entries, rejected, sync);
}

Result<Job> JobService::apply(std::string_view tenant, std::string_view job_id, JobAction action) {
  auto job = get(tenant, job_id);
  if (!job) return job.error();
  return apply(job->key, action);
}

Result<Job> JobService::apply(const JobKey& key, JobAction action) {
  Result<Job> result = make_error(ErrorKind::internal, "unreachable", "");
  {
    std::lock_guard lock(lock_for(key));
    auto job = jobs_.find_job(key);
    if (!job) return job.error();
    if (!*job) return make_error(ErrorKind::not_found, "job_not_found", "no such job");
    result = apply_locked(std::move(**job), action);
  }
  if (result && listener_) listener_->on_status_changed(*result);
  return result;
}

Result<Job> JobService::apply_locked(Job job, JobAction action) {
  JobCounters counters;
  if (action == JobAction::finish) {
    auto c = jobs_.counters(job.key);
    if (!c) return c.error();
    counters = *c;
  }
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
  if (auto r = jobs_.update_job(job); !r) return r.error();
  return job;
}

}  // namespace crier
