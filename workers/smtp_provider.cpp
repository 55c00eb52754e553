#include "workers/smtp_provider.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>

#include "engine/time_format.h"
#include "workers/smtp_client.h"
#include "workers/smtp_message.h"

namespace crier {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
// A channel of empty signals: as the pool's slots (a semaphore of pool_size
// tokens) and to learn when a chunk's lanes are done.
using Signal = asio::experimental::concurrent_channel<void(error_code)>;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// One send() call: its messages, their outcomes, and the next one to take.
struct Chunk {
  std::span<const OutboundMessage> messages;
  std::vector<std::optional<DeliveryOutcome>> outcomes;
  std::vector<std::size_t> pending;  // indexes of the messages to send
  std::atomic<std::size_t> next{0};  // into `pending`: lanes take messages from here
  std::mutex mu;
  std::optional<DeliveryOutcome> open_failure;  // the last connection that could not be opened
};

class SmtpProvider final : public Provider {
 public:
  explicit SmtpProvider(SmtpProviderOptions o)
      : options_(std::move(o)), tls_(smtp::make_tls_context(options_)) {
    options_.pool_size = std::max<std::size_t>(options_.pool_size, 1);
    options_.max_messages_per_connection = std::max<std::size_t>(options_.max_messages_per_connection, 1);
    sender_ = {options_.from_address, options_.from_name};
    from_ok_ = smtp::is_valid_address(options_.from_address);
  }

  std::string_view name() const override { return options_.name; }

  asio::awaitable<std::vector<DeliveryOutcome>> send(std::span<const OutboundMessage> messages) override {
    Chunk chunk;
    chunk.messages = messages;
    chunk.outcomes.resize(messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      if (!from_ok_)
        chunk.outcomes[i] = DeliveryOutcome{false, false, "invalid_from_address",
                                            fmt::format("the smtp provider's from_address \"{}\" is not an "
                                                        "email address",
                                                        options_.from_address),
                                            0};
      else if (!smtp::is_valid_address(messages[i].to))
        chunk.outcomes[i] = DeliveryOutcome{
            false, false, "invalid_address", fmt::format("\"{}\" is not a usable email address", messages[i].to), 0};
      else
        chunk.pending.push_back(i);
    }
    if (!chunk.pending.empty()) co_await run_lanes(chunk);

    std::vector<DeliveryOutcome> out;
    out.reserve(messages.size());
    for (auto& o : chunk.outcomes) {
      if (o) out.push_back(std::move(*o));
      // Not reached: every lane stopped because no connection could be opened.
      else if (chunk.open_failure) out.push_back(*chunk.open_failure);
      else out.push_back({false, true, "internal_error", "the smtp provider did not attempt this message", 0});
    }
    co_return out;
  }

 private:
  // Up to pool_size lanes, each a coroutine holding one pool slot (one
  // connection at a time), take the chunk's messages until none are left.
  asio::awaitable<void> run_lanes(Chunk& chunk) {
    auto ex = co_await asio::this_coro::executor;
    Signal& slots = slots_for(ex);
    const std::size_t lanes = std::min(chunk.pending.size(), options_.pool_size);
    Signal done(ex, lanes);
    for (std::size_t i = 0; i < lanes; ++i)
      asio::co_spawn(ex, lane(chunk, slots), [&done](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("smtp lane failed: {}", ex.what());
          } catch (...) {
          }
        }
        done.try_send(error_code{});
      });
    for (std::size_t i = 0; i < lanes; ++i) co_await done.async_receive(kNoThrow);
  }

  asio::awaitable<void> lane(Chunk& chunk, Signal& slots) {
    auto [ec] = co_await slots.async_receive(kNoThrow);
    if (ec) co_return;
    std::unique_ptr<smtp::Session> session = take_idle();
    for (;;) {
      std::size_t k = chunk.next.fetch_add(1);
      if (k >= chunk.pending.size()) break;
      std::size_t i = chunk.pending[k];
      bool open_failed = false;
      chunk.outcomes[i] = co_await deliver(chunk.messages[i], session, open_failed);
      if (open_failed) {
        // The server is unreachable or refusing us: leave the rest to lanes
        // that have a connection (or to the dispatcher's retry if none has).
        std::lock_guard lock(chunk.mu);
        chunk.open_failure = chunk.outcomes[i];
        break;
      }
    }
    if (session) give_back(std::move(session));
    slots.try_send(error_code{});
  }

  // One message on `session`, opening a connection first when there is none.
  // Leaves `session` null once it is broken or has carried its quota.
  asio::awaitable<DeliveryOutcome> deliver(const OutboundMessage& m, std::unique_ptr<smtp::Session>& session,
                                           bool& open_failed) {
    const std::string message = smtp::format_message(m, sender_, now_unix_ms());
    const std::string payload = smtp::dot_stuff(message);
    for (int attempt = 0;; ++attempt) {
      const bool reused = session != nullptr;
      if (!session) {
        auto opened = co_await smtp::Session::open(options_, tls_);
        if (!opened.session) {
          spdlog::debug("smtp {}: no connection to {}:{}: {}", options_.name, options_.host, options_.port,
                        opened.failure.error_message);
          open_failed = true;
          co_return opened.failure;
        }
        session = std::move(opened.session);
      }
      DeliveryOutcome outcome = co_await session->send(options_.from_address, m.to, payload, message.size());
      // A pooled connection that the server closed while it sat idle fails
      // before any reply: nothing was accepted, so a fresh one may try again.
      const bool stale = reused && attempt == 0 && session->failed_before_reply();
      if (!session->usable()) {
        session.reset();
      } else if (session->transactions() >= options_.max_messages_per_connection) {
        co_await session->quit();
        session.reset();
      }
      if (!stale) co_return outcome;
    }
  }

  Signal& slots_for(const asio::any_io_executor& ex) {
    std::lock_guard lock(mu_);
    if (!slots_) {
      // The channel needs an executor, which only send() knows.
      slots_.emplace(ex, options_.pool_size);
      for (std::size_t i = 0; i < options_.pool_size; ++i) slots_->try_send(error_code{});
    }
    return *slots_;
  }

  std::unique_ptr<smtp::Session> take_idle() {
    std::lock_guard lock(mu_);
    if (idle_.empty()) return nullptr;
    auto s = std::move(idle_.back());  // the most recently used: the likeliest to be alive
    idle_.pop_back();
    return s;
  }

  void give_back(std::unique_ptr<smtp::Session> s) {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(s));
  }

  SmtpProviderOptions options_;
  std::shared_ptr<smtp::TlsClientContext> tls_;
  smtp::Sender sender_;
  bool from_ok_ = false;

  std::mutex mu_;  // guards slots_ creation and idle_
  std::optional<Signal> slots_;
  std::vector<std::unique_ptr<smtp::Session>> idle_;
};

}  // namespace

std::unique_ptr<Provider> make_smtp_provider(SmtpProviderOptions options) {
  return std::make_unique<SmtpProvider>(std::move(options));
}

}  // namespace crier
