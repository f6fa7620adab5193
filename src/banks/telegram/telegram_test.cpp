// Proves telegrams encode byte for byte as the family's layout says, every message kind round
// trips through Encode and Decode (request and answer), and bad telegrams are error values that
// name the field.
#include "banks/telegram/telegram.h"

#include <gtest/gtest.h>

#include <string>

namespace varelay::telegram {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;
using std::chrono::year_month_day;

Instant At(std::string_view rfc3339) { return *ParseRfc3339(rfc3339); }

// 홍 길 동 in KS X 1001.
constexpr std::string_view kHongGilDongEucKr = "\xC8\xAB\xB1\xE6\xB5\xBF";

Header SampleHeader() {
  Header h;
  h.identification_code = "VARELAY01";
  h.institution_code = "VRL00001";
  h.bank_code_legacy = "04";
  h.send_count = 1;
  h.sequence = 123;
  h.sent_at = At("2026-11-25T10:30:00Z");  // 19:30:00 KST
  h.bank_reference = "KB2026112500123";
  h.bank_code = "004";
  return h;
}

DepositNotice SampleDeposit() {
  DepositNotice b;
  b.mother_account = "123456789012";
  b.record_count = 1;
  b.kind = TransactionKind::kDeposit;
  b.bank_code_legacy = "04";
  b.amount_won = 15000;
  b.balance_won = 1015000;
  b.depositor_name = "홍길동";
  b.cash_won = 15000;
  b.virtual_account = "5678901234567890";
  b.transacted_at = At("2026-11-25T10:29:59Z");  // 19:29:59 KST
  b.passbook_serial = "000001";
  b.bank_code = "004";
  b.branch_code = "0011234";
  return b;
}

// Proves a hand-built deposit notice encodes to exactly the bytes the layout tables give.
TEST(Telegram, EncodesDepositNoticeByteForByte) {
  std::string expected;
  // Header, 100 bytes.
  expected += "VARELAY01";           // 0   identification code (9)
  expected += "VRL00001";            // 9   institution code (8)
  expected += "04";                  // 17  bank code, legacy (2)
  expected += "0200";                // 19  message code (4)
  expected += "300";                 // 23  business code (3)
  expected += "1";                   // 26  send count (1)
  expected += "000123";              // 27  sequence number (6)
  expected += "20261125";            // 33  send date (8), KST
  expected += "193000";              // 41  send time (6), KST
  expected += "0000";                // 47  response code (4)
  expected += "0000";                // 51  bank response code (4)
  expected += "00000000";            // 55  original date (8)
  expected += "000000";              // 63  original sequence number (6)
  expected += "KB2026112500123";     // 69  bank reference (15)
  expected += "004";                 // 84  bank code, 3-digit (3)
  expected += std::string(13, ' ');  // 87 spare (13)
  ASSERT_EQ(expected.size(), 100u);
  // Body, 200 bytes.
  expected += "123456789012   ";     // 0   mother account number (15)
  expected += "01";                  // 15  record count (2)
  expected += "20";                  // 17  transaction kind (2)
  expected += "04";                  // 19  bank code, legacy (2)
  expected += "0000000015000";       // 21  amount (13)
  expected += "0000001015000";       // 34  balance (13)
  expected += "      ";              // 47  branch giro code (6)
  expected += kHongGilDongEucKr;     // 53  depositor name 홍길동 (14): 6 bytes
  expected += "        ";            //         and 8 spaces
  expected += "          ";          // 67  cheque number (10)
  expected += "0000000015000";       // 77  cash part (13)
  expected += "0000000000000";       // 90  other-bank cheque part (13)
  expected += "0000000000000";       // 103 other cheques (13)
  expected += "5678901234567890";    // 116 virtual account number (16)
  expected += "20261125192959";      // 132 transaction time (14), KST
  expected += "000001";              // 146 passbook serial (6)
  expected += "004";                 // 152 bank code, 3-digit (3)
  expected += "0011234";             // 155 branch code (7)
  expected += std::string(38, ' ');  // 162 spare (38)
  ASSERT_EQ(expected.size(), 300u);

  Telegram notice = MakeRequest(SampleHeader(), SampleDeposit());
  EXPECT_EQ(Encode(notice), expected);
  auto decoded = Decode(expected);
  ASSERT_TRUE(decoded) << decoded.error().detail;
  EXPECT_EQ(*decoded, notice);
  EXPECT_EQ(std::get<DepositNotice>(decoded->body).depositor_name, "홍길동");
}

void ExpectRoundTrip(const Telegram& request) {
  std::string bytes = Encode(request);
  ASSERT_EQ(bytes.size(), kTelegramBytes);
  auto decoded = Decode(bytes);
  ASSERT_TRUE(decoded) << decoded.error().field << ": " << decoded.error().detail;
  EXPECT_EQ(*decoded, request);
  EXPECT_FALSE(IsResponse(decoded->header));

  auto answer = MakeResponse(request, "0104");
  ASSERT_TRUE(answer);
  EXPECT_TRUE(IsResponse(answer->header));
  EXPECT_EQ(answer->header.message_code.substr(0, 2), request.header.message_code.substr(0, 2));
  EXPECT_EQ(answer->header.message_code.substr(2), "10");
  EXPECT_EQ(answer->header.response_code, "0104");
  auto answer_decoded = Decode(Encode(*answer));
  ASSERT_TRUE(answer_decoded) << answer_decoded.error().detail;
  EXPECT_EQ(*answer_decoded, *answer);

  auto bank_answer = MakeBankResponse(request, "V713");
  ASSERT_TRUE(bank_answer);
  EXPECT_EQ(bank_answer->header.bank_response_code, "V713");
  EXPECT_EQ(bank_answer->header.response_code, "0000");
  EXPECT_EQ(Decode(Encode(*bank_answer)).value(), *bank_answer);
}

// Proves a deposit notice and a cancellation naming the original deposit round trip.
TEST(Telegram, DepositNoticeAndCancellationRoundTrip) {
  ExpectRoundTrip(MakeRequest(SampleHeader(), SampleDeposit()));
  Header header = SampleHeader();
  header.sequence = 124;
  header.send_count = 2;
  header.original_date = year_month_day(year(2026), month(11), day(25));
  header.original_sequence = 123;
  DepositNotice cancel = SampleDeposit();
  cancel.kind = TransactionKind::kCancellation;
  cancel.depositor_name = "(주)가나다라마바사아";  // cut to 14 bytes when encoded
  Telegram telegram = MakeRequest(header, cancel);
  auto decoded = Decode(Encode(telegram));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->header.original_sequence, 123u);
  EXPECT_EQ(std::get<DepositNotice>(decoded->body).kind, TransactionKind::kCancellation);
  EXPECT_EQ(std::get<DepositNotice>(decoded->body).depositor_name, "(주)가나다라마");
  cancel.depositor_name = "(주)가나다라마";
  ExpectRoundTrip(MakeRequest(header, cancel));
}

