// The HTTP client's cap on idle keep-alive connections over all origins
// (NetworkOptions::max_idle_connections): a job whose recipients each name
// their own webhook host must not keep a socket per host. Real receivers on
// distinct loopback addresses (127.0.0.2, 127.0.0.3, ...: all loopback on
// Linux), one request each, one after the other.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sink/webhook_sink.h"
#include "workers/http_client.h"

namespace crier::testing {
namespace {
namespace asio = boost::asio;

Result<HttpResponse> post(PooledHttpClient& client, std::string url) {
  asio::io_context io;
  std::optional<Result<HttpResponse>> out;
  HttpRequest req;
  req.url = std::move(url);
  req.body = "{}";
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await client.request(std::move(req))); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return std::move(*out);
}

TEST(HttpIdleCapTest, IdleConnectionsOverAllHostsNeverExceedTheCapAndTheOldestGoFirst) {
  constexpr std::size_t kHosts = 12, kCap = 3;
  std::vector<std::unique_ptr<WebhookSink>> sinks;
  for (std::size_t i = 0; i < kHosts; ++i) {
    SinkOptions o;
    o.host = fmt::format("127.0.0.{}", i + 2);
    sinks.push_back(std::make_unique<WebhookSink>(o));
    auto port = sinks.back()->start();
    ASSERT_TRUE(port) << port.error().message;
  }
  HttpClientOptions options;
  options.network.max_idle_connections = kCap;
  PooledHttpClient client(options);

  for (std::size_t i = 0; i < kHosts; ++i) {
    auto r = post(client, sinks[i]->url("/h"));
    ASSERT_TRUE(r) << r.error().code << ": " << r.error().message;
    EXPECT_EQ(r->status, 200);
    auto s = client.stats();
    EXPECT_LE(s.idle, kCap) << "after host " << i;
  }
  auto s = client.stats();
  EXPECT_EQ(s.connections_opened, kHosts);
  EXPECT_LE(s.peak_idle, kCap);
  EXPECT_EQ(s.idle, kCap);
  EXPECT_EQ(s.idle_evicted, kHosts - kCap);

  // The most recent hosts kept their connection; the first one lost its own
  // and needs a new one.
  auto again_last = post(client, sinks[kHosts - 1]->url("/h"));
  ASSERT_TRUE(again_last);
  EXPECT_EQ(client.stats().reused, 1u);
  EXPECT_EQ(client.stats().connections_opened, kHosts);
  auto again_first = post(client, sinks[0]->url("/h"));
  ASSERT_TRUE(again_first);
  EXPECT_EQ(client.stats().connections_opened, kHosts + 1);
  EXPECT_EQ(sinks[0]->stats().connections, 2u);
  EXPECT_LE(client.stats().peak_idle, kCap);
}

}  // namespace
}  // namespace crier::testing
