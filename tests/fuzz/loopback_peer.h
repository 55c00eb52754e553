// A peer on 127.0.0.1 that answers whatever the fuzzer gave it, for the
// targets that fuzz what the providers read from the network (HTTP answers,
// SMTP replies): the real clients connect to it over a real socket, so the
// bytes go through exactly the reading code a vendor's answer goes through.
#pragma once

#include <boost/asio.hpp>

#include <functional>
#include <memory>
#include <string>

namespace crier::fuzz {

class LoopbackPeer {
 public:
  LoopbackPeer() : acceptor_(io_, {boost::asio::ip::address_v4::loopback(), 0}) {}

  boost::asio::io_context& io() { return io_; }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  boost::asio::ip::tcp::acceptor& acceptor() { return acceptor_; }

  using Serve = std::function<boost::asio::awaitable<void>(boost::asio::ip::tcp::socket)>;

  // Runs the coroutine `client()` makes to its end while connections are
  // answered by `serve` (one coroutine per accepted socket); returns when
  // both are done.
  void run(const std::function<boost::asio::awaitable<void>()>& client, Serve serve) {
    stopped_ = false;
    boost::asio::co_spawn(io_, accept_loop(std::move(serve)), boost::asio::detached);
    boost::asio::co_spawn(io_, client_then_stop(client()), boost::asio::detached);
    io_.run();
    io_.restart();
  }

 private:
  boost::asio::awaitable<void> accept_loop(Serve serve) {
    namespace asio = boost::asio;
    while (!stopped_) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;  // cancelled: the client is done
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  boost::asio::awaitable<void> client_then_stop(boost::asio::awaitable<void> client) {
    co_await std::move(client);
    stopped_ = true;  // an accept already completed does not see the cancel
    boost::system::error_code ignored;
    acceptor_.cancel(ignored);
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  bool stopped_ = false;
};

}  // namespace crier::fuzz