// Proves the receivability inquiry round trips, with the answer's holder name filled in.
TEST(Telegram, ReceivabilityInquiryRoundTrip) {
  ReceivabilityInquiry b;
  b.virtual_account = "5678901234567890";
  b.bank_code_legacy = "04";
  b.start_date = year_month_day(year(2026), month(11), day(25));
  b.end_at = At("2026-11-26T14:59:59Z");
  b.amount_won = 9'999'999'999'999;
  b.registration_kind = "01";
  b.kind = TransactionKind::kInquiry;
  b.payer_name = "김철수";
  b.bank_code = "004";
  Telegram inquiry = MakeRequest(SampleHeader(), b);
  EXPECT_EQ(inquiry.header.message_code, "0900");
  EXPECT_EQ(inquiry.header.business_code, "100");
  ExpectRoundTrip(inquiry);

  auto answer = MakeResponse(inquiry, kResponseOk).value();
  std::get<ReceivabilityInquiry>(answer.body).holder_name = "바른상점 홍길동";
  std::string bytes = Encode(answer);
  EXPECT_EQ(bytes.substr(19, 4), "0910");
  EXPECT_EQ(Decode(bytes).value(), answer);

  b.start_date.reset();
  b.end_at.reset();
  ExpectRoundTrip(MakeRequest(SampleHeader(), b));
}

