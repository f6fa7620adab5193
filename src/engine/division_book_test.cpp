// Proves the division accounts component through the engine: every decline reason, limits per
// Asia/Seoul day and month, concurrent authorisations never passing a limit, lock-out and unlock,
// co-approval, the debit and refund transfers (and limits given back), ownership (another
// master's or merchant's record is not found), and that a restart keeps all of it.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "domain/digest.h"
#include "engine/engine.h"
#include "store/log_store.h"
#include "store/sqlite_store.h"

namespace varelay {
namespace {

using namespace std::chrono_literals;

// 10:00 KST on 25 November 2026.
const Instant kStart = *ParseRfc3339("2026-11-25T01:00:00Z");
const std::string kAdmin = "vrk_test_admin_token_0123456789abcdef";
const std::string kPageToken = "page-token";

class DivisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("varelay-division-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    Reopen();
    ASSERT_TRUE(engine_->EnsureAdminKey(kAdmin));
    Admin(CreateBank{"004", "KB", BankProtocol::kTelegram, "127.0.0.1:9"});
    Admin(CreateBank{"088", "Shinhan", BankProtocol::kTelegram, "127.0.0.1:9"});
    Admin(CreateMerchant{"shop", "Demo Shop"});
    Admin(CreateMerchant{"games", "Game Shop"});
    Admin(CreateContract{"shop", "004", "1002003004005", "Demo Shop", Issuance::kPool, "", 3000, true});
    Admin(CreateContract{"games", "088", "8002003004005", "Game Shop", Issuance::kPool, "", 3000, true});
    Admin(DivisionCommand{SetMerchantDivision{"games", MerchantCategory::kGames, std::nullopt}});
    shop_ = std::get<IssuedApiKey>(Admin(CreateApiKey{Role::kMerchant, "shop", "", ""})).token;
    games_ = std::get<IssuedApiKey>(Admin(CreateApiKey{Role::kMerchant, "games", "", ""})).token;
    master_ = Enrol("kim", "004", 0);
    other_master_ = Enrol("lee", "088", 0);
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Crashes (no snapshot) and opens the same tables behind a command log: what the engine writes
  // from then on is logged first and reaches the tables through the applier, or at the next open.
  void ReopenOnTheLog() {
    engine_.reset();
    store_.reset();
    LogStoreOptions log;
    log.dir = (dir_ / "log").string();
    auto store = OpenLogStore((dir_ / "varelay.db").string(), log);
    ASSERT_TRUE(store) << store.error().detail;
    store_ = std::move(*store);
    engine_ = std::make_unique<Engine>(*store_, clock_, EngineOptions{});
    auto recovered = engine_->Recover();
    ASSERT_TRUE(recovered) << recovered.error().detail;
  }
  void Reopen(bool snapshot = false) {
    if (engine_ && snapshot) {
      ASSERT_TRUE(engine_->WriteSnapshot());
    }
    engine_.reset();
    store_.reset();
    auto store = OpenSqliteStore((dir_ / "varelay.db").string());
    ASSERT_TRUE(store) << store.error().detail;
    store_ = std::move(*store);
    EngineOptions options;
    options.snapshot_path = (dir_ / "varelay.snapshot").string();
    engine_ = std::make_unique<Engine>(*store_, clock_, options);
    auto recovered = engine_->Recover();
    ASSERT_TRUE(recovered) << recovered.error().detail;
    recovery_ = *recovered;
  }

  Submission Make(Command command, Result<Outcome>& out) {
    Submission s;
    s.command = std::move(command);
    s.reply = [&out](Result<Outcome> r, std::optional<RenderedResponse>) { out = std::move(r); };
    return s;
  }
  Result<Outcome> Run(Submission s, Result<Outcome>& out) {
    bool replied = false;
    s.reply = [&out, &replied](Result<Outcome> r, std::optional<RenderedResponse>) {
      out = std::move(r);
      replied = true;
    };
    EXPECT_TRUE(engine_->Submit(std::move(s)));
    engine_->Step();
    // A query put aside until the tables hold every batch before it is answered by a later step.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!replied && std::chrono::steady_clock::now() < deadline) engine_->Step();
    auto invariants = engine_->relay().CheckInvariants();
    EXPECT_TRUE(invariants) << invariants.error().detail;
    return out;
  }
  Result<Outcome> As(const std::string& bearer, Command command) {
    Result<Outcome> out = Fail(ErrorCode::kInternal, "no reply");
    Submission s = Make(std::move(command), out);
    s.bearer = bearer;
    return Run(std::move(s), out);
  }
  Result<Outcome> Internal(Command command) {
    Result<Outcome> out = Fail(ErrorCode::kInternal, "no reply");
    Submission s = Make(std::move(command), out);
    s.internal = true;
    return Run(std::move(s), out);
  }
  Outcome Admin(Command command) {
    auto r = As(kAdmin, std::move(command));
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? *r : Outcome{};
  }
  template <typename T>
  static T Get(const Result<Outcome>& r) {
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    if (!r) return T{};
    return std::get<T>(std::get<DivisionOutcome>(*r));
  }
  static ErrorCode Code(const Result<Outcome>& r) { return r ? ErrorCode::kInternal : r.error().code; }

  // Enrols a master (as the API does after the bank's checks) and opens a session: its token.
  std::string Enrol(const std::string& login, const std::string& bank, std::int64_t ceiling) {
    EnrolMaster e{"digest-" + login, "sealed-" + login, "sealed-name", "sealed-birth", "hash-" + login,
                  bank, "sealed-account-" + login, "acct-" + login, "consent-" + login, ceiling};
    auto master = Get<MasterView>(Internal(DivisionCommand{e})).master;
    auto session = Get<MasterKeyIssued>(Internal(DivisionCommand{CreateMasterSession{master.id, 1}}));
    master_ids_[session.token] = master.id;
    return session.token;
  }
  DivisionAccountView Issue(const std::string& master, DivisionAccountTermsInput terms = {}) {
    IssueDivisionAccount c{"Minji", "sealed-minji", "sealed-phone", "hash-minji", terms};
    return Get<DivisionAccountView>(As(master, DivisionCommand{c}));
  }
  DivisionPayment Create(const std::string& merchant, const std::string& order, std::int64_t amount) {
    CreateDivisionPayment c{order, Money(amount, Currency::Krw()), "https://shop.example/back", Sha256Hex(kPageToken),
                            "sealed-key", "fp-" + order + std::to_string(amount)};
    return Get<DivisionPaymentView>(As(merchant, DivisionCommand{c})).payment;
  }
  Result<Outcome> AuthorizeRaw(const DivisionPayment& p, const std::string& number, bool ok, std::int64_t gen = 1) {
    return Internal(DivisionCommand{AuthorizeDivisionPayment{p.id, number, Sha256Hex(kPageToken), ok, gen}});
  }
  DivisionPayment Authorize(const DivisionPayment& p, const std::string& number, bool ok = true) {
    return Get<DivisionPaymentView>(AuthorizeRaw(p, number, ok)).payment;
  }
  // A fresh payment of `amount` at `merchant`, authorised with `number`: as it stands after.
  DivisionPayment Pay(const std::string& number, std::int64_t amount, const std::string& merchant = "") {
    const auto& key = merchant.empty() ? shop_ : merchant;
    return Authorize(Create(key, "o" + std::to_string(++orders_), amount), number);
  }
  // The transfer executor's word on a transfer.
  void Settle(const std::string& transfer, bool completed, const std::string& code = "0000") {
    RecordTransfer r{transfer, completed ? TransferStep::kCompleted : TransferStep::kRefused, code, "ref", ""};
    ASSERT_TRUE(Internal(r));
  }
  DivisionPayment Payment(const std::string& id) {
    return Get<DivisionPaymentView>(As(shop_, DivisionCommand{GetDivisionPayment{id}})).payment;
  }
  DivisionAccountView Account(const std::string& master, const std::string& id) {
    return Get<DivisionAccountView>(As(master, DivisionCommand{GetDivisionAccount{id}}));
  }
  std::optional<DeclineReason> Reason(const DivisionPayment& p) { return p.decline_reason; }

  std::filesystem::path dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  RecoveryReport recovery_;
  std::string shop_, games_, master_, other_master_;
  std::map<std::string, std::string> master_ids_;
  int orders_ = 0;
};

TEST_F(DivisionTest, AnApprovedPaymentDebitsTheMasterThroughATransferAndBooksTheLedger) {
  auto account = Issue(master_, {{5000, 20000, 100000}, {}, {}, {}, {}, 600'000});
  EXPECT_TRUE(IsDivisionNumber(account.account.number));
  auto p = Pay(account.account.number, 3000);
  ASSERT_EQ(p.status, DivisionPaymentStatus::kDebiting);
  ASSERT_FALSE(p.debit_transfer.empty());
  auto transfer = std::get<TransferView>(Admin(GetTransfer{p.debit_transfer})).transfer;
  EXPECT_EQ(transfer.purpose, TransferPurpose::kDivisionDebit);
  EXPECT_EQ(transfer.division_payment, p.id);
  EXPECT_EQ(transfer.bank, "004");
  EXPECT_EQ(transfer.debit_account, "sealed-account-kim");
  EXPECT_EQ(transfer.recipient_account, "1002003004005");
  EXPECT_EQ(Account(master_, account.account.id).spent_today_minor, 3000);
  Settle(p.debit_transfer, true);
  EXPECT_EQ(Payment(p.id).status, DivisionPaymentStatus::kApproved);
  auto ledger = std::get<LedgerPage>(Admin(FindLedgerEntries{}));
  ASSERT_EQ(ledger.items.size(), 1u);
  EXPECT_EQ(ledger.items[0].kind, EntryKind::kDivisionPayment);
  EXPECT_EQ(ledger.items[0].deposit_id, p.id);
  EXPECT_TRUE(IsBalanced(ledger.items[0].lines));
  EXPECT_TRUE(std::get<LedgerVerdict>(Admin(VerifyLedger{})).ok);
  // Not a pay-out: the merchant's pay-out limits hold nothing.
  EXPECT_EQ(std::get<PayoutPolicyView>(Admin(GetPayoutPolicy{"shop"})).used_today_minor, 0);
  auto events = std::get<EventPage>(Admin(ListEvents{EventQuery{"shop", EventType::kDivisionPaymentApproved, 0, 10}, ""}));
  EXPECT_EQ(events.items.size(), 1u);
}

TEST_F(DivisionTest, StepOneDeclinesNameTheAccountsState) {
  auto a = Issue(master_);
  EXPECT_EQ(Reason(Authorize(Create(shop_, "x1", 100), "9400000000000000")), DeclineReason::kAccountNotFound);
  std::string wrong = a.account.number;
  wrong.back() = static_cast<char>('0' + (wrong.back() - '0' + 5) % 10);
  EXPECT_EQ(Reason(Authorize(Create(shop_, "x2", 100), wrong)), DeclineReason::kAccountNotFound);  // Luhn
  ASSERT_TRUE(As(master_, DivisionCommand{ChangeDivisionAccount{a.account.id, DivisionAccountAction::kFreeze}}));
  EXPECT_EQ(Reason(Authorize(Create(shop_, "x3", 100), a.account.number)), DeclineReason::kAccountFrozen);
  ASSERT_TRUE(As(master_, DivisionCommand{ChangeDivisionAccount{a.account.id, DivisionAccountAction::kUnfreeze}}));
  UpdateDivisionAccount window{a.account.id};
  window.valid_from = std::optional<Instant>(kStart + 1h);
  ASSERT_TRUE(As(master_, DivisionCommand{window}));
  EXPECT_EQ(Reason(Authorize(Create(shop_, "x4", 100), a.account.number)), DeclineReason::kAccountNotYetValid);
  window.valid_from = std::optional<Instant>();
  window.valid_until = std::optional<Instant>(kStart);
  ASSERT_TRUE(As(master_, DivisionCommand{window}));
  EXPECT_EQ(Reason(Authorize(Create(shop_, "x5", 100), a.account.number)), DeclineReason::kAccountExpired);
  ASSERT_TRUE(As(master_, DivisionCommand{ChangeDivisionAccount{a.account.id, DivisionAccountAction::kClose}}));
  EXPECT_EQ(Reason(Authorize(Create(shop_, "x6", 100), a.account.number)), DeclineReason::kAccountClosed);
  // What the API asks first says the same, and hands no hash out.
  auto credentials = Get<DivisionCredentials>(Internal(DivisionCommand{GetDivisionPaymentForAuthorization{
      Create(shop_, "x7", 100).id, a.account.number, Sha256Hex(kPageToken)}}));
  EXPECT_EQ(credentials.decline, DeclineReason::kAccountClosed);
  EXPECT_TRUE(credentials.password_hash.empty());
}

TEST_F(DivisionTest, FiveWrongPasswordsInARowLockTheAccountAndTellTheMaster) {
  auto a = Issue(master_);
  auto p = Create(shop_, "lock", 100);
  for (int i = 0; i < 4; ++i) {
    auto tried = Authorize(p, a.account.number, false);
    EXPECT_EQ(tried.status, DivisionPaymentStatus::kAwaitingCredentials);  // open for another try
    EXPECT_EQ(tried.decline_reason, DeclineReason::kWrongPassword);
  }
  auto fifth = Authorize(p, a.account.number, false);
  EXPECT_EQ(fifth.status, DivisionPaymentStatus::kDeclined);
  EXPECT_EQ(fifth.decline_reason, DeclineReason::kAccountLocked);
  EXPECT_TRUE(Account(master_, a.account.id).account.locked);
  const std::string master = master_ids_[master_];
  auto told = std::get<EventPage>(Admin(ListEvents{EventQuery{master, EventType::kDivisionAccountLocked, 0, 10}, ""}));
  EXPECT_EQ(told.items.size(), 1u);
  EXPECT_EQ(Reason(Authorize(Create(shop_, "lock2", 100), a.account.number)), DeclineReason::kAccountLocked);
  ASSERT_TRUE(As(master_, DivisionCommand{ChangeDivisionAccount{a.account.id, DivisionAccountAction::kUnlock}}));
  EXPECT_EQ(Pay(a.account.number, 100).status, DivisionPaymentStatus::kDebiting);
}

TEST_F(DivisionTest, ATryWithAnotherAccountAfterAWrongPasswordChargesTheOneThatPassed) {
  auto first = Issue(master_, {{std::nullopt, 10'000, std::nullopt}, {}, {}, {}, {}, 600'000});
  auto second = Issue(other_master_, {{std::nullopt, 10'000, std::nullopt}, {}, {}, {}, {}, 600'000});
  auto p = Create(shop_, "two-cards", 700);
  Authorize(p, first.account.number, false);
  auto paid = Authorize(p, second.account.number, true);
  EXPECT_EQ(paid.status, DivisionPaymentStatus::kDebiting);
  EXPECT_EQ(paid.account, second.account.id);
  EXPECT_EQ(Account(other_master_, second.account.id).spent_today_minor, 700);
  EXPECT_EQ(Account(master_, first.account.id).spent_today_minor, 0);
  EXPECT_EQ(Code(As(master_, DivisionCommand{GetDivisionPayment{p.id}})), ErrorCode::kNotFound);
  EXPECT_TRUE(Get<DivisionStatement>(As(master_, DivisionCommand{GetDivisionStatement{"", kStart - 1h, kStart + 1h}}))
                  .items.empty());
  Settle(paid.debit_transfer, false, "0201");  // released from the account that held it
  EXPECT_EQ(Account(other_master_, second.account.id).spent_today_minor, 0);
}

TEST_F(DivisionTest, AVerdictOnAStalePasswordIsRefusedAndChangesNothing) {
  auto a = Issue(master_);
  ASSERT_TRUE(As(master_, DivisionCommand{ResetDivisionPassword{a.account.id, "hash-new"}}));
  auto p = Create(shop_, "stale", 100);
  EXPECT_EQ(Code(AuthorizeRaw(p, a.account.number, true, 1)), ErrorCode::kInvalidField);
  EXPECT_EQ(Payment(p.id).status, DivisionPaymentStatus::kAwaitingCredentials);
  EXPECT_EQ(Get<DivisionPaymentView>(AuthorizeRaw(p, a.account.number, true, 2)).payment.status,
            DivisionPaymentStatus::kDebiting);
}

TEST_F(DivisionTest, MerchantRulesDeclineOutsideTheAllowListAndDeniedCategories) {
  DivisionAccountTermsInput terms;
  terms.rules.denied_categories = {MerchantCategory::kGames};
  auto a = Issue(master_, terms);
  EXPECT_EQ(Reason(Pay(a.account.number, 100, games_)), DeclineReason::kCategoryDenied);
  terms.rules = {{"games"}, {}};
  auto b = Issue(master_, terms);
  EXPECT_EQ(Reason(Pay(b.account.number, 100, shop_)), DeclineReason::kMerchantNotAllowed);
  EXPECT_EQ(Pay(b.account.number, 100, games_).status, DivisionPaymentStatus::kDebiting);
}

TEST_F(DivisionTest, LimitsPerPaymentDayAndMonthFollowSeoulsCalendar) {
  // 23:59:59 KST on 30 November (14:59:59 UTC): the last second of the day and of the month.
  clock_.Set(*ParseRfc3339("2026-11-30T14:59:59Z"));
  master_ = Get<MasterKeyIssued>(Internal(DivisionCommand{CreateMasterSession{master_ids_[master_], 1}})).token;
  auto a = Issue(master_, {{5000, 8000, 12000}, {}, {}, {}, {}, 600'000});
  EXPECT_EQ(Reason(Pay(a.account.number, 5001)), DeclineReason::kOverPaymentLimit);
  EXPECT_EQ(Pay(a.account.number, 5000).status, DivisionPaymentStatus::kDebiting);
  EXPECT_EQ(Reason(Pay(a.account.number, 3001)), DeclineReason::kOverDailyLimit);
  EXPECT_EQ(Pay(a.account.number, 3000).status, DivisionPaymentStatus::kDebiting);
  // 00:00:00 KST on 1 December: a new day and a new month.
  clock_.Advance(1s);
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 0);
  EXPECT_EQ(Account(master_, a.account.id).spent_this_month_minor, 0);
  EXPECT_EQ(Pay(a.account.number, 5000).status, DivisionPaymentStatus::kDebiting);
  EXPECT_EQ(Pay(a.account.number, 3000).status, DivisionPaymentStatus::kDebiting);
  clock_.Advance(24h);
  EXPECT_EQ(Pay(a.account.number, 4000).status, DivisionPaymentStatus::kDebiting);
  EXPECT_EQ(Reason(Pay(a.account.number, 1)), DeclineReason::kOverMonthlyLimit);
}

TEST_F(DivisionTest, ConcurrentAuthorisationsNeverTogetherPassTheDailyLimit) {
  auto a = Issue(master_, {{std::nullopt, 10'000, std::nullopt}, {}, {}, {}, {}, 600'000});
  constexpr int kPayments = 40;
  std::vector<DivisionPayment> payments;
  for (int i = 0; i < kPayments; ++i) payments.push_back(Create(shop_, "race" + std::to_string(i), 700));
  std::vector<Result<Outcome>> out(kPayments, Fail(ErrorCode::kInternal, "no reply"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kPayments; i += 4) {
        Submission s = Make(DivisionCommand{AuthorizeDivisionPayment{payments[i].id, a.account.number,
                                                                     Sha256Hex(kPageToken), true, 1}},
                            out[i]);
        s.internal = true;
        EXPECT_TRUE(engine_->Submit(std::move(s)));
      }
    });
  }
  for (auto& t : threads) t.join();
  while (engine_->Step() > 0) {
  }
  ASSERT_TRUE(engine_->relay().CheckInvariants());
  std::int64_t held = 0;
  int over = 0;
  for (const auto& r : out) {
    auto p = Get<DivisionPaymentView>(r).payment;
    if (p.status == DivisionPaymentStatus::kDebiting) held += p.amount.minor();
    if (p.decline_reason == DeclineReason::kOverDailyLimit) ++over;
  }
  EXPECT_EQ(held, 14 * 700);  // 14 fit under 10,000; the others were declined
  EXPECT_EQ(over, kPayments - 14);
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, held);
}

TEST_F(DivisionTest, CoApprovalApprovedDeclinedAndTimedOut) {
  auto a = Issue(master_, {{}, {}, {}, {}, 1000, 120'000});
  auto waiting = Pay(a.account.number, 1500);
  ASSERT_EQ(waiting.status, DivisionPaymentStatus::kAwaitingApproval);
  EXPECT_EQ(Pay(a.account.number, 1000).status, DivisionPaymentStatus::kDebiting);  // at the threshold
  auto approvals = Get<DivisionApprovalList>(As(master_, DivisionCommand{ListDivisionApprovals{}}));
  ASSERT_EQ(approvals.items.size(), 1u);
  EXPECT_EQ(Code(As(other_master_, DivisionCommand{DecideDivisionApproval{waiting.approval, true}})),
            ErrorCode::kNotFound);
  ASSERT_TRUE(As(master_, DivisionCommand{DecideDivisionApproval{waiting.approval, true}}));
  EXPECT_EQ(Payment(waiting.id).status, DivisionPaymentStatus::kDebiting);

  auto declined = Pay(a.account.number, 2000);
  ASSERT_TRUE(As(master_, DivisionCommand{DecideDivisionApproval{declined.approval, false}}));
  EXPECT_EQ(Reason(Payment(declined.id)), DeclineReason::kApprovalDeclined);
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 2500);  // released

  auto ignored = Pay(a.account.number, 3000);
  clock_.Advance(120s);
  engine_->Step();
  EXPECT_EQ(Reason(Payment(ignored.id)), DeclineReason::kApprovalTimedOut);
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 2500);
}

// Proves an approval given after the account was frozen does not debit: the account is checked
// again when the master approves, and the payment is declined with the account's reason.
TEST_F(DivisionTest, AnApprovalAfterTheAccountWasFrozenDeclinesInsteadOfDebiting) {
  auto a = Issue(master_, {{}, {}, {}, {}, 1000, 120'000});
  auto waiting = Pay(a.account.number, 1500);
  ASSERT_EQ(waiting.status, DivisionPaymentStatus::kAwaitingApproval);
  ASSERT_TRUE(As(master_, DivisionCommand{ChangeDivisionAccount{a.account.id, DivisionAccountAction::kFreeze}}));
  ASSERT_TRUE(As(master_, DivisionCommand{DecideDivisionApproval{waiting.approval, true}}));
  EXPECT_EQ(Reason(Payment(waiting.id)), DeclineReason::kAccountFrozen);
  EXPECT_TRUE(Payment(waiting.id).debit_transfer.empty());
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 0);  // released
}

TEST_F(DivisionTest, TheBanksRefusalDeclinesWithItsReasonAndReleasesTheLimits) {
  auto a = Issue(master_, {{std::nullopt, 5000, std::nullopt}, {}, {}, {}, {}, 600'000});
  auto poor = Pay(a.account.number, 5000);
  Settle(poor.debit_transfer, false, "0201");
  EXPECT_EQ(Reason(Payment(poor.id)), DeclineReason::kInsufficientFunds);
  EXPECT_EQ(Payment(poor.id).bank_response_code, "0201");
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 0);
  auto p2 = Pay(a.account.number, 5000);
  Settle(p2.debit_transfer, false, "0999");
  EXPECT_EQ(Reason(Payment(p2.id)), DeclineReason::kBankRefused);
  auto p3 = Pay(a.account.number, 5000);
  Settle(p3.debit_transfer, false, "0202");
  EXPECT_EQ(Reason(Payment(p3.id)), DeclineReason::kConsentMissing);
  // A debit above the bank's ceiling per debit is not even sent.
  auto capped = Enrol("park", "004", 4000);
  auto c = Issue(capped);
  EXPECT_EQ(Reason(Pay(c.account.number, 4001)), DeclineReason::kOverConsentCeiling);
  auto events = std::get<EventPage>(Admin(ListEvents{EventQuery{"shop", EventType::kDivisionPaymentDeclined, 0, 10}, ""}));
  EXPECT_EQ(events.items.size(), 4u);
}

TEST_F(DivisionTest, RefundsGiveTheLimitsBackAndNeverExceedWhatWasPaid) {
  auto a = Issue(master_, {{std::nullopt, 10'000, std::nullopt}, {}, {}, {}, {}, 600'000});
  auto p = Pay(a.account.number, 6000);
  Settle(p.debit_transfer, true);
  auto first = Get<DivisionPaymentView>(As(shop_, DivisionCommand{RefundDivisionPayment{p.id, Money(4000, Currency::Krw())}}));
  auto refund = std::get<TransferView>(Admin(GetTransfer{first.refund_transfer})).transfer;
  EXPECT_EQ(refund.purpose, TransferPurpose::kDivisionRefund);
  EXPECT_EQ(refund.debit_account, "1002003004005");
  EXPECT_EQ(refund.recipient_account, "sealed-account-kim");
  // 2,000 left while 4,000 is under way: 2,001 is too much, whoever asks first.
  EXPECT_EQ(Code(As(shop_, DivisionCommand{RefundDivisionPayment{p.id, Money(2001, Currency::Krw())}})),
            ErrorCode::kInvalidAmount);
  EXPECT_EQ(Code(As(games_, DivisionCommand{RefundDivisionPayment{p.id, Money(1, Currency::Krw())}})),
            ErrorCode::kNotFound);
  Settle(first.refund_transfer, true);
  EXPECT_EQ(Payment(p.id).status, DivisionPaymentStatus::kPartiallyRefunded);
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 2000);
  auto second = Get<DivisionPaymentView>(As(shop_, DivisionCommand{RefundDivisionPayment{p.id, Money(2000, Currency::Krw())}}));
  Settle(second.refund_transfer, false, "0999");  // refused: the 2,000 may be asked again
  auto third = Get<DivisionPaymentView>(As(shop_, DivisionCommand{RefundDivisionPayment{p.id, Money(2000, Currency::Krw())}}));
  Settle(third.refund_transfer, true);
  EXPECT_EQ(Payment(p.id).status, DivisionPaymentStatus::kRefunded);
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 0);
  EXPECT_EQ(Code(As(shop_, DivisionCommand{RefundDivisionPayment{p.id, Money(1, Currency::Krw())}})),
            ErrorCode::kInvalidField);
  EXPECT_TRUE(std::get<LedgerVerdict>(Admin(VerifyLedger{})).ok);
}

TEST_F(DivisionTest, EveryoneSeesOnlyTheirOwn) {
  auto a = Issue(master_);
  EXPECT_EQ(Code(As(other_master_, DivisionCommand{GetDivisionAccount{a.account.id}})), ErrorCode::kNotFound);
  EXPECT_EQ(Code(As(other_master_, DivisionCommand{ChangeDivisionAccount{a.account.id, DivisionAccountAction::kFreeze}})),
            ErrorCode::kNotFound);
  EXPECT_TRUE(Get<DivisionAccountList>(As(other_master_, DivisionCommand{ListDivisionAccounts{}})).items.empty());
  auto p = Pay(a.account.number, 100);
  EXPECT_EQ(Code(As(games_, DivisionCommand{GetDivisionPayment{p.id}})), ErrorCode::kNotFound);
  EXPECT_EQ(Code(As(other_master_, DivisionCommand{GetDivisionPayment{p.id}})), ErrorCode::kNotFound);
  EXPECT_TRUE(As(master_, DivisionCommand{GetDivisionPayment{p.id}}));
  // A wrong page token is a payment that does not exist; a merchant key is not division_direct.
  EXPECT_EQ(Code(Internal(DivisionCommand{GetDivisionPaymentPage{p.id, Sha256Hex("guess")}})), ErrorCode::kNotFound);
  EXPECT_EQ(Code(As(shop_, DivisionCommand{GetDivisionPaymentPage{p.id, ""}})), ErrorCode::kNotFound);
  Admin(DivisionCommand{SetMerchantDivision{"shop", std::nullopt, true}});
  EXPECT_TRUE(As(shop_, DivisionCommand{GetDivisionPaymentPage{p.id, ""}}));
  // A master's key reaches nothing else; a merchant's key no master command.
  EXPECT_EQ(Code(As(master_, ListBanks{})), ErrorCode::kForbidden);
  EXPECT_EQ(Code(As(shop_, DivisionCommand{ListDivisionAccounts{}})), ErrorCode::kForbidden);
  auto statement = Get<DivisionStatement>(As(master_, DivisionCommand{GetDivisionStatement{"", kStart - 1h, kStart + 1h}}));
  EXPECT_EQ(statement.items.size(), 1u);
  EXPECT_TRUE(Get<DivisionStatement>(As(other_master_, DivisionCommand{GetDivisionStatement{"", kStart - 1h, kStart + 1h}}))
                  .items.empty());
}

TEST_F(DivisionTest, SessionsExpireAndCanBeEnded) {
  Issue(master_);
  clock_.Advance(12h);
  EXPECT_EQ(Code(As(master_, DivisionCommand{ListDivisionAccounts{}})), ErrorCode::kUnauthorized);
  EXPECT_FALSE(engine_->relay().Authenticate(master_));  // forgotten once expired, restart or not
  Reopen();
  engine_->Step();
  EXPECT_FALSE(engine_->relay().Authenticate(master_));
  auto fresh = Get<MasterKeyIssued>(Internal(DivisionCommand{CreateMasterSession{master_ids_[master_], 1}}));
  EXPECT_TRUE(fresh.token.starts_with("vms_"));
  EXPECT_EQ(Get<DivisionAccountList>(As(fresh.token, DivisionCommand{ListDivisionAccounts{}})).items.size(), 1u);
  ASSERT_TRUE(As(fresh.token, DivisionCommand{RevokeMasterSession{}}));
  EXPECT_EQ(Code(As(fresh.token, DivisionCommand{ListDivisionAccounts{}})), ErrorCode::kUnauthorized);
  EXPECT_EQ(Code(Internal(DivisionCommand{CreateMasterSession{master_ids_[master_], 2}})), ErrorCode::kInvalidField);
}

TEST_F(DivisionTest, UnpaidPaymentsExpireAfterFifteenMinutes) {
  auto p = Create(shop_, "late", 100);
  clock_.Advance(15min);
  engine_->Step();
  EXPECT_EQ(Payment(p.id).status, DivisionPaymentStatus::kExpired);
  auto a = Issue(master_);
  EXPECT_EQ(Code(AuthorizeRaw(p, a.account.number, true)), ErrorCode::kInvalidField);
}

TEST_F(DivisionTest, ARestartKeepsEverythingWhetherReplayedOrFromTheSnapshot) {
  auto a = Issue(master_, {{std::nullopt, 10'000, std::nullopt}, {}, {}, {}, {}, 600'000});
  auto in_flight = Pay(a.account.number, 3000);  // debiting: holds 3,000
  auto done = Pay(a.account.number, 2000);
  Settle(done.debit_transfer, true);
  Admin(UpdateMerchant{"shop", std::nullopt, std::nullopt, MerchantCategory::kBooks, true});
  for (bool snapshot : {false, true}) {
    Reopen(snapshot);
    EXPECT_EQ(recovery_.from_snapshot, snapshot);
    ASSERT_TRUE(engine_->relay().CheckInvariants());
    EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 5000);
    EXPECT_EQ(Payment(in_flight.id).status, DivisionPaymentStatus::kDebiting);
    EXPECT_EQ(Payment(done.id).status, DivisionPaymentStatus::kApproved);
    auto merchant = std::get<Merchant>(Admin(GetMerchant{"shop"}));
    EXPECT_EQ(merchant.category, MerchantCategory::kBooks);
    EXPECT_TRUE(merchant.division_direct);
  }
  EXPECT_EQ(Reason(Pay(a.account.number, 5001)), DeclineReason::kOverDailyLimit);
  Settle(in_flight.debit_transfer, false, "0201");  // the executor still knew it: pending
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 2000);
  EXPECT_EQ(Get<MasterLogin>(Internal(DivisionCommand{GetMasterLogin{"digest-kim"}})).password_hash, "hash-kim");
}

TEST_F(DivisionTest, ACrashBehindTheCommandLogRecoversEverythingFromTheLog) {
  ReopenOnTheLog();
  auto a = Issue(master_, {{std::nullopt, 10'000, std::nullopt}, {{}, {MerchantCategory::kGames}}, {}, {}, 1000, 600'000});
  auto debiting = Pay(a.account.number, 900);
  auto waiting = Pay(a.account.number, 2000);
  ASSERT_EQ(waiting.status, DivisionPaymentStatus::kAwaitingApproval);
  auto p = Create(shop_, "left", 500);
  for (int i = 0; i < 3; ++i) Authorize(p, a.account.number, false);
  ReopenOnTheLog();  // a crash: the log holds batches the tables may not
  auto view = Account(master_, a.account.id);
  EXPECT_EQ(view.spent_today_minor, 2900);
  EXPECT_EQ(view.account.consecutive_failures, 3);
  EXPECT_EQ(view.account.rules.denied_categories, std::vector<MerchantCategory>{MerchantCategory::kGames});
  EXPECT_EQ(Payment(debiting.id).status, DivisionPaymentStatus::kDebiting);
  // The approval's deadline survives: it times out on the engine's clock after the restart.
  clock_.Advance(10min);
  engine_->Step();
  EXPECT_EQ(Reason(Payment(waiting.id)), DeclineReason::kApprovalTimedOut);
  EXPECT_EQ(Account(master_, a.account.id).spent_today_minor, 900);
  auto events = Get<MasterEvents>(As(master_, DivisionCommand{ListMasterEvents{0, 100}}));
  ASSERT_EQ(events.items.size(), 2u);  // the approval asked for, the payment declined
  EXPECT_EQ(events.items[0].type, EventType::kDivisionApprovalRequested);
  EXPECT_EQ(events.items[1].type, EventType::kDivisionPaymentDeclined);
  EXPECT_TRUE(Get<MasterEvents>(As(other_master_, DivisionCommand{ListMasterEvents{0, 100}})).items.empty());
}

// Keeps what the engine hands the webhook dispatcher.
class KeptOutbox final : public OutboxListener {
 public:
  void OnCommitted(OutboxChanges changes) override {
    for (auto& e : changes.endpoints) endpoints.push_back(e);
    for (auto& d : changes.deliveries) deliveries.push_back(d);
  }
  std::vector<WebhookEndpoint> endpoints;
  std::vector<OutboxWork> deliveries;
};

TEST_F(DivisionTest, TheMastersNotificationsGoToItsEndpointThroughTheOutbox) {
  KeptOutbox outbox;
  engine_->SetOutboxListener(&outbox);
  auto set = Get<MasterView>(As(master_, DivisionCommand{SetMasterEndpoint{"https://app.example/hook"}}));
  EXPECT_TRUE(set.endpoint_secret.starts_with("whsec_"));
  EXPECT_EQ(set.master.endpoint_url, "https://app.example/hook");
  ASSERT_EQ(outbox.endpoints.size(), 1u);
  EXPECT_EQ(outbox.endpoints[0].merchant, master_ids_[master_]);
  EXPECT_FALSE(outbox.endpoints[0].include_personal_data);
  auto again = Get<MasterView>(As(master_, DivisionCommand{SetMasterEndpoint{"https://app.example/v2"}}));
  EXPECT_TRUE(again.endpoint_secret.empty());  // shown once, when created
  EXPECT_EQ(again.master.endpoint_id, set.master.endpoint_id);

  auto a = Issue(master_, {{}, {}, {}, {}, 100, 600'000});
  Pay(a.account.number, 500);  // waits for the master's approval
  ASSERT_EQ(outbox.deliveries.size(), 1u);
  EXPECT_EQ(outbox.deliveries[0].delivery.endpoint_id, set.master.endpoint_id);
  EXPECT_EQ(outbox.deliveries[0].event->type, EventType::kDivisionApprovalRequested);
  EXPECT_NE(outbox.deliveries[0].event->payload.find(R"("label":"Minji")"), std::string::npos);

  ASSERT_TRUE(As(master_, DivisionCommand{SetMasterEndpoint{""}}));
  EXPECT_TRUE(outbox.endpoints.back().deleted_at.has_value());
  engine_->SetOutboxListener(nullptr);
}

}  // namespace
}  // namespace varelay
