// Proves the simulated bank's core: accounts and issuance, booking only after an accepted
// pre-check (a refusal moves nothing), balance checks, notice re-sends and faults, withdrawals and
// their result inquiry, cancellations, statement balances, and the state file round trip.
#include "bank.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "faults.h"
#include "relay_link.h"
#include "routes.h"
#include "state_file.h"
#include "statement.h"
#include "teller.h"

namespace varelay::banksim {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

Money Krw(std::int64_t minor) { return Money(minor, Currency::Krw()); }

// 2026-11-25T01:00:00Z = 10:00 in Seoul.
const Instant kT0 = FromUnixMs(1'795'568'400'000);

class RecordingJournal : public BankJournal {
 public:
  void Append(std::span<const BankRecord> records) override {
    ++appends;
    all.insert(all.end(), records.begin(), records.end());
  }
  int appends = 0;
  std::vector<BankRecord> all;
};

// A relay that answers as told and counts what it was sent.
class FakeLink : public RelayLink {
 public:
  LinkResult<PrecheckVerdict> Precheck(const PrecheckQuery& q) override {
    ++prechecks;
    last_precheck = q;
    return verdict;
  }
  LinkResult<NoticeReceipt> NotifyDeposit(const DepositMessage& m) override {
    deposits.push_back(m);
    return Answer(m.transaction_id);
  }
  LinkResult<NoticeReceipt> NotifyCancellation(const CancellationMessage& m) override {
    cancellations.push_back(m);
    return Answer(m.transaction_id);
  }
  std::string Describe() const override { return "fake"; }

  LinkResult<NoticeReceipt> Answer(const std::string& id) {
    if (!notice_answer) return std::unexpected(notice_answer.error());
    bool duplicate = !seen.insert(id).second;
    NoticeReceipt receipt{"dep_" + id, "matched", "booked", duplicate};
    receipt.relay_transaction_id = "rt_" + id;
    return receipt;
  }

