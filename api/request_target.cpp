#include "api/request_target.h"

#include <boost/url/parse.hpp>

namespace crier::api {

Result<void> read_target(std::string_view target, ApiRequest& req) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return make_error(ErrorKind::invalid, "invalid_path", "the request target is not a valid path");
  req.path = std::string(url->path());
  for (auto param : url->params()) req.query[std::string(param.key)] = std::string(param.value);
  return {};
}

}  // namespace crier::api
