// Proves a Korean virtual-account deposit in camt.054.001.08 and its reversal read and classify as a deposit and its cancellation, across versions, namespace prefixes and batches.
#include <gtest/gtest.h>

#include "banks/iso20022/camt.h"
#include "banks/iso20022/camt_test_util.h"

namespace varelay::iso20022 {
namespace {

using testing::At;
using testing::BatchEntry;
using testing::Camt054;
using testing::CreditEntry;
using testing::Fixture;
using testing::Replace;
using testing::TxDetails;

// Proves the hand-written KRW deposit (schema-valid camt.054.001.08) reads to exactly what the
// relay's deposit notice needs: 39000 KRW to virtual account 56211234567890 from 홍길동, booked at
// 19:00 in Seoul, under the bank's reference, and classifies as a deposit.
TEST(Iso20022Krw, DepositReadsAndClassifiesAsDeposit) {
  auto read = ReadCamt054(Fixture("krw_deposit.camt054.xml"));
  ASSERT_TRUE(read) << read.error().detail << " at " << read.error().field;
  EXPECT_EQ(read->version, 8);
  EXPECT_EQ(read->message_id, "KB-NTF-20261125-000001");
  EXPECT_EQ(read->created.instant, At("2026-11-25T10:00:05Z"));
  ASSERT_EQ(read->transactions.size(), 1u);
  const Transaction& t = read->transactions[0];
  EXPECT_EQ(t.amount, Money(39000, Currency::Krw()));
  EXPECT_EQ(t.credit_debit, CreditDebit::kCredit);
  EXPECT_FALSE(t.reversal);
  EXPECT_EQ(t.status, EntryStatus::kBooked);
  EXPECT_EQ(t.status_code, "BOOK");
  ASSERT_TRUE(t.booking_date);
  EXPECT_TRUE(t.booking_date->has_time);
  EXPECT_EQ(t.booking_date->instant, At("2026-11-25T10:00:00Z"));
  EXPECT_EQ(t.dedupe_reference, "KB20261125-000001");
  EXPECT_EQ(t.reference_source, ReferenceSource::kEntry);
  EXPECT_EQ(t.transaction_id, "20261125190000KB0001");
  EXPECT_EQ(t.end_to_end_id, "NOTPROVIDED");
  EXPECT_EQ(t.payer_name, "홍길동");
  EXPECT_EQ(t.notified_account, "1002345678901");
  EXPECT_EQ(t.creditor_account, "56211234567890");
  EXPECT_EQ(t.virtual_account, "56211234567890");
  EXPECT_EQ(t.remittance, "주문 A-1001");
  auto verdict = Classify(t);
  EXPECT_EQ(verdict.action, Action::kDeposit);
  EXPECT_EQ(verdict.reason, "booked_credit");
}

// Proves the reversal (DBIT, RvslInd=true) classifies as a cancellation whose original reference
// is exactly the deposit's dedupe reference, while its own reference stays distinct.
TEST(Iso20022Krw, ReversalCancelsTheDeposit) {
  auto deposit = ReadCamt054(Fixture("krw_deposit.camt054.xml"));
  auto reversal = ReadCamt054(Fixture("krw_reversal.camt054.xml"));
  ASSERT_TRUE(deposit);
  ASSERT_TRUE(reversal) << reversal.error().detail << " at " << reversal.error().field;
  ASSERT_EQ(reversal->transactions.size(), 1u);
  const Transaction& t = reversal->transactions[0];
  EXPECT_EQ(t.amount, Money(39000, Currency::Krw()));
  EXPECT_EQ(t.credit_debit, CreditDebit::kDebit);
  EXPECT_TRUE(t.reversal);
  EXPECT_EQ(t.dedupe_reference, "KB20261126-C000001");
  auto verdict = Classify(t);
  EXPECT_EQ(verdict.action, Action::kCancellation);
  EXPECT_EQ(verdict.reason, "booked_reversal");
  EXPECT_EQ(verdict.original_reference, deposit->transactions[0].dedupe_reference);

  // Without the original's AcctSvcrRef the reversal falls back to the transaction id.
  auto by_tx_id = ReadCamt054(Replace(Fixture("krw_reversal.camt054.xml"),
                                      "<AcctSvcrRef>KB20261125-000001</AcctSvcrRef>", ""));
  ASSERT_TRUE(by_tx_id);
  EXPECT_EQ(Classify(by_tx_id->transactions[0]).original_reference, "20261125190000KB0001");
  // With nothing that points at an original, a person has to find it.
  auto orphan = ReadCamt054(Replace(Replace(Fixture("krw_reversal.camt054.xml"),
                                            "<AcctSvcrRef>KB20261125-000001</AcctSvcrRef>", ""),
                                    "<TxId>20261125190000KB0001</TxId>", ""));
  ASSERT_TRUE(orphan);
  EXPECT_EQ(Classify(orphan->transactions[0]).action, Action::kReview);
  EXPECT_EQ(Classify(orphan->transactions[0]).reason, "reversal_without_original_reference");
  // Without a reference of its own, the reversal would be known under the deposit's id.
  auto anonymous = ReadCamt054(Replace(Fixture("krw_reversal.camt054.xml"),
                                       "<AcctSvcrRef>KB20261126-C000001</AcctSvcrRef>", ""));
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->transactions[0].dedupe_reference, "KB20261125-000001");
  EXPECT_EQ(Classify(anonymous->transactions[0]).reason, "reversal_without_own_reference");
}

// Proves each virtual-account source picks its own place, and a missing number is a review.
TEST(Iso20022Krw, VirtualAccountComesFromTheConfiguredPlace) {
  std::string xml = Fixture("krw_deposit.camt054.xml");
  auto notified = ReadCamt054(xml, {.virtual_account_source = VirtualAccountSource::kNotifiedAccount});
  ASSERT_TRUE(notified);
  EXPECT_EQ(notified->transactions[0].virtual_account, "1002345678901");
  auto referenced =
      ReadCamt054(xml, {.virtual_account_source = VirtualAccountSource::kCreditorReference});
  ASSERT_TRUE(referenced);
  EXPECT_EQ(referenced->transactions[0].virtual_account, "");
  EXPECT_EQ(Classify(referenced->transactions[0]).reason, "no_virtual_account");
  std::string with_reference = Replace(xml, "<Ustrd>주문 A-1001</Ustrd>",
                                       "<Strd><CdtrRefInf><Ref>56219876543210</Ref></CdtrRefInf></Strd>");
  auto structured =
      ReadCamt054(with_reference, {.virtual_account_source = VirtualAccountSource::kCreditorReference});
  ASSERT_TRUE(structured);
  EXPECT_EQ(structured->transactions[0].virtual_account, "56219876543210");
}

// Proves both status forms are read in any version, and that pending and information entries
// (and unknown codes) are ignored, never booked.
TEST(Iso20022Krw, StatusFormsAndNonBookedEntries) {
  std::string xml = Fixture("krw_deposit.camt054.xml");
  auto bare = ReadCamt054(Replace(xml, "<Sts>\n          <Cd>BOOK</Cd>\n        </Sts>", "<Sts>BOOK</Sts>"));
  ASSERT_TRUE(bare) << bare.error().detail;
  EXPECT_EQ(bare->transactions[0].status, EntryStatus::kBooked);
  for (std::string_view code : {"PDNG", "INFO", "FUTR"}) {
    auto read = ReadCamt054(Replace(xml, "<Cd>BOOK</Cd>", "<Cd>" + std::string(code) + "</Cd>"));
    ASSERT_TRUE(read) << code;
    EXPECT_EQ(read->transactions[0].status_code, code);
    EXPECT_EQ(Classify(read->transactions[0]).action, Action::kIgnore) << code;
    EXPECT_EQ(Classify(read->transactions[0]).reason, "not_booked") << code;
  }
  auto proprietary = ReadCamt054(Replace(xml, "<Cd>BOOK</Cd>", "<Prtry>BOOK</Prtry>"));
  ASSERT_TRUE(proprietary);
  EXPECT_EQ(proprietary->transactions[0].status, EntryStatus::kBooked);
  EXPECT_FALSE(ReadCamt054(Replace(xml, "<Cd>BOOK</Cd>", "<Cd></Cd>")));
}

// Proves the reader accepts 02 through 08 by namespace (and a prefixed namespace), and refuses 01
// and 09: a version it has not been checked against is refused, not guessed.
TEST(Iso20022Krw, VersionsByNamespace) {
  std::string xml = Fixture("krw_deposit.camt054.xml");
  for (std::string_view version : {"02", "03", "04", "05", "06", "07", "08"}) {
    auto read = ReadCamt054(Replace(xml, "camt.054.001.08", "camt.054.001." + std::string(version)));
    ASSERT_TRUE(read) << version;
    EXPECT_EQ(read->version, std::stoi(std::string(version)));
    EXPECT_EQ(read->transactions[0].amount.minor(), 39000);
  }
  for (std::string_view version : {"01", "09", "10", "8", "080"}) {
    auto read = ReadCamt054(Replace(xml, "camt.054.001.08", "camt.054.001." + std::string(version)));
    ASSERT_FALSE(read) << version;
    EXPECT_EQ(read.error().code, ErrorCode::kInvalidField);
  }
  std::string prefixed = xml;
  for (std::string_view tag : {"Document", "BkToCstmrDbtCdtNtfctn", "GrpHdr", "MsgId", "CreDtTm",
                               "Ntfctn", "Id", "Acct", "Othr", "Ccy", "Ntry", "NtryRef", "Amt",
                               "CdtDbtInd", "RvslInd", "Sts", "Cd", "BookgDt", "DtTm", "ValDt", "Dt",
                               "AcctSvcrRef", "BkTxCd", "Domn", "Fmly", "SubFmlyCd", "NtryDtls",
                               "TxDtls", "Refs", "EndToEndId", "TxId", "RltdPties", "Dbtr", "Pty",
                               "Nm", "CdtrAcct", "RmtInf", "Ustrd"}) {
    for (std::string from : {"<" + std::string(tag) + ">", "</" + std::string(tag) + ">",
                             "<" + std::string(tag) + " "}) {
      std::string to = from.substr(0, from[1] == '/' ? 2 : 1) + "c:" + from.substr(from[1] == '/' ? 2 : 1);
      for (auto at = prefixed.find(from); at != std::string::npos; at = prefixed.find(from, at + to.size())) {
        prefixed.replace(at, from.size(), to);
      }
    }
  }
  prefixed = Replace(prefixed, "xmlns=", "xmlns:c=");
  auto read = ReadCamt054(prefixed);
  ASSERT_TRUE(read) << read.error().detail << " at " << read.error().field;
  EXPECT_EQ(read->transactions[0].payer_name, "홍길동");
  EXPECT_EQ(read->transactions[0].virtual_account, "56211234567890");
  // An element under another prefix is not the message's: the entry has no amount.
  auto foreign = ReadCamt054(Replace(prefixed, "<c:Amt Ccy=\"KRW\">39000</c:Amt>\n        <c:CdtDbtInd>",
                                     "<x:Amt Ccy=\"KRW\">39000</x:Amt>\n        <c:CdtDbtInd>"));
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, ErrorCode::kMissingField);
  EXPECT_EQ(foreign.error().field, "BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/Amt");
}

