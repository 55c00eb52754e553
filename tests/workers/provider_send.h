// Runs one Provider::send() to completion on an io_context of its own, the
// way the dispatcher does; an exception escaping the coroutine fails the
// test. Shared by the provider tests of this folder.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <exception>
#include <vector>

#include "workers/provider.h"

namespace crier::testing {

inline std::vector<DeliveryOutcome> send_all(Provider& provider, const std::vector<OutboundMessage>& messages) {
  boost::asio::io_context io;
  std::vector<DeliveryOutcome> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out = co_await provider.send(messages); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  EXPECT_EQ(out.size(), messages.size());
  return out;
}

}  // namespace crier::testing
