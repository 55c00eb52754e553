// The CPU priority of the threads that do bulk work: the dispatch loops
// (rendering, reads and commits). On a small machine a job at full speed
// keeps every core busy; at a lower priority (a higher nice value) than the
// HTTP threads, it yields a core at once when a status read or an ingest
// request arrives, instead of making it wait for a time slice. Bulk work
// loses nothing when the API is idle: priority only decides who waits when
// both want the core.
#pragma once

#include <thread>

namespace crier {

// Called first thing on each bulk thread: names it (as `top -H` and
// /proc/PID/task/TID/comm show it; at most 15 characters) and lowers its
// priority to `nice` (0..19; 0 leaves it as the process is). A thread may
// always lower its own; raising it back would need CAP_SYS_NICE. Logs a
// warning and carries on if the OS refuses.
void become_bulk_thread(const char* name, int nice);

// Names another thread of this process (at most 15 characters), from the
// thread that started it, so the name is in place before the starter goes on.
void name_thread(std::thread& thread, const char* name);

}  // namespace crier
