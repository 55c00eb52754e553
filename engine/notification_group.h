// A notification group: a tenant's stored recipe for jobs. It fixes what a
// job sends and how (channel, template or inline content, provider, webhook
// URL); each job made from it brings only its recipients (and, natively, the
// per-job fields such as correlation_id). Blerify's "notification group" is
// one; natively `POST /v1/jobs {"notification_group": id, ...}`.
//
// A group is validated as the job spec it describes when it is stored, and
// again when a job is made from it (its template may have changed since).
// The jobs made from a group are filed under it by the store, in the same
// write as the job (JobSpec::notification_group), so a group's listing never
// misses a job that exists nor shows one that does not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ids.h"
#include "engine/result.h"

namespace crier {

struct NotificationGroup {
  std::string tenant;
  std::string id;  // 1-128 of [A-Za-z0-9._-]: never contains 0x00
  // The job-spec members the group fixes, as a JSON object in the native
  // spec's terms (channel, template | content, provider?, webhook_url?),
  // normalised.
  std::string spec_json;
  std::int64_t created_at = 0;  // unix ms
  std::int64_t updated_at = 0;
};

// A page of a group's jobs, oldest first.
struct GroupJobPage {
  std::vector<JobKey> jobs;
  std::optional<JobKey> next_after;  // the last job of this page when more follow
};

// Thread-safe; every write is synced.
class GroupStore {
 public:
  virtual ~GroupStore() = default;
  // Creates or replaces the group.
  virtual Result<void> put_group(const NotificationGroup& g) = 0;
  virtual Result<std::optional<NotificationGroup>> find_group(std::string_view tenant, std::string_view id) = 0;
  // Deletes the group and its list of jobs (the jobs themselves stay, in
  // /v1/jobs); returns whether it existed. A group made again under the same
  // id starts with no jobs.
  virtual Result<bool> delete_group(std::string_view tenant, std::string_view id) = 0;
  // The tenant's groups in id (byte) order after `after_id`.
  virtual Result<std::vector<NotificationGroup>> list_groups(std::string_view tenant, std::string_view after_id,
                                                             std::size_t limit) = 0;
  // The group's jobs in creation order, after `after` (none: from the first).
  virtual Result<GroupJobPage> list_group_jobs(std::string_view tenant, std::string_view group_id,
                                               std::optional<JobKey> after, std::size_t limit) = 0;
  // Whether the job is filed under the tenant's group (one point read).
  virtual Result<bool> group_has_job(std::string_view tenant, std::string_view group_id, const JobKey& job) = 0;
};

}  // namespace crier
