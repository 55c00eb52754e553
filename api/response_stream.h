// A response body produced over time (Server-Sent Events): a handler sets
// ApiResponse::stream, and the server writes the status and headers, then
// whatever the stream gives, as it gives it, until the stream says it is
// over or the client goes away. Free of sockets, like the handlers: the
// server owns the waiting and the writing (server.cpp), the stream only
// says what to send.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace crier::api {

class ResponseStream {
 public:
  virtual ~ResponseStream() = default;

  struct Piece {
    std::string bytes;  // "" when there is nothing to send now
    bool last = false;  // the stream is over once `bytes` are written
  };

  // Called once by the server, before the first take(). The stream calls
  // `wake` (from any thread, any number of times, until it is destroyed)
  // when take() has something new; `wake` only schedules the take.
  virtual void start(std::function<void()> wake) = 0;
  // What to write now. Called after start, after each write, on each wake,
  // and at least every max_idle(). Never blocks.
  virtual Piece take() = 0;
  // The longest the server waits between takes when not woken (a stream
  // sends its keep-alives from take()).
  virtual std::chrono::milliseconds max_idle() const = 0;
};

}  // namespace crier::api
