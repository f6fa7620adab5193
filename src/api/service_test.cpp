#include "api/service.h"

#include <gtest/gtest.h>

#include "domain/digest.h"

namespace varelay::api {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  EngineStats stats_;
  Service service_{stats_, {}};

  Service::Prepared Post(std::string_view target, std::string_view body, bool idempotency = true) {
    HttpRequestView r;
    r.method = "POST";
    r.target = target;
    r.authorization = "Bearer vrk_anything";
    r.content_type = "application/json";
    r.has_idempotency_key = idempotency;
    r.idempotency_key = "k1";
    r.body = body;
    return service_.Prepare(r);
  }

  static std::string Code(const Service::Prepared& p) {
    if (!p.response) return "submitted";
    auto& body = p.response->body;
    auto at = body.find("\"code\":\"");
    return at == std::string::npos ? body : body.substr(at + 8, body.find('"', at + 8) - at - 8);
  }
};

// Proves each kind of bad assignment request is refused with its stable code before the engine.
TEST_F(ServiceTest, RefusesBadAssignmentRequests) {
  struct Case {
    std::string_view body;
    std::string code;
  };
  const Case cases[] = {
      {R"({"order_id":"o1","amount":1000,"bank":"004"})", "submitted"},
      {R"({"order_id":"o1","amount":1000,"bank":"004")", "malformed_json"},
      {"{\"order_id\":\"o\xff\",\"amount\":1000,\"bank\":\"004\"}", "invalid_utf8"},
      {R"([1,2])", "malformed_json"},
      {R"({"order_id":"o1","amount":"1000","bank":"004"})", "invalid_amount"},
      {R"({"order_id":"o1","amount":0,"bank":"004"})", "invalid_amount"},
      {R"({"order_id":"o1","amount":-5,"bank":"004"})", "invalid_amount"},
      {R"({"order_id":"o1","amount":10.5,"bank":"004"})", "invalid_amount"},
      {R"({"order_id":"o1","amount":1e3,"bank":"004"})", "invalid_amount"},
      {R"({"order_id":"o1","amount":99999999999999999999999,"bank":"004"})", "invalid_amount"},
      {R"({"order_id":"o1","amount":10000000000000,"bank":"004"})", "invalid_amount"},
      {R"({"order_id":"o1","amount":1000,"bank":"004","currency":"XYZ"})", "unknown_currency"},
      {R"({"order_id":"o1","amount":1000})", "missing_field"},
      {R"({"order_id":"o1","amount":1000,"bank":"004","amout":5})", "unknown_field"},
      {R"({"order_id":"o1","amount":1000,"amount":1,"bank":"004"})", "malformed_json"},
      {R"({"order_id":"o 1","amount":1000,"bank":"004"})", "invalid_field"},
      {R"({"order_id":"o1","amount":1000,"bank":4})", "invalid_field"},
      {R"({"order_id":"o1","amount":1000,"bank":"004","customer":{"nmae":"x"}})", "unknown_field"},
      {R"({"order_id":"o1","amount":1000,"bank":"004","amount_rule":{"type":"range","min":5,"max":1}})", "invalid_amount"},
      {R"({"order_id":"o1","amount":1000,"bank":"004","due_at":"tomorrow"})", "invalid_field"},
  };
  for (const auto& c : cases) EXPECT_EQ(Code(Post("/v1/assignments", c.body)), c.code) << c.body;
}

// Proves a missing Idempotency-Key, a wrong media type and an unknown route are refused.
TEST_F(ServiceTest, RefusesMissingKeyMediaTypeAndRoutes) {
  EXPECT_EQ(Code(Post("/v1/assignments", R"({"order_id":"o1","amount":1,"bank":"004"})", false)),
            "idempotency_key_missing");
  HttpRequestView r;
  r.method = "POST";
  r.target = "/v1/banks";
  r.authorization = "Bearer x";
  r.content_type = "text/plain";
  r.body = "{}";
  EXPECT_EQ(Code(service_.Prepare(r)), "unsupported_media_type");
  r.target = "/v1/nothing";
  EXPECT_EQ(Code(service_.Prepare(r)), "route_not_found");
  r.method = "PUT";
  r.target = "/v1/banks";
  EXPECT_EQ(Code(service_.Prepare(r)), "method_not_allowed");
  r.method = "GET";
  r.authorization = "";
  EXPECT_EQ(Code(service_.Prepare(r)), "unauthorized");
}

// Proves a request's head alone decides its body limit and turns away a missing or unknown key on
// a route that needs one, but not on routes that take none or do not exist.
TEST_F(ServiceTest, AdmitsOnTheHeadersAlone) {
  KeyDirectory keys;
  keys.Publish({{Sha256Hex("vrk_known"), Role::kBank}});
  auto camt = service_.Admit("POST", "/v1/bank/camt053", "Bearer vrk_known", keys);
  EXPECT_EQ(camt.body_limit, kMaxBankMessageBytes);
  EXPECT_FALSE(camt.refusal);
  for (std::string_view authorization : {"Bearer vrk_unknown", "", "Basic abc"}) {
    auto refused = service_.Admit("POST", "/v1/bank/camt053", authorization, keys);
    ASSERT_TRUE(refused.refusal) << authorization;
    EXPECT_EQ(refused.refusal->status, 401);
    EXPECT_EQ(refused.refusal->content_type, "application/problem+json");
  }
  EXPECT_FALSE(service_.Admit("GET", "/healthz", "", keys).refusal);
}

