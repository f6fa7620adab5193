// Proves the division routes' decoders accept what docs/openapi.yaml describes and refuse bad
// input with a stable code naming the field, and that the statement CSV and the signed redirect
// have the documented shapes.
#include "api/division_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "domain/digest.h"

namespace varelay::api {
namespace {

boost::json::object Obj(std::string_view text) { return boost::json::parse(text).as_object(); }

template <typename T>
std::string CodeOf(const Decoded<T>& d) {
  return d ? "ok" : std::string(ErrorCodeName(d.error().error.code)) + ":" + d.error().error.field;
}

constexpr std::string_view kEnrol =
    R"({"bank_code":"004","account":"11112222333","holder_name":"Kim Minji","birth_date":"1984-03-09",)"
    R"("login":"Minji@Example.com","password":"blue heron 42"})";

// Proves a valid enrolment decodes with its login normalised and its holder id derived.
TEST(DivisionCodecTest, DecodesAnEnrolment) {
  auto d = DecodeEnrolMaster(Obj(kEnrol));
  ASSERT_TRUE(d) << CodeOf(d);
  EXPECT_EQ(d->login, "minji@example.com");
  EXPECT_EQ(HolderIdOf(d->birth_date), "840309");
  EXPECT_EQ(FormatDate(d->birth_date), "1984-03-09");
}

// Proves each bad enrolment is refused with its code and field.
TEST(DivisionCodecTest, RefusesBadEnrolments) {
  struct Case {
    std::string_view body, code;
  };
  const Case cases[] = {
      {R"({"account":"11112222333","holder_name":"K","birth_date":"1984-03-09","login":"a@b.c","password":"blue heron 42"})",
       "missing_field:bank_code"},
      {R"({"bank_code":"04","account":"11112222333","holder_name":"K","birth_date":"1984-03-09","login":"a@b.c","password":"blue heron 42"})",
       "invalid_field:bank_code"},
      {R"({"bank_code":"004","account":"12a45678","holder_name":"K","birth_date":"1984-03-09","login":"a@b.c","password":"blue heron 42"})",
       "invalid_field:account"},
      {R"({"bank_code":"004","account":"11112222333","holder_name":"K","birth_date":"1984-02-30","login":"a@b.c","password":"blue heron 42"})",
       "invalid_field:birth_date"},
      {R"({"bank_code":"004","account":"11112222333","holder_name":"K","birth_date":"1984-03-09","login":"not a login","password":"blue heron 42"})",
       "invalid_field:login"},
      {R"({"bank_code":"004","account":"11112222333","holder_name":"K","birth_date":"1984-03-09","login":"a@b.c","password":"4802139911"})",
       "weak_password:password"},
      {R"({"bank_code":"004","account":"11112222333","holder_name":"K","birth_date":"1984-03-09","login":"a@b.c","password":"short1"})",
       "weak_password:password"},
      {R"({"bank_code":"004","account":"11112222333","holder_name":"K","birth_date":"1984-03-09","login":"a@b.c","password":"abcdefghijkl"})",
       "weak_password:password"},
      {R"({"bank_code":"004","account":"11112222333","holder_name":"K","birth_date":"1984-03-09","login":"a@b.c","password":"blue heron 42","pin":1})",
       "unknown_field:pin"},
  };
  for (const auto& c : cases) EXPECT_EQ(CodeOf(DecodeEnrolMaster(Obj(c.body))), c.code) << c.body;
}

// Proves logins compare as one whatever their case or hyphens, and that other text is no login.
TEST(DivisionCodecTest, NormalisesLogins) {
  EXPECT_EQ(NormaliseLogin("Jane.Doe@Example.COM"), "jane.doe@example.com");
  EXPECT_EQ(NormaliseLogin("010-5555-1234"), "01055551234");
  EXPECT_EQ(NormaliseLogin("010 555 1234"), "0105551234");
  EXPECT_FALSE(NormaliseLogin("02-555-1234"));
  EXPECT_FALSE(NormaliseLogin("jane@localhost"));
  EXPECT_FALSE(NormaliseLogin("@example.com"));
  EXPECT_FALSE(NormaliseLogin(""));
  // Sign-in keeps going with an empty login, so that an unknown login costs a hash as well.
  auto s = DecodeSignIn(Obj(R"({"login":"nobody","password":"x"})"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->login, "");
  EXPECT_EQ(CodeOf(DecodeSignIn(Obj(R"({"login":"a@b.c"})"))), "missing_field:password");
}

// Proves an issue request decodes every term, and a weak or malformed one is refused.
TEST(DivisionCodecTest, DecodesAnIssueRequest) {
  auto d = DecodeIssueDivisionAccount(Obj(
      R"({"dependant":{"name":"Kim Jiho","phone":"01055557777"},"label":"Jiho","password":"480213",)"
      R"("limits":{"per_payment":30000,"per_day":null},"merchants_allowed":["shop-1"],)"
      R"("categories_denied":["alcohol","games"],"valid_until":"2027-12-31T15:00:00Z",)"
      R"("approval":{"threshold":20000}})"));
  ASSERT_TRUE(d) << CodeOf(d);
  EXPECT_EQ(d->dependant.phone, "01055557777");
  EXPECT_EQ(d->terms.per_payment, std::optional<std::int64_t>(30000));
  ASSERT_TRUE(d->terms.per_day.has_value());
  EXPECT_FALSE(d->terms.per_day->has_value());   // null: no limit
  EXPECT_FALSE(d->terms.per_month.has_value());  // absent
  ASSERT_TRUE(d->terms.categories_denied);
  EXPECT_EQ(d->terms.categories_denied->size(), 2u);
  ASSERT_TRUE(d->terms.approval && *d->terms.approval);
  EXPECT_EQ((*d->terms.approval)->timeout_minutes, 10);

  const std::pair<std::string_view, std::string_view> bad[] = {
      {R"({"password":"480213"})", "missing_field:dependant"},
      {R"({"dependant":{"name":"J","relation":"child"},"password":"480213"})",
       "unknown_field:dependant.relation"},
      {R"({"dependant":{"name":"J","phone":"010-5555"},"password":"480213"})",
       "invalid_field:dependant.phone"},
      {R"({"dependant":{"name":"J"},"password":"123456"})", "weak_password:password"},
      {R"({"dependant":{"name":"J"},"password":"777777"})", "weak_password:password"},
      {R"({"dependant":{"name":"J","phone":"01048021399"},"password":"480213"})",
       "weak_password:password"},
      {R"({"dependant":{"name":"J"},"password":"480213","limits":{"per_day":0}})",
       "invalid_field:limits.per_day"},
      {R"({"dependant":{"name":"J"},"password":"480213","limits":{"weekly":5}})",
       "unknown_field:limits.weekly"},
      {R"({"dependant":{"name":"J"},"password":"480213","categories_denied":["wine"]})",
       "invalid_field:categories_denied"},
      {R"({"dependant":{"name":"J"},"password":"480213","categories_denied":["games","games"]})",
       "invalid_field:categories_denied"},
      {R"({"dependant":{"name":"J"},"password":"480213","approval":{"threshold":5,"timeout_minutes":61}})",
       "invalid_field:approval.timeout_minutes"},
      {R"({"dependant":{"name":"J"},"password":"480213","valid_from":"2027-01-02T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"})",
       "invalid_field:valid_until"},
      {R"({"dependant":{"name":"J"},"password":"480213","number":"9410000000000007"})",
       "unknown_field:number"},
  };
  for (const auto& [body, code] : bad)
    EXPECT_EQ(CodeOf(DecodeIssueDivisionAccount(Obj(body))), code) << body;
}

// Proves a change distinguishes a term left out from one removed (null), and refuses an empty one.
TEST(DivisionCodecTest, DecodesAnUpdate) {
  auto d = DecodeUpdateDivisionAccount(
      Obj(R"({"limits":{"per_day":20000},"valid_until":null,"label":"Jiho"})"));
  ASSERT_TRUE(d) << CodeOf(d);
  EXPECT_EQ(d->terms.per_day, std::optional<std::int64_t>(20000));
  EXPECT_FALSE(d->terms.per_payment.has_value());
  ASSERT_TRUE(d->terms.valid_until.has_value());
  EXPECT_FALSE(d->terms.valid_until->has_value());
  EXPECT_EQ(d->label, "Jiho");
  EXPECT_EQ(CodeOf(DecodeUpdateDivisionAccount(Obj("{}"))), "missing_field:limits");
  EXPECT_EQ(CodeOf(DecodeUpdateDivisionAccount(Obj(R"({"password":"480213"})"))),
            "unknown_field:password");
}

// Proves payment, authorisation and refund bodies are held to their shapes.
TEST(DivisionCodecTest, DecodesPaymentRequests) {
  auto p = DecodeCreateDivisionPayment(
      Obj(R"({"order_id":"ORD-1","amount":12000,"return_url":"https://shop.example/r"})"));
  ASSERT_TRUE(p) << CodeOf(p);
  EXPECT_EQ(p->amount_minor, 12000);
  EXPECT_TRUE(DecodeCreateDivisionPayment(
      Obj(R"({"order_id":"o","amount":1,"return_url":"http://127.0.0.1:9/r"})")));
  const std::pair<std::string_view, std::string_view> bad[] = {
      {R"({"order_id":"o","amount":1,"return_url":"http://shop.example/r"})",
       "invalid_field:return_url"},
      {R"({"order_id":"o","amount":1,"return_url":"https://u:p@shop.example/r"})",
       "invalid_field:return_url"},
      {R"({"order_id":"o","amount":1,"return_url":"/relative"})", "invalid_field:return_url"},
      {R"({"order_id":"o","amount":0,"return_url":"https://s.example/"})", "invalid_amount:amount"},
      {R"({"order_id":"o","amount":5,"currency":"USD","return_url":"https://s.example/"})",
       "unknown_currency:currency"},
      {R"({"order_id":"o o","amount":5,"return_url":"https://s.example/"})",
       "invalid_field:order_id"},
  };
  for (const auto& [body, code] : bad)
    EXPECT_EQ(CodeOf(DecodeCreateDivisionPayment(Obj(body))), code) << body;

  EXPECT_TRUE(
      DecodeAuthorizeDivisionPayment(Obj(R"({"number":"9410000000000007","password":"480213"})")));
  EXPECT_EQ(
      CodeOf(DecodeAuthorizeDivisionPayment(Obj(R"({"number":"94100000","password":"480213"})"))),
      "invalid_field:number");
  EXPECT_EQ(CodeOf(DecodeAuthorizeDivisionPayment(Obj(R"({"number":"9410000000000007"})"))),
            "missing_field:password");
  EXPECT_TRUE(DecodeDivisionRefund(Obj(R"({"amount":2000,"reason":"out of stock"})")));
  EXPECT_EQ(CodeOf(DecodeDivisionRefund(Obj(R"({"amount":-1})"))), "invalid_amount:amount");
}

// Proves statement periods are calendar days, ordered, at most 366 days, and nothing else.
TEST(DivisionCodecTest, DecodesStatementPeriods) {
  auto p = DecodeStatementPeriod({{"from", "2026-12-01"}, {"to", "2026-12-31"}});
  ASSERT_TRUE(p);
  EXPECT_EQ(FormatDate(*p->from), "2026-12-01");
  EXPECT_TRUE(DecodeStatementPeriod({}));
  EXPECT_EQ(CodeOf(DecodeStatementPeriod({{"from", "2026-12-31"}, {"to", "2026-12-01"}})),
            "invalid_field:to");
  EXPECT_EQ(CodeOf(DecodeStatementPeriod({{"from", "2025-01-01"}, {"to", "2026-12-01"}})),
            "invalid_field:to");
  EXPECT_EQ(CodeOf(DecodeStatementPeriod({{"from", "2026-13-01"}})), "invalid_field:from");
  EXPECT_EQ(CodeOf(DecodeStatementPeriod({{"since", "2026-12-01"}})), "unknown_field:since");
}

// Proves the CSV is RFC 4180: header row, CRLF, quoting of commas, quotes and line ends, no BOM.
TEST(DivisionCodecTest, WritesStatementCsv) {
  StatementLine a;
  a.payment_id = "dvp_1";
  a.account_id = "dva_1";
  a.number = "9410000000000007";
  a.dependant = "Kim \"JJ\" Jiho";
  a.merchant = "Books, Seoul";
  a.order_id = "O-1";
  a.status = "approved";
  a.amount_minor = 12000;
  a.authorized_at = FromUnixMs(1'796'000'000'000);
  StatementLine b = a;
  b.merchant = "line\nbreak";
  b.status = "declined";
  b.decline_reason = "over_daily_limit";
  b.authorized_at.reset();
  auto csv = StatementCsv({a, b});
  EXPECT_EQ(csv.substr(0, 3).find('\xEF'), std::string::npos);
  EXPECT_EQ(csv,
            "payment_id,account_id,number,dependant,merchant,order_id,status,decline_reason,amount,"
            "refunded,authorized_at\r\n"
            "dvp_1,dva_1,9410000000000007,\"Kim \"\"JJ\"\" Jiho\",\"Books, "
            "Seoul\",O-1,approved,,12000,0," +
                FormatRfc3339(*a.authorized_at) +
                "\r\n"
                "dvp_1,dva_1,9410000000000007,\"Kim \"\"JJ\"\" "
                "Jiho\",\"line\nbreak\",O-1,declined,over_daily_limit,12000,0,\r\n");
  auto json =
      boost::json::parse(StatementJson({a, b}, *ParseDate("2026-12-01"), *ParseDate("2026-12-31")))
          .as_object();
  EXPECT_EQ(json.at("total_paid").as_int64(), 12000);
  EXPECT_TRUE(json.at("items").as_array()[1].as_object().at("authorized_at").is_null());
}

// Proves the redirect carries the documented signature, and masking keeps the ends of a number.
TEST(DivisionCodecTest, SignsTheRedirectAndMasksNumbers) {
  auto url = ResultRedirectUrl("https://shop.example/r?x=1", "key", "dvp_1", "approved", 12000,
                               1796000000);
  EXPECT_EQ(url, "https://shop.example/r?x=1&payment=dvp_1&status=approved&ts=1796000000&sig=" +
                     HmacSha256Hex("key", "dvp_1.approved.12000.1796000000"));
  EXPECT_EQ(ResultRedirectUrl("https://s.example/r", "k", "p", "declined", 1, 2)
                .find("https://s.example/r?payment=p"),
            0u);
  EXPECT_EQ(MaskDivisionNumber("9410000000000007"), "9410********0007");
  EXPECT_TRUE(SameHolderName("KIM  Minji", "kim minji"));
  EXPECT_FALSE(SameHolderName("Kim Minji", "Kim Minju"));
}

}  // namespace
}  // namespace varelay::api
