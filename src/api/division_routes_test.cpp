// Proves the division routes are found beside the relay's own, admitted on their own credentials
// (public, a master's session or token, a merchant's key, the payment page's token), and that
// bad input on each is refused with problem+json before anything runs.
#include "api/division_routes.h"

#include <gtest/gtest.h>

#include "api/service.h"
#include "domain/digest.h"

namespace varelay::api {
namespace {

class DivisionRoutesTest : public ::testing::Test {
 protected:
  EngineStats stats_;
  Service service_{stats_, {}};

  Service::Prepared Send(std::string_view method, std::string_view target, std::string_view body,
                         std::string_view authorization = "Bearer vms_session") {
    HttpRequestView r;
    r.method = method;
    r.target = target;
    r.authorization = authorization;
    r.content_type = body.empty() ? "" : "application/json";
    r.has_idempotency_key = true;
    r.idempotency_key = "k1";
    r.body = body;
    return service_.Prepare(r);
  }

  static std::string Code(const Service::Prepared& p) {
    if (!p.response) return p.division ? "prepared" : "submitted";
    EXPECT_EQ(p.response->content_type, "application/problem+json");
    auto& body = p.response->body;
    auto at = body.find("\"code\":\"");
    return at == std::string::npos ? body : body.substr(at + 8, body.find('"', at + 8) - at - 8);
  }
};

// Proves every route of the design is listed (what --print-routes prints beside the others).
TEST_F(DivisionRoutesTest, ListsEveryRouteOfTheDesign) {
  auto list = Service::RouteList();
  for (std::string_view route :
       {"POST /v1/masters", "POST /v1/master/sessions", "DELETE /v1/master/sessions/current",
        "GET /v1/master", "PUT /v1/master/endpoint", "POST /v1/master/tokens",
        "GET /v1/master/division-accounts", "POST /v1/master/division-accounts",
        "PATCH /v1/master/division-accounts/{account_id}",
        "POST /v1/master/division-accounts/{account_id}/unlock",
        "GET /v1/master/division-accounts/{account_id}/statement", "GET /v1/master/statement",
        "GET /v1/master/approvals", "POST /v1/master/approvals/{approval_id}/decline",
        "POST /v1/division-payments", "POST /v1/division-payments/{payment_id}/refunds",
        "POST /v1/division-payments/{payment_id}/authorize",
        "GET /v1/division-payments/{payment_id}/page"}) {
    EXPECT_NE(std::find(list.begin(), list.end(), route), list.end()) << route;
  }
}

// Proves the head alone decides: enrolment needs nothing; a master route takes a session, or a
// known key of role master; a merchant key there is 403; the page route takes a page token.
TEST_F(DivisionRoutesTest, AdmitsOnTheirOwnCredentials) {
  KeyDirectory keys;
  keys.Publish({{Sha256Hex("vrk_shop"), Role::kMerchant}});
  EXPECT_FALSE(service_.Admit("POST", "/v1/masters", "", keys).refusal);
  EXPECT_EQ(service_.Admit("POST", "/v1/masters", "", keys).body_limit, kMaxBodyBytes);
  EXPECT_FALSE(service_.Admit("GET", "/v1/master", "Bearer vms_whatever", keys).refusal);
  EXPECT_EQ(service_.Admit("GET", "/v1/master", "", keys).refusal->status, 401);
  EXPECT_EQ(service_.Admit("GET", "/v1/master", "Bearer vrk_unknown", keys).refusal->status, 401);
  EXPECT_EQ(service_.Admit("GET", "/v1/master", "Bearer vrk_shop", keys).refusal->status, 403);
  EXPECT_FALSE(
      service_
          .Admit("GET", "/v1/division-payments/dvp_aaaaaaaaaaaaaaaaaaaa/page", "Page pg_x", keys)
          .refusal);
  EXPECT_FALSE(service_.Admit("POST", "/v1/division-payments", "Bearer vrk_shop", keys).refusal);
  EXPECT_EQ(service_.Admit("POST", "/v1/division-payments", "Page pg_x", keys).refusal->status,
            401);
  EXPECT_EQ(service_.Admit("DELETE", "/v1/masters", "", keys).refusal->status, 405);
}

// Proves bad input on the division routes is refused with a stable code and prepares nothing.
TEST_F(DivisionRoutesTest, RefusesBadInputBeforeAnythingRuns) {
  const std::string account = "/v1/master/division-accounts/dva_aaaaaaaaaaaaaaaaaaaa";
  EXPECT_EQ(Code(Send("POST", "/v1/masters", R"({"bank_code":"004"})", "")), "missing_field");
  EXPECT_EQ(Code(Send("POST", "/v1/masters", "{", "")), "malformed_json");
  EXPECT_EQ(Code(Send("GET", "/v1/master", "")), "prepared");
  EXPECT_EQ(Code(Send("GET", "/v1/master", "", "")), "unauthorized");
  EXPECT_EQ(Code(Send("GET", "/v1/master?x=1", "")), "unknown_field");
  EXPECT_EQ(Code(Send("GET", account + "/statement?from=2026-12-01", "")), "prepared");
  EXPECT_EQ(Code(Send("GET", account + "/statement?from=yesterday", "")), "invalid_field");
  EXPECT_EQ(Code(Send("POST", account + "/freeze", "")), "prepared");
  EXPECT_EQ(Code(Send("POST", account + "/freeze", "{}")), "invalid_field");  // takes no body
  EXPECT_EQ(Code(Send("POST", "/v1/master/division-accounts/acc_1/freeze", "")), "not_found");
  EXPECT_EQ(Code(Send("PATCH", account, R"({"limits":{"per_day":"many"}})")), "invalid_field");
  EXPECT_EQ(Code(Send("POST", "/v1/master/division-accounts",
                      R"({"dependant":{"name":"J"},"password":"123456"})")),
            "weak_password");
  EXPECT_EQ(Code(Send("POST", "/v1/division-payments",
                      R"({"order_id":"o","amount":1,"return_url":"https://s.example/"})",
                      "Bearer vrk_shop")),
            "prepared");
  HttpRequestView no_key;
  no_key.method = "POST";
  no_key.target = "/v1/division-payments";
  no_key.authorization = "Bearer vrk_shop";
  no_key.content_type = "application/json";
  no_key.body = R"({"order_id":"o","amount":1,"return_url":"https://s.example/"})";
  EXPECT_EQ(Code(service_.Prepare(no_key)), "idempotency_key_missing");
  auto page = Send("POST", "/v1/division-payments/dvp_aaaaaaaaaaaaaaaaaaaa/authorize",
                   R"({"number":"9410000000000007","password":"480213"})", "Page pg_token");
  ASSERT_TRUE(page.division);
  EXPECT_EQ(page.division->page_token, "pg_token");
  EXPECT_TRUE(page.division->bearer.empty());
}

// Proves a statement asked for as CSV is marked so, and its period is decoded.
TEST_F(DivisionRoutesTest, PreparesAStatementAsCsv) {
  HttpRequestView r;
  r.method = "GET";
  r.target = "/v1/master/statement?from=2026-12-01&to=2026-12-07";
  r.authorization = "Bearer vms_s";
  r.accept = "text/csv";
  auto p = service_.Prepare(r);
  ASSERT_TRUE(p.division);
  EXPECT_TRUE(p.division->wants_csv);
  EXPECT_EQ(FormatDate(*std::get<StatementPeriod>(p.division->body).to), "2026-12-07");
}

}  // namespace
}  // namespace varelay::api
