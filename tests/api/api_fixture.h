// Shared set-up for the api tests: the real parts wired as app/serve.cpp wires
// them (RocksStore -> JobService -> Dispatcher -> ApiContext -> Router) in a
// temp dir, and requests sent straight to Router::handle, with no socket.
#pragma once

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/context.h"
#include "api/http_types.h"
#include "api/router.h"
#include "engine/job_service.h"
#include "engine/time_format.h"
#include "storage/rocks_store.h"
#include "tests/support/temp_dir.h"
#include "workers/dispatcher.h"
#include "workers/provider.h"
#include "workers/tenant_signing.h"

namespace crier::testing {

namespace json = boost::json;

inline constexpr const char* kKeyAcme = "key-aaaaaaaa";
inline constexpr const char* kKeyOther = "key-bbbbbbbb";

// A minimal valid email job body.
inline std::string email_job_body(std::string extra = {}) {
  std::string body = R"({"channel":"email","content":{"email":{"subject":"Hi {{name}}","text":"Hello {{name}}"}})";
  if (!extra.empty()) body += "," + extra;
  return body + "}";
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() {
    auto opened = RocksStore::open(StoreOptions{(dir_.path() / "data").string()});
    if (!opened) throw std::runtime_error("cannot open store: " + opened.error().message);
    store_ = std::move(opened).value();
    service_ = std::make_unique<JobService>(*store_, *store_, now_unix_ms);
    service_->set_senders(store_.get());
    DispatchOptions options;
    options.window = 100;
    dispatcher_ = std::make_unique<Dispatcher>(*service_, *store_, options);
    dispatcher_->add_provider(make_null_provider());
    dispatcher_->add_provider(make_log_provider((dir_.path() / "delivery.log").string()));
    service_->set_listener(dispatcher_.get());
    dispatcher_->set_suppressions(store_.get());
    // null and log for everyone; "vault" (a provider with credentials,
    // not registered: jobs naming it never run) for tenant "other" only.
    access_ = std::make_unique<ProviderAccess>(
        std::vector<ProviderGrant>{{"null", true, {}, false}, {"log", true, {}, false}, {"vault", false, {"other"}, true}},
        "log", std::map<Channel, std::string>{});
    service_->set_provider_access(access_.get());
    ctx_.reset(new api::ApiContext{*service_, *store_, *store_, *store_, *store_,
                                   {{kKeyAcme, "acme"}, {kKeyOther, "other"}}, api::ApiLimits{}});
    ctx_->rate_of = [this](const JobKey& k) { return dispatcher_->rate_per_second(k); };
    ctx_->provider_exists = [this](std::string_view name) { return dispatcher_->has_provider(name); };
    ctx_->senders = store_.get();
    ctx_->profiles = store_.get();
    ctx_->suppressions = store_.get();
    ctx_->segments = store_.get();
    ctx_->frequency_caps = store_.get();
    signing_ = std::make_unique<TenantSigning>(*store_, now_unix_ms);
    ctx_->signing = signing_.get();
    ctx_->ready = true;
    router_ = std::make_unique<api::Router>(*ctx_);
    dispatcher_->start();
  }

  ~ApiTest() override {
    service_->set_listener(nullptr);
    dispatcher_->stop();
  }

  // A request for "METHOD /path?query", authenticated as acme, JSON typed.
  // The body keeps simdjson's padding after it, as the server does.
  static api::ApiRequest request(std::string method, std::string target, std::string body = {},
                                 std::string key = kKeyAcme) {
    api::ApiRequest req;
    req.method = std::move(method);
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
      std::string_view rest = std::string_view(target).substr(q + 1);
      while (!rest.empty()) {
        auto amp = rest.find('&');
        auto item = rest.substr(0, amp);
        auto eq = item.find('=');
        req.query.emplace(std::string(item.substr(0, eq)),
                          eq == std::string_view::npos ? std::string() : std::string(item.substr(eq + 1)));
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
      }
    }
    if (!key.empty()) req.authorization = "Bearer " + key;
    req.content_type = "application/json";
    req.request_id = "req_test0000000000000001";
    req.body.reserve(body.size() + 64);
    req.body.append(body);
    return req;
  }

  api::ApiResponse send(api::ApiRequest req) { return router_->handle(req); }
  api::ApiResponse send(std::string method, std::string target, std::string body = {},
                        std::string key = kKeyAcme) {
    return send(request(std::move(method), std::move(target), std::move(body), std::move(key)));
  }

  static json::object body_of(const api::ApiResponse& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << "response body is not JSON: " << r.body;
    if (ec || !v.is_object()) return {};
    return v.as_object();
  }

  static std::optional<std::string> header(const api::ApiResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return std::nullopt;
  }

