#include "tests/cli/cli_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/child_process.h"

extern char** environ;

namespace crier::cli_test {

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string CliRun::describe() const {
  return fmt::format("exit {}\n--- stdout ---\n{}--- stderr ---\n{}", exit_code, out, err);
}

SinkProcess::SinkProcess(std::vector<std::string> extra_args) {
  std::vector<std::string> args = {CRIER_BINARY, "sink", "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto child = crier::testing::spawn_child(args, devnull);
  ::close(devnull);
  pid_ = child.pid;
  std::string seen, why;
  auto line = crier::testing::read_first_line(child.stdout_fd, std::chrono::seconds(20), seen, why);
  ::close(child.stdout_fd);  // the sink prints nothing more without --report-every
  if (!line) throw std::runtime_error("crier sink did not start: " + why + " " + seen);
  port_ = static_cast<unsigned short>(std::stoi(line->substr(line->rfind(':') + 1)));
}

SinkProcess::~SinkProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string SinkProcess::url(std::string_view path) const { return fmt::format("http://127.0.0.1:{}{}", port_, path); }

void CliTest::SetUp() {
  server_ = std::make_unique<crier::testing::ServerProcess>(
      data_.path(), std::vector<std::string>{"--api-key", fmt::format("{}=acme", kApiKey), "--default-provider", "log"});
  api_ = std::make_unique<crier::testing::HttpClient>(server_->port(), kApiKey);
}

void CliTest::TearDown() {
  api_.reset();
  if (server_ && HasFailure()) std::cerr << "--- server output (tail) ---\n" << server_->output_tail() << "\n";
  if (server_) server_->kill9();
}

std::string CliTest::url() const { return fmt::format("http://127.0.0.1:{}", server_->port()); }

CliRun CliTest::crier(const std::vector<std::string>& args, const std::vector<std::string>& env,
                      const std::filesystem::path& stdin_path) {
  const int n = ++run_counter_;
  const auto out_path = scratch_.path() / fmt::format("run{}.out", n);
  const auto err_path = scratch_.path() / fmt::format("run{}.err", n);

  // Our environment, with the server's URL and key, then `env` on top
  // ("NAME=" removes NAME).
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string_view var(*e);
    auto eq = var.find('=');
    if (eq != std::string_view::npos) vars[std::string(var.substr(0, eq))] = std::string(var.substr(eq + 1));
  }
  vars["CRIER_URL"] = url();
  vars["CRIER_API_KEY"] = kApiKey;
  for (const auto& e : env) {
    auto eq = e.find('=');
    if (eq + 1 == e.size())
      vars.erase(e.substr(0, eq));
    else
      vars[e.substr(0, eq)] = e.substr(eq + 1);
  }
  std::vector<std::string> envs;
  for (const auto& [k, v] : vars) envs.push_back(k + "=" + v);

  std::vector<std::string> argv_s = {CRIER_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);

  const std::string in = stdin_path.empty() ? "/dev/null" : stdin_path.string();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int i = ::open(in.c_str(), O_RDONLY);
    int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (i < 0 || o < 0 || e < 0) ::_exit(126);
    ::dup2(i, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  CliRun run;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << "crier " << fmt::format("{}", fmt::join(args, " ")) << " ran over 30 s";
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_all(out_path);
  run.err = read_all(err_path);
  return run;
}

json::object CliTest::stdout_object(const CliRun& run) {
  boost::system::error_code ec;
  auto v = json::parse(run.out, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "stdout is not one JSON object: " << run.describe();
    return {};
  }
  return v.as_object();
}

std::filesystem::path CliTest::write_file(const std::string& name, std::string_view content) {
  auto p = scratch_.path() / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

json::object CliTest::job(const std::string& id) {
  auto r = api_->get("/v1/jobs/" + id);
  if (r.status != 200) throw std::runtime_error("GET job: " + r.describe());
  return r.object();
}

std::string ndjson_users(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i)
    out += fmt::format("{{\"user_id\":\"u{}\",\"email\":\"u{}@example.com\",\"data\":{{\"n\":{}}}}}\n", i, i, i);
  return out;
}

std::string csv_users(int first, int count, bool header) {
  std::string out = header ? "user_id,email,data.n\n" : "";
  for (int i = first; i < first + count; ++i) out += fmt::format("u{},u{}@example.com,{}\n", i, i, i);
  return out;
}

std::int64_t num(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_number()) throw std::runtime_error(fmt::format("no number '{}' in {}", key, json::serialize(o)));
  return v->to_number<std::int64_t>();
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace crier::cli_test