// Proves a batched entry yields one transaction per TxDtls with its own amount and number, and that
// a batch whose amounts do not add up, lack an amount or switch currency is refused whole.
TEST(Iso20022Krw, BatchedEntries) {
  auto read = ReadCamt054(Camt054(BatchEntry(
      "50000", TxDetails("39000", "56211234567890", "T-1") + TxDetails("11000", "56210000000001", "T-2"))));
  ASSERT_TRUE(read) << read.error().detail << " at " << read.error().field;
  ASSERT_EQ(read->transactions.size(), 2u);
  EXPECT_EQ(read->transactions[0].amount.minor(), 39000);
  EXPECT_EQ(read->transactions[0].virtual_account, "56211234567890");
  EXPECT_EQ(read->transactions[0].dedupe_reference, "T-1");
  EXPECT_EQ(read->transactions[1].amount.minor(), 11000);
  EXPECT_EQ(read->transactions[1].virtual_account, "56210000000001");
  EXPECT_EQ(read->transactions[1].transaction_number, 2);
  EXPECT_EQ(read->transactions[1].entry_reference, "BATCH-1");
  EXPECT_EQ(Classify(read->transactions[1]).action, Action::kDeposit);

  auto short_sum = ReadCamt054(Camt054(BatchEntry(
      "50000", TxDetails("39000", "56211234567890", "T-1") + TxDetails("10000", "56210000000001", "T-2"))));
  ASSERT_FALSE(short_sum);
  EXPECT_EQ(short_sum.error().code, ErrorCode::kInvalidAmount);
  EXPECT_EQ(short_sum.error().field, "BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/Amt");

  std::string no_amount = "<TxDtls><Refs><TxId>T-2</TxId></Refs></TxDtls>";
  auto missing = ReadCamt054(Camt054(BatchEntry("50000", TxDetails("39000", "1", "T-1") + no_amount)));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kMissingField);

  auto currency = ReadCamt054(Camt054(BatchEntry(
      "50000", TxDetails("39000", "1", "T-1") + TxDetails("11000", "2", "T-2", "JPY"))));
  ASSERT_FALSE(currency);
  EXPECT_EQ(currency.error().code, ErrorCode::kInvalidAmount);

  // A batch without per-transaction references is keyed by entry reference and position.
  std::string bare = "<TxDtls><Amt Ccy=\"KRW\">1000</Amt></TxDtls>";
  auto positional = ReadCamt054(Camt054(BatchEntry("2000", bare + bare)));
  ASSERT_TRUE(positional);
  EXPECT_EQ(positional->transactions[0].dedupe_reference, "BATCH-1:1");
  EXPECT_EQ(positional->transactions[1].dedupe_reference, "BATCH-1:2");
  EXPECT_EQ(positional->transactions[1].reference_source, ReferenceSource::kEntryPosition);
}

