// Name lookups that end at a deadline, whatever DNS does.
//
// Why not Boost's resolver: in Boost 1.81, ip::tcp::resolver runs
// getaddrinfo() on one private thread per io_context, one lookup after the
// other. Its operations take no cancellation slot, and close()/cancel() only
// mark them: a lookup that hangs (a resolver that never answers) still holds
// that thread, every later lookup of the io_context queues behind it, and
// `async_resolve || timer` (awaitable_operators) does not return at the
// timer either, because a parallel group waits for the cancelled operation
// to complete. Destroying the io_context joins that thread, so shutdown
// hangs too.
//
// Here each lookup runs getaddrinfo() on a detached thread of its own that
// owns everything it touches; the caller waits for it or for the deadline,
// whichever comes first, and walks away at the deadline. A lookup still
// running then finishes on its own and is forgotten; nothing joins it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "engine/result.h"

namespace crier {

// Runs `work` on a detached thread and waits for it on the calling
// coroutine's executor until `deadline`. True when it finished in time;
// false at the deadline, `work` possibly still running: so `work` must own
// (capture by value or shared_ptr) everything it touches. At most
// kMaxDetachedLookups run at once; past that `work` is not started and the
// answer is false at once (a resolver that hangs must not grow threads
// without bound). Never throws.
inline constexpr std::size_t kMaxDetachedLookups = 256;
boost::asio::awaitable<bool> run_detached_until(std::function<void()> work,
                                                std::chrono::steady_clock::time_point deadline);

// Resolves host:port for a TCP connect (getaddrinfo, AI_ADDRCONFIG, as
// Boost's resolver does); an address literal needs no lookup. Errors, all
// ErrorKind::unavailable: timeout (no answer by the deadline, or too many
// lookups hanging already), connect_failed (the name does not resolve).
boost::asio::awaitable<Result<std::vector<boost::asio::ip::tcp::endpoint>>> resolve_until(
    std::string host, std::string port, std::chrono::steady_clock::time_point deadline);

}  // namespace crier
