// The fixture of the delivery-channel end-to-end tests: the real
// `crier serve` with a TOML config written by the test, and real receivers
// (an in-process WebhookSink, the aiosmtpd sink process) on loopback.
//
// Unlike CrierTest, SetUp starts nothing: a test first starts the receivers
// it needs (their ports go into the config), then start_with_config().
// The server runs without --default-provider, so the config's [dispatch]
// routing applies to jobs that name no provider; most tests name theirs
// ("provider": NAME).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sink/webhook_sink.h"
#include "tests/e2e/e2e_fixture.h"

namespace crier::e2e {

// A Standard Webhooks secret for configs ("whsec_" + base64 of 24 bytes).
inline constexpr const char* kSigningSecret = "whsec_xsqMk3QFQW+ENIEA3ZT5mvwbknfKxPKT";

class ChannelTest : public CrierTest {
 protected:
  void SetUp() override {}  // each test starts its receivers, then the server

  std::string default_provider() const override { return {}; }

  std::vector<std::string> server_args() const override {
    if (config_path_.empty()) return {};
    return {"--config", config_path_.string()};
  }

  // Writes `toml` to a scratch file and starts the server with it (an empty
  // string: no --config at all, the built-in providers only).
  void start_with_config(std::string_view toml) {
    if (!toml.empty()) {
      config_path_ = scratch_file("crier.toml");
      std::ofstream out(config_path_, std::ios::trunc);
      out << toml;
      if (!out) throw std::runtime_error("cannot write " + config_path_.string());
    }
    start_server();
  }

  // Sink options that verify signatures with `secret` (none when empty).
  static SinkOptions sink_options(std::string secret = {}) {
    SinkOptions o;
    o.secret = std::move(secret);
    return o;
  }

  // The tenant's webhook signing secret, as GET /v1/webhook-secret gives it.
  static std::string tenant_secret(HttpClient& api) {
    return str(require(api.get("/v1/webhook-secret"), 200, "webhook secret"), "secret");
  }
  // Makes the sink verify what the tenant of `api` sends.
  static void trust_tenant_secret(WebhookSink& sink, HttpClient& api) {
    if (auto r = sink.add_secret(tenant_secret(api)); !r) throw std::runtime_error(r.error().message);
  }

  // A started WebhookSink; throws when it cannot listen.
  static std::unique_ptr<WebhookSink> start_sink(SinkOptions options) {
    auto sink = std::make_unique<WebhookSink>(std::move(options));
    auto port = sink->start();
    if (!port) throw std::runtime_error("webhook sink: " + port.error().message);
    return sink;
  }

 private:
  std::filesystem::path config_path_;
};

// What running the crier binary to its end gave.
struct ExitResult {
  int exit_code = -1;  // -1: killed by a signal (or by us at the deadline)
  std::string output;  // stdout and stderr together
};

// Runs `crier <args...>` with stdout and stderr into `output_file` and waits
// for it to exit; a process still running at `deadline` is killed (exit -1).
inline ExitResult run_crier(const std::vector<std::string>& args,
                            const std::filesystem::path& output_file,
                            std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  std::vector<std::string> all = {CRIER_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error("cannot open " + output_file.string());
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  ExitResult result;
  int status = 0;
  bool exited = poll_until(
      deadline, [&] { return ::waitpid(pid, &status, WNOHANG) == pid; },
      std::chrono::milliseconds(10));
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  std::ifstream in(output_file);
  std::stringstream ss;
  ss << in.rdbuf();
  result.output = ss.str();
  return result;
}

// The value of `name` in an application/x-www-form-urlencoded body, decoded
// ("" when absent). Throws on a malformed escape.
inline std::string form_value(std::string_view body, std::string_view name) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out.push_back(' ');
      } else if (s[i] == '%') {
        if (i + 2 >= s.size()) throw std::runtime_error("a truncated %-escape in a form body");
        out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  };
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    auto eq = pair.find('=');
    if (decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace crier::e2e
