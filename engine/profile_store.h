// The storage of a tenant's profiles, declared here and implemented in
// storage/ (RocksDB). Every method is thread-safe; writes are synced
// before they return. A profile's aliases are indexed in the same atomic
// write as the profile, so an alias names at most one profile of a tenant.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/profile.h"
#include "engine/result.h"

namespace crier {

class ProfileStore {
 public:
  virtual ~ProfileStore() = default;

  // Reads the profile (none if it does not exist), calls `change` with it
  // and stores what it returns, as one atomic step: changes of one tenant's
  // profiles never interleave, so no update is lost. An error from `change`
  // is returned and nothing is written. Errors: alias_in_use (conflict) when
  // the new profile names an alias another profile of the tenant holds.
  // Returns the stored profile and whether it was created.
  struct Upserted {
    Profile profile;
    bool created = false;
  };
  using ProfileChange = std::function<Result<Profile>(const std::optional<Profile>&)>;
  virtual Result<Upserted> upsert_profile(std::string_view tenant, std::string_view user_id,
                                          const ProfileChange& change) = 0;
  // Many changes in ONE atomic, synced write (a bulk import's batch):
  // entry i changes the profile `user_ids[i]`, in order, with `change(i,
  // current)`, where current is the profile as the entries before it left
  // it (an id may come more than once). Like upsert_profile, under the same
  // one-at-a-time step. What one entry does wrong is that entry's outcome
  // and writes nothing of it: the error `change` returned, or alias_in_use
  // (conflict) for an alias another profile holds, stored or taken earlier
  // in the batch. Only a failed read or write fails the call, and then
  // nothing of the batch is written. One outcome per entry, in order.
  struct BatchOutcome {
    std::optional<Error> error;  // refused: why
    bool created = false;        // stored, and the profile was new
  };
  using BatchChange = std::function<Result<Profile>(std::size_t index, const std::optional<Profile>& current)>;
  virtual Result<std::vector<BatchOutcome>> upsert_profiles(std::string_view tenant,
                                                            std::span<const std::string_view> user_ids,
                                                            const BatchChange& change) = 0;
  virtual Result<std::optional<Profile>> find_profile(std::string_view tenant, std::string_view user_id) = 0;
  // The user_id holding the alias, if any.
  virtual Result<std::optional<std::string>> find_profile_by_alias(std::string_view tenant,
                                                                    const ProfileAlias& alias) = 0;
  // Removes the profile, its aliases, its send history (frequency caps) and
  // the user's list memberships (engine/user_list.h), which a user may have
  // without a profile; returns whether there was a profile or a membership.
  virtual Result<bool> delete_profile(std::string_view tenant, std::string_view user_id) = 0;
  // Many profiles at once, as dispatch reads them: one entry per id, in
  // order (none where there is no profile). A record that does not decode
  // is reported as unreadable for its own id; only a failed read fails all.
  struct Found {
    std::optional<Profile> profile;
    bool unreadable = false;
  };
  virtual Result<std::vector<Found>> find_profiles(std::string_view tenant,
                                                   std::span<const std::string_view> user_ids) = 0;
  // False when the tenant has no profile at all (remembered in memory, so
  // ingest and dispatch look nothing up for a tenant that keeps none). True
  // may be stale after deletes; an error reads as true.
  virtual Result<bool> may_have_profiles(std::string_view tenant) = 0;
  // The tenant's profiles in user_id (byte) order after `after_id`.
  virtual Result<std::vector<Profile>> list_profiles(std::string_view tenant, std::string_view after_id,
                                                     std::size_t limit) = 0;
};

}  // namespace crier
