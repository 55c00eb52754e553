#include "workers/deadline_resolver.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>

namespace crier {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::atomic<std::size_t>& detached_running() {
  static std::atomic<std::size_t> running{0};
  return running;
}

// The eventfd the worker signals when done. Shared by the worker and the
// waiter, so whichever lets go last closes it; the waiter reads a dup() of
// its own, owned by its stream_descriptor.
struct DoneSignal {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ~DoneSignal() {
    if (fd >= 0) ::close(fd);
  }
};

// What one lookup found; written by the worker before it signals.
struct Lookup {
  std::string host, port;
  int gai_error = 0;
  std::vector<tcp::endpoint> endpoints;
};

Error resolve_error(std::string code, std::string message) {
  return make_error(ErrorKind::unavailable, std::move(code), std::move(message));
}

}  // namespace

asio::awaitable<bool> run_detached_until(std::function<void()> work, std::chrono::steady_clock::time_point deadline) {
  auto ex = co_await asio::this_coro::executor;
  auto done = std::make_shared<DoneSignal>();
  const int mine = done->fd >= 0 ? ::dup(done->fd) : -1;
  if (mine < 0) {
    spdlog::warn("no descriptor to wait for a lookup with; it runs on this thread, without a deadline");
    work();
    co_return true;
  }
  asio::posix::stream_descriptor waiter(ex, mine);
  if (++detached_running() > kMaxDetachedLookups) {
    --detached_running();
    co_return false;
  }
  try {
    std::thread([work = std::move(work), done] {
      work();
      --detached_running();
      // The eventfd write orders the worker's results before the waiter's read.
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(done->fd, &one, sizeof one);
    }).detach();
  } catch (const std::exception& e) {  // no thread to be had
    --detached_running();
    spdlog::warn("cannot start a lookup thread ({}); it runs on this thread, without a deadline", e.what());
    work();
    co_return true;
  }
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(ex, deadline);
  // Both operations take cancellation, so whichever loses ends at once.
  auto first = co_await (waiter.async_wait(asio::posix::descriptor_base::wait_read, use_tuple) ||
                         timer.async_wait(use_tuple));
  co_return first.index() == 0;
}

asio::awaitable<Result<std::vector<tcp::endpoint>>> resolve_until(std::string host, std::string port,
                                                                  std::chrono::steady_clock::time_point deadline) {
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    unsigned short p = 0;
    try {
      p = static_cast<unsigned short>(std::stoul(port));
    } catch (const std::exception&) {
      co_return resolve_error("connect_failed", fmt::format("not a port: '{}'", port));
    }
    co_return std::vector<tcp::endpoint>{tcp::endpoint(literal, p)};
  }
  auto lookup = std::make_shared<Lookup>();
  lookup->host = host;
  lookup->port = port;
  // Named, not a temporary in the co_await expression: g++ 12 destroys
  // such temporaries twice (here: the Lookup freed twice).
  std::function<void()> work = [lookup] {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_ADDRCONFIG;
        addrinfo* found = nullptr;
        lookup->gai_error = ::getaddrinfo(lookup->host.c_str(), lookup->port.c_str(), &hints, &found);
        for (auto* a = found; a; a = a->ai_next) {
          tcp::endpoint e;
          if (a->ai_addrlen > e.capacity()) continue;
          std::memcpy(e.data(), a->ai_addr, a->ai_addrlen);
          e.resize(a->ai_addrlen);
          lookup->endpoints.push_back(e);
        }
        if (found) ::freeaddrinfo(found);
      };
  bool answered = co_await run_detached_until(work, deadline);
  if (!answered) co_return resolve_error("timeout", fmt::format("resolving {} timed out", host));
  if (lookup->gai_error != 0)
    co_return resolve_error("connect_failed",
                            fmt::format("cannot resolve {}: {}", host, ::gai_strerror(lookup->gai_error)));
  if (lookup->endpoints.empty()) co_return resolve_error("connect_failed", fmt::format("{} has no address", host));
  co_return std::move(lookup->endpoints);
}

}  // namespace crier
