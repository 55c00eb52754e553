// Why a running job sends nothing for now: its store refuses writes (a full
// disk: sending would be answering for outcomes that cannot be recorded), or
// its turns keep failing. The dispatcher holds the job, shows why in the job
// view (`dispatch_hold`), and lets go by itself once writes succeed again.
// Kept in memory: recording it would itself be a write, and a restart
// starts over from the stored state anyway.
#pragma once

#include <cstdint>
#include <string>

namespace crier {

struct DispatchHold {
  std::string code;     // storage_full, storage_unavailable, or the last turn's error code
  std::string message;  // for people; never a path or a RocksDB status
  std::int64_t since_ms = 0;   // when the job stopped sending
  std::uint32_t failures = 0;  // turns failed in a row (0: held before trying)
};

}  // namespace crier