// Proves a route that takes no body, or no route at all, is given no body budget: /healthz and
// every GET get a body limit of 0, /metrics needs a key like any other, and a target that names
// no route is answered 404 or 405 from its head (a stranger cannot make the server wait for a body).
TEST_F(ServiceTest, AdmitsNoBodyWhereNoneIsTaken) {
  KeyDirectory keys;
  keys.Publish({{Sha256Hex("vrk_known"), Role::kAdmin}});
  auto health = service_.Admit("GET", "/healthz", "", keys);
  EXPECT_FALSE(health.refusal);
  EXPECT_EQ(health.body_limit, 0u);
  auto banks = service_.Admit("GET", "/v1/banks", "Bearer vrk_known", keys);
  EXPECT_FALSE(banks.refusal);
  EXPECT_EQ(banks.body_limit, 0u);
  EXPECT_EQ(service_.Admit("POST", "/v1/assignments", "Bearer vrk_known", keys).body_limit, kMaxBodyBytes);
  auto metrics = service_.Admit("GET", "/metrics", "", keys);
  ASSERT_TRUE(metrics.refusal);
  EXPECT_EQ(metrics.refusal->status, 401);
  auto nothing = service_.Admit("POST", "/v1/nothing", "", keys);
  ASSERT_TRUE(nothing.refusal);
  EXPECT_EQ(nothing.refusal->status, 404);
  auto wrong_method = service_.Admit("PUT", "/v1/banks", "", keys);
  ASSERT_TRUE(wrong_method.refusal);
  EXPECT_EQ(wrong_method.refusal->status, 405);
  ASSERT_TRUE(service_.Admit("POST", "//bad target", "", keys).refusal);
}

// Proves a known key is turned away 403 from its head alone on a route only another role may call
// (the bank routes, the admin's, the 4 MiB pool load among them), so its body is never read;
// routes that several roles share are left to the engine.
TEST_F(ServiceTest, RefusesARoleTheRouteNeverTakesBeforeTheBody) {
  KeyDirectory keys;
  keys.Publish({{Sha256Hex("vrk_admin"), Role::kAdmin},
                {Sha256Hex("vrk_shop"), Role::kMerchant},
                {Sha256Hex("vrk_payouts"), Role::kMerchantPayouts},
                {Sha256Hex("vrk_bank"), Role::kBank}});
  auto forbidden = [&](std::string_view method, std::string_view target, std::string_view key) {
    auto admission = service_.Admit(method, target, "Bearer " + std::string(key), keys);
    if (!admission.refusal) return false;
    EXPECT_EQ(admission.refusal->status, 403) << target << " " << key;
    EXPECT_NE(admission.refusal->body.find("\"code\":\"forbidden\""), std::string::npos);
    return true;
  };
  for (auto target : {"/v1/bank/camt053", "/v1/bank/camt054", "/v1/bank/precheck",
                      "/v1/bank/deposits", "/v1/bank/cancellations"}) {
    for (auto key : {"vrk_admin", "vrk_shop", "vrk_payouts"}) EXPECT_TRUE(forbidden("POST", target, key)) << target << key;
    EXPECT_FALSE(forbidden("POST", target, "vrk_bank")) << target;
  }
  const auto pool = "/v1/pools/shop/004/seoul/numbers";
  for (auto key : {"vrk_shop", "vrk_payouts", "vrk_bank"}) EXPECT_TRUE(forbidden("POST", pool, key)) << key;
  EXPECT_FALSE(forbidden("POST", pool, "vrk_admin"));
  EXPECT_TRUE(forbidden("POST", "/v1/api-keys", "vrk_shop"));
  EXPECT_TRUE(forbidden("GET", "/metrics", "vrk_bank"));
  EXPECT_FALSE(forbidden("POST", "/v1/assignments", "vrk_bank")) << "left to the engine";
  EXPECT_FALSE(forbidden("GET", "/v1/deposits", "vrk_bank"));
}

// Proves the route list is what --print-routes shows and the pool load allows a larger body.
TEST_F(ServiceTest, RoutesAndBodyLimits) {
  auto routes = Service::RouteList();
  EXPECT_EQ(routes.front(), "GET /healthz");
  EXPECT_EQ(service_.BodyLimit("POST", "/v1/pools/shop/004/seoul/numbers"), kMaxPoolLoadBytes);
  EXPECT_EQ(service_.BodyLimit("POST", "/v1/assignments"), kMaxBodyBytes);
}

}  // namespace
}  // namespace varelay::api