// Proves dedupe references are always valid relay transaction ids and distinct within a message:
// odd characters are hashed, shared references are qualified and sent to review, and a message
// without any reference is keyed by its id and position and sent to review.
TEST(Iso20022Krw, DedupeReferences) {
  auto spaced = ReadCamt054(Camt054(CreditEntry("1000", "KRW", "REF 1/2")));
  ASSERT_TRUE(spaced);
  const std::string& hashed = spaced->transactions[0].dedupe_reference;
  EXPECT_EQ(hashed.size(), 42u);
  EXPECT_TRUE(hashed.starts_with("h:"));
  EXPECT_EQ(spaced->transactions[0].entry_reference, "REF 1/2");
  auto again = ReadCamt054(Camt054(CreditEntry("1000", "KRW", "REF 1/2")));
  EXPECT_EQ(again->transactions[0].dedupe_reference, hashed);  // stable across resends

  auto shared = ReadCamt054(Camt054(CreditEntry("1000", "KRW", "SAME") + CreditEntry("2000", "KRW", "SAME")));
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->transactions[0].dedupe_reference, "SAME:1.1");
  EXPECT_EQ(shared->transactions[1].dedupe_reference, "SAME:2.1");
  EXPECT_EQ(Classify(shared->transactions[0]).reason, "ambiguous_reference");

  std::string anonymous = Replace(CreditEntry("1000"), "<AcctSvcrRef>REF-1</AcctSvcrRef>", "");
  auto positional = ReadCamt054(Camt054(anonymous + anonymous));
  ASSERT_TRUE(positional);
  EXPECT_EQ(positional->transactions[0].dedupe_reference, "MSG-1:1.1");
  EXPECT_EQ(positional->transactions[1].dedupe_reference, "MSG-1:2.1");
  EXPECT_EQ(positional->transactions[1].reference_source, ReferenceSource::kMessagePosition);
  EXPECT_EQ(Classify(positional->transactions[0]).reason, "no_bank_reference");
}

