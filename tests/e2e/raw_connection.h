// A raw TCP connection to the server, for requests HttpClient cannot make
// (a body cut off part-way, a Content-Length that is never sent, bytes that
// are not HTTP).
#pragma once

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {

// A plain blocking TCP connection to the server.
class RawConnection {
 public:
  explicit RawConnection(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error(fmt::format("connect to port {} failed", port));
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // No more bytes from us; the server sees the end of the stream.
  void close_write() { ::shutdown(fd_, SHUT_WR); }

  // Everything the server sends until it closes (or the deadline passes).
  std::string read_until_closed(std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[16384];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
};

// Splits a raw HTTP/1.1 answer with a Content-Length body.
inline HttpResponse parse_response(const std::string& raw) {
  HttpResponse r;
  auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos)
    throw std::runtime_error("not an HTTP answer: " + raw.substr(0, 500));
  r.status = std::stoi(raw.substr(9, 3));
  std::size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    auto eol = raw.find("\r\n", pos);
    auto line = raw.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = eol + 2;
  }
  r.body = raw.substr(head_end + 4);
  if (auto it = r.headers.find("content-length"); it != r.headers.end())
    r.body.resize(std::min(r.body.size(), static_cast<std::size_t>(std::stoul(it->second))));
  return r;
}

inline std::string request_head(std::string_view method, std::string_view target,
                                std::string_view content_type, std::uint64_t content_length) {
  return fmt::format(
      "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: {}\r\n"
      "Content-Length: {}\r\n\r\n",
      method, target, kKeyA, content_type, content_length);
}

}  // namespace crier::e2e
