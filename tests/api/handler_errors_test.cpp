// An exception inside a handler is answered, not lost: 500 internal_error in
// the error shape of the API the path belongs to, with the request id.
#include "tests/api/api_fixture.h"

#include <stdexcept>

namespace crier::testing {
namespace {

class HandlerErrorsTest : public ApiTest {};

TEST_F(HandlerErrorsTest, AThrowingHandlerIsAnswered500WithTheRequestId) {
  auto id = create_job();
  ASSERT_FALSE(id.empty());
  ctx_->rate_of = [](const JobKey&) -> double { throw std::runtime_error("secret internals"); };
  auto r = send("GET", "/v1/jobs/" + id);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(error_code(r), "internal_error") << r.body;
  EXPECT_NE(r.body.find("req_test0000000000000001"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("secret internals"), std::string::npos) << "the exception's text stays in the log";
  // The router keeps serving.
  ctx_->rate_of = [](const JobKey&) { return 0.0; };
  EXPECT_EQ(send("GET", "/v1/jobs/" + id).status, 200);
}

TEST_F(HandlerErrorsTest, AnExceptionOnAVendorPathIsAnsweredInTheVendorsShape) {
  auto req = request("POST", "/bulk", "{}");
  api::ApiResponse r;
  try {
    throw std::runtime_error("boom");
  } catch (...) {
    r = router_->exception_answer(req, "test");
  }
  EXPECT_EQ(r.status, 500) << r.body;
  auto b = body_of(r);
  EXPECT_TRUE(b.contains("message") && b.at("message").is_string()) << r.body;
  EXPECT_FALSE(b.contains("error")) << "Courier's shape, not the native one: " << r.body;
}

}  // namespace
}  // namespace crier::testing
