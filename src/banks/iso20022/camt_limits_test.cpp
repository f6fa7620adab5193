// Proves the reader converts amounts exactly or refuses them, and refuses wrong, malformed, hostile and oversized input as a whole with a clear error.
#include <gtest/gtest.h>

#include <string>

#include "banks/iso20022/camt.h"
#include "banks/iso20022/camt_test_util.h"

namespace varelay::iso20022 {
namespace {

using testing::BatchEntry;
using testing::Camt054;
using testing::CreditEntry;
using testing::Fixture;
using testing::Replace;
using testing::Sample;

Result<Notification> ReadAmount(std::string_view amount, std::string_view currency) {
  return ReadCamt054(Camt054(CreditEntry(amount, currency)));
}

// Proves decimal strings become exact minor units with the currency's exponent, and that excess
// precision, signs, exponents, white space, empty strings and overflow refuse the whole message.
TEST(Iso20022Limits, AmountConversionTable) {
  struct Accepted {
    std::string_view amount, currency;
    std::int64_t minor;
  };
  for (const Accepted& row : {Accepted{"39000", "KRW", 39000}, Accepted{"12.34", "USD", 1234},
                              Accepted{"1.234", "BHD", 1234}, Accepted{"0.01", "EUR", 1},
                              Accepted{"12.30000", "CHF", 1230}, Accepted{"7", "JPY", 7},
                              Accepted{"9999999999999", "KRW", 9'999'999'999'999}}) {
    auto read = ReadAmount(row.amount, row.currency);
    ASSERT_TRUE(read) << row.amount << " " << row.currency << ": " << read.error().detail;
    EXPECT_EQ(read->transactions[0].amount, Money(row.minor, *Currency::FromCode(row.currency)))
        << row.amount << " " << row.currency;
  }
  struct Refused {
    std::string_view amount, currency;
  };
  for (const Refused& row : {Refused{"39000.5", "KRW"}, Refused{"12.345", "USD"},
                             Refused{"1.2345", "BHD"}, Refused{"1e3", "KRW"}, Refused{"-5", "KRW"},
                             Refused{"", "KRW"}, Refused{" 5", "KRW"}, Refused{"5 ", "KRW"},
                             Refused{"5.", "USD"}, Refused{".5", "USD"}, Refused{"+5", "KRW"},
                             Refused{"1,000", "KRW"}, Refused{"0x10", "KRW"},
                             Refused{"10000000000000", "KRW"}, Refused{"99999999999.999", "USD"},
                             Refused{"99999999999999999999999", "KRW"}}) {
    auto read = ReadAmount(row.amount, row.currency);
    ASSERT_FALSE(read) << "\"" << row.amount << "\" " << row.currency;
    EXPECT_EQ(read.error().code, ErrorCode::kInvalidAmount) << row.amount;
    EXPECT_EQ(read.error().field, "BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/Amt") << row.amount;
  }
  auto unknown = ReadAmount("10", "XXX");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnknownCurrency);
  auto lowercase = ReadAmount("10", "krw");
  ASSERT_FALSE(lowercase);
  EXPECT_EQ(lowercase.error().code, ErrorCode::kUnknownCurrency);
  auto no_currency = ReadCamt054(Replace(Camt054(CreditEntry("10")), " Ccy=\"KRW\"", ""));
  ASSERT_FALSE(no_currency);
  EXPECT_EQ(no_currency.error().code, ErrorCode::kMissingField);
}

// Proves one bad amount anywhere refuses the message: nothing before it is returned.
TEST(Iso20022Limits, OneBadAmountRefusesTheWholeMessage) {
  auto read = ReadCamt054(Camt054(CreditEntry("1000", "KRW", "A") + CreditEntry("1000.5", "KRW", "B")));
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().field, "BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]/Amt");
}

