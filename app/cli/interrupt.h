// Ctrl-C in the CLI: the first SIGINT (or SIGTERM) says so on stderr and asks the running command
// to stop at the next safe point (after the batch in flight has been answered,
// between two polls of a job), so what the server holds is known and the
// command can say how to resume. A second Ctrl-C ends the process at once,
// which is still safe: the server keeps only whole committed batches.
#pragma once

namespace crier::cli {

// Installs the handlers and unblocks the signals in this thread (main blocks
// them in every thread for the server's sigwait).
void catch_interrupts();
// Whether a stop was asked for.
bool interrupted();
// Sleeps up to `ms` milliseconds, returning early (true) when interrupted.
bool sleep_unless_interrupted(int ms);

}  // namespace crier::cli
