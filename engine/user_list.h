// A tenant's stored list of users: membership the sender decides by hand
// (a newsletter's readers, a beta group), unlike a segment's, which a
// filter decides. Jobs target a list ({"audience": {"list_id"}}), filters
// ask about it ({"list_membership"}), and Courier's `to.list_id` and
// `to.list_pattern` name lists. A member is a user_id; it need not have a
// profile (it is resolved against one at dispatch, as any user is).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.h"

namespace crier {

struct UserList {
  std::string tenant;
  std::string id;    // 1-128 bytes of [A-Za-z0-9._-]
  std::string name;  // free text, at most 256 bytes; empty: none
  std::int64_t members = 0;  // kept exactly, in the writes that change membership
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

inline constexpr std::size_t kMaxUserListNameBytes = 256;

// Declared here, implemented in storage/. Thread-safe; every write is one
// atomic, synced write, except delete_list, which removes a big list's
// memberships in bounded steps (each atomic) after the list is gone from
// every read: a list being deleted is, to every method here, no list.
class UserListStore {
 public:
  virtual ~UserListStore() = default;
  // Stores the list's name (an existing list keeps its created_at and its
  // members); returns whether it was new.
  virtual Result<bool> put_list(const UserList& list) = 0;
  virtual Result<std::optional<UserList>> find_list(std::string_view tenant, std::string_view id) = 0;
  // Removes the list and every membership of it; false when there was none.
  virtual Result<bool> delete_list(std::string_view tenant, std::string_view id) = 0;
  // The tenant's lists in id order after `after`.
  virtual Result<std::vector<UserList>> list_lists(std::string_view tenant, std::string_view after,
                                                   std::size_t limit) = 0;

  // Adds (or removes) the users, in one atomic synced write together with
  // the list's member count. Users already in (or not in) the list, and
  // repeats, change nothing. None when there is no such list.
  struct MembershipChange {
    std::int64_t changed = 0;    // users added (removed)
    std::int64_t unchanged = 0;  // already members (not members), repeats included
    std::int64_t members = 0;    // the list's members after the change
  };
  virtual Result<std::optional<MembershipChange>> add_members(std::string_view tenant, std::string_view list_id,
                                                              std::span<const std::string_view> user_ids) = 0;
  virtual Result<std::optional<MembershipChange>> remove_members(std::string_view tenant, std::string_view list_id,
                                                                 std::span<const std::string_view> user_ids) = 0;
  // The list's members in user_id (byte) order after `after`; a read of the
  // index, whatever the list's size. An empty page for a list that is not.
  virtual Result<std::vector<std::string>> list_members(std::string_view tenant, std::string_view list_id,
                                                        std::string_view after, std::size_t limit) = 0;
  // For each user, whether it is a member: one MultiGet, in order.
  virtual Result<std::vector<bool>> members_among(std::string_view tenant, std::string_view list_id,
                                                  std::span<const std::string_view> user_ids) = 0;
  // The lists the user is in, in id order (the reverse index).
  virtual Result<std::vector<std::string>> lists_of(std::string_view tenant, std::string_view user_id) = 0;
};

}  // namespace crier
