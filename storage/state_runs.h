// Runs: consecutive recipients that reach the same final state in one
// commit are stored as one record instead of one per recipient.
//
// A dispatch lane commits ~1 000 outcomes at a time, nearly all identical
// (SENT, one attempt, the lane's commit time). Writing each as its own key
// made the synced commits the limit of an unlimited dispatch (the memtable
// inserts, serialised in RocksDB's write group); a run is one key for the
// whole stretch. A recipient's own state record, when it has one, always
// wins over a run: receipts (DELIVERED, READ) and retries keep writing those.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/job_store.h"

namespace crier::runs {

// Shorter stretches are written recipient by recipient: a run saves
// nothing on two or three keys and costs a seek when it is written.
inline constexpr std::size_t kMinRun = 4;

struct Run {
  std::uint64_t first = 0, end = 0;  // seqs [first, end)
  std::size_t change = 0;            // index of its first change
};

struct Plan {
  std::vector<Run> runs;
  std::vector<std::size_t> singles;  // indexes of the changes written one by one
};

// Splits a commit's changes into runs and single records. A run is at least
// kMinRun changes, adjacent in `changes` with consecutive seqs, whose state
// is final, equal (status, attempts, time, error, read time), not waiting
// for a retry and not leaving the retry queue (a retried recipient has a
// record of its own, which due_retries reads).
Plan plan(std::span<const StateChange> changes);

// The value of a run record: end seq(8, big-endian) ▸ state record.
std::string encode(std::uint64_t end, const RecipientState& state);
struct Decoded {
  std::uint64_t end = 0;
  RecipientState state;
};
std::optional<Decoded> decode(std::string_view value);

}  // namespace crier::runs