// Proves a date-time without offset gets an instant only from the bank's configured offset, and
// that impossible dates are refused.
TEST(Iso20022Krw, LocalTimesUseTheConfiguredOffset) {
  std::string xml = Replace(Fixture("krw_deposit.camt054.xml"), "2026-11-25T19:00:00+09:00",
                            "2026-11-25T19:00:00");
  auto plain = ReadCamt054(xml);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->transactions[0].booking_date->instant);
  auto seoul = ReadCamt054(xml, {.local_utc_offset = std::chrono::hours(9)});
  ASSERT_TRUE(seoul);
  EXPECT_EQ(seoul->transactions[0].booking_date->instant, At("2026-11-25T10:00:00Z"));
  auto fraction = ReadCamt054(Replace(xml, "2026-11-25T19:00:00<", "2026-11-25T19:00:00.250Z<"));
  ASSERT_TRUE(fraction);
  EXPECT_EQ(fraction->transactions[0].booking_date->instant, At("2026-11-25T19:00:00.250Z"));
  for (std::string_view bad : {"2026-02-30T19:00:00", "2026-11-25 19:00:00", "yesterday", ""}) {
    auto read = ReadCamt054(Replace(xml, "2026-11-25T19:00:00<", std::string(bad) + "<"));
    ASSERT_FALSE(read) << bad;
  }
  auto bad_date = ReadCamt054(Replace(xml, "<Dt>2026-11-25</Dt>", "<Dt>2026-13-01</Dt>"));
  ASSERT_FALSE(bad_date);
  EXPECT_EQ(bad_date.error().field, "BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/ValDt/Dt");
}

}  // namespace
}  // namespace varelay::iso20022
