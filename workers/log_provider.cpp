#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <mutex>

#include "workers/provider.h"

namespace crier {
namespace {

class NullProvider final : public Provider {
 public:
  explicit NullProvider(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  boost::asio::awaitable<std::vector<DeliveryOutcome>> send(
      std::span<const OutboundMessage> messages) override {
    co_return std::vector<DeliveryOutcome>(messages.size());
  }

 private:
  std::string name_;
};

boost::json::object to_json(const OutboundMessage& m) {
  boost::json::object o{{"message_id", m.message_id}, {"job_id", m.job_id},
                        {"seq", m.seq},               {"channel", to_string(m.channel)},
                        {"to", m.to}};
  if (!m.user_id.empty()) o["user_id"] = m.user_id;
  if (!m.correlation_id.empty()) o["correlation_id"] = m.correlation_id;
  const auto& c = m.content;
  switch (m.channel) {
    case Channel::email:
      o["subject"] = c.subject;
      o["text"] = c.text;
      o["html"] = c.html;
      break;
    case Channel::sms:
      o["body"] = c.body;
      if (c.sms)
        o["sms"] = {{"encoding", to_string(c.sms->encoding)},
                    {"segments", c.sms->segments},
                    {"characters", c.sms->characters}};
      break;
    case Channel::push:
      o["title"] = c.title;
      o["body"] = c.body;
      break;
    case Channel::webhook: o["body"] = boost::json::parse(c.json_body); break;
    case Channel::whatsapp: {
      boost::json::array params;
      for (const auto& p : c.parameters) params.emplace_back(p);
      o["template"] = c.template_name;
      o["language"] = c.language;
      o["parameters"] = std::move(params);
      if (!c.buttons.empty()) {
        boost::json::array buttons;
        for (const auto& b : c.buttons)
          buttons.push_back(boost::json::object{{"index", b.index}, {"sub_type", b.sub_type}, {"text", b.text}});
        o["buttons"] = std::move(buttons);
      }
      break;
    }
  }
  return o;
}

class LogProvider final : public Provider {
 public:
  LogProvider(std::string path, std::string name) : path_(std::move(path)), name_(std::move(name)) {
    file_ = path_ == "-" ? stdout : std::fopen(path_.c_str(), "a");
    if (!file_) spdlog::error("log provider: cannot open {}", path_);
  }
  ~LogProvider() override {
    if (file_ && file_ != stdout) std::fclose(file_);
  }
  std::string_view name() const override { return name_; }

  boost::asio::awaitable<std::vector<DeliveryOutcome>> send(
      std::span<const OutboundMessage> messages) override {
    std::string out;
    for (const auto& m : messages) {
      out += boost::json::serialize(to_json(m));
      out.push_back('\n');
    }
    std::vector<DeliveryOutcome> outcomes(messages.size());
    bool written = false;
    {
      std::lock_guard lock(mu_);
      written = file_ && std::fwrite(out.data(), 1, out.size(), file_) == out.size() &&
                std::fflush(file_) == 0;
    }
    // The path stays in the server's log: a recipient's error is shown to clients.
    if (!written) {
      spdlog::error("log provider: cannot write {}", path_);
      for (auto& o : outcomes) o = {false, true, "log_write_failed", "cannot write the delivery log"};
    }
    co_return outcomes;
  }

 private:
  std::string path_;
  std::string name_;
  std::FILE* file_ = nullptr;
  std::mutex mu_;
};

}  // namespace

std::unique_ptr<Provider> make_null_provider(std::string name) {
  return std::make_unique<NullProvider>(std::move(name));
}
std::unique_ptr<Provider> make_log_provider(std::string path, std::string name) {
  return std::make_unique<LogProvider>(std::move(path), std::move(name));
}

}  // namespace crier
