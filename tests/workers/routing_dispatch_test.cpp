// Dispatch of a job routed across channels: each recipient's message goes on
// the channel route_for picks, through that channel's provider; a window's
// messages are grouped by provider and each outcome lands on its recipient.
#include <map>
#include <set>

#include "engine/routing.h"
#include "tests/workers/dispatcher_fixture.h"

namespace crier::testing {
namespace {

// Accepts every message except those to an address containing "reject"
// (a permanent failure), and records what each send() call held.
class ChannelRecorder final : public Provider {
 public:
  explicit ChannelRecorder(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }

  boost::asio::awaitable<std::vector<DeliveryOutcome>> send(std::span<const OutboundMessage> messages) override {
    std::vector<DeliveryOutcome> out;
    std::lock_guard lock(mu_);
    auto& call = calls_.emplace_back();
    for (const auto& m : messages) {
      call.push_back(m);
      if (m.to.find("reject") != std::string::npos) out.push_back({false, false, "refused", "refused by the peer"});
      else out.push_back({});
    }
    co_return out;
  }

  std::vector<std::vector<OutboundMessage>> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::string name_;
  mutable std::mutex mu_;
  std::vector<std::vector<OutboundMessage>> calls_;
};

class RoutingDispatchTest : public DispatcherTest {
 protected:
  // A dispatcher whose email and webhook channels have providers of their
  // own (or, with `shared`, one provider for both).
  void use_channel_providers(bool shared = false) {
    service_->set_listener(nullptr);
    dispatcher_.reset();
    DispatchOptions options;
    options.window = kWindow;
    options.threads = 2;
    options.lanes = 2;
    options.default_provider = "log";
    options.channel_providers[Channel::email] = "mail";
    options.channel_providers[Channel::webhook] = shared ? "mail" : "hooks";
    auto mail = std::make_unique<ChannelRecorder>("mail");
    auto hooks = std::make_unique<ChannelRecorder>("hooks");
    mail_ = mail.get();
    hooks_ = hooks.get();
    dispatcher_ = std::make_unique<Dispatcher>(*service_, *store_, options);
    dispatcher_->add_provider(std::move(mail));
    dispatcher_->add_provider(std::move(hooks));
    dispatcher_->add_provider(make_log_provider(log_path_));
    service_->set_listener(dispatcher_.get());
    dispatcher_->start();
  }

  static JobSpec routed_spec() {
    JobSpec spec;
    spec.routing = Routing{RoutingMethod::single, {Channel::email, Channel::webhook}};
    spec.content.base.email = EmailContent{"Hi {{n}}", "Email {{n}}", ""};
    spec.content.base.webhook = WebhookContent{R"({"text":"Hook {{n}}"})"};
    return spec;
  }

  // User i: an email when i is even (every tenth of those rejected by the
  // receiver), else only a webhook URL (every seventh rejected).
  static std::vector<IngestEntry> mixed_users(const Job& job, int count) {
    std::vector<IngestEntry> out;
    for (int i = 0; i < count; ++i) {
      std::string email, url, data = fmt::format(R"({{"n":{}}})", i);
      if (i % 2 == 0) email = fmt::format("{}{}@example.com", i % 10 == 0 ? "reject" : "u", i);
      else url = fmt::format("https://hooks.example.com/{}{}", i % 7 == 0 ? "reject" : "u", i);
      RawUser raw;
      raw.email = email;
      raw.webhook_url = url;
      raw.data_json = data;
      auto r = validate_user(raw, job.spec);
      EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
      if (!r) continue;
      out.push_back({*r, dedupe_key(*r, job.spec)});
    }
    return out;
  }

  static bool rejected(int i) { return i % 2 == 0 ? i % 10 == 0 : i % 7 == 0; }

