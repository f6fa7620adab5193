// The division routes' requests and answers as plain values (docs/division-accounts.md, "Routes";
// docs/openapi.yaml, tags `division` and `master`): strict decoders that name every field at
// fault, and the pure pieces of the answers (the statement as CSV, the signed redirect). No
// engine, no I/O: what a request becomes is decided in division_routes.cpp.
#pragma once

#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_codec.h"
#include "domain/division/division_rules.h"
#include "domain/time.h"

namespace varelay::api {

// An optional setting in a change: absent (left as it is), null (removed), or a new value.
template <typename T>
using Patch = std::optional<std::optional<T>>;

// --- masters ---
inline constexpr std::size_t kMaxHolderNameChars = 50;
inline constexpr std::size_t kMinMasterPasswordChars = 10, kMaxMasterPasswordChars = 64;
inline constexpr std::size_t kMaxLoginChars = 254;

struct EnrolMasterRequest {
  std::string bank, account, holder_name;
  std::chrono::year_month_day birth_date{};
  std::string login;  // normalised (NormaliseLogin)
  std::string password;
};
struct SignInRequest {
  std::string login;  // normalised; "" when it is no login at all (still verified against a decoy)
  std::string password;
};
struct MasterEndpointRequest {
  std::optional<std::string> url;
};  // nullopt: remove it
struct MasterTokenRequest {
  std::string label;
};

// A login as it is compared and digested: an e-mail address lower-cased, a Korean mobile number
// as its digits ("010-5555-1234" -> "01055551234"); nullopt when it is neither.
std::optional<std::string> NormaliseLogin(std::string_view login);
// The holder id a bank is asked with for a person: the birth date as YYMMDD.
std::string HolderIdOf(std::chrono::year_month_day birth_date);
// "YYYY-MM-DD" of a real day from 1900 on; nullopt otherwise.
std::optional<std::chrono::year_month_day> ParseDate(std::string_view text);
std::string FormatDate(std::chrono::year_month_day day);
// Holder names compared as banks write them: case and spaces ignored.
bool SameHolderName(std::string_view a, std::string_view b);

// --- division accounts ---
struct DependantInput {
  std::string name;
  std::optional<std::string> phone;  // digits only
};
inline constexpr std::size_t kMaxLabelChars = 50;
struct ApprovalRule {
  std::int64_t threshold_minor = 0;
  int timeout_minutes = 10;
  friend bool operator==(const ApprovalRule&, const ApprovalRule&) = default;
};
inline constexpr int kMinApprovalTimeoutMinutes = 1, kMaxApprovalTimeoutMinutes = 60;
// The terms a master sets, each member absent when the request left it out.
struct DivisionTermsPatch {
  Patch<std::int64_t> per_payment, per_day, per_month;
  Patch<std::vector<std::string>> merchants_allowed;
  std::optional<std::vector<MerchantCategory>> categories_denied;
  Patch<Instant> valid_from, valid_until;
  Patch<ApprovalRule> approval;
};
struct IssueDivisionAccountRequest {
  DependantInput dependant;
  std::string label;  // the master's name for the account ("" : the dependant's name)
  std::string password;
  DivisionTermsPatch terms;
};
struct UpdateDivisionAccountRequest {
  std::optional<std::string> label;
  DivisionTermsPatch terms;
};
struct DivisionPasswordRequest {
  std::string password;
};

// --- payments ---
struct CreateDivisionPaymentRequest {
  std::string order_id;
  std::int64_t amount_minor = 0;
  std::string return_url;
};
struct AuthorizeDivisionPaymentRequest {
  std::string number, password;
};
struct DivisionRefundRequest {
  std::int64_t amount_minor = 0;
  std::string reason;
};
// Statement days in Asia/Seoul, both included; absent: this month so far.
struct StatementPeriod {
  std::optional<std::chrono::year_month_day> from, to;
};
inline constexpr int kMaxStatementDays = 366;

Decoded<EnrolMasterRequest> DecodeEnrolMaster(const boost::json::object& body);
Decoded<SignInRequest> DecodeSignIn(const boost::json::object& body);
Decoded<MasterEndpointRequest> DecodeMasterEndpoint(const boost::json::object& body);
Decoded<MasterTokenRequest> DecodeMasterToken(const boost::json::object& body);
// The password is checked against the rules too (weak_password, naming the rule).
Decoded<IssueDivisionAccountRequest> DecodeIssueDivisionAccount(const boost::json::object& body);
Decoded<UpdateDivisionAccountRequest> DecodeUpdateDivisionAccount(const boost::json::object& body);
// The rules need the dependant's phone, which the caller unseals: checked by CheckNewPassword.
Decoded<DivisionPasswordRequest> DecodeDivisionPassword(const boost::json::object& body);
Decoded<CreateDivisionPaymentRequest> DecodeCreateDivisionPayment(const boost::json::object& body);
Decoded<AuthorizeDivisionPaymentRequest> DecodeAuthorizeDivisionPayment(
    const boost::json::object& body);
Decoded<DivisionRefundRequest> DecodeDivisionRefund(const boost::json::object& body);
Decoded<StatementPeriod> DecodeStatementPeriod(
    const std::vector<std::pair<std::string, std::string>>& query);

// weak_password naming the rule `password` breaks for a dependant with `phone_digits`, if any.
std::optional<RequestError> CheckNewPassword(std::string_view password,
                                             std::string_view phone_digits);

// --- answers ---

// One line of a statement, as its master sees it.
struct StatementLine {
  std::string payment_id, account_id, number, dependant, merchant, order_id, status, decline_reason;
  std::int64_t amount_minor = 0, refunded_minor = 0;
  std::optional<Instant> authorized_at;
};
// RFC 4180: a header row, then one row per line; CRLF line ends; a field holding a comma, a
// quote, CR or LF quoted with its quotes doubled. UTF-8, no byte-order mark.
std::string StatementCsv(const std::vector<StatementLine>& lines);
// The same lines as the statement's JSON `items`, with the period and the sums.
std::string StatementJson(const std::vector<StatementLine>& lines, std::chrono::year_month_day from,
                          std::chrono::year_month_day to);

// The signed way back to the merchant (docs/division-accounts.md, step 7):
// `return_url?payment=<id>&status=<s>&ts=<unix>&sig=<hex>` (`&` instead of `?` when the URL has a
// query already), sig = HMAC-SHA256(result_key, "<id>.<status>.<amount>.<ts>") in hex.
std::string ResultRedirectUrl(std::string_view return_url, std::string_view result_key,
                              std::string_view payment_id, std::string_view status,
                              std::int64_t amount_minor, std::int64_t unix_seconds);

// A division number shown to anyone but its master: "9410********0007".
std::string MaskDivisionNumber(std::string_view number);

}  // namespace varelay::api