// Proves another message, another version, a missing namespace or another root is refused with
// a message naming what was expected.
TEST(Iso20022Limits, WrongMessagesAreRefused) {
  auto statement_as_notification = ReadCamt054(Sample("FI_camt_053_sample.xml"));
  ASSERT_FALSE(statement_as_notification);
  EXPECT_EQ(statement_as_notification.error().code, ErrorCode::kInvalidField);
  EXPECT_NE(statement_as_notification.error().detail.find("camt.054.001.02"), std::string::npos);
  EXPECT_NE(statement_as_notification.error().detail.find("camt.053.001.02"), std::string::npos);
  auto notification_as_statement = ReadCamt053(Fixture("krw_deposit.camt054.xml"));
  ASSERT_FALSE(notification_as_statement);
  EXPECT_EQ(notification_as_statement.error().code, ErrorCode::kInvalidField);
  auto schema = ReadCamt054(Sample("camt.054.001.08.xsd"));
  ASSERT_FALSE(schema);
  EXPECT_EQ(schema.error().code, ErrorCode::kInvalidField);
  std::string xml = Fixture("krw_deposit.camt054.xml");
  auto pain = ReadCamt054(Replace(xml, "camt.054.001.08", "pain.001.001.08"));
  ASSERT_FALSE(pain);
  EXPECT_EQ(pain.error().code, ErrorCode::kInvalidField);
  auto none = ReadCamt054(Replace(xml, " xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\"", ""));
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().detail.find("no namespace"), std::string::npos);
  auto body = ReadCamt054(Replace(Replace(xml, "<BkToCstmrDbtCdtNtfctn>", "<BkToCstmrStmt>"),
                                  "</BkToCstmrDbtCdtNtfctn>", "</BkToCstmrStmt>"));
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().code, ErrorCode::kMissingField);
  EXPECT_EQ(body.error().field, "Document/BkToCstmrDbtCdtNtfctn");
}

// Proves input that is not well-formed XML, not UTF-8, or declares another encoding is refused.
TEST(Iso20022Limits, MalformedInputIsRefused) {
  std::string xml = Fixture("krw_deposit.camt054.xml");
  for (const std::string& bad :
       {std::string(), std::string("not xml at all"), xml.substr(0, xml.size() / 2),
        Replace(xml, "</Ntry>", "</Ntri>"), Replace(xml, "<Amt Ccy=\"KRW\">", "<Amt Ccy=KRW>"),
        xml + "<Document/>", Replace(xml, "39000</Amt>", "39000</Amt></Amt>")}) {
    auto read = ReadCamt054(bad);
    ASSERT_FALSE(read) << bad.substr(0, 60);
    EXPECT_EQ(read.error().code, ErrorCode::kMalformedXml) << read.error().detail;
  }
  auto latin1 = ReadCamt054(Replace(xml, "홍길동", "\xe9t\xe9"));
  ASSERT_FALSE(latin1);
  EXPECT_EQ(latin1.error().code, ErrorCode::kInvalidUtf8);
  auto declared = ReadCamt054(Replace(xml, "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\""));
  ASSERT_FALSE(declared);
  EXPECT_EQ(declared.error().code, ErrorCode::kMalformedXml);
  auto nul = ReadCamt054(Replace(xml, "39000</Amt>", std::string("39000\0</Amt>", 12)));
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().code, ErrorCode::kMalformedXml);
  auto bom = ReadCamt054("\xef\xbb\xbf" + xml);
  ASSERT_TRUE(bom) << bom.error().detail;
  auto utf16 = ReadCamt054(std::string("\xff\xfe<\0D\0", 6));
  ASSERT_FALSE(utf16);
}