  ChannelRecorder* mail_ = nullptr;
  ChannelRecorder* hooks_ = nullptr;
};

TEST_F(RoutingDispatchTest, EachRecipientGoesThroughItsChannelsProvider) {
  use_channel_providers();
  constexpr int kUsers = 450;  // several turns of two lanes
  Job job = create(routed_spec());
  ingest(job, mixed_users(job, kUsers));
  run(job);
  EXPECT_EQ(wait_final(job), JobStatus::partial);

  std::map<std::uint64_t, OutboundMessage> by_seq;
  for (auto* p : {mail_, hooks_})
    for (const auto& call : p->calls()) {
      ASSERT_FALSE(call.empty());
      for (const auto& m : call) {
        EXPECT_EQ(m.channel, p == mail_ ? Channel::email : Channel::webhook)
            << p->name() << " got a message of another channel";
        EXPECT_TRUE(by_seq.emplace(m.seq, m).second) << "seq " << m.seq << " sent twice";
      }
    }
  ASSERT_EQ(by_seq.size(), static_cast<std::size_t>(kUsers));
  for (const auto& [seq, m] : by_seq) {
    const int i = static_cast<int>(seq);
    SCOPED_TRACE(i);
    if (i % 2 == 0) {
      EXPECT_EQ(m.to, fmt::format("{}{}@example.com", i % 10 == 0 ? "reject" : "u", i));
      EXPECT_EQ(m.content.text, fmt::format("Email {}", i));
    } else {
      EXPECT_EQ(m.to, fmt::format("https://hooks.example.com/{}{}", i % 7 == 0 ? "reject" : "u", i));
      EXPECT_EQ(json::parse(m.content.json_body), json::parse(fmt::format(R"({{"text":"Hook {}"}})", i)));
    }
  }
  EXPECT_TRUE(log_lines().empty()) << "the default provider took nothing";

  // Every outcome landed on its own recipient.
  int failed = 0;
  for (const auto& v : recipients(job)) {
    const int i = static_cast<int>(v.recipient.seq);
    SCOPED_TRACE(i);
    EXPECT_EQ(v.state.attempts, 1u);
    if (rejected(i)) {
      ++failed;
      EXPECT_EQ(v.state.status, RecipientStatus::failed);
      EXPECT_EQ(v.state.error_code, "refused");
    } else {
      EXPECT_EQ(v.state.status, RecipientStatus::sent);
    }
  }
  auto c = counters(job);
  expect_invariants(c);
  EXPECT_EQ(c[Counter::failed], failed);
  EXPECT_EQ(c[Counter::sent], kUsers - failed);
}

TEST_F(RoutingDispatchTest, ChannelsSharingAProviderShareItsChunks) {
  use_channel_providers(/*shared=*/true);
  constexpr int kUsers = 60;
  Job job = create(routed_spec());
  ingest(job, mixed_users(job, kUsers));
  run(job);
  EXPECT_EQ(wait_final(job), JobStatus::partial);
  EXPECT_TRUE(hooks_->calls().empty());
  std::set<Channel> seen;
  std::size_t total = 0;
  for (const auto& call : mail_->calls()) {
    for (const auto& m : call) seen.insert(m.channel);
    total += call.size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kUsers));
  EXPECT_EQ(seen, (std::set<Channel>{Channel::email, Channel::webhook}));
}

TEST_F(RoutingDispatchTest, AProviderLimitPacesOnlyItsOwnChannel) {
  use_channel_providers();
  dispatcher_->set_provider_limit("hooks", RateLimit{100, 0});
  // 40 webhooks through a bucket of 100/s, burst 10: at least (40 - 10) / 100
  // = 0.3 s from before the run, on any machine (a slow one only adds).
  constexpr int kUsers = 80;
  Job job = create(routed_spec());
  ingest(job, mixed_users(job, kUsers));
  auto start = std::chrono::steady_clock::now();
  run(job);
  EXPECT_EQ(wait_final(job), JobStatus::partial);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(300)) << "faster than the webhook provider's limit allows";
  std::size_t webhooks = 0;
  for (const auto& call : hooks_->calls()) {
    EXPECT_LE(call.size(), 2u) << "chunks sized for 100/s (2 per 20 ms)";
    webhooks += call.size();
  }
  EXPECT_EQ(webhooks, static_cast<std::size_t>(kUsers / 2));
  // The mail provider has no limit: its chunks are not cut to the webhook
  // provider's pace (the turn, sized by the tightest rate, holds ~10 emails).
  std::size_t largest_mail_chunk = 0;
  for (const auto& call : mail_->calls()) largest_mail_chunk = std::max(largest_mail_chunk, call.size());
  EXPECT_GT(largest_mail_chunk, 2u);
}

}  // namespace
}  // namespace crier::testing