  LinkResult<PrecheckVerdict> verdict =
      PrecheckVerdict{true, "Example Shop Co.", "2026-12-01T00:00:00Z", ""};
  LinkResult<NoticeReceipt> notice_answer = NoticeReceipt{};
  int prechecks = 0;
  PrecheckQuery last_precheck{"", Krw(0), ""};
  std::vector<DepositMessage> deposits;
  std::vector<CancellationMessage> cancellations;
  std::set<std::string> seen;
};

struct Fixture {
  explicit Fixture(BankOptions options = {"004", 3, Millis(1000)})
      : bank(options, "TEST", &journal) {
    Account mother{
        "004100000000001", "Example Shop Co.", AccountKind::kMother, Krw(0), Krw(0), "9004", {}, {}, 0, {}, false};
    Account customer{
        "11112222333", "Kim Minji", AccountKind::kCustomer, Krw(100'000), Krw(0), "", {}, {}, 0, {}, false};
    EXPECT_TRUE(bank.OpenAccount(mother, kT0).has_value());
    EXPECT_TRUE(bank.OpenAccount(customer, kT0).has_value());
  }
  std::int64_t Balance(std::string_view number) const {
    return bank.FindAccount(number)->balance.minor();
  }

  RecordingJournal journal;
  Bank bank;
};

PaymentOrder Order(std::int64_t amount, std::string to = "90040000000001") {
  return PaymentOrder{"11112222333", std::move(to), Krw(amount), "Kim Minji"};
}

TEST(BanksimBank, OpensAccountsAndRefusesBadOnes) {
  Fixture f;
  EXPECT_EQ(f.Balance("11112222333"), 100'000);
  Account dup{"11112222333", "Someone", AccountKind::kCustomer, Krw(0), Krw(0), "", {}, {}, 0, {}, false};
  EXPECT_EQ(f.bank.OpenAccount(dup, kT0).error().code, BankErrc::kAccountExists);
  Account bad_number{"12-34", "X", AccountKind::kCustomer, Krw(0), Krw(0), "", {}, {}, 0, {}, false};
  EXPECT_EQ(f.bank.OpenAccount(bad_number, kT0).error().code, BankErrc::kInvalidField);
  Account prefixed_customer{"55556666777", "X", AccountKind::kCustomer, Krw(0), Krw(0), "77", {}, {}, 0, {}, false};
  EXPECT_EQ(f.bank.OpenAccount(prefixed_customer, kT0).error().code, BankErrc::kInvalidField);
  Account taken_prefix{
      "004100000000009", "Other", AccountKind::kMother, Krw(0), Krw(0), "9004", {}, {}, 0, {}, false};
  EXPECT_EQ(f.bank.OpenAccount(taken_prefix, kT0).error().code, BankErrc::kInvalidField);
  Account negative{"55556666777", "X", AccountKind::kCustomer, Krw(-1), Krw(0), "", {}, {}, 0, {}, false};
  EXPECT_EQ(f.bank.OpenAccount(negative, kT0).error().code, BankErrc::kInvalidField);
  EXPECT_EQ(f.bank.Accounts().size(), 2u);
}

TEST(BanksimBank, IssuesBlocksAndSingleNumbersInFrontOfAMotherAccount) {
  Fixture f;
  auto block = f.bank.IssueBlock(IssueRequest{"", "77004", 3}, kT0);
  ASSERT_TRUE(block.has_value()) << block.error().detail;
  ASSERT_EQ(block->size(), 3u);
  EXPECT_EQ((*block)[0].number, "77004000000001");
  EXPECT_EQ((*block)[2].number, "77004000000003");
  EXPECT_EQ((*block)[0].mode, IssueMode::kBatch);
  EXPECT_EQ(f.bank.MotherFor("77004000000002")->number, "004100000000001");
  auto one = f.bank.IssueOne(IssueRequest{"004100000000001", "77004", 1}, kT0);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->number, "77004000000004");
  EXPECT_EQ(one->mode, IssueMode::kRealTime);
  EXPECT_EQ(f.bank.FindVirtualAccount(one->number)->mode, IssueMode::kRealTime);
  // By prefix, without issuance: the longest owning prefix.
  EXPECT_EQ(f.bank.MotherFor("90049999999999")->number, "004100000000001");
  EXPECT_EQ(f.bank.MotherFor("12345678"), nullptr);
  // A second mother account: a request must say which one (or use an owned prefix).
  Account second{
      "004200000000001", "Rival Shop Co.", AccountKind::kMother, Krw(0), Krw(0), "8004", {}, {}, 0, {}, false};
  ASSERT_TRUE(f.bank.OpenAccount(second, kT0).has_value());
  EXPECT_EQ(f.bank.IssueBlock(IssueRequest{"", "", 1}, kT0).error().code,
            BankErrc::kNoMotherAccount);
  auto rival = f.bank.IssueBlock(IssueRequest{"", "8004", 1}, kT0);
  ASSERT_TRUE(rival.has_value());
  EXPECT_EQ(rival->front().mother_account, "004200000000001");
  EXPECT_EQ(f.bank.IssueBlock(IssueRequest{"11112222333", "", 1}, kT0).error().code,
            BankErrc::kWrongAccountKind);
  EXPECT_EQ(f.bank.IssueBlock(IssueRequest{"", "8004", 0}, kT0).error().code,
            BankErrc::kInvalidField);
  EXPECT_EQ(f.bank.IssueBlock(IssueRequest{"", "8004", kMaxBlockSize + 1}, kT0).error().code,
            BankErrc::kInvalidField);
  EXPECT_TRUE(f.bank.CheckInvariants().has_value());
}

TEST(BanksimBank, BooksAPaymentAndQueuesItsNotice) {
  Fixture f;
  ASSERT_TRUE(f.bank.PreparePayment(Order(39'000)).has_value());
  auto booking = f.bank.BookPayment(Order(39'000), NoticePlan{Krw(39'000), kT0}, kT0);
  ASSERT_TRUE(booking.has_value()) << booking.error().detail;
  EXPECT_EQ(booking->id, "004TEST00000001");
  EXPECT_EQ(f.Balance("11112222333"), 61'000);
  EXPECT_EQ(f.Balance("004100000000001"), 39'000);
  auto notices = f.bank.Notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].transaction_id, booking->id);
  EXPECT_EQ(notices[0].state, NoticeState::kPending);
  EXPECT_EQ(notices[0].send_count, 0);
  EXPECT_EQ(notices[0].event_at, "2026-11-25T01:00:00Z");
  EXPECT_EQ(f.bank.DueNotices(kT0, true, 10).size(), 1u);
  EXPECT_TRUE(f.bank.CheckInvariants().has_value());
}

TEST(BanksimBank, RefusesAPaymentBeyondTheBalanceAndMovesNothing) {
  Fixture f;
  int appends = f.journal.appends;
  EXPECT_EQ(f.bank.PreparePayment(Order(100'001)).error().code, BankErrc::kInsufficientFunds);
  EXPECT_EQ(f.bank.BookPayment(Order(100'001), NoticePlan{Krw(100'001), kT0}, kT0).error().code,
            BankErrc::kInsufficientFunds);
  EXPECT_EQ(f.bank.PreparePayment(Order(1'000, "12345678")).error().code, BankErrc::kUnknownNumber);
  EXPECT_EQ(f.bank.PreparePayment(PaymentOrder{"004100000000001", "90040000000001", Krw(1), ""})
                .error()
                .code,
            BankErrc::kWrongAccountKind);
  EXPECT_EQ(
      f.bank.PreparePayment(PaymentOrder{"99999999", "90040000000001", Krw(1), ""}).error().code,
      BankErrc::kNotFound);
  EXPECT_EQ(f.bank.PreparePayment(Order(0)).error().code, BankErrc::kInvalidField);
  EXPECT_EQ(f.Balance("11112222333"), 100'000);
  EXPECT_EQ(f.Balance("004100000000001"), 0);
  EXPECT_TRUE(f.bank.Notices().empty());
  EXPECT_EQ(f.journal.appends, appends);
}

TEST(BanksimTeller, ARefusedPrecheckMovesNoMoney) {
  Fixture f;
  FakeLink link;
  Instant now = kT0;
  Teller teller(f.bank, link, FaultPlan{}, [&] { return now; });
  int appends = f.journal.appends;

  link.verdict = PrecheckVerdict{false, "", "", "amount_mismatch"};
  auto refused = teller.Pay(Order(39'001));
  EXPECT_EQ(refused.status, PaymentStatus::kRefused);
  EXPECT_EQ(refused.reason, "amount_mismatch");
  EXPECT_EQ(link.prechecks, 1);
  EXPECT_EQ(link.last_precheck.amount.minor(), 39'001);

  link.verdict = std::unexpected(LinkFailure{401, "signature_missing", "sign"});
  auto failed = teller.Pay(Order(39'000));
  EXPECT_EQ(failed.status, PaymentStatus::kRefused);
  EXPECT_EQ(failed.reason, "precheck_failed");
  EXPECT_NE(failed.detail.find("401 signature_missing"), std::string::npos);

  // The bank's own refusal does not even ask the relay.
  auto poor = teller.Pay(Order(500'000));
  EXPECT_EQ(poor.reason, "insufficient_funds");
  EXPECT_EQ(link.prechecks, 2);

  EXPECT_EQ(f.Balance("11112222333"), 100'000);
  EXPECT_EQ(f.Balance("004100000000001"), 0);
  EXPECT_TRUE(f.bank.Notices().empty());
  // Only the inquiry sequence counter was recorded, once per pre-check asked.
  EXPECT_EQ(f.journal.appends, appends + 2);
  for (std::size_t i = f.journal.all.size() - 2; i < f.journal.all.size(); ++i)
    EXPECT_TRUE(std::holds_alternative<Counters>(f.journal.all[i]));
  EXPECT_EQ(std::get<Counters>(f.journal.all.back()).next_sequence, 3u);

  link.verdict = PrecheckVerdict{true, "Example Shop Co.", "2026-12-01T00:00:00Z", ""};
  auto accepted = teller.Pay(Order(39'000));
  ASSERT_EQ(accepted.status, PaymentStatus::kAccepted) << accepted.reason;
  EXPECT_EQ(accepted.holder_name, "Example Shop Co.");
  EXPECT_EQ(accepted.payer_balance.minor(), 61'000);
  EXPECT_EQ(f.Balance("004100000000001"), 39'000);
}

TEST(BanksimTeller, ResendsUntilAnsweredWithARisingSendCountThenGivesUp) {
  Fixture f({"004", 3, Millis(1000)});
  FakeLink link;
  Instant now = kT0;
  Teller teller(f.bank, link, FaultPlan{}, [&] { return now; });
  ASSERT_EQ(teller.Pay(Order(1'000)).status, PaymentStatus::kAccepted);
  ASSERT_EQ(teller.Pay(Order(2'000)).status, PaymentStatus::kAccepted);

  link.notice_answer = std::unexpected(LinkFailure{503, "overloaded", ""});
  EXPECT_EQ(teller.SendDueNotices(), 2u);
  EXPECT_EQ(teller.SendDueNotices(), 0u) << "not due again before the resend interval";
  auto n = f.bank.Notices();
  EXPECT_EQ(n[0].send_count, 1);
  EXPECT_EQ(n[0].last_status, "503 overloaded");
  EXPECT_EQ(n[0].next_send_at, kT0 + seconds(1));

  now += seconds(1);
  link.notice_answer = NoticeReceipt{};
  EXPECT_EQ(teller.SendDueNotices(), 2u);
  n = f.bank.Notices();
  EXPECT_EQ(n[0].state, NoticeState::kAnswered);
  EXPECT_EQ(n[0].send_count, 2);
  EXPECT_EQ(n[0].relay_deposit_id, "dep_" + n[0].transaction_id);
  EXPECT_EQ(n[0].answered_at, now);

  // Out of attempts: failed, and visible as such.
  ASSERT_EQ(teller.Pay(Order(3'000)).status, PaymentStatus::kAccepted);
  link.notice_answer = std::unexpected(LinkFailure{0, "no_answer", "connection refused"});
  for (int i = 0; i < 5; ++i, now += seconds(1)) teller.SendDueNotices();
  n = f.bank.Notices();
  EXPECT_EQ(n[2].state, NoticeState::kFailed);
  EXPECT_EQ(n[2].send_count, 3);
  EXPECT_EQ(n[2].last_status, "no answer: connection refused");
  EXPECT_EQ(f.bank.PendingNotices(), 0u);
}

TEST(BanksimTeller, AFinalRefusalFailsANoticeAtOnce) {
  Fixture f;
  FakeLink link;
  Teller teller(f.bank, link, FaultPlan{}, [] { return kT0; });
  ASSERT_EQ(teller.Pay(Order(1'000)).status, PaymentStatus::kAccepted);
  link.notice_answer = std::unexpected(LinkFailure{409, "transaction_id_conflict", "", true});
  teller.SendDueNotices();
  EXPECT_EQ(f.bank.Notices()[0].state, NoticeState::kFailed);
  EXPECT_EQ(f.bank.Notices()[0].send_count, 1);
  EXPECT_EQ(f.bank.Notices()[0].last_status, "409 transaction_id_conflict");

  ASSERT_EQ(teller.Pay(Order(2'000)).status, PaymentStatus::kAccepted);
  link.notice_answer =
      std::unexpected(LinkFailure{0, "duplicate", "refused", true, "telegram 0106"});
  teller.SendDueNotices();
  EXPECT_EQ(f.bank.Notices()[1].state, NoticeState::kFailed);
  EXPECT_EQ(f.bank.Notices()[1].last_status, "telegram 0106 duplicate");
}

TEST(BanksimBank, TelegramsGetOneSequencePerKstDayKeptOnEveryResend) {
  Fixture f;
  // 2026-11-25T14:59:59Z is 23:59:59 in Seoul; a second later it is the 26th there.
  const Instant late = FromUnixMs(1'795'618'799'000) + milliseconds(250);
  auto first = f.bank.BookPayment(Order(1'000), NoticePlan{Krw(1'000), kT0}, kT0);
  auto second = f.bank.BookPayment(Order(2'000), NoticePlan{Krw(2'000), late}, late);
  auto inquiry = f.bank.NextInquiryRef(late);
  auto cancel = f.bank.CancelDeposit(first->id, late + seconds(1), late + seconds(1));
  ASSERT_TRUE(first && second && inquiry && cancel);
  auto n = f.bank.Notices();
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[0].telegram, (TelegramRef{1, kT0}));
  EXPECT_EQ(n[1].telegram, (TelegramRef{2, late - milliseconds(250)})) << "whole seconds";
  EXPECT_EQ(*inquiry, (TelegramRef{3, late - milliseconds(250)})) << "inquiries count along";
  EXPECT_EQ(n[2].telegram.sequence, 1u) << "a new KST day starts again at 1";
  EXPECT_EQ(f.bank.FindNoticeFor(first->id)->seq, 1u);

  // Re-sends keep the header identity.
  f.bank.RecordAttempt(1, NoticeAttempt{AttemptVerdict::kUnanswered, "503"}, kT0);
  EXPECT_EQ(f.bank.FindNotice(1)->telegram, (TelegramRef{1, kT0}));

  // The counters and the notices' sequences survive a state file; a record from before telegram
  // sequences existed gets one of its queue day when restored.
  Bank rebuilt(f.bank.options(), "ZZZZ");
  for (const auto& record : f.journal.all) {
    auto back = DecodeRecord(EncodeRecord(record));
    ASSERT_TRUE(back.has_value());
    rebuilt.Restore(*back);
  }
  auto old_line = EncodeRecord(BankRecord(*f.bank.FindNotice(2)));
  for (std::string key : {"\"telegram_sequence\":2,", ",\"relay_transaction_id\":\"\""}) {
    auto at = old_line.find(key);
    ASSERT_NE(at, std::string::npos) << old_line;
    old_line.erase(at, key.size());
  }
  auto old_notice = DecodeRecord(old_line);
  ASSERT_TRUE(old_notice.has_value()) << old_notice.error().detail;
  EXPECT_EQ(std::get<Notice>(*old_notice).telegram.sequence, 0u);
  rebuilt.Restore(*old_notice);
  ASSERT_TRUE(rebuilt.FinishRestore().has_value());
  EXPECT_EQ(rebuilt.FindNotice(2)->telegram.sequence, 2u) << "numbered after the day's others";
  EXPECT_EQ(rebuilt.FindNotice(3)->telegram.sequence, 1u);
  auto next = rebuilt.BookPayment(Order(3'000), NoticePlan{Krw(3'000), late + seconds(2)},
                                  late + seconds(2));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(rebuilt.Notices().back().telegram.sequence, 2u) << "the day's counter continues";
  EXPECT_EQ(rebuilt.NextInquiryRef(late + seconds(2))->sequence, 3u);

  // The relay asks for number 4 of the 26th: a pending notice with it is due at once.
  const Instant much_later = late + std::chrono::hours(1);
  ASSERT_TRUE(
      rebuilt.BookPayment(Order(4'000), NoticePlan{Krw(4'000), much_later}, late + seconds(3))
          .has_value());
  EXPECT_EQ(rebuilt.Notices().back().telegram.sequence, 4u);
  auto day26 = BusinessDay(late + seconds(2));
  EXPECT_EQ(rebuilt.ReleaseTelegrams(day26, 4, 4, late + seconds(4)), 1u);
  EXPECT_EQ(rebuilt.Notices().back().next_send_at, late + seconds(4));
  EXPECT_EQ(rebuilt.ReleaseTelegrams(day26 - std::chrono::days(1), 4, 4, late), 0u)
      << "another day's number 4";
  EXPECT_EQ(rebuilt.ReleaseTelegrams(day26, 5, 9, late), 0u);
}

TEST(BanksimTeller, NoticesCarryWhatTheTelegramAndCamtLinksRepeat) {
  Fixture f;
  FakeLink link;
  Instant now = kT0;
  Teller teller(f.bank, link, FaultPlan{}, [&] { return now; });
  auto paid = teller.Pay(Order(4'000));
  ASSERT_EQ(paid.status, PaymentStatus::kAccepted);
  EXPECT_EQ(link.last_precheck.telegram, (TelegramRef{1, kT0})) << "the inquiry, then its notice";
  link.notice_answer = std::unexpected(LinkFailure{0, "no_answer", "timeout"});
  teller.SendDueNotices();
  now += seconds(1);
  link.notice_answer = NoticeReceipt{};
  teller.SendDueNotices();
  ASSERT_EQ(link.deposits.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(link.deposits[i].send_count, i + 1);
    EXPECT_EQ(link.deposits[i].telegram, (TelegramRef{2, kT0}));
    EXPECT_EQ(link.deposits[i].mother_account, "004100000000001");
  }
  ASSERT_TRUE(teller.Cancel(paid.booking->id).has_value());
  teller.SendDueNotices();
  ASSERT_EQ(link.cancellations.size(), 1u);
  const auto& c = link.cancellations[0];
  EXPECT_EQ(c.original_transaction_id, paid.booking->id);
  EXPECT_EQ(c.original_telegram, (TelegramRef{2, kT0}));
  EXPECT_EQ(c.telegram, (TelegramRef{3, now}));
  EXPECT_EQ(c.number, "90040000000001");
  EXPECT_EQ(c.amount.minor(), 4'000);
  EXPECT_EQ(c.payer_name, "Kim Minji");
  EXPECT_EQ(c.mother_account, "004100000000001");
  EXPECT_EQ(f.bank.Notices()[0].relay_transaction_id, "rt_" + paid.booking->id);

  // A notice held back (the late fault) goes out when the relay asks for its number.
  FaultPlan late;
  late.late = seconds(3600);
  Teller held(f.bank, link, late, [&] { return now; });
  ASSERT_EQ(held.Pay(Order(1'000)).status, PaymentStatus::kAccepted);
  EXPECT_EQ(held.SendDueNotices(), 0u);
  auto sequence = f.bank.Notices().back().telegram.sequence;
  EXPECT_EQ(held.ResendTelegrams(BusinessDay(now), sequence, sequence), 1u);
  EXPECT_EQ(held.SendDueNotices(), 1u);
  EXPECT_EQ(link.deposits.back().telegram.sequence, sequence);
}

TEST(BanksimTeller, DroppedAnswersAreResentAndTheRelaysDuplicateAnswerSettlesThem) {
  Fixture f({"004", 5, Millis(100)});
  FakeLink link;
  Instant now = kT0;
  FaultPlan faults;
  faults.drop_answer_p = 1.0;
  Teller teller(f.bank, link, faults, [&] { return now; });
  ASSERT_EQ(teller.Pay(Order(1'000)).status, PaymentStatus::kAccepted);
  for (int i = 0; i < 3; ++i, now += milliseconds(100)) teller.SendDueNotices();
  auto n = f.bank.Notices()[0];
  EXPECT_EQ(n.state, NoticeState::kPending);
  EXPECT_EQ(n.send_count, 3);
  EXPECT_EQ(n.last_status, "200 answer dropped");
  EXPECT_EQ(link.deposits.size(), 3u);
  for (const auto& m : link.deposits) {
    EXPECT_EQ(m.transaction_id, n.transaction_id);
    EXPECT_EQ(m.deposited_at, n.event_at) << "a re-send carries the same content";
  }
}

TEST(BanksimTeller, DuplicateOutageAmountOffAndCancelAfterFaults) {
  Fixture f({"004", 10, Millis(100)});
  FakeLink link;
  Instant now = kT0;
  FaultPlan faults;
  faults.duplicate_p = 1.0;
  faults.amount_off_minor = 10;
  faults.cancel_after_p = 1.0;
  faults.outage = OutageWindow{milliseconds(0), milliseconds(250)};
  Teller teller(f.bank, link, faults, [&] { return now; });
  auto paid = teller.Pay(Order(1'000));
  ASSERT_EQ(paid.status, PaymentStatus::kAccepted);
  EXPECT_EQ(f.Balance("004100000000001"), 1'000) << "the booking is the true amount";

  // Inside the outage: attempts count, nothing reaches the relay.
  for (int i = 0; i < 3; ++i, now += milliseconds(100)) teller.SendDueNotices();
  EXPECT_TRUE(link.deposits.empty());
  EXPECT_EQ(f.bank.Notices()[0].send_count, 3);
  EXPECT_EQ(f.bank.Notices()[0].last_status, "outage");

  // After it: delivered (notified 10 won off), answered, sent once more, then cancelled.
  teller.SendDueNotices();
  ASSERT_EQ(link.deposits.size(), 2u);
  EXPECT_EQ(link.deposits[0].amount.minor(), 1'010);
  auto n = f.bank.Notices();
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[0].state, NoticeState::kAnswered);
  EXPECT_EQ(n[0].send_count, 5);
  EXPECT_EQ(n[0].duplicates_sent, 1);
  EXPECT_EQ(n[0].amount.minor(), 1'010);
  EXPECT_EQ(n[0].booked_amount.minor(), 1'000);
  EXPECT_EQ(n[1].kind, NoticeKind::kCancellation);
  EXPECT_EQ(n[1].original_transaction_id, n[0].transaction_id);
  EXPECT_EQ(f.Balance("004100000000001"), 0);
  EXPECT_EQ(f.Balance("11112222333"), 100'000);
  teller.SendDueNotices();
  ASSERT_EQ(link.cancellations.size(), 2u) << "the cancellation and its duplicate";
  EXPECT_EQ(f.bank.Notices()[1].state, NoticeState::kAnswered);
  EXPECT_TRUE(f.bank.CheckInvariants().has_value());
}

TEST(BanksimBank, ACancellationWaitsForItsDepositsNoticeAndCannotRepeat) {
  Fixture f;
  auto deposit = f.bank.BookPayment(Order(5'000), NoticePlan{Krw(5'000), kT0}, kT0);
  ASSERT_TRUE(deposit.has_value());
  auto cancellation = f.bank.CancelDeposit(deposit->id, kT0, kT0);
  ASSERT_TRUE(cancellation.has_value());
  EXPECT_EQ(cancellation->original_id, deposit->id);
  EXPECT_EQ(f.bank.FindBooking(deposit->id)->cancelled_by, cancellation->id);
  EXPECT_EQ(f.Balance("11112222333"), 100'000);
  EXPECT_EQ(f.Balance("004100000000001"), 0);
  EXPECT_EQ(f.bank.CancelDeposit(deposit->id, kT0, kT0).error().code, BankErrc::kAlreadyCancelled);
  EXPECT_EQ(f.bank.CancelDeposit(cancellation->id, kT0, kT0).error().code, BankErrc::kNotFound);
  EXPECT_EQ(f.bank.CancelDeposit("nope", kT0, kT0).error().code, BankErrc::kNotFound);

  auto due = f.bank.DueNotices(kT0, true, 10);
  ASSERT_EQ(due.size(), 1u) << "the cancellation is held behind its pending deposit notice";
  EXPECT_EQ(due[0].kind, NoticeKind::kDeposit);
  EXPECT_EQ(f.bank.DueNotices(kT0, false, 10).size(), 2u);
  f.bank.RecordAttempt(due[0].seq, NoticeAttempt{AttemptVerdict::kAnswered, "200"}, kT0);
  due = f.bank.DueNotices(kT0, true, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].kind, NoticeKind::kCancellation);
  EXPECT_TRUE(f.bank.CheckInvariants().has_value());
}

TEST(BanksimBank, WithdrawalsCheckTheBalanceAndAnswerResultInquiries) {
  Fixture f;
  auto done = f.bank.Withdraw(WithdrawalOrder{"11112222333", Krw(30'000), "PAYOUT-1", {}}, kT0);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->withdrawal.status, WithdrawalStatus::kCompleted);
  EXPECT_EQ(done->withdrawal.balance_after.minor(), 70'000);
  EXPECT_FALSE(done->replayed);
  EXPECT_EQ(f.Balance("11112222333"), 70'000);

  auto poor = f.bank.Withdraw(WithdrawalOrder{"11112222333", Krw(70'001), "PAYOUT-2", {}}, kT0);
  ASSERT_TRUE(poor.has_value());
  EXPECT_EQ(poor->withdrawal.status, WithdrawalStatus::kRefused);
  EXPECT_EQ(poor->withdrawal.reason, "insufficient_funds");
  EXPECT_EQ(f.Balance("11112222333"), 70'000);

  // Result inquiries, replays and conflicts by reference.
  EXPECT_EQ(f.bank.FindWithdrawal("PAYOUT-1")->status, WithdrawalStatus::kCompleted);
  EXPECT_EQ(f.bank.FindWithdrawal("PAYOUT-2")->status, WithdrawalStatus::kRefused);
  EXPECT_EQ(f.bank.FindWithdrawal("PAYOUT-3"), nullptr);
  auto again = f.bank.Withdraw(WithdrawalOrder{"11112222333", Krw(30'000), "PAYOUT-1", {}}, kT0);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(f.Balance("11112222333"), 70'000) << "a replay debits nothing";
  EXPECT_EQ(f.bank.Withdraw(WithdrawalOrder{"11112222333", Krw(1), "PAYOUT-1", {}}, kT0).error().code,
            BankErrc::kReferenceConflict);
  EXPECT_EQ(f.bank.Withdraw(WithdrawalOrder{"404040404", Krw(1), "PAYOUT-9", {}}, kT0).error().code,
            BankErrc::kNotFound);
  EXPECT_EQ(f.bank.FindWithdrawal("PAYOUT-9"), nullptr);
  EXPECT_EQ(f.bank.Withdraw(WithdrawalOrder{"11112222333", Krw(1), "bad ref", {}}, kT0).error().code,
            BankErrc::kInvalidField);
  EXPECT_TRUE(f.bank.CheckInvariants().has_value());
}

TEST(BanksimBank, HolderInquiriesNameAccountsAndVirtualNumbers) {
  Fixture f;
  EXPECT_EQ(f.bank.HolderOf("11112222333")->holder_name, "Kim Minji");
  auto va = f.bank.HolderOf("90040000000001");
  ASSERT_TRUE(va.has_value());
  EXPECT_EQ(va->kind, "virtual");
  EXPECT_EQ(va->holder_name, "Example Shop Co.");
  EXPECT_EQ(va->mother_account, "004100000000001");
  EXPECT_EQ(f.bank.HolderOf("5555555").error().code, BankErrc::kNotFound);
}

TEST(BanksimBank, StatementBalancesAddUpAcrossBusinessDays) {
  Fixture f;
  // Day 1 (2026-11-25 in Seoul): two deposits. Day 2: a cancellation, a deposit, a withdrawal.
  Instant day1 = kT0, day2 = kT0 + hours(24);
  auto a = f.bank.BookPayment(Order(10'000), NoticePlan{Krw(10'000), day1}, day1);
  ASSERT_TRUE(f.bank.BookPayment(Order(20'000), NoticePlan{Krw(20'000), day1}, day1 + hours(2))
                  .has_value());
  ASSERT_TRUE(f.bank.CancelDeposit(a->id, day2, day2).has_value());
  ASSERT_TRUE(
      f.bank.BookPayment(Order(5'000), NoticePlan{Krw(5'000), day2}, day2 + hours(1)).has_value());
  ASSERT_TRUE(
      f.bank.Withdraw(WithdrawalOrder{"004100000000001", Krw(7'000), "SETTLE-1", {}}, day2 + hours(2))
          .has_value());

  auto d1 = *ParseDate("2026-11-25");
  auto s1 = f.bank.Statements(d1);
  ASSERT_EQ(s1.size(), 1u) << "mother accounts only";
  EXPECT_EQ(s1[0].opening.minor(), 0);
  EXPECT_EQ(s1[0].closing.minor(), 30'000);
  ASSERT_EQ(s1[0].lines.size(), 2u);
  EXPECT_EQ(s1[0].lines[1].balance_after.minor(), 30'000);

  auto s2 = f.bank.Statements(d1 + std::chrono::days(1));
  EXPECT_EQ(s2[0].opening.minor(), 30'000);
  ASSERT_EQ(s2[0].lines.size(), 3u);
  EXPECT_FALSE(s2[0].lines[0].credit);
  EXPECT_EQ(s2[0].lines[0].booking.kind, BookingKind::kCancellation);
  EXPECT_EQ(s2[0].closing.minor(), 30'000 - 10'000 + 5'000 - 7'000);
  EXPECT_EQ(s2[0].closing.minor(), f.Balance("004100000000001"));
  EXPECT_TRUE(f.bank.Statements(d1 - std::chrono::days(1))[0].lines.empty());

  auto customer = f.bank.Statements(d1, "11112222333");
  ASSERT_EQ(customer.size(), 1u);
  EXPECT_EQ(customer[0].opening.minor(), 100'000);
  EXPECT_EQ(customer[0].closing.minor(), 70'000);

  StatementContext context{"004", d1 + std::chrono::days(1), day2, "TEST"};
  std::string xml = RenderCamt053(s2, context);
  EXPECT_NE(xml.find("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">"),
            std::string::npos);
  EXPECT_NE(xml.find("<Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"KRW\">30000</Amt>"),
            std::string::npos);
  EXPECT_NE(xml.find("<Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"KRW\">18000</Amt>"),
            std::string::npos);
  EXPECT_NE(xml.find("<RvslInd>true</RvslInd>"), std::string::npos);
  EXPECT_NE(xml.find("<CdtrAcct><Id><Othr><Id>90040000000001</Id></Othr></Id></CdtrAcct>"),
            std::string::npos);

  std::string text = RenderTelegramSummary(s2, context);
  std::size_t records = 0;
  for (std::size_t start = 0; start < text.size(); ++records) {
    auto end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ(end - start, kRecordBytes);
    start = end + 1;
  }
  EXPECT_EQ(records, 5u);  // H, three D, T
  EXPECT_TRUE(text.starts_with("H20261126004004100000000001"));
  EXPECT_NE(text.find("\nT000001"
                      "00000000000005000"
                      "000002"
                      "00000000000017000"
                      "+00000000000018000"),
            std::string::npos);
}

TEST(BanksimStatement, CutsTextWithoutSplittingACharacter) {
  Fixture f;
  PaymentOrder order = Order(1'000);
  order.payer_name = "김민지김민지김민지";  // 27 bytes in UTF-8: cut to 20 bytes = 6 characters
  ASSERT_TRUE(f.bank.BookPayment(order, NoticePlan{Krw(1'000), kT0}, kT0).has_value());
  auto day = BusinessDay(kT0);
  std::string text =
      RenderTelegramSummary(f.bank.Statements(day), StatementContext{"004", day, kT0, "TEST"});
  EXPECT_NE(text.find("김민지김민지  "), std::string::npos);
  for (std::size_t start = 0; start < text.size();) {
    auto end = text.find('\n', start);
    EXPECT_EQ(end - start, kRecordBytes);
    start = end + 1;
  }
  EXPECT_EQ(FormatBusinessTime(kT0), "2026-11-25T10:00:00+09:00");
  EXPECT_FALSE(ParseDate("2026-02-30").has_value());
}

TEST(BanksimStateFile, RecordsRoundTripAndABankIsRebuiltFromThem) {
  Fixture f;
  ASSERT_TRUE(f.bank.IssueBlock(IssueRequest{"", "77004", 2}, kT0).has_value());
  auto deposit = f.bank.BookPayment(Order(5'000), NoticePlan{Krw(5'005), kT0}, kT0);
  f.bank.RecordAttempt(
      1, NoticeAttempt{AttemptVerdict::kAnswered, "200", "dep_x", "matched", false}, kT0);
  ASSERT_TRUE(f.bank.CancelDeposit(deposit->id, kT0, kT0).has_value());
  ASSERT_TRUE(f.bank.Withdraw(WithdrawalOrder{"11112222333", Krw(1'000), "W-1", {}}, kT0).has_value());

  for (const auto& record : f.journal.all) {
    auto line = EncodeRecord(record);
    auto back = DecodeRecord(line);
    ASSERT_TRUE(back.has_value()) << line << ": " << back.error().detail;
    EXPECT_EQ(EncodeRecord(*back), line);
  }
  Bank rebuilt(f.bank.options(), "ZZZZ");
  for (const auto& record : f.journal.all) rebuilt.Restore(record);
  ASSERT_TRUE(rebuilt.FinishRestore().has_value());
  EXPECT_EQ(rebuilt.run_id(), "TEST");
  EXPECT_EQ(rebuilt.FindAccount("11112222333")->balance,
            f.bank.FindAccount("11112222333")->balance);
  EXPECT_EQ(rebuilt.Notices().size(), 2u);
  EXPECT_EQ(rebuilt.Notices()[0].relay_deposit_id, "dep_x");
  EXPECT_EQ(rebuilt.Notices()[0].amount.minor(), 5'005);
  EXPECT_EQ(rebuilt.PendingNotices(), 1u);
  EXPECT_EQ(rebuilt.FindWithdrawal("W-1")->status, WithdrawalStatus::kCompleted);
  // The sequence continues: no transaction id is reused after a restart.
  auto next = rebuilt.BookPayment(Order(1'000), NoticePlan{Krw(1'000), kT0}, kT0);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->id, "004TEST00000004");
  EXPECT_EQ(rebuilt.IssueBlock(IssueRequest{"", "77004", 1}, kT0)->front().number,
            "77004000000003");

  EXPECT_FALSE(DecodeRecord("{\"type\":\"account\"}").has_value());
  EXPECT_FALSE(DecodeRecord("not json").has_value());
}

TEST(BanksimStateFile, LoadsWhatWasAppendedAndIgnoresATornLastLine) {
  auto dir =
      std::filesystem::temp_directory_path() / ("banksim-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "state.jsonl").string();
  EXPECT_TRUE(StateFile::Load(path)->empty()) << "a missing file is an empty bank";
  {
    auto file = StateFile::Rewrite(path, {});
    ASSERT_TRUE(file.has_value());
    Bank bank(BankOptions{}, "FILE", file->get());
    Account customer{"11112222333", "Kim Minji", AccountKind::kCustomer, Krw(5), Krw(0), "", {}, {}, 0, {}, false};
    ASSERT_TRUE(bank.OpenAccount(customer, kT0).has_value());
  }
  { std::ofstream(path, std::ios::app) << "{\"type\":\"acc"; }
  auto loaded = StateFile::Load(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().detail;
  ASSERT_EQ(loaded->size(), 1u);
  { std::ofstream(path, std::ios::app) << "\n{}\n"; }
  EXPECT_FALSE(StateFile::Load(path).has_value()) << "a bad line in the middle is an error";
  std::filesystem::remove_all(dir);
}

TEST(BanksimFaults, ParsesWindowsAndRollsDeterministically) {
  auto w = ParseOutage("1.5:4");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->start, milliseconds(1500));
  EXPECT_EQ(w->end, milliseconds(4000));
  EXPECT_FALSE(ParseOutage("4:1").has_value());
  EXPECT_FALSE(ParseOutage("x:1").has_value());
  EXPECT_FALSE(ParseOutage("3").has_value());
  FaultPlan plan;
  plan.outage = w;
  EXPECT_FALSE(InOutage(plan, milliseconds(1499)));
  EXPECT_TRUE(InOutage(plan, milliseconds(1500)));
  EXPECT_FALSE(InOutage(plan, milliseconds(4000)));

  plan.drop_answer_p = 0.5;
  int strikes = 0;
  for (std::uint64_t seq = 1; seq <= 1000; ++seq) {
    bool hit = Strikes(plan, FaultKind::kDropAnswer, seq, 1);
    EXPECT_EQ(hit, Strikes(plan, FaultKind::kDropAnswer, seq, 1));
    strikes += hit;
  }
  EXPECT_GT(strikes, 400);
  EXPECT_LT(strikes, 600);
  EXPECT_FALSE(Strikes(plan, FaultKind::kDuplicate, 1, 1))
      << "a fault with no probability never strikes";

  plan.amount_off_minor = -10;
  EXPECT_EQ(NotifiedAmount(plan, Krw(1'000)).minor(), 990);
  EXPECT_EQ(NotifiedAmount(plan, Krw(5)).minor(), 15) << "never zero or negative";
  EXPECT_EQ(DescribeFaults(FaultPlan{}), "faults: none");
}

TEST(BanksimRelayLink, SignsAsTheRelayVerifies) {
  EXPECT_EQ(SignRequest("bsk_test", 1'700'000'000, "POST", "/v1/bank/deposits", "{\"a\":1}"),
            "v1=f28c6444dc9b2c04ce78d70cd6d1cbd87e2f389a04956ccfcdab1dfd165f6136");
  EXPECT_FALSE(MakeJsonRelayLink(JsonLinkOptions{"ftp://x", "k", "", seconds(1), {}}).has_value());
}

TEST(BanksimRoutes, AnswersJsonAndProblems) {
  Fixture f;
  FakeLink link;
  Teller teller(f.bank, link, FaultPlan{}, [] { return kT0; });
  auto call = [&](std::string method, std::string target, std::string body = {}) {
    return HandleRequest(teller, SimRequest{std::move(method), std::move(target),
                                            "application/json", std::move(body)});
  };
  EXPECT_EQ(
      call("POST", "/accounts", R"({"number":"22223333444","holder_name":"Lee","balance":5000})")
          .status,
      201);
  EXPECT_EQ(call("POST", "/accounts", R"({"number":"22223333444","holder_name":"Lee"})").status,
            409);
  auto unknown = call("POST", "/accounts", R"({"number":"1","holder_name":"x","colour":"red"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("unknown_field"), std::string::npos);
  EXPECT_EQ(unknown.content_type, "application/problem+json");
  EXPECT_EQ(call("GET", "/accounts/22223333444").status, 200);
  EXPECT_EQ(call("GET", "/accounts/00000000").status, 404);
  EXPECT_EQ(call("DELETE", "/accounts").status, 405);
  EXPECT_EQ(call("GET", "/nowhere").status, 404);
  auto paid = call("POST", "/payments",
                   R"({"from_account":"22223333444","to_number":"90040000000001","amount":3000})");
  EXPECT_EQ(paid.status, 200);
  EXPECT_NE(paid.body.find("\"status\":\"accepted\""), std::string::npos) << paid.body;
  auto refused =
      call("POST", "/payments",
           R"({"from_account":"22223333444","to_number":"90040000000001","amount":3000})");
  EXPECT_NE(refused.body.find("\"reason\":\"insufficient_funds\""), std::string::npos)
      << refused.body;
  EXPECT_EQ(call("POST", "/payments",
                 R"({"from_account":"22223333444","to_number":"90040000000001","amount":"3"})")
                .status,
            400);
  EXPECT_EQ(call("GET", "/statements/2026-11-25.xml").content_type,
            "application/xml; charset=utf-8");
  EXPECT_EQ(call("GET", "/statements/2026-13-25.txt").status, 400);
  EXPECT_EQ(call("GET", "/statements/2026-11-25.txt?account=777777").status, 404);
  EXPECT_EQ(call("POST", "/holder-inquiries", R"({"account":"90040000000001"})").status, 200);

  // The outbox pages by seq.
  ASSERT_EQ(
      call("POST", "/accounts", R"({"number":"55556666777","holder_name":"Choi","balance":9000})")
          .status,
      201);
  call("POST", "/payments",
       R"({"from_account":"55556666777","to_number":"90040000000001","amount":1000})");
  auto page = call("GET", "/notices?limit=1");
  EXPECT_NE(page.body.find("\"next_after\":1"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("\"pending\":2"), std::string::npos) << page.body;
  auto rest = call("GET", "/notices?after=1&limit=1");
  EXPECT_NE(rest.body.find("\"seq\":2"), std::string::npos) << rest.body;
  EXPECT_NE(rest.body.find("\"next_after\":null"), std::string::npos) << rest.body;
  EXPECT_NE(call("GET", "/notices?state=answered").body.find("\"items\":[]"), std::string::npos);
  EXPECT_EQ(call("GET", "/notices?state=lost").status, 400);
  EXPECT_EQ(call("GET", "/notices?limit=0").status, 400);
}

}  // namespace
}  // namespace varelay::banksim
