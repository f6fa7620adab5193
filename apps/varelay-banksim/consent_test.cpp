// Proves the simulated bank's side of division accounts: a master's account takes a withdrawal
// consent only for its holder (with the account's ceiling), a debit needs the consent, stays under
// the ceiling and the balance, a recipient at the same bank is credited, a re-sent debit books
// once; the same through telegrams (0600/500, 0100/100 codes 0202/0203) and the JSON bank routes
// (/v2.0/transfer/...), with the dropped-answer, debit-delay and outage faults.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "bank.h"
#include "banks/telegram/telegram.h"
#include "domain/digest.h"
#include "relay_link.h"
#include "routes.h"
#include "telegram_server.h"
#include "teller.h"

namespace varelay::banksim {
namespace {

using std::chrono::milliseconds;

Money Krw(std::int64_t minor) { return Money(minor, Currency::Krw()); }
const Instant kT0 = FromUnixMs(1'795'568'400'000);  // 2026-11-25 10:00 KST

constexpr const char* kMaster = "33334444555";
constexpr const char* kMother = "004100000000001";

struct MasterBank {
  MasterBank() : bank(BankOptions{}, "TEST") {
    Account mother{kMother,
                   "Example Shop Co.",
                   AccountKind::kMother,
                   Krw(50'000),
                   Krw(0),
                   "9004",
                   {},
                   {},
                   0,
                   {},
                   false};
    Account master{
        kMaster, "Kim Minji", AccountKind::kCustomer, Krw(20'000), Krw(0), "", {}, "900101", 15'000,
        {},      true};
    EXPECT_TRUE(bank.OpenAccount(mother, kT0).has_value());
    EXPECT_TRUE(bank.OpenAccount(master, kT0).has_value());
  }
  std::int64_t Balance(std::string_view number) const {
    return bank.FindAccount(number)->balance.minor();
  }
  Bank bank;
};

WithdrawalOrder Debit(std::int64_t amount, std::string reference) {
  return WithdrawalOrder{kMaster, Krw(amount), std::move(reference), kMother};
}

TEST(BanksimConsent, RegistersForTheHolderOnlyAndDebitsWithinConsentCeilingAndBalance) {
  MasterBank t;
  EXPECT_EQ(t.bank.Withdraw(Debit(1'000, "W-0"), kT0)->withdrawal.reason, "consent_missing");
  EXPECT_EQ(t.bank.RegisterConsent("99999999", "900101", "Kim Minji", false, kT0).error().code,
            BankErrc::kNotFound);
  EXPECT_EQ(t.bank.RegisterConsent(kMaster, "900101", "Lee", false, kT0).error().code,
            BankErrc::kHolderMismatch);
  EXPECT_EQ(t.bank.RegisterConsent(kMaster, "800101", "Kim Minji", false, kT0).error().code,
            BankErrc::kHolderMismatch);
  auto consent = t.bank.RegisterConsent(kMaster, "900101", "Kim Minji", false, kT0);
  ASSERT_TRUE(consent.has_value());
  EXPECT_FALSE(consent->consent_id.empty());
  EXPECT_EQ(consent->ceiling_won, 15'000);
  EXPECT_EQ(t.bank.RegisterConsent(kMaster, "900101", "Kim Minji", false, kT0)->consent_id,
            consent->consent_id);

  EXPECT_EQ(t.bank.Withdraw(Debit(15'001, "W-1"), kT0)->withdrawal.reason, "over_consent_ceiling");
  auto done = t.bank.Withdraw(Debit(12'000, "W-2"), kT0);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->withdrawal.status, WithdrawalStatus::kCompleted);
  EXPECT_EQ(done->withdrawal.credit_account, kMother);
  EXPECT_TRUE(t.bank.Withdraw(Debit(12'000, "W-2"), kT0)->replayed);
  EXPECT_EQ(t.Balance(kMaster), 8'000);
  EXPECT_EQ(t.Balance(kMother), 62'000) << "the recipient at the same bank is credited once";
  EXPECT_EQ(t.bank.Withdraw(Debit(9'000, "W-3"), kT0)->withdrawal.reason, "insufficient_funds");
  // A refund: the mother account pays the master back (no consent needed from a mother account).
  ASSERT_TRUE(
      t.bank.Withdraw(WithdrawalOrder{kMother, Krw(2'000), "R-1", kMaster}, kT0).has_value());
  EXPECT_EQ(t.Balance(kMaster), 10'000);
  EXPECT_EQ(t.bank.WithdrawalsFrom(kMaster).size(), 4u) << "W-0 to W-3, refusals included";
  EXPECT_TRUE(t.bank.CheckInvariants().has_value());

  EXPECT_TRUE(t.bank.RegisterConsent(kMaster, "900101", "Kim Minji", true, kT0).has_value());
  EXPECT_EQ(t.bank.Withdraw(Debit(1'000, "W-4"), kT0)->withdrawal.reason, "consent_missing");
}

telegram::Header RelayHeader(std::uint32_t sequence) {
  telegram::Header h;
  h.identification_code = "VARELAY01";
  h.institution_code = "VR000001";
  h.bank_code_legacy = "04";
  h.send_count = 1;
  h.sequence = sequence;
  h.sent_at = kT0;
  h.bank_code = "004";
  return h;
}

telegram::Telegram Answer(Bank& bank, const telegram::Telegram& request,
                          const FaultPlan& faults = {}) {
  TelegramReply reply = AnswerRelayTelegram(bank, telegram::Encode(request), kT0, faults);
  EXPECT_EQ(reply.disposition, TelegramDisposition::kAnswer);
  return telegram::Decode(reply.answer).value();
}

TEST(BanksimConsent, TelegramConsentAndDebitCodes) {
  MasterBank t;
  telegram::ConsentRegistration c;
  c.bank_code = "004";
  c.account_number = kMaster;
  c.holder_id = "900101";
  c.holder_name = "Kim Minji";
  telegram::Withdrawal w;
  w.debit_bank_code = "004";
  w.debit_account = kMaster;
  w.amount_won = 5'000;
  w.recipient_bank_code = "004";
  w.recipient_account = kMother;
  EXPECT_EQ(Answer(t.bank, telegram::MakeRequest(RelayHeader(1), w)).header.bank_response_code,
            "0202");
  auto registered = Answer(t.bank, telegram::MakeRequest(RelayHeader(2), c));
  EXPECT_EQ(registered.header.message_code, "0610");
  EXPECT_EQ(registered.header.bank_response_code, "0000");
  EXPECT_FALSE(std::get<telegram::ConsentRegistration>(registered.body).consent_id.empty());
  EXPECT_EQ(std::get<telegram::ConsentRegistration>(registered.body).ceiling_won, 15'000);
  telegram::ConsentRegistration wrong = c;
  wrong.holder_name = "Lee";
  EXPECT_EQ(Answer(t.bank, telegram::MakeRequest(RelayHeader(3), wrong)).header.bank_response_code,
            "0102");
  wrong.account_number = "99999999";
  EXPECT_EQ(Answer(t.bank, telegram::MakeRequest(RelayHeader(4), wrong)).header.bank_response_code,
            "0101");
  w.amount_won = 16'000;
  EXPECT_EQ(Answer(t.bank, telegram::MakeRequest(RelayHeader(5), w)).header.bank_response_code,
            "0203");
  w.amount_won = 5'000;
  FaultPlan late;
  late.debit_delay = milliseconds(800);
  TelegramReply reply = AnswerRelayTelegram(
      t.bank, telegram::Encode(telegram::MakeRequest(RelayHeader(6), w)), kT0, late);
  EXPECT_EQ(reply.delay, milliseconds(800)) << "executed at once, answered late";
  EXPECT_EQ(t.Balance(kMaster), 15'000);
  EXPECT_EQ(t.Balance(kMother), 55'000);
}

class NoRelay : public RelayLink {
 public:
  LinkResult<PrecheckVerdict> Precheck(const PrecheckQuery&) override {
    return std::unexpected(LinkFailure{});
  }
  LinkResult<NoticeReceipt> NotifyDeposit(const DepositMessage&) override {
    return std::unexpected(LinkFailure{});
  }
  LinkResult<NoticeReceipt> NotifyCancellation(const CancellationMessage&) override {
    return std::unexpected(LinkFailure{});
  }
  std::string Describe() const override { return "none"; }
};

boost::json::object Body(const SimResponse& r) { return boost::json::parse(r.body).as_object(); }

TEST(BanksimConsent, JsonBankRoutesWithFaults) {
  Bank bank(BankOptions{}, "TEST");
  NoRelay link;
  FaultPlan faults;
  faults.drop_transfer_answer_p = 1;
  Instant now = kT0;
  Teller teller(bank, link, faults, [&] { return now; });
  auto call = [&](std::string method, std::string target, std::string body = {}) {
    return HandleRequest(teller, SimRequest{std::move(method), std::move(target),
                                            "application/json", std::move(body)});
  };
  EXPECT_EQ(
      call("POST", "/sim/accounts", R"({"bank":"088","account":"33334444555","holder_name":"Kim"})")
          .status,
      422);
  ASSERT_EQ(
      call(
          "POST", "/sim/accounts",
          R"({"bank":"004","account":"33334444555","holder_name":"Kim Minji","holder_id":"900101","balance":20000})")
          .status,
      201);
  auto consent = call(
      "POST", "/v2.0/transfer/withdraw-consent",
      R"({"bank_tran_id":"VR00000001U900000001","bank_code":"004","account":"33334444555","holder_id":"900101","holder_name":"Kim Minji","action":"register"})");
  EXPECT_EQ(Body(consent).at("rsp_code"), "A0000");
  EXPECT_EQ(Body(consent).at("bank_rsp_code"), "000");
  EXPECT_EQ(Body(consent).at("ceiling"), 0);
  auto named = Body(call(
      "POST", "/v2.0/inquiry/real_name",
      R"({"bank_code_std":"004","account_num":"33334444555","account_holder_info":"900101"})"));
  EXPECT_EQ(named.at("account_holder_name"), "Kim Minji");
  EXPECT_EQ(
      Body(
          call(
              "POST", "/v2.0/inquiry/real_name",
              R"({"bank_code_std":"004","account_num":"33334444555","account_holder_info":"800101"})"))
          .at("bank_rsp_code"),
      "101")
      << "another birth date";
  auto mismatch = call(
      "POST", "/v2.0/transfer/withdraw-consent",
      R"({"bank_code":"004","account":"33334444555","holder_id":"900101","holder_name":"Lee","action":"register"})");
  EXPECT_EQ(Body(mismatch).at("bank_rsp_code"), "102");

  std::string debit =
      R"({"bank_tran_id":"VR00000001U000000007","bank_tran_date":"20261125","withdraw_bank_code":"004","withdraw_account":"33334444555","tran_amt":"7000","recv_bank_code":"088","recv_account":"1101234","recv_name":"Shop"})";
  EXPECT_TRUE(call("POST", "/v2.0/transfer/withdraw", debit).drop) << "booked, never answered";
  auto again = call("POST", "/v2.0/transfer/withdraw", debit);
  EXPECT_EQ(Body(again).at("bank_rsp_code"), "000");
  std::string result =
      R"({"bank_tran_id":"VR00000001U900000002","org_bank_tran_id":"VR00000001U000000007","org_bank_tran_date":"20261125"})";
  auto found = Body(call("POST", "/v2.0/transfer/result", result));
  EXPECT_EQ(found.at("bank_rsp_code"), "000");
  EXPECT_EQ(found.at("org_bank_rsp_code"), "000");
  auto missing =
      Body(call("POST", "/v2.0/transfer/result",
                R"({"org_bank_tran_id":"VR00000001U000000008","org_bank_tran_date":"20261125"})"));
  EXPECT_EQ(missing.at("bank_rsp_code"), "301");
  auto account = Body(call("GET", "/sim/accounts/004/33334444555"));
  EXPECT_EQ(account.at("balance"), 13'000);
  EXPECT_EQ(account.at("debits").as_array().size(), 1u) << "the re-send booked once";
  EXPECT_EQ(call("GET", "/sim/accounts/004/0000").status, 404);

  std::string poor = debit;
  poor.replace(poor.find("000000007"), 9, "000000009");
  poor.replace(poor.find("\"7000\""), 6, "\"99000\"");
  EXPECT_EQ(Body(call("POST", "/v2.0/transfer/withdraw", poor)).at("bank_rsp_code"), "201");
  auto funded = call("POST", "/sim/accounts/004/33334444555/fund", R"({"amount":100000})");
  EXPECT_EQ(funded.status, 200);
  EXPECT_EQ(Body(funded).at("balance"), 113'000);
  EXPECT_EQ(call("POST", "/sim/accounts/004/0000/fund", R"({"amount":1})").status, 404);
  EXPECT_EQ(call("POST", "/sim/accounts/004/33334444555/fund", R"({"amount":0})").status, 400);
  EXPECT_TRUE(bank.CheckInvariants().has_value());
}

TEST(BanksimConsent, JsonBankOutageAnswers503Unexecuted) {
  Bank bank(BankOptions{}, "TEST");
  NoRelay link;
  FaultPlan faults;
  faults.transfer_outage = OutageWindow{milliseconds(0), milliseconds(60'000)};
  Teller teller(bank, link, faults, [] { return kT0; });
  auto r = HandleRequest(teller,
                         SimRequest{"POST", "/v2.0/transfer/withdraw", "application/json", "{}"});
  EXPECT_EQ(r.status, 503);
}

TEST(BanksimConsent, WithASigningSecretJsonBankRequestsMustBeSignedByTheRelay) {
  Bank bank(BankOptions{}, "TEST");
  NoRelay link;
  Teller teller(bank, link, FaultPlan{}, [] { return kT0; });
  teller.SetSigningSecret("bsk_s");
  std::string body = R"({"org_bank_tran_id":"X","org_bank_tran_date":"20261125"})";
  SimRequest unsigned_request{"POST", "/v2.0/transfer/result", "application/json", body};
  EXPECT_EQ(HandleRequest(teller, unsigned_request).status, 401);
  SimRequest signed_request = unsigned_request;
  signed_request.signature_timestamp = "1795568400";
  signed_request.signature =
      "v1=" + HmacSha256Hex("bsk_s", "1795568400.POST./v2.0/transfer/result." + body);
  EXPECT_EQ(HandleRequest(teller, signed_request).status, 200);
  signed_request.body += " ";
  EXPECT_EQ(HandleRequest(teller, signed_request).status, 401) << "the body is signed";
}

}  // namespace
}  // namespace varelay::banksim
