// A Server-Sent Events client over a plain socket, for the event stream's
// end-to-end tests: it sends one GET, reads the answer's head, then decodes
// the chunked body into events as they come, and says when the server
// closed the stream. A receive buffer size can be set before connecting,
// for a client that reads nothing (a stuck watcher).
#pragma once

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {

struct SseEvent {
  std::string id, event, data;
  json::object json() const { return json::parse(data).as_object(); }
};

class SseClient {
 public:
  // GET `target` with `headers` (e.g. Authorization, Last-Event-ID).
  // `receive_buffer` > 0: SO_RCVBUF, set before connecting.
  SseClient(unsigned short port, std::string_view target, const HeaderList& headers, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error(fmt::format("connect to port {} failed", port));
    std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n", target);
    for (const auto& [k, v] : headers) request += fmt::format("{}: {}\r\n", k, v);
    request += "\r\n";
    for (std::string_view left = request; !left.empty();) {
      ssize_t n = ::send(fd_, left.data(), left.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      left.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  ~SseClient() { close(); }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Reads the answer's status line and headers (and, for an answer that is
  // not a stream, its Content-Length body). Returns the status.
  int read_head(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::size_t end;
    while ((end = raw_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(until)) throw std::runtime_error("no answer head; got: " + raw_);
    std::string head = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    if (!head.starts_with("HTTP/1.1 ")) throw std::runtime_error("not an HTTP answer: " + head);
    status_ = std::stoi(head.substr(9, 3));
    for (std::size_t pos = head.find("\r\n"); pos != std::string::npos;) {
      auto eol = head.find("\r\n", pos + 2);
      auto line = head.substr(pos + 2, eol == std::string::npos ? std::string::npos : eol - pos - 2);
      pos = eol;
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      headers_[name] = value;
    }
    if (header("transfer-encoding") != "chunked") {
      std::size_t length = header("content-length").empty() ? 0 : std::stoul(header("content-length"));
      while (raw_.size() < length)
        if (!fill(until)) break;
      body_ = raw_.substr(0, length);
      done_ = true;
    }
    return status_;
  }

  int status() const { return status_; }
  std::string header(const std::string& name) const {
    auto it = headers_.find(name);
    return it == headers_.end() ? "" : it->second;
  }
  // The body of an answer that is not a stream (an error).
  const std::string& body() const { return body_; }

  // The next event, or nullopt when the stream ended (ended() tells: the
  // last chunk came, or the server closed) or `timeout` passed first.
  std::optional<SseEvent> next(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      dechunk();
      if (auto e = parse_one()) return e;
      if (done_ || closed_) return std::nullopt;
      if (!fill(until)) return std::nullopt;
    }
  }

  // Every event until the stream ends; throws if it has not ended within
  // `timeout`.
  std::vector<SseEvent> until_end(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::vector<SseEvent> out;
    while (auto e = next(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now())))
      out.push_back(std::move(*e));
    if (!ended()) throw std::runtime_error(fmt::format("the stream did not end; {} events so far", out.size()));
    return out;
  }

  // The last chunk came (the server ended the stream properly).
  bool ended() const { return done_; }
  // After the end: whether the server closed the connection (reads EOF).
  bool server_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!closed_)
      if (!fill(until)) break;
    return closed_;
  }

 private:
  // Reads what is there; false on EOF (closed_) or when `until` passes.
  bool fill(std::chrono::steady_clock::time_point until) {
    if (closed_ || fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  // Moves whole chunks from raw_ to text_.
  void dechunk() {
    while (!done_) {
      auto eol = raw_.find("\r\n");
      if (eol == std::string::npos) return;
      std::size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
      if (raw_.size() < eol + 2 + size + 2) return;
      text_.append(raw_, eol + 2, size);
      raw_.erase(0, eol + 2 + size + 2);
      if (size == 0) done_ = true;
    }
  }

  std::optional<SseEvent> parse_one() {
    for (;;) {
      auto end = text_.find("\n\n");
      if (end == std::string::npos) return std::nullopt;
      std::string block = text_.substr(0, end);
      text_.erase(0, end + 2);
      SseEvent e;
      std::size_t pos = 0;
      while (pos <= block.size()) {
        auto nl = block.find('\n', pos);
        std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? block.size() + 1 : nl + 1;
        if (line.empty() || line.front() == ':') {
          if (!line.empty()) ++comments_;
          continue;
        }
        auto colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (field == "id") e.id = value;
        else if (field == "event") e.event = value;
        else if (field == "data") e.data += e.data.empty() ? value : "\n" + value;
      }
      if (!e.event.empty() || !e.data.empty()) return e;
    }
  }

  int fd_ = -1;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string raw_, text_, body_;
  bool done_ = false, closed_ = false;
  int comments_ = 0;
};

}  // namespace crier::e2e
