// Writes an answer that is a stream (Server-Sent Events) on a connection:
// its head (chunked, no keep-alive), then each piece the stream gives as one
// chunk, until the stream ends, the client goes away, or a write does not
// complete within `write_timeout` (a client that stopped reading is
// dropped). The request's own deadline and minimum rate ended with its
// headers: a stream lasts as long as it has something to say.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>

#include "api/http_types.h"
#include "api/request_record.h"

namespace crier::api {

// Runs on the connection's strand; returns what the server records of the
// request (status, bytes written; `took` is left to the caller).
boost::asio::awaitable<RequestRecord> write_stream(boost::beast::tcp_stream& stream, const ApiRequest& req,
                                                   ApiResponse res, std::chrono::milliseconds write_timeout);

// Whether the peer of a socket reported readable has closed (or reset, or
// sent bytes, which a stream's client never does): false when nothing is
// there after all, a readiness that was spurious. Never blocks.
bool peer_closed(int fd);

}  // namespace crier::api
