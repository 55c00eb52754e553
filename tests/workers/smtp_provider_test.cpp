// The smtp provider against a real SMTP server (aiosmtpd, in a child
// process): what arrives is decoded by Python's own email parser, so the
// MIME Crier writes is checked by an independent implementation.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "tests/support/smtp_sink_process.h"
#include "tests/support/temp_dir.h"
#include "workers/smtp_message.h"
#include "workers/smtp_provider.h"

namespace crier::testing {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr const char* kFrom = "bulk@crier.example";

OutboundMessage email(std::string to, std::uint64_t seq, std::string subject = "Hello",
                      std::string text = "Hello there.\n", std::string html = "<p>Hello there.</p>\n") {
  OutboundMessage m;
  m.message_id = fmt::format("msg_test_{:016x}", seq);
  m.job_id = "job_test";
  m.seq = seq;
  m.channel = Channel::email;
  m.to = std::move(to);
  m.content.subject = std::move(subject);
  m.content.text = std::move(text);
  m.content.html = std::move(html);
  return m;
}

// What a mail client shows has LF line ends; the wire has CRLF.
std::string lf(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) out.push_back(s[i]);
  return out;
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A port nothing listens on: bound once by us, then released.
unsigned short closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class SmtpProviderTest : public ::testing::Test {
 protected:
  SmtpProviderTest() : work_(io_.get_executor()) {
    // Two threads, like the dispatcher: the pool must be safe across them.
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~SmtpProviderTest() override {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  SmtpProviderOptions options_for(const SmtpSinkProcess& sink) {
    SmtpProviderOptions o;
    o.host = "127.0.0.1";
    o.port = sink.port();
    o.from_address = kFrom;
    o.from_name = "Crier Tests";
    o.helo_name = "crier.test";
    o.command_timeout = std::chrono::seconds(20);
    return o;
  }

  std::vector<DeliveryOutcome> send(Provider& p, const std::vector<OutboundMessage>& messages) {
    auto f = asio::co_spawn(io_, p.send(messages), asio::use_future);
    if (f.wait_for(std::chrono::seconds(120)) != std::future_status::ready) throw std::runtime_error("send() hung");
    return f.get();
  }

  TempDir dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

TEST_F(SmtpProviderTest, DeliversEveryMessageOnceOverThePool) {
  SmtpSinkProcess sink(dir_.path() / "sink");
  auto provider = make_smtp_provider(options_for(sink));
  ASSERT_EQ(provider->name(), "smtp");

  // Two concurrent send() calls of 100 share the pool of 8 connections.
  std::vector<OutboundMessage> a, b;
  for (std::uint64_t i = 0; i < 200; ++i) {
    auto m = email(fmt::format("user{}@example.org", i), i, fmt::format("Grüße {} — ünïcode ✓", i),
                   fmt::format("Hello {},\nsecond line = équipe\n", i), fmt::format("<p>Hello <b>{}</b></p>\n", i));
    (i % 2 ? a : b).push_back(std::move(m));
  }
  auto fa = asio::co_spawn(io_, provider->send(a), asio::use_future);
  auto fb = asio::co_spawn(io_, provider->send(b), asio::use_future);
  ASSERT_EQ(fa.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  ASSERT_EQ(fb.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  auto outcomes = fa.get();
  auto more = fb.get();
  outcomes.insert(outcomes.end(), more.begin(), more.end());
  ASSERT_EQ(outcomes.size(), 200u);
  for (const auto& o : outcomes) ASSERT_TRUE(o.ok) << o.error_code << ": " << o.error_message;

  auto received = sink.messages();
  ASSERT_EQ(received.size(), 200u) << sink.output_tail();
  std::map<std::string, OutboundMessage> sent;
  for (auto& m : a) sent[m.message_id] = m;
  for (auto& m : b) sent[m.message_id] = m;
  std::set<std::string> seen;
  for (const auto& r : received) {
    std::string id = str(r, "x_crier_message_id");
    ASSERT_TRUE(sent.count(id)) << "unknown message " << id;
    EXPECT_TRUE(seen.insert(id).second) << id << " arrived twice";
    const auto& m = sent[id];
    EXPECT_EQ(str(r, "mail_from"), kFrom);
    EXPECT_EQ(json::serialize(r.at("rcpt_tos")), json::serialize(json::array{json::string(m.to)}));
    EXPECT_EQ(str(r, "message_id"), "<" + id + "@crier>");
    EXPECT_EQ(str(r, "subject"), m.content.subject);
    EXPECT_TRUE(str(r, "raw_subject").starts_with("=?UTF-8?B?")) << str(r, "raw_subject");
    EXPECT_EQ(str(r, "from"), "Crier Tests <bulk@crier.example>");
    EXPECT_EQ(str(r, "content_type"), "multipart/alternative");
    EXPECT_EQ(lf(str(r, "text")), m.content.text);
    EXPECT_EQ(lf(str(r, "html")), m.content.html);
    EXPECT_TRUE(r.at("defects").as_array().empty()) << json::serialize(r.at("defects"));
    EXPECT_TRUE(smtp::is_ascii(str(r, "raw"))) << "the message should be 7-bit";
  }
  EXPECT_GE(sink.sessions(), 1u);
  EXPECT_LE(sink.sessions(), 8u) << "connections are pooled and reused";
}

TEST_F(SmtpProviderTest, ReplacesAConnectionAfterItsQuota) {
  SmtpSinkProcess sink(dir_.path() / "sink");
  auto options = options_for(sink);
  options.pool_size = 1;
  options.max_messages_per_connection = 10;
  auto provider = make_smtp_provider(options);
  std::vector<OutboundMessage> messages;
  for (std::uint64_t i = 0; i < 15; ++i) messages.push_back(email(fmt::format("u{}@example.org", i), i));
  for (const auto& o : send(*provider, messages)) EXPECT_TRUE(o.ok) << o.error_message;
  messages.clear();
  for (std::uint64_t i = 15; i < 25; ++i) messages.push_back(email(fmt::format("u{}@example.org", i), i));
  for (const auto& o : send(*provider, messages)) EXPECT_TRUE(o.ok) << o.error_message;
  EXPECT_EQ(sink.message_count(), 25u);
  // 10 + 10 + 5: the idle connection from the first call carried on in the second.
  EXPECT_EQ(sink.sessions(), 3u);
}

// A refused recipient fails alone and permanently; RSET keeps the
// connection usable for the next message, with or without PIPELINING.
class SmtpRejectionTest : public SmtpProviderTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SmtpRejectionTest, RejectedRecipientIsPermanentAndTheSessionSurvives) {
  const bool pipelining = GetParam();
  std::vector<std::string> args = {"--reject", "nobody@example.org"};
  if (!pipelining) args.push_back("--no-pipelining");
  SmtpSinkProcess sink(dir_.path() / "sink", args);
  auto options = options_for(sink);
  options.pool_size = 1;
  auto provider = make_smtp_provider(options);
  auto outcomes = send(*provider, {email("first@example.org", 1), email("nobody@example.org", 2),
                                   email("third@example.org", 3)});
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].ok) << outcomes[0].error_message;
  EXPECT_FALSE(outcomes[1].ok);
  EXPECT_FALSE(outcomes[1].transient);
  EXPECT_EQ(outcomes[1].error_code, "smtp_550");
  EXPECT_NE(outcomes[1].error_message.find("mailbox unavailable"), std::string::npos) << outcomes[1].error_message;
  EXPECT_TRUE(outcomes[2].ok) << outcomes[2].error_message;
  EXPECT_EQ(sink.message_count(), 2u);
  EXPECT_EQ(sink.sessions(), 1u) << "the refusal did not cost the connection";
}

INSTANTIATE_TEST_SUITE_P(Smtp, SmtpRejectionTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "pipelined" : "one_by_one"; });

TEST_F(SmtpProviderTest, TemporaryRefusalsAreTransientAndLaterSucceed) {
  SmtpSinkProcess sink(dir_.path() / "sink",
                       {"--tempfail-rcpt", "busy@example.org:1", "--tempfail-data", "slow@example.org:1"});
  auto options = options_for(sink);
  options.pool_size = 2;
  auto provider = make_smtp_provider(options);
  std::vector<OutboundMessage> messages = {email("busy@example.org", 1), email("slow@example.org", 2),
                                           email("fine@example.org", 3)};
  auto first = send(*provider, messages);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_FALSE(first[0].ok);
  EXPECT_TRUE(first[0].transient);
  EXPECT_EQ(first[0].error_code, "smtp_451");
  EXPECT_FALSE(first[1].ok);
  EXPECT_TRUE(first[1].transient);
  EXPECT_EQ(first[1].error_code, "smtp_452");
  EXPECT_TRUE(first[2].ok) << first[2].error_message;

  // The dispatcher's retry: the same messages, the same ids, now accepted.
  auto second = send(*provider, {messages[0], messages[1]});
  for (const auto& o : second) EXPECT_TRUE(o.ok) << o.error_code << ": " << o.error_message;
  std::multiset<std::string> ids;
  for (const auto& r : sink.messages()) ids.insert(str(r, "x_crier_message_id"));
  EXPECT_EQ(ids, (std::multiset<std::string>{messages[0].message_id, messages[1].message_id,
                                             messages[2].message_id}));
}

TEST_F(SmtpProviderTest, APooledConnectionTheServerDroppedIsReplaced) {
  std::optional<SmtpSinkProcess> sink(std::in_place, dir_.path() / "first");
  const unsigned short port = sink->port();
  auto options = options_for(*sink);
  options.pool_size = 1;
  auto provider = make_smtp_provider(options);
  ASSERT_TRUE(send(*provider, {email("a@example.org", 1)})[0].ok);
  // The server goes away and comes back on the same port: the idle pooled
  // connection is dead, and the message goes out on a fresh one.
  sink.reset();
  sink.emplace(dir_.path() / "second", std::vector<std::string>{"--port", std::to_string(port)});
  auto outcome = send(*provider, {email("b@example.org", 2)})[0];
  EXPECT_TRUE(outcome.ok) << outcome.error_code << ": " << outcome.error_message;
  EXPECT_EQ(sink->message_count(), 1u);
  EXPECT_EQ(sink->sessions(), 1u);
}

TEST_F(SmtpProviderTest, ClosedPortIsATransientConnectFailure) {
  SmtpProviderOptions options;
  options.port = closed_port();
  options.from_address = kFrom;
  auto provider = make_smtp_provider(options);
  std::vector<OutboundMessage> messages;
  for (std::uint64_t i = 0; i < 20; ++i) messages.push_back(email(fmt::format("u{}@example.org", i), i));
  auto outcomes = send(*provider, messages);
  ASSERT_EQ(outcomes.size(), 20u);
  for (const auto& o : outcomes) {
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.transient);
    EXPECT_EQ(o.error_code, "connect_failed") << o.error_message;
  }
}

TEST_F(SmtpProviderTest, InvalidAddressesFailPermanentlyWithoutTheNetwork) {
  SmtpSinkProcess sink(dir_.path() / "sink");
  auto provider = make_smtp_provider(options_for(sink));
  auto outcomes = send(*provider, {email("", 1), email("no-at-sign", 2), email("two words@example.org", 3),
                                   email("evil@example.org>\r\nRCPT TO:<x@example.org", 4)});
  for (const auto& o : outcomes) {
    EXPECT_FALSE(o.ok);
    EXPECT_FALSE(o.transient);
    EXPECT_EQ(o.error_code, "invalid_address");
  }
  EXPECT_EQ(sink.sessions(), 0u) << "no connection for messages that cannot be sent";
}

TEST_F(SmtpProviderTest, LinesStartingWithADotSurviveDotStuffing) {
  SmtpSinkProcess sink(dir_.path() / "sink");
  auto provider = make_smtp_provider(options_for(sink));
  // A line of one "." would end DATA early without dot-stuffing.
  const std::string text = "first\n.\n..two dots\n.leading dot\n" + std::string(2000, 'x') + "\nlast line";
  auto outcomes = send(*provider, {email("dots@example.org", 1, "Dots", text, ""),
                                   email("html@example.org", 2, "Html only", "", "<p>only html</p>\n.\n")});
  for (const auto& o : outcomes) ASSERT_TRUE(o.ok) << o.error_message;
  auto received = sink.messages();
  ASSERT_EQ(received.size(), 2u);
  for (const auto& r : received) {
    if (str(r, "x_crier_message_id") == "msg_test_0000000000000001") {
      EXPECT_EQ(str(r, "content_type"), "text/plain");
      // SMTP data ends with a line break, so a single-part body gains one.
      EXPECT_EQ(lf(str(r, "text")), text + "\n");
    } else {
      EXPECT_EQ(str(r, "content_type"), "text/html");
      EXPECT_EQ(lf(str(r, "html")), "<p>only html</p>\n.\n");
    }
    std::string raw = str(r, "raw");
    std::size_t start = 0, longest = 0;
    for (auto nl = raw.find("\r\n"); nl != std::string::npos; start = nl + 2, nl = raw.find("\r\n", start))
      longest = std::max(longest, nl - start);
    EXPECT_LE(longest, 78u) << "quoted-printable keeps lines short";
  }
}

TEST_F(SmtpProviderTest, StartTlsWithAuthPlain) {
  // A self-signed certificate for 127.0.0.1, made here with the openssl CLI.
  const auto cert = dir_.path() / "cert.pem", key = dir_.path() / "key.pem";
  const std::string cmd = fmt::format(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout {} -out {} 2>{}",
      key.string(), cert.string(), (dir_.path() / "openssl.log").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl req failed";
  SmtpSinkProcess sink(dir_.path() / "sink", {"--tls-cert", cert.string(), "--tls-key", key.string(), "--auth",
                                              "crier:s3cret"});
  auto options = options_for(sink);
  options.tls = SmtpTls::required_starttls;
  options.tls_ca_file = cert.string();
  options.username = "crier";
  options.password = "s3cret";
  options.pool_size = 2;
  auto outcomes = send(*make_smtp_provider(options), {email("a@example.org", 1), email("b@example.org", 2),
                                                      email("c@example.org", 3)});
  for (const auto& o : outcomes) EXPECT_TRUE(o.ok) << o.error_code << ": " << o.error_message;
  auto received = sink.messages();
  ASSERT_EQ(received.size(), 3u) << sink.output_tail();
  for (const auto& r : received) {
    EXPECT_TRUE(r.at("tls").as_bool());
    EXPECT_EQ(str(r, "auth_user"), "crier");
  }

  // A wrong password is refused with 535: permanent, and nothing is sent.
  options.password = "wrong";
  auto refused = send(*make_smtp_provider(options), {email("d@example.org", 4)});
  EXPECT_FALSE(refused[0].ok);
  EXPECT_FALSE(refused[0].transient);
  EXPECT_EQ(refused[0].error_code, "smtp_535") << refused[0].error_message;

  // Without the certificate as a trust anchor, the handshake fails verification.
  options.password = "s3cret";
  options.tls_ca_file.clear();
  auto untrusted = send(*make_smtp_provider(options), {email("e@example.org", 5)});
  EXPECT_FALSE(untrusted[0].ok);
  EXPECT_TRUE(untrusted[0].transient);
  EXPECT_EQ(untrusted[0].error_code, "tls_failed") << untrusted[0].error_message;
  EXPECT_EQ(sink.message_count(), 3u);
}

TEST_F(SmtpProviderTest, CredentialsAreNotSentWithoutTls) {
  SmtpSinkProcess sink(dir_.path() / "sink");
  auto options = options_for(sink);
  options.username = "crier";
  options.password = "s3cret";
  auto outcomes = send(*make_smtp_provider(options), {email("a@example.org", 1)});
  EXPECT_FALSE(outcomes[0].ok);
  EXPECT_EQ(outcomes[0].error_code, "auth_requires_tls") << outcomes[0].error_message;
  EXPECT_EQ(sink.message_count(), 0u);
}

// The pure message functions, without a server.
TEST(SmtpMessage, HeaderTextIsEncodedOnlyWhenNeeded) {
  EXPECT_EQ(smtp::encode_header_text("Plain subject"), "Plain subject");
  EXPECT_EQ(smtp::encode_header_text("Line\r\nBcc: injected"), "Line  Bcc: injected");
  EXPECT_EQ(smtp::encode_header_text("é"), "=?UTF-8?B?w6k=?=");
  // Long non-ASCII text: several words, none over 75 characters, no UTF-8
  // sequence split between two words.
  std::string longer;
  for (int i = 0; i < 40; ++i) longer += "é€";
  std::string encoded = smtp::encode_header_text(longer);
  std::size_t start = 0, words = 0;
  for (;;) {
    auto end = encoded.find("\r\n ", start);
    std::string word = encoded.substr(start, end - start);
    EXPECT_LE(word.size(), 75u);
    EXPECT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?="));
    ++words;
    if (end == std::string::npos) break;
    start = end + 3;
  }
  EXPECT_GT(words, 1u);
}

TEST(SmtpMessage, QuotedPrintableAndDotStuffing) {
  EXPECT_EQ(smtp::quoted_printable("a=b \nc\t"), "a=3Db=20\r\nc=09");
  EXPECT_EQ(smtp::quoted_printable("é"), "=C3=A9");
  std::string qp = smtp::quoted_printable(std::string(200, 'y'));
  EXPECT_EQ(qp.find("=\r\n"), 75u) << "soft breaks keep lines at 76 characters";
  EXPECT_EQ(smtp::dot_stuff(".a\r\nb\r\n.\r\n"), "..a\r\nb\r\n..\r\n.\r\n");
  EXPECT_EQ(smtp::dot_stuff("no newline"), "no newline\r\n.\r\n");
  EXPECT_TRUE(smtp::is_valid_address("a.b+c@mail.example.org"));
  EXPECT_FALSE(smtp::is_valid_address("a@b@c"));
  EXPECT_FALSE(smtp::is_valid_address("<a@example.org>"));
  EXPECT_FALSE(smtp::is_valid_address("a@exa mple.org"));
  EXPECT_EQ(smtp::format_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

}  // namespace
}  // namespace crier::testing
