// The JSON shape of message content, shared by the API and storage:
//   {"email": {"subject","text","html"}, "sms": {"body"}, "push": {"title","body"},
//    "webhook": {"body": <any JSON>}, "whatsapp": {"template","language","parameters":[...]},
//    "locales": {"fr": {<the same, without "locales">}, ...}}
#pragma once

#include <boost/json/value.hpp>

#include <string_view>

#include "engine/content.h"
#include "engine/result.h"

namespace crier {

// Validates shape and types; errors name the field under `where`.
Result<LocalizedContent> content_from_json(const boost::json::value& v, std::string_view where);
boost::json::object content_to_json(const LocalizedContent& c);

}  // namespace crier
