#include "banks/outbound_telegrams.h"

#include <gtest/gtest.h>

namespace varelay::banks {
namespace {

using namespace std::chrono;

Transfer SampleTransfer() {
  Transfer t;
  t.id = "trf_aaaaaaaaaaaaaaaaaaaa";
  t.bank = "004";
  t.debit_account = "004100000000001";
  t.amount = Money(30'000, Currency::Krw());
  t.recipient_bank = "088";
  t.recipient_account = "88001234567";
  t.recipient_name = "Kim Minji";
  t.memo = "REFUND";
  t.created_at = FromUnixMs(1'795'000'000'000);  // 2026-11-18 KST
  t.request_date = KstDay(t.created_at);
  t.request_sequence = 42;
  return t;
}

telegram::Telegram AnswerTo(const telegram::Telegram& request, std::string_view bank_code) {
  auto answer = telegram::MakeBankResponse(request, bank_code);
  EXPECT_TRUE(answer.has_value());
  return *answer;
}

TEST(OutboundTelegrams, EveryResendOfAWithdrawalRepeatsItsDateTimeAndSequence) {
  auto t = SampleTransfer();
  auto first = WithdrawalTelegram(t, 1);
  auto third = WithdrawalTelegram(t, 3);
  EXPECT_EQ(first.header.message_code, "0100");
  EXPECT_EQ(first.header.business_code, "100");
  EXPECT_EQ(first.header.sequence, 42u);
  EXPECT_EQ(first.header.sent_at, third.header.sent_at);
  EXPECT_EQ(third.header.send_count, 3);
  auto bytes = telegram::Encode(first);
  ASSERT_EQ(bytes.size(), telegram::kTelegramBytes);
  auto decoded = telegram::Decode(bytes);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().detail;
  const auto& body = std::get<telegram::Withdrawal>(decoded->body);
  EXPECT_EQ(body.debit_account, "004100000000001");
  EXPECT_EQ(body.amount_won, 30'000);
  EXPECT_EQ(body.recipient_account, "88001234567");
  EXPECT_EQ(WithdrawalTelegram(t, 12).header.send_count, 9) << "one digit on the wire";
}

TEST(OutboundTelegrams, AResultInquiryNamesTheOriginal) {
  auto t = SampleTransfer();
  auto q = ResultInquiryTelegram(t, 900'001, t.created_at + hours(1));
  EXPECT_EQ(q.header.message_code, "0600");
  EXPECT_EQ(q.header.business_code, "101");
  EXPECT_EQ(q.header.sequence, 900'001u);
  EXPECT_EQ(q.header.original_date, t.request_date);
  EXPECT_EQ(q.header.original_sequence, 42u);
  EXPECT_EQ(std::get<telegram::ResultInquiry>(q.body).original_amount_won, 30'000);
}

TEST(OutboundTelegrams, WithdrawalAnswersSettleOrLeaveInDoubt) {
  auto request = WithdrawalTelegram(SampleTransfer(), 1);
  EXPECT_EQ(ReadWithdrawalAnswer(request, AnswerTo(request, "0000")).verdict, TransferVerdict::kCompleted);
  auto refused = ReadWithdrawalAnswer(request, AnswerTo(request, "0201"));
  EXPECT_EQ(refused.verdict, TransferVerdict::kRefused);
  EXPECT_EQ(refused.response_code, "0201");
  EXPECT_EQ(refused.detail, "insufficient funds");
  EXPECT_EQ(ReadWithdrawalAnswer(request, AnswerTo(request, "0999")).verdict, TransferVerdict::kUnknown);
  EXPECT_EQ(ReadWithdrawalAnswer(request, std::nullopt, "timeout").verdict, TransferVerdict::kUnknown);
  // An answer to another telegram settles nothing.
  auto other = AnswerTo(request, "0000");
  other.header.sequence = 43;
  EXPECT_EQ(ReadWithdrawalAnswer(request, other).verdict, TransferVerdict::kUnknown);
}

TEST(OutboundTelegrams, ResultInquiryAnswers) {
  auto t = SampleTransfer();
  auto request = ResultInquiryTelegram(t, 900'002, t.created_at);
  auto with_original = [&](std::string_view code) {
    auto answer = AnswerTo(request, "0000");
    std::get<telegram::ResultInquiry>(answer.body).original_response_code = std::string(code);
    return ReadResultAnswer(request, answer);
  };
  EXPECT_EQ(with_original("0000").verdict, TransferVerdict::kCompleted);
  EXPECT_EQ(with_original("0201").verdict, TransferVerdict::kRefused);
  EXPECT_EQ(with_original("").verdict, TransferVerdict::kUnknown);
  EXPECT_EQ(ReadResultAnswer(request, AnswerTo(request, "0301")).verdict, TransferVerdict::kNotReceived);
  EXPECT_EQ(ReadResultAnswer(request, AnswerTo(request, "0999")).verdict, TransferVerdict::kUnknown);
}

TEST(OutboundTelegrams, HolderAnswers) {
  auto request = HolderInquiryTelegram("004", "11112222333", "", 900'003, FromUnixMs(1'795'000'000'000));
  auto named = AnswerTo(request, "0000");
  std::get<telegram::HolderInquiry>(named.body).holder_name = "김민지";
  EXPECT_EQ(ReadHolderAnswer(request, named).value(), "김민지");
  EXPECT_EQ(ReadHolderAnswer(request, AnswerTo(request, "0101")).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ReadHolderAnswer(request, AnswerTo(request, "0999")).error().code, ErrorCode::kBankUnavailable);
}

TEST(OutboundTelegrams, QuerySequencesStayAboveTransfers) {
  for (int i = 0; i < 1000; ++i) {
    auto s = NextQuerySequence();
    EXPECT_GE(s, kFirstQuerySequence);
    EXPECT_LE(s, 999'999u);
  }
}

}  // namespace
}  // namespace varelay::banks
