// The commit accumulator of a profile import (POST /v1/profiles/import), as
// IngestAccumulator is a job ingest's: each line or row that parsed is
// queued as a JSON Merge Patch of its profile, committed in batches through
// ProfileStore::upsert_profiles (one synced write each), and counted:
//   {"received", "created", "updated",
//    "rejected": [{"index", "line", "user_id"?, "code", "message", "field"?}],
//    "rejected_count", "rejected_truncated"}
// A line refused by the parser or by the store (its profile would be
// invalid, an alias another profile holds) is listed with its index (0-based
// over the records, blank lines not counted) and its line or row; the list
// keeps at most `max_rejected_listed`, the count all of them.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "api/context.h"
#include "api/http_types.h"

namespace crier::api::ingest {

class ProfileBatch {
 public:
  ProfileBatch(ApiContext& ctx, std::string tenant);

  // One record: `patch` (its user_id already checked) queued for the next
  // commit; `bytes` is its size in the body, for the batch's bound.
  void add(std::size_t index, std::size_t line, std::string user_id, boost::json::object patch, std::size_t bytes);
  // One record refused before it reached the store.
  void reject(std::size_t index, std::size_t line, const Error& e, std::string_view user_id = {});
  // Whether the batch should be committed now: enough records, or enough
  // bytes of them (the memory a batch may hold).
  bool full() const;
  // Writes what is queued (nothing of it if the write fails: the error).
  Result<void> commit();

  boost::json::object summary() const;
  // An error answer that also says what was imported before it ("imported").
  ApiResponse error(const Error& e, const ApiRequest& req) const;

 private:
  struct Entry {
    std::size_t index = 0, line = 0;
    std::string user_id;
    boost::json::object patch;
  };
  struct Refusal {
    std::size_t index = 0, line = 0;
    std::string user_id;
    Error error;
  };
  // Lists the batch's refusals (the parser's and the store's) in index order.
  void list(std::vector<Refusal>& refusals);

  ApiContext& ctx_;
  std::string tenant_;
  std::size_t max_batch_;
  std::vector<Entry> entries_;
  std::size_t queued_bytes_ = 0;
  std::vector<Refusal> pending_;  // refused since the last commit, while the list has room
  std::int64_t received_ = 0, created_ = 0, updated_ = 0, rejected_ = 0;
  boost::json::array rejected_list_;
};

}  // namespace crier::api::ingest