// Proves schema violations that would make money ambiguous are refused: a repeated amount,
// indicator or reference, an unknown indicator or boolean, missing required elements.
TEST(Iso20022Limits, AmbiguousOrMissingFieldsAreRefused) {
  std::string xml = Fixture("krw_deposit.camt054.xml");
  struct Case {
    std::string xml;
    ErrorCode code;
    std::string field;
  };
  const std::string entry = "BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]";
  const Case cases[] = {
      {Replace(xml, "<CdtDbtInd>CRDT</CdtDbtInd>\n        <RvslInd>",
               "<CdtDbtInd>CRDT</CdtDbtInd><CdtDbtInd>DBIT</CdtDbtInd>\n        <RvslInd>"),
       ErrorCode::kInvalidField, entry + "/CdtDbtInd"},
      {Replace(xml, "<Amt Ccy=\"KRW\">39000</Amt>\n        <CdtDbtInd>",
               "<Amt Ccy=\"KRW\">39000</Amt><Amt Ccy=\"KRW\">1</Amt>\n        <CdtDbtInd>"),
       ErrorCode::kInvalidField, entry + "/Amt"},
      {Replace(xml, "<CdtDbtInd>CRDT</CdtDbtInd>\n        <RvslInd>", "<CdtDbtInd>CREDIT</CdtDbtInd>\n        <RvslInd>"),
       ErrorCode::kInvalidField, entry + "/CdtDbtInd"},
      {Replace(xml, "<RvslInd>false</RvslInd>", "<RvslInd>no</RvslInd>"), ErrorCode::kInvalidField,
       entry + "/RvslInd"},
      {Replace(xml, "<RvslInd>false</RvslInd>", "<RvslInd></RvslInd>"), ErrorCode::kInvalidField,
       entry + "/RvslInd"},
      {Replace(xml, "<MsgId>KB-NTF-20261125-000001</MsgId>", ""), ErrorCode::kMissingField,
       "BkToCstmrDbtCdtNtfctn/GrpHdr/MsgId"},
      {Replace(xml, "<CdtDbtInd>CRDT</CdtDbtInd>\n        <RvslInd>", "<RvslInd>"),
       ErrorCode::kMissingField, entry + "/CdtDbtInd"},
      {Replace(xml, "<Cd>BOOK</Cd>", ""), ErrorCode::kMissingField, entry + "/Sts"},
      {Replace(xml, "<Amt Ccy=\"KRW\">39000</Amt>\n        <CdtDbtInd>", "<CdtDbtInd>"),
       ErrorCode::kMissingField, entry + "/Amt"},
      {Replace(xml, "<Amt Ccy=\"KRW\">39000</Amt>\n        <CdtDbtInd>",
               "<Amt Ccy=\"KRW\"><V>39000</V></Amt>\n        <CdtDbtInd>"),
       ErrorCode::kInvalidField, entry + "/Amt"},
      {Replace(xml, "<AcctSvcrRef>KB20261125-000001</AcctSvcrRef>\n        <BkTxCd>",
               "<AcctSvcrRef>A</AcctSvcrRef><AcctSvcrRef>B</AcctSvcrRef>\n        <BkTxCd>"),
       ErrorCode::kInvalidField, entry + "/AcctSvcrRef"},
      {Replace(xml, "<Amt Ccy=\"KRW\">", "<Amt Ccy=\"KRW\" Ccy=\"USD\">"), ErrorCode::kInvalidField,
       entry + "/Amt/@Ccy"},
  };
  for (const Case& c : cases) {
    auto read = ReadCamt054(c.xml);
    ASSERT_FALSE(read) << c.field;
    EXPECT_EQ(read.error().code, c.code) << c.field << ": " << read.error().detail;
    EXPECT_EQ(read.error().field, c.field) << read.error().detail;
  }
}

// Proves a DTD is refused before parsing (no internal entities, no external ones, no billion
// laughs), and that character references and the predefined entities still work.
TEST(Iso20022Limits, DoctypeAndEntities) {
  std::string xml = Fixture("krw_deposit.camt054.xml");
  const std::string laughs =
      "<!DOCTYPE Document [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>";
  const std::string external = "<!DOCTYPE Document [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>";
  for (const std::string& doctype : {laughs, external, std::string("<!doctype Document>")}) {
    auto read = ReadCamt054(Replace(xml, "<Document ", doctype + "<Document "));
    ASSERT_FALSE(read) << doctype;
    EXPECT_EQ(read.error().code, ErrorCode::kMalformedXml);
    EXPECT_NE(read.error().detail.find("DOCTYPE"), std::string::npos);
  }
  auto escaped = ReadCamt054(Replace(xml, "홍길동", "Kim &amp; Lee &#xD64D;"));
  ASSERT_TRUE(escaped);
  EXPECT_EQ(escaped->transactions[0].payer_name, "Kim & Lee 홍");
  auto undefined = ReadCamt054(Replace(xml, "홍길동", "&x;"));
  ASSERT_TRUE(undefined);  // pugixml keeps an undefined entity as its literal text
  EXPECT_EQ(undefined->transactions[0].payer_name, "&x;");
}

