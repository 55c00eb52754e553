// The deadline of every lookup (workers/deadline_resolver.h). A DNS server
// that never answers cannot be made on loopback without changing the
// machine's resolver configuration, so the waiting is proven on another
// real operation that never completes by itself: a blocking read() of a
// pipe nobody writes to, run by the same run_detached_until() that runs
// getaddrinfo(). The lookups themselves are checked on names that resolve
// locally (/etc/hosts' localhost, address literals).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>

#include "tests/support/http_client.h"
#include "workers/deadline_resolver.h"

namespace crier::testing {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

template <class T>
T run(asio::awaitable<T> a) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(a)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return std::move(*out);
}

// A pipe whose read end blocks until the write end closes.
struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() {
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  }
  ~Pipe() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  void close_write() { ::close(std::exchange(fds[1], -1)); }
};

TEST(DeadlineResolverTest, AnOperationThatNeverCompletesEndsTheWaitAtTheDeadline) {
  Pipe pipe;
  auto finished = std::make_shared<std::atomic<bool>>(false);
  const int read_fd = pipe.fds[0];
  bool in_time = true;
  {
    // The io_context is destroyed at the end of run(), with the read still
    // blocked: nothing joins the thread that is stuck in it.
    std::function<void()> blocked_read = [read_fd, finished] {
      char c;
      [[maybe_unused]] auto n = ::read(read_fd, &c, 1);
      *finished = true;
    };
    in_time = run(run_detached_until(blocked_read, Clock::now() + 200ms));
  }
  EXPECT_FALSE(in_time);
  EXPECT_FALSE(*finished) << "the read cannot have completed: nothing was written";
  // Released, the forgotten thread ends on its own.
  pipe.close_write();
  EXPECT_TRUE(poll_until(10s, [&] { return finished->load(); }));
}

TEST(DeadlineResolverTest, WorkThatFinishesInTimeIsWaitedFor) {
  auto value = std::make_shared<int>(0);
  std::function<void()> set = [value] { *value = 42; };
  EXPECT_TRUE(run(run_detached_until(set, Clock::now() + 30s)));
  EXPECT_EQ(*value, 42);
}

TEST(DeadlineResolverTest, ResolvesNamesAndAddressLiterals) {
  auto literal = run(resolve_until("127.0.0.1", "8080", Clock::now() + 10s));
  ASSERT_TRUE(literal) << literal.error().message;
  ASSERT_EQ(literal->size(), 1u);
  EXPECT_EQ(literal->front().address().to_string(), "127.0.0.1");
  EXPECT_EQ(literal->front().port(), 8080);

  auto named = run(resolve_until("localhost", "443", Clock::now() + 10s));
  ASSERT_TRUE(named) << named.error().message;
  ASSERT_FALSE(named->empty());
  for (const auto& e : *named) {
    EXPECT_TRUE(e.address().is_loopback()) << e.address().to_string();
    EXPECT_EQ(e.port(), 443);
  }
}

TEST(DeadlineResolverTest, ADeadlineAlreadyPastIsATimeoutNotAHang) {
  Pipe pipe;
  const int read_fd = pipe.fds[0];
  auto finished = std::make_shared<std::atomic<bool>>(false);
  std::function<void()> blocked_read = [read_fd, finished] {
    char c;
    [[maybe_unused]] auto n = ::read(read_fd, &c, 1);
    *finished = true;
  };
  EXPECT_FALSE(run(run_detached_until(blocked_read, Clock::now() - 1s)));
  pipe.close_write();
  EXPECT_TRUE(poll_until(10s, [&] { return finished->load(); }));  // before the read end closes
}

}  // namespace
}  // namespace crier::testing
