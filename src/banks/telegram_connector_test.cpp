// Proves the telegram connector's rules: a deposit notice becomes a DepositNotice keyed by
// (send date, sequence, number) so a re-send is the same transaction; a cancellation names its
// original; a receivability inquiry becomes a pre-check whose answer carries the holder name or
// the bank's own reject code; telegrams only the relay sends are refused as format errors.
#include "banks/telegram_connector.h"

#include <gtest/gtest.h>

#include "banks/telegram/field.h"

namespace varelay::banks {
namespace {

using namespace std::chrono;

telegram::Header HeaderFor(std::uint32_t sequence) {
  telegram::Header h;
  h.identification_code = "VARELAY01";
  h.institution_code = "VR000001";
  h.bank_code_legacy = "04";
  h.sequence = sequence;
  h.sent_at = *ParseRfc3339("2026-11-25T10:00:00Z");
  h.bank_code = "004";
  return h;
}

telegram::Telegram Deposit(std::uint32_t sequence, telegram::TransactionKind kind = telegram::TransactionKind::kDeposit) {
  telegram::DepositNotice n;
  n.mother_account = "1002345678901";
  n.kind = kind;
  n.bank_code_legacy = "04";
  n.amount_won = 39000;
  n.depositor_name = "홍길동";
  n.virtual_account = "56211234567890";
  n.transacted_at = *ParseRfc3339("2026-11-25T23:59:00+09:00");
  n.bank_code = "004";
  return telegram::MakeRequest(HeaderFor(sequence), n);
}

TEST(TelegramConnector, DepositNoticeIsKeyedBySendDateSequenceAndNumber) {
  auto action = ActionFor(Deposit(17));
  ASSERT_TRUE(action.command);
  const auto& notice = std::get<DepositNotice>(*action.command);
  EXPECT_EQ(notice.transaction_id, "tg:20261125:000017:56211234567890");
  EXPECT_EQ(notice.number, "56211234567890");
  EXPECT_EQ(notice.amount.minor(), 39000);
  EXPECT_EQ(notice.payer_name, "홍길동");
  EXPECT_EQ(notice.deposited_at, *ParseRfc3339("2026-11-25T14:59:00Z"));
  // A re-send (higher send count, the original's date and sequence) is the same transaction; the
  // same sequence on another day or for another number is another one.
  auto resend = Deposit(17);
  resend.header.send_count = 2;
  EXPECT_EQ(std::get<DepositNotice>(*ActionFor(resend).command).transaction_id, notice.transaction_id);
  auto next_day = Deposit(17);
  next_day.header.sent_at = *ParseRfc3339("2026-11-25T15:30:00Z");  // 00:30 KST on the 26th
  EXPECT_EQ(std::get<DepositNotice>(*ActionFor(next_day).command).transaction_id, "tg:20261126:000017:56211234567890");
}

TEST(TelegramConnector, CancellationNamesItsOriginal) {
  auto cancel = Deposit(18, telegram::TransactionKind::kCancellation);
  cancel.header.original_date = year_month_day{year{2026}, month{11}, day{25}};
  cancel.header.original_sequence = 17;
  auto action = ActionFor(cancel);
  ASSERT_TRUE(action.command);
  const auto& c = std::get<CancelDeposit>(*action.command);
  EXPECT_EQ(c.transaction_id, "tg:20261125:000018:56211234567890");
  EXPECT_EQ(c.original_transaction_id, "tg:20261125:000017:56211234567890");
  // Without an original it cannot be placed.
  EXPECT_EQ(ActionFor(Deposit(19, telegram::TransactionKind::kCancellation)).reject, telegram::RejectReason::kFormatError);
}

TEST(TelegramConnector, InquiryAnswersWithHolderNameOrTheBanksRejectCode) {
  telegram::ReceivabilityInquiry q;
  q.virtual_account = "56211234567890";
  q.amount_won = 39000;
  q.bank_code = "004";
  auto request = telegram::MakeRequest(HeaderFor(5), q);
  auto action = ActionFor(request);
  ASSERT_TRUE(action.command);
  EXPECT_EQ(std::get<Precheck>(*action.command).amount.minor(), 39000);

  auto table = telegram::RejectCodeTable::Parse("004 amount_mismatch 0415\n");
  ASSERT_TRUE(table);
  PrecheckAnswer ok;
  ok.holder_name = "데모상점";
  ok.due_at = *ParseRfc3339("2026-12-01T00:00:00Z");
  auto accepted = telegram::Decode(AnswerFor(request, Outcome(ok), *table));
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->header.message_code, "0910");
  EXPECT_EQ(accepted->header.response_code, "0000");
  EXPECT_EQ(std::get<telegram::ReceivabilityInquiry>(accepted->body).holder_name, "데모상점");

  PrecheckAnswer refused;
  refused.refusal = PrecheckRefusal::kAmountMismatch;
  auto answer = telegram::Decode(AnswerFor(request, Outcome(refused), *table));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->header.response_code, "0415");

  // A cancellation inquiry is accepted without asking the engine.
  q.kind = telegram::TransactionKind::kCancellation;
  EXPECT_TRUE(ActionFor(telegram::MakeRequest(HeaderFor(6), q)).accept_at_once);
}

TEST(TelegramConnector, RelayOnlyTelegramsAndEngineRefusalsMapToReasons) {
  telegram::HolderInquiry h;
  h.bank_code = "004";
  h.account_number = "1002345678901";
  EXPECT_EQ(ActionFor(telegram::MakeRequest(HeaderFor(7), h)).reject, telegram::RejectReason::kFormatError);
  EXPECT_EQ(ReasonFor(Error{ErrorCode::kTransactionIdConflict, "", ""}), telegram::RejectReason::kDuplicate);
  EXPECT_EQ(ReasonFor(Error{ErrorCode::kOverloaded, "", ""}), telegram::RejectReason::kSystemError);
}

// Proves gap detection: counting starts at the first sequence seen that day, a jump reports the
// skipped range once, re-sends and fills report nothing, and each bank and day counts apart.
TEST(SequenceGaps, ReportsSkippedNumbersOnce) {
  SequenceGaps gaps;
  const year_month_day d1{year{2026}, month{11}, day{25}}, d2{year{2026}, month{11}, day{26}};
  EXPECT_FALSE(gaps.Observe("004", d1, 40));  // a restart mid-day does not ask for 1..39
  EXPECT_FALSE(gaps.Observe("004", d1, 41));
  auto gap = gaps.Observe("004", d1, 45);
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->from, 42u);
  EXPECT_EQ(gap->to, 44u);
  EXPECT_FALSE(gaps.Observe("004", d1, 43));  // a re-sent one fills the hole
  EXPECT_FALSE(gaps.Observe("004", d1, 45));
  EXPECT_FALSE(gaps.Observe("088", d1, 7));
  EXPECT_FALSE(gaps.Observe("004", d2, 1));
  EXPECT_TRUE(gaps.Observe("004", d2, 3));

  auto request = MissingSequenceRequestFor(HeaderFor(45), *gap, 1, *ParseRfc3339("2026-11-25T10:00:05Z"));
  auto decoded = telegram::Decode(telegram::Encode(request));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->header.message_code, "0600");
  EXPECT_EQ(decoded->header.business_code, "200");
  const auto& body = std::get<telegram::MissingSequenceRequest>(decoded->body);
  EXPECT_EQ(body.from_sequence, 42u);
  EXPECT_EQ(body.to_sequence, 44u);
  EXPECT_EQ(body.date, d1);
}

}  // namespace
}  // namespace varelay::banks
