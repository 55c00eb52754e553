// `crier compact`: rewrites a stopped server's data directory so each key is
// stored once, then shows where its size goes. For reclaiming space after
// large jobs, and for the scale benchmark's bytes per recipient.
#pragma once

#include <string>

namespace crier {

// The process exit code: 0, 1 (the store failed), 2 (not a directory).
int compact(const std::string& data_dir);

}  // namespace crier
