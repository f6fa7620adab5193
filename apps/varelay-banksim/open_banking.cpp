// The simulated bank as a JSON (Open Banking-style) bank for the relay's own requests, and the
// routes tests use to set up, fund and read masters' accounts. Codes: domain/bank_codes.h (rsp_code
// A0000 and bank_rsp_code 000 together mean success; 201 insufficient funds, 202 no consent, 203
// over the consent's ceiling, 101 no such account, 102 holder mismatch, 301 no such transfer).
#include <boost/json.hpp>
#include <charconv>

#include "domain/bank_codes.h"
#include "domain/digest.h"
#include "routes.h"

namespace varelay::banksim {
namespace json = boost::json;
namespace {

SimResponse Json(int status, const json::value& body) {
  return SimResponse{status, "application/json", json::serialize(body)};
}

SimResponse Problem(int status, std::string_view code, std::string_view detail) {
  json::object body{{"type", "urn:varelay-banksim:problem:" + std::string(code)},
                    {"title", std::string(code)},
                    {"status", status},
                    {"detail", detail},
                    {"code", code}};
  return SimResponse{status, "application/problem+json", json::serialize(body)};
}

// An Open Banking answer: always HTTP 200, the outcome in rsp_code and bank_rsp_code.
SimResponse Answer(std::string_view bank_code, json::object extra = {}) {
  bool ok = bank_code == kJsonBankOk;
  extra["rsp_code"] = ok ? kJsonRspOk : kJsonRspBankError;
  extra["bank_rsp_code"] = bank_code;
  return Json(200, extra);
}

// The request body as an object (lenient: a bank ignores fields it does not use).
std::optional<json::object> Parse(const SimRequest& request) {
  std::error_code ec;
  auto value = json::parse(request.body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

std::string Text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::int64_t> Digits(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 0)
    return std::nullopt;
  return value;
}

// The dropped-answer fault's roll: the bank_tran_id's 9 digits name the transfer, a re-send (the
// reference seen before) is rolled anew as attempt 2.
bool DropsAnswer(const FaultPlan& faults, std::string_view tran_id, bool replayed) {
  auto number = Digits(tran_id.size() >= 9 ? tran_id.substr(tran_id.size() - 9) : tran_id);
  return Strikes(faults, FaultKind::kDropTransferAnswer,
                 static_cast<std::uint64_t>(number.value_or(0)), replayed ? 2 : 1);
}

bool InOutage(const Teller& teller) {
  auto since =
      std::chrono::duration_cast<std::chrono::milliseconds>(teller.Now() - teller.started_at());
  return InTransferOutage(teller.faults(), since);
}

// The relay signs as banks sign their requests to it: v1=HMAC-SHA256 of
// "<ts>.POST.<target>.<body>".
bool SignedByTheRelay(const Teller& teller, const SimRequest& r) {
  const std::string& secret = teller.signing_secret();
  if (secret.empty()) return true;
  std::string content = r.signature_timestamp + "." + r.method + "." + r.target + "." + r.body;
  return !r.signature_timestamp.empty() &&
         ConstantTimeEquals(r.signature, "v1=" + HmacSha256Hex(secret, content));
}

SimResponse Outage() {
  return Problem(503, "unavailable", "the bank is out (--fault-transfer-outage)");
}

std::string_view CodeOf(const Withdrawal& w) {
  if (w.status == WithdrawalStatus::kCompleted) return kJsonBankOk;
  if (w.reason == "consent_missing") return kJsonNoConsent;
  if (w.reason == "over_consent_ceiling") return kJsonOverConsentCeiling;
  return kJsonInsufficientFunds;
}

std::string Reference(std::string_view date, std::string_view tran_id) {
  return "ob:" + std::string(date) + ":" + std::string(tran_id);
}

SimResponse Withdraw(Teller& teller, const SimRequest& request) {
  if (InOutage(teller)) return Outage();
  auto body = Parse(request);
  if (!body) return Problem(400, "malformed_json", "the body must be a JSON object");
  std::string tran_id = Text(*body, "bank_tran_id");
  auto amount = Digits(Text(*body, "tran_amt"));
  std::string date = Text(*body, "bank_tran_date");
  if (tran_id.empty() || date.size() != 8 || !amount || *amount == 0) {
    return Problem(400, "invalid_field",
                   "bank_tran_id, bank_tran_date (YYYYMMDD) and tran_amt (digits) are required");
  }
  WithdrawalOrder order{Text(*body, "withdraw_account"),
                        Money(*amount, Currency::Krw()),
                        Reference(date, tran_id),
                        {}};
  json::object extra{
      {"bank_tran_id", tran_id}, {"bank_tran_date", date}, {"tran_amt", std::to_string(*amount)}};
  auto result = teller.WithBank([&](Bank& bank) -> BankResult<WithdrawalResult> {
    if (Text(*body, "withdraw_bank_code") != bank.options().bank_code) {
      return std::unexpected(BankError{BankErrc::kNotFound, "not this bank's account"});
    }
    if (Text(*body, "recv_bank_code") == bank.options().bank_code)
      order.recipient_account = Text(*body, "recv_account");
    return bank.Withdraw(order, teller.Now());
  });
  if (!result) {
    if (result.error().code == BankErrc::kNotFound)
      return Answer(kJsonNoSuchAccount, std::move(extra));
    if (result.error().code == BankErrc::kReferenceConflict) return Answer("303", std::move(extra));
    return Answer(kJsonSystemError, std::move(extra));
  }
  SimResponse out = Answer(CodeOf(result->withdrawal), std::move(extra));
  if (DropsAnswer(teller.faults(), tran_id, result->replayed)) out.drop = true;
  out.delay = teller.faults().debit_delay;
  return out;
}

SimResponse Result(Teller& teller, const SimRequest& request) {
  if (InOutage(teller)) return Outage();
  auto body = Parse(request);
  if (!body) return Problem(400, "malformed_json", "the body must be a JSON object");
  std::string original = Text(*body, "org_bank_tran_id");
  std::string reference = Reference(Text(*body, "org_bank_tran_date"), original);
  auto found = teller.WithBank([&](Bank& bank) -> std::optional<Withdrawal> {
    const Withdrawal* w = bank.FindWithdrawal(reference);
    return w ? std::optional(*w) : std::nullopt;
  });
  json::object extra{{"bank_tran_id", Text(*body, "bank_tran_id")}, {"org_bank_tran_id", original}};
  if (!found) return Answer(kJsonNoSuchTransfer, std::move(extra));
  extra["org_bank_rsp_code"] = CodeOf(*found);
  extra["org_tran_amt"] = std::to_string(found->amount.minor());
  return Answer(kJsonBankOk, std::move(extra));
}

SimResponse Consent(Teller& teller, const SimRequest& request) {
  if (InOutage(teller)) return Outage();
  auto body = Parse(request);
  if (!body) return Problem(400, "malformed_json", "the body must be a JSON object");
  std::string action = Text(*body, "action");
  if (action != "register" && action != "cancel")
    return Problem(400, "invalid_field", "action is register or cancel");
  auto result = teller.WithBank([&](Bank& bank) -> BankResult<ConsentResult> {
    if (Text(*body, "bank_code") != bank.options().bank_code) {
      return std::unexpected(BankError{BankErrc::kNotFound, "not this bank's account"});
    }
    return bank.RegisterConsent(Text(*body, "account"), Text(*body, "holder_id"),
                                Text(*body, "holder_name"), action == "cancel", teller.Now());
  });
  json::object extra{{"bank_tran_id", Text(*body, "bank_tran_id")}};
  if (!result) {
    auto code = result.error().code;
    return Answer(code == BankErrc::kHolderMismatch ? kJsonHolderMismatch : kJsonNoSuchAccount,
                  std::move(extra));
  }
  extra["consent_id"] = result->consent_id;
  extra["ceiling"] = result->ceiling_won;
  return Answer(kJsonBankOk, std::move(extra));
}

// inquiry/real_name: the holder of an account (a birth date given must be the account's, when it
// has one).
SimResponse RealName(Teller& teller, const SimRequest& request) {
  if (InOutage(teller)) return Outage();
  auto body = Parse(request);
  if (!body) return Problem(400, "malformed_json", "the body must be a JSON object");
  std::string account = Text(*body, "account_num");
  std::string holder_id = Text(*body, "account_holder_info");
  auto name = teller.WithBank([&](Bank& bank) -> std::optional<std::string> {
    const Account* a = bank.FindAccount(account);
    if (Text(*body, "bank_code_std") != bank.options().bank_code || !a) return std::nullopt;
    if (!a->holder_id.empty() && !holder_id.empty() && a->holder_id != holder_id)
      return std::nullopt;
    return a->holder_name;
  });
  json::object extra{{"bank_tran_id", Text(*body, "bank_tran_id")}, {"account_num", account}};
  if (!name) return Answer(kJsonNoSuchAccount, std::move(extra));
  extra["account_holder_name"] = *name;
  return Answer(kJsonBankOk, std::move(extra));
}

// POST /sim/accounts {bank, account, holder_name, holder_id?, balance?, ceiling?}: a master's
// (customer) account, with the ceiling per debit the bank answers at consent (0: none).
SimResponse OpenMasterAccount(Teller& teller, const SimRequest& request) {
  auto body = Parse(request);
  if (!body) return Problem(400, "malformed_json", "the body must be a JSON object");
  auto integer = [&](std::string_view key) -> std::optional<std::int64_t> {
    const auto* v = body->if_contains(key);
    if (!v || v->is_null()) return 0;
    if (!v->is_int64() || v->get_int64() < 0) return std::nullopt;
    return v->get_int64();
  };
  auto balance = integer("balance");
  auto ceiling = integer("ceiling");
  std::string holder_id = Text(*body, "holder_id");
  if (!balance || !ceiling ||
      (!holder_id.empty() && (holder_id.size() != 6 || !Digits(holder_id)))) {
    return Problem(400, "invalid_field", "balance and ceiling are integers >= 0, holder_id YYMMDD");
  }
  Account account;
  account.number = Text(*body, "account");
  account.holder_name = Text(*body, "holder_name");
  account.kind = AccountKind::kCustomer;
  account.opening_balance = Money(*balance, Currency::Krw());
  account.holder_id = holder_id;
  account.consent_ceiling_won = *ceiling;
  account.consent_required = true;
  return teller.WithBank([&](Bank& bank) {
    if (Text(*body, "bank") != bank.options().bank_code) {
      return Problem(422, "wrong_bank", "this simulator is bank " + bank.options().bank_code);
    }
    auto opened = bank.OpenAccount(account, teller.Now());
    if (!opened)
      return Problem(opened.error().code == BankErrc::kAccountExists ? 409 : 400,
                     BankErrcName(opened.error().code), opened.error().detail);
    return Json(201, json::object{{"bank", bank.options().bank_code},
                                  {"account", opened->number},
                                  {"balance", opened->balance.minor()},
                                  {"ceiling", opened->consent_ceiling_won}});
  });
}

// GET /sim/accounts/{bank}/{account}: balance, consent and every debit (withdrawal) booked on it.
SimResponse ReadAccount(Teller& teller, std::string_view bank_code, std::string_view number) {
  return teller.WithBank([&](Bank& bank) {
    const Account* a = bank.FindAccount(number);
    if (bank_code != bank.options().bank_code || !a)
      return Problem(404, "not_found", "no such account");
    json::array debits;
    for (const auto& w : bank.WithdrawalsFrom(number)) {
      debits.push_back(
          json::object{{"reference", w.reference},
                       {"amount", w.amount.minor()},
                       {"status", Name(w.status)},
                       {"reason", w.reason.empty() ? json::value(nullptr) : json::value(w.reason)},
                       {"credit_account", w.credit_account.empty() ? json::value(nullptr)
                                                                   : json::value(w.credit_account)},
                       {"executed_at", FormatRfc3339(w.executed_at)}});
    }
    return Json(200,
                json::object{{"bank", bank.options().bank_code},
                             {"account", a->number},
                             {"holder_name", a->holder_name},
                             {"holder_id", a->holder_id},
                             {"kind", Name(a->kind)},
                             {"balance", a->balance.minor()},
                             {"ceiling", a->consent_ceiling_won},
                             {"consent_id", a->consent_id.empty() ? json::value(nullptr)
                                                                  : json::value(a->consent_id)},
                             {"debits", std::move(debits)}});
  });
}

// POST /sim/accounts/{bank}/{account}/fund {amount}: money from outside lands on the account.
SimResponse FundAccount(Teller& teller, const SimRequest& request, std::string_view bank_code,
                        std::string_view number) {
  auto body = Parse(request);
  const auto* amount = body ? body->if_contains("amount") : nullptr;
  if (!amount || !amount->is_int64()) return Problem(400, "invalid_field", "amount is an integer");
  return teller.WithBank([&](Bank& bank) {
    if (bank_code != bank.options().bank_code) return Problem(404, "not_found", "no such account");
    auto funded = bank.Fund(number, Money(amount->get_int64(), Currency::Krw()), teller.Now());
    if (!funded) {
      auto code = funded.error().code;
      return Problem(code == BankErrc::kNotFound       ? 404
                     : code == BankErrc::kInvalidField ? 400
                                                       : 422,
                     BankErrcName(code), funded.error().detail);
    }
    return Json(200, json::object{{"account", std::string(number)},
                                  {"balance", bank.FindAccount(number)->balance.minor()},
                                  {"transaction_id", funded->id}});
  });
}

}  // namespace

std::optional<SimResponse> HandleOpenBanking(Teller& teller, const SimRequest& request) {
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  bool post = request.method == "POST";
  auto only_post = [&](SimResponse (*handler)(Teller&, const SimRequest&)) {
    if (!post) return Problem(405, "method_not_allowed", "this path does not take that method");
    if (path.starts_with("/v2.0/") && !SignedByTheRelay(teller, request)) {
      return Problem(401, "signature_invalid", "Varelay-Signature does not match the request");
    }
    return handler(teller, request);
  };
  if (path == "/v2.0/transfer/withdraw") return only_post(Withdraw);
  if (path == "/v2.0/transfer/result") return only_post(Result);
  if (path == "/v2.0/transfer/withdraw-consent") return only_post(Consent);
  if (path == "/v2.0/inquiry/real_name") return only_post(RealName);
  if (path == "/sim/accounts") return only_post(OpenMasterAccount);
  constexpr std::string_view kAccounts = "/sim/accounts/";
  if (path.starts_with(kAccounts)) {
    auto rest = path.substr(kAccounts.size());
    auto slash = rest.find('/');
    constexpr std::string_view kFund = "/fund";
    if (rest.ends_with(kFund) && slash != std::string_view::npos) {
      auto account = rest.substr(slash + 1, rest.size() - slash - 1 - kFund.size());
      if (account.find('/') == std::string_view::npos) {
        return post ? FundAccount(teller, request, rest.substr(0, slash), account)
                    : Problem(405, "method_not_allowed", "this path does not take that method");
      }
    }
    if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos) {
      return Problem(404, "route_not_found", "GET /sim/accounts/{bank}/{account}");
    }
    if (request.method != "GET")
      return Problem(405, "method_not_allowed", "this path does not take that method");
    return ReadAccount(teller, rest.substr(0, slash), rest.substr(slash + 1));
  }
  return std::nullopt;
}

}  // namespace varelay::banksim
