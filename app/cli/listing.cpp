#include "app/cli/listing.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "app/cli/interrupt.h"

namespace crier::cli {

namespace json = boost::json;

int list_pages(ApiClient& api, const CliState& state, const std::string& path, const char* items,
               const std::string& status, int limit, bool all, const std::string& header,
               const std::function<void(const json::object&)>& row) {
  const bool text = state.common.mode() == OutputMode::text;
  std::string cursor;
  bool first = true;
  for (;;) {
    std::string query;
    if (limit > 0) query += fmt::format("&limit={}", limit);
    if (!status.empty()) query += "&status=" + path_segment(status);
    if (!cursor.empty()) query += "&cursor=" + path_segment(cursor);
    if (!query.empty()) query[0] = '?';
    auto reply = api.get(path + query);
    if (!reply.ok()) return report_failure(reply, state.common.connection);
    auto v = reply.json();
    if (!v.is_object() || !v.as_object().contains(items) || !v.as_object().at(items).is_array())
      return report_input_error(fmt::format("the server's answer has no '{}' list", items));
    if (text && first) fmt::print("{}\n", header);
    first = false;
    for (const auto& item : v.as_object().at(items).as_array()) {
      if (!item.is_object()) continue;
      if (text)
        row(item.as_object());
      else
        print_json(item);
    }
    std::fflush(stdout);
    cursor.clear();
    if (auto* paging = v.as_object().if_contains("paging"); paging && paging->is_object())
      if (auto* c = paging->as_object().if_contains("cursor"); c && c->is_string()) cursor = c->as_string();
    if (cursor.empty()) break;
    if (!all) {
      if (text) fmt::print("(more: --all shows every page)\n");
      break;
    }
    if (interrupted()) return exit_code::interrupted;
  }
  return exit_code::ok;
}

}  // namespace crier::cli