// Proves deep nesting cannot exhaust the stack: a million nested elements are refused with an
// error, not a crash, and nesting past the depth limit inside a message is refused too.
TEST(Iso20022Limits, DeepNestingIsRefused) {
  constexpr int kLevels = 1'000'000;
  std::string deep;
  deep.reserve(kLevels * 7);
  for (int i = 0; i < kLevels; ++i) deep += "<a>";
  for (int i = 0; i < kLevels; ++i) deep += "</a>";
  auto read = ReadCamt054(deep);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kMalformedXml);
  EXPECT_NE(read.error().detail.find("deeper"), std::string::npos);

  std::string nested;
  for (int i = 0; i < kMaxElementDepth; ++i) nested += "<X>";
  for (int i = 0; i < kMaxElementDepth; ++i) nested += "</X>";
  auto inside = ReadCamt054(Replace(Fixture("krw_deposit.camt054.xml"), "<Ustrd>", nested + "<Ustrd>"));
  ASSERT_FALSE(inside);
  EXPECT_EQ(inside.error().code, ErrorCode::kMalformedXml);
}

// Proves input over the size limit is refused before parsing, and that a caller can lower it.
TEST(Iso20022Limits, OversizedInputIsRefused) {
  std::string xml = Fixture("krw_deposit.camt054.xml");
  std::string padded = Replace(xml, "<Document", std::string(kMaxMessageBytes, ' ') + "<Document");
  auto read = ReadCamt054(padded);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kBodyTooLarge);
  auto statement = ReadCamt053(padded);
  ASSERT_FALSE(statement);
  EXPECT_EQ(statement.error().code, ErrorCode::kBodyTooLarge);
  // A caller cannot raise the limit, only lower it.
  auto raised = ReadCamt054(padded, {.max_message_bytes = 2 * kMaxMessageBytes});
  ASSERT_FALSE(raised);
  EXPECT_EQ(raised.error().code, ErrorCode::kBodyTooLarge);
  auto lowered = ReadCamt054(xml, {.max_message_bytes = xml.size() - 1});
  ASSERT_FALSE(lowered);
  EXPECT_EQ(lowered.error().code, ErrorCode::kBodyTooLarge);
  EXPECT_TRUE(ReadCamt054(xml, {.max_message_bytes = xml.size()}));
}

// Proves a message may hold kMaxTransactions transactions and not one more, counted across
// batched TxDtls and across entries.
TEST(Iso20022Limits, TransactionCountIsBounded) {
  const std::string details = "<TxDtls><Amt Ccy=\"KRW\">1</Amt></TxDtls>";
  auto entries_of = [&](std::size_t count) {
    std::string batch;
    batch.reserve(count * details.size());
    for (std::size_t i = 0; i < count; ++i) batch += details;
    return BatchEntry(std::to_string(count), batch, "B-" + std::to_string(count));
  };
  auto at_limit = ReadCamt054(Camt054(entries_of(kMaxTransactions - 1) + entries_of(1)));
  ASSERT_TRUE(at_limit) << at_limit.error().detail;
  EXPECT_EQ(at_limit->transactions.size(), kMaxTransactions);
  auto over = ReadCamt054(Camt054(entries_of(kMaxTransactions - 1) + entries_of(2)));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kBodyTooLarge);
  auto over_by_entries = ReadCamt054(Camt054(entries_of(kMaxTransactions) + CreditEntry("5")));
  ASSERT_FALSE(over_by_entries);
  EXPECT_EQ(over_by_entries.error().code, ErrorCode::kBodyTooLarge);
}

}  // namespace
}  // namespace varelay::iso20022