  // The error code of an error answer ("" when the body has none).
  static std::string error_code(const api::ApiResponse& r) {
    auto b = body_of(r);
    if (!b.contains("error") || !b.at("error").is_object()) return "";
    const auto& e = b.at("error").as_object();
    return e.contains("code") ? std::string(e.at("code").as_string()) : "";
  }

  static std::string error_field(const api::ApiResponse& r, std::string_view name) {
    auto b = body_of(r);
    if (!b.contains("error")) return "";
    const auto& e = b.at("error").as_object();
    auto it = e.find(name);
    return it == e.end() || !it->value().is_string() ? "" : std::string(it->value().as_string());
  }

  // Creates a job (201 expected) and returns its id.
  std::string create_job(std::string body = email_job_body(), std::string key = kKeyAcme) {
    auto r = send("POST", "/v1/jobs", std::move(body), std::move(key));
    EXPECT_EQ(r.status, 201) << r.body;
    auto b = body_of(r);
    return b.contains("job_id") ? std::string(b.at("job_id").as_string()) : "";
  }

  // A job created after every job created before it, by at least a
  // millisecond, so "newest first" has one right answer.
  std::string create_job_after_clock_tick(std::string body = email_job_body()) {
    auto start = now_unix_ms();
    while (now_unix_ms() == start) std::this_thread::yield();
    return create_job(std::move(body));
  }

  // {"users":[{"email":"u<i>@example.com", ...}...]} for i in [from, to).
  static std::string users_body(int from, int to) {
    json::array users;
    for (int i = from; i < to; ++i)
      users.push_back(json::object{{"email", fmt::format("u{}@example.com", i)},
                                   {"data", json::object{{"name", fmt::format("User {}", i)}}}});
    return json::serialize(json::object{{"users", std::move(users)}});
  }

  api::ApiResponse ingest(const std::string& job_id, std::string body, std::string content_type = "application/json") {
    auto req = request("POST", "/v1/jobs/" + job_id + "/users", std::move(body));
    req.content_type = std::move(content_type);
    return send(std::move(req));
  }

  json::object get_job(const std::string& job_id) {
    auto r = send("GET", "/v1/jobs/" + job_id);
    EXPECT_EQ(r.status, 200) << r.body;
    return body_of(r);
  }

  std::string job_status(const std::string& job_id) {
    auto b = get_job(job_id);
    return b.contains("status") ? std::string(b.at("status").as_string()) : "";
  }

  // Polls until the job reaches `status` or 10 s pass; returns the last status seen.
  std::string wait_for_status(const std::string& job_id, std::string_view status) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string seen;
    while (std::chrono::steady_clock::now() < deadline) {
      seen = job_status(job_id);
      if (seen == status) return seen;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return seen;
  }

  // Every user of the job, following the cursors.
  std::vector<json::object> all_users(const std::string& job_id, std::string filter = {}) {
    std::vector<json::object> out;
    std::string cursor;
    for (int page = 0; page < 10000; ++page) {
      std::string target = "/v1/jobs/" + job_id + "/users?limit=1000";
      if (!filter.empty()) target += "&status=" + filter;
      if (!cursor.empty()) target += "&cursor=" + cursor;
      auto r = send("GET", target);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      auto b = body_of(r);
      for (const auto& u : b.at("users").as_array()) out.push_back(u.as_object());
      const auto& c = b.at("paging").at("cursor");
      if (c.is_null()) break;
      cursor = std::string(c.as_string());
    }
    return out;
  }

  // The next request under an Idempotency-Key stops where a crash would
  // hurt most: its action committed, its answer not stored. The store is
  // then as a kill -9 there leaves it (the router answers 500 and frees the
  // key, as a restart does); later requests go through.
  void crash_once_before_the_answer() {
    ctx_->crash_point = [armed = std::make_shared<bool>(true)](std::string_view point) {
      if (point == "idempotent_answer" && std::exchange(*armed, false))
        throw std::runtime_error("simulated crash before the idempotent answer");
    };
  }

  // The tenant's jobs, across pages.
  std::size_t jobs_of(std::string key = kKeyAcme) {
    auto r = send("GET", "/v1/jobs?limit=1000", "", std::move(key));
    EXPECT_EQ(r.status, 200) << r.body;
    return body_of(r).at("jobs").as_array().size();
  }

  TempDir dir_;
  std::unique_ptr<RocksStore> store_;
  std::unique_ptr<JobService> service_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<ProviderAccess> access_;
  std::unique_ptr<TenantSigning> signing_;
  std::unique_ptr<api::ApiContext> ctx_;
  std::unique_ptr<api::Router> router_;
};

// A JSON string's text; "<not a string>" otherwise, so comparisons fail readably.
inline std::string text(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "<not a string: " + json::serialize(v) + ">";
}

inline std::int64_t int_of(const json::object& o, std::string_view key) {
  return o.at(key).to_number<std::int64_t>();
}

}  // namespace crier::testing