// Proves the account-holder inquiry round trips.
TEST(Telegram, HolderInquiryRoundTrip) {
  HolderInquiry b;
  b.bank_code = "088";
  b.account_number = "110123456789";
  b.holder_id = "900101";
  Telegram inquiry = MakeRequest(SampleHeader(), b);
  EXPECT_EQ(inquiry.header.message_code, "0600");
  EXPECT_EQ(inquiry.header.business_code, "400");
  ExpectRoundTrip(inquiry);
  b.holder_id = "1234567890";
  b.holder_name = "주식회사 바른상점";
  ExpectRoundTrip(MakeRequest(SampleHeader(), b));
}

// Proves the withdrawal round trips, with and without the answer's processed time.
TEST(Telegram, WithdrawalRoundTrip) {
  Withdrawal b;
  b.debit_bank_code = "004";
  b.debit_account = "123456789012";
  b.amount_won = 250000;
  b.recipient_bank_code = "088";
  b.recipient_account = "110123456789";
  b.recipient_name = "바렐레이";
  b.passbook_memo = "바른상점정산";
  ExpectRoundTrip(MakeRequest(SampleHeader(), b));
  b.processed_at = At("2026-11-25T10:30:01Z");
  ExpectRoundTrip(MakeRequest(SampleHeader(), b));
}

// Proves the result inquiry round trips with the original telegram named in the header.
TEST(Telegram, ResultInquiryRoundTrip) {
  Header header = SampleHeader();
  header.original_date = year_month_day(year(2026), month(11), day(24));
  header.original_sequence = 999999;
  ResultInquiry b;
  b.bank_code = "004";
  b.account_number = "123456789012";
  b.original_amount_won = 250000;
  ExpectRoundTrip(MakeRequest(header, b));
  b.original_response_code = "0000";
  b.processed_at = At("2026-11-24T01:02:03Z");
  ExpectRoundTrip(MakeRequest(header, b));
}

// Proves the missing-sequence request round trips.
TEST(Telegram, MissingSequenceRequestRoundTrip) {
  MissingSequenceRequest b;
  b.date = year_month_day(year(2026), month(11), day(25));
  b.from_sequence = 120;
  b.to_sequence = 122;
  Telegram request = MakeRequest(SampleHeader(), b);
  EXPECT_EQ(request.header.message_code, "0600");
  EXPECT_EQ(request.header.business_code, "200");
  ExpectRoundTrip(request);
}

