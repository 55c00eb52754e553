// peer_closed: how an event stream tells a client that went away from a
// readiness that said nothing (write_stream ends the stream only on the
// former). Over a real loopback TCP connection.
#include "api/stream_writer.h"

#include <gtest/gtest.h>
#include <boost/asio.hpp>

namespace crier::api {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Pair {
  asio::io_context io;
  tcp::socket server{io}, client{io};
  Pair() {
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }
  // Until the server's socket is readable (what the stream's wait sees).
  void wait_readable() { server.wait(tcp::socket::wait_read); }
};

TEST(PeerClosedTest, AnOpenQuietClientIsNotGoneWhateverAReadinessSaid) {
  Pair p;
  EXPECT_FALSE(peer_closed(p.server.native_handle()));
  EXPECT_FALSE(peer_closed(p.server.native_handle())) << "asking again reads nothing away";
}

TEST(PeerClosedTest, AClientThatClosedIsGone) {
  Pair p;
  p.client.close();
  p.wait_readable();
  EXPECT_TRUE(peer_closed(p.server.native_handle()));
}

TEST(PeerClosedTest, AClientThatSentBytesOnAStreamIsGoneAndTheBytesStayUnread) {
  Pair p;
  asio::write(p.client, asio::buffer(std::string_view("GET / HTTP/1.1\r\n")));
  p.wait_readable();
  EXPECT_TRUE(peer_closed(p.server.native_handle()));
  EXPECT_EQ(p.server.available(), 16u) << "only peeked: the lingering close reads them";
}

TEST(PeerClosedTest, AClosedDescriptorCountsAsGone) {
  Pair p;
  int fd = p.server.native_handle();
  p.server.close();
  EXPECT_TRUE(peer_closed(fd));
}

}  // namespace
}  // namespace crier::api
