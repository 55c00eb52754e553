// The one Error -> HTTP map (api/errors.cpp): every kind's status, and what
// an error body may carry. A store's own words (RocksDB's status, with the
// data directory's file paths) go to the server's log, never to a client.
#include "api/errors.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace crier::api {
namespace {

TEST(ErrorsTest, EveryKindHasItsStatus) {
  EXPECT_EQ(http_status(ErrorKind::invalid), 400);
  EXPECT_EQ(http_status(ErrorKind::unauthorized), 401);
  EXPECT_EQ(http_status(ErrorKind::not_found), 404);
  EXPECT_EQ(http_status(ErrorKind::method_not_allowed), 405);
  EXPECT_EQ(http_status(ErrorKind::conflict), 409);
  EXPECT_EQ(http_status(ErrorKind::too_large), 413);
  EXPECT_EQ(http_status(ErrorKind::unsupported), 415);
  EXPECT_EQ(http_status(ErrorKind::unprocessable), 422);
  EXPECT_EQ(http_status(ErrorKind::internal), 500);
  EXPECT_EQ(http_status(ErrorKind::unavailable), 503);
  EXPECT_EQ(http_status(ErrorKind::insufficient_storage), 507);
}

TEST(ErrorsTest, AFullDiskIs507AndItsDetailStaysInTheServer) {
  Error e = make_error(ErrorKind::insufficient_storage, "storage_full",
                       "the server's disk is full: nothing was stored; retry once space is freed");
  e.detail = "write: IO error: No space left on device: While appending to file: /var/lib/crier/000042.log";
  auto r = error_response(e, "req_1");
  EXPECT_EQ(r.status, 507);
  auto body = boost::json::parse(r.body).as_object();
  auto& error = body.at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "storage_full");
  EXPECT_EQ(error.at("type").as_string(), "insufficient_storage");
  EXPECT_EQ(error.at("request_id").as_string(), "req_1");
  EXPECT_EQ(r.body.find("000042.log"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("/var/lib/crier"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("No space"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace crier::api