// Proves the withdrawal-consent registration (0600/500, varelay's extension) encodes its body byte
// for byte as docs/telegrams.md lays it out, and round trips as request and answer.
TEST(Telegram, ConsentRegistrationPinnedAndRoundTrip) {
  ConsentRegistration b;
  b.bank_code = "088";
  b.account_number = "110123456789";
  b.holder_id = "900101";
  b.holder_name = "홍길동";
  Telegram request = MakeRequest(SampleHeader(), b);
  EXPECT_EQ(request.header.message_code, "0600");
  EXPECT_EQ(request.header.business_code, "500");
  std::string body;
  body += "088";                                                // 0   bank code (3)
  body += "110123456789    ";                                   // 3   account number (16)
  body += "900101    ";                                         // 19  holder id (10)
  body += std::string(kHongGilDongEucKr) + std::string(24, ' ');  // 29  holder name (30)
  body += "R";                                                  // 59  action (1)
  body += std::string(20, ' ');                                 // 60  consent id (20), blank
  body += "0000000000000";                                      // 80  ceiling (13), 0
  body += std::string(107, ' ');                                // 93  spare (107)
  ASSERT_EQ(body.size(), 200u);
  EXPECT_EQ(Encode(request).substr(100), body);
  ExpectRoundTrip(request);

  auto answer = MakeBankResponse(request, "0000").value();
  auto& answered = std::get<ConsentRegistration>(answer.body);
  answered.consent_id = "CNS2026112500000001";
  answered.ceiling_won = 500000;
  std::string bytes = Encode(answer);
  EXPECT_EQ(bytes.substr(100 + 60, 33), "CNS2026112500000001 0000000500000");
  EXPECT_EQ(Decode(bytes).value(), answer);

  b.action = ConsentAction::kCancel;
  b.consent_id = "CNS2026112500000001";
  Telegram cancel = MakeRequest(SampleHeader(), b);
  EXPECT_EQ(Encode(cancel)[100 + 59], 'C');
  ExpectRoundTrip(cancel);

  std::string bad = Encode(request);
  bad[100 + 59] = 'X';
  auto decoded = Decode(bad);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().field, "body.action");
  bad = Encode(request);
  bad[100 + 85] = 'A';
  EXPECT_EQ(Decode(bad).error().field, "body.ceiling");
}

// Proves wrong lengths and unknown codes are refused as malformed.
TEST(Telegram, RefusesWrongLengthAndUnknownCodes) {
  std::string bytes = Encode(MakeRequest(SampleHeader(), SampleDeposit()));
  EXPECT_EQ(Decode(bytes.substr(0, 299)).error().code, ErrorCode::kMalformedRequest);
  EXPECT_EQ(Decode(bytes + " ").error().code, ErrorCode::kMalformedRequest);
  std::string unknown = bytes;
  unknown.replace(19, 4, "0500");
  EXPECT_EQ(Decode(unknown).error().code, ErrorCode::kMalformedRequest);
  std::string wrong_business = bytes;
  wrong_business.replace(23, 3, "100");  // 0200/100 is not in the family
  EXPECT_EQ(Decode(wrong_business).error().code, ErrorCode::kMalformedRequest);
  std::string odd_answer = bytes;
  odd_answer.replace(19, 4, "0220");
  EXPECT_FALSE(Decode(odd_answer));
}

// Proves non-digits in numeric fields and bytes outside EUC-KR are refused, naming the field.
TEST(Telegram, RefusesBadFieldsNamingThem) {
  std::string bytes = Encode(MakeRequest(SampleHeader(), SampleDeposit()));
  auto expect_field = [](std::string bad, std::string_view field) {
    auto decoded = Decode(bad);
    ASSERT_FALSE(decoded) << field;
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidField);
    EXPECT_EQ(decoded.error().field, field);
  };
  std::string amount = bytes;
  amount[100 + 21 + 5] = ' ';
  expect_field(amount, "body.amount");
  std::string sign = bytes;
  sign[100 + 21] = '-';
  expect_field(sign, "body.amount");
  std::string sequence = bytes;
  sequence[27] = 'A';
  expect_field(sequence, "header.sequence");
  std::string name = bytes;
  name[100 + 53] = '\xFF';
  expect_field(name, "body.depositor_name");
  std::string half = bytes;
  half[100 + 53 + 6] = '\xB0';  // a lead byte followed by a space
  expect_field(half, "body.depositor_name");
  std::string time = bytes;
  time.replace(100 + 132 + 8, 2, "25");
  expect_field(time, "body.transacted_at");
  std::string date = bytes;
  date.replace(33, 8, "20261131");
  expect_field(date, "header.sent_at");
  std::string original = bytes;
  original.replace(55, 8, "2026    ");
  expect_field(original, "header.original_date");
}

