#include "engine/routing_json.h"

#include <boost/json.hpp>

namespace crier {
namespace json = boost::json;

Result<Routing> routing_from_json(const json::value& v) {
  auto bad = [](std::string message) {
    return make_error(ErrorKind::invalid, "invalid_routing", std::move(message), "routing");
  };
  if (!v.is_object())
    return bad(R"(routing must be an object such as {"method":"single","channels":["email","sms"]})");
  const auto& o = v.get_object();
  for (const auto& [k, member] : o)
    if (k != "method" && k != "channels")
      return bad("unknown member routing." + std::string(k) + " (routing has method and channels)");
  Routing routing;
  if (auto it = o.find("method"); it != o.end() && !it->value().is_null()) {
    auto method = it->value().is_string() ? parse_routing_method(it->value().get_string()) : std::nullopt;
    if (!method) return bad(R"(routing.method must be "single" (the only method so far))");
    routing.method = *method;
  }
  auto it = o.find("channels");
  if (it == o.end() || !it->value().is_array())
    return bad("routing.channels must be an array of 1 to 5 channels (email, sms, push, webhook, whatsapp)");
  for (const auto& c : it->value().get_array()) {
    auto channel = c.is_string() ? parse_channel(c.get_string()) : std::nullopt;
    if (!channel)
      return bad("routing.channels must hold only email, sms, push, webhook or whatsapp, got " +
                 json::serialize(c));
    routing.channels.push_back(*channel);
    if (routing.channels.size() > kMaxRoutedChannels) break;  // check_routing says why
  }
  if (auto r = check_routing(routing); !r) return r.error();
  return routing;
}

json::object routing_to_json(const Routing& routing) {
  json::array channels;
  for (Channel c : routing.channels) channels.emplace_back(to_string(c));
  return json::object{{"method", to_string(routing.method)}, {"channels", std::move(channels)}};
}

}  // namespace crier