// Proves blank (spaces) optional fields read as "not given" and spare bytes are not checked.
TEST(Telegram, AcceptsBlankOptionalFieldsAndAnySpare) {
  std::string bytes = Encode(MakeRequest(SampleHeader(), SampleDeposit()));
  bytes.replace(55, 14, std::string(14, ' '));          // original date and sequence
  bytes.replace(100 + 162, 38, std::string(38, '\0'));  // body spare
  auto decoded = Decode(bytes);
  ASSERT_TRUE(decoded) << decoded.error().detail;
  EXPECT_FALSE(decoded->header.original_date);
  EXPECT_EQ(decoded->header.original_sequence, 0u);
}

// Proves an answer cannot be answered again (a bank may send one; it is not a crash).
TEST(Telegram, MakeResponseRefusesAnAnswer) {
  auto answer = MakeResponse(MakeRequest(SampleHeader(), SampleDeposit()), kResponseOk).value();
  EXPECT_EQ(answer.header.message_code, "0210");
  EXPECT_FALSE(MakeResponse(answer, kResponseOk));
  EXPECT_FALSE(MakeBankResponse(answer, kResponseOk));
}

// Proves a telegram whose body does not decode can still be answered, its body echoed.
TEST(Telegram, RawResponseEchoesAnUndecodableBody) {
  std::string bytes = Encode(MakeRequest(SampleHeader(), SampleDeposit()));
  bytes[100 + 21] = 'X';
  ASSERT_FALSE(Decode(bytes));
  std::string answer = EncodeRawResponse(bytes, "0901").value();
  ASSERT_EQ(answer.size(), kTelegramBytes);
  EXPECT_EQ(answer.substr(19, 4), "0210");
  EXPECT_EQ(answer.substr(47, 4), "0901");
  EXPECT_EQ(answer.substr(0, 19), bytes.substr(0, 19));
  EXPECT_EQ(answer.substr(23, 24), bytes.substr(23, 24));
  EXPECT_EQ(answer.substr(51), bytes.substr(51));
  std::string bad_header = bytes;
  bad_header[27] = 'A';
  EXPECT_FALSE(EncodeRawResponse(bad_header, "0901"));
  EXPECT_FALSE(EncodeRawResponse(answer, "0901"));  // an answer is not answered
  EXPECT_FALSE(EncodeRawResponse(bytes.substr(0, kHeaderBytes - 1), "0901"));  // no whole header
}

// Proves a frame of the wrong length whose header reads is answered all the same, as a 300-byte
// telegram: its header answered with the format error, the body it carried cut or padded with
// spaces to 200 bytes (docs/telegrams.md: a telegram that does not decode is answered).
TEST(EncodeRawResponse, AnswersAFrameOfTheWrongLengthWhoseHeaderReads) {
  std::string bytes = Encode(MakeRequest(SampleHeader(), SampleDeposit()));
  for (std::size_t size : {kHeaderBytes, std::size_t{250}, std::size_t{299}, std::size_t{301}, std::size_t{420}}) {
    SCOPED_TRACE(size);
    std::string frame = size <= bytes.size() ? bytes.substr(0, size) : bytes + std::string(size - bytes.size(), 'Z');
    auto answer = EncodeRawResponse(frame, "0901");
    ASSERT_TRUE(answer) << answer.error().detail;
    ASSERT_EQ(answer->size(), kTelegramBytes);
    EXPECT_EQ(answer->substr(19, 4), "0210");
    EXPECT_EQ(answer->substr(47, 4), "0901");
    std::string body = frame.substr(kHeaderBytes, kTelegramBytes - kHeaderBytes);
    body.resize(kTelegramBytes - kHeaderBytes, ' ');
    EXPECT_EQ(answer->substr(kHeaderBytes), body);
  }
}

}  // namespace
}  // namespace varelay::telegram
