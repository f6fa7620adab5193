// Proves every real bank sample in ../shared/testdata/iso20022 reads to the exact amounts, counts, indicators and references it holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "banks/iso20022/camt.h"
#include "banks/iso20022/camt_test_util.h"

namespace varelay::iso20022 {
namespace {

using testing::At;
using testing::Sample;

constexpr std::string_view kPostFinanceCredit =
    "200519_camt.054-Credit_P_CH2909000000250094239_1110092691_0_2019042421291293.xml";
constexpr std::string_view kPostFinanceReturns =
    "200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml";
constexpr std::string_view kPostFinanceStatement =
    "camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml";
constexpr std::string_view kFinnishNotification = "FI_camt_054_sample.xml";
constexpr std::string_view kFinnishStatement = "FI_camt_053_sample.xml";

std::vector<std::int64_t> Amounts(const std::vector<Transaction>& transactions) {
  std::vector<std::int64_t> out;
  for (const auto& t : transactions) out.push_back(t.amount.minor());
  return out;
}

std::string Indicators(const std::vector<Transaction>& transactions) {
  std::string out;
  for (const auto& t : transactions) out += t.credit_debit == CreditDebit::kCredit ? 'C' : 'D';
  return out;
}

std::int64_t SignedSum(const std::vector<Transaction>& transactions) {
  std::int64_t sum = 0;
  for (const auto& t : transactions) {
    sum += t.credit_debit == CreditDebit::kCredit ? t.amount.minor() : -t.amount.minor();
  }
  return sum;
}

// Proves the reader accepts every XML sample in the shared folder, whichever message it is, so a
// sample added later is covered without touching this file.
TEST(Iso20022Samples, EverySampleInTheFolderReads) {
  int notifications = 0;
  int statements = 0;
  for (const auto& file : std::filesystem::directory_iterator(VARELAY_ISO20022_SAMPLES)) {
    if (file.path().extension() != ".xml") continue;
    std::string xml = testing::ReadFileOrFail(file.path().string());
    if (xml.find("camt.054.001.") != std::string::npos) {
      auto read = ReadCamt054(xml);
      ASSERT_TRUE(read) << file.path() << ": " << read.error().detail << " at " << read.error().field;
      EXPECT_FALSE(read->transactions.empty()) << file.path();
      ++notifications;
    } else {
      auto read = ReadCamt053(xml);
      ASSERT_TRUE(read) << file.path() << ": " << read.error().detail << " at " << read.error().field;
      EXPECT_FALSE(read->statements.empty()) << file.path();
      ++statements;
    }
  }
  EXPECT_EQ(notifications, 3);
  EXPECT_EQ(statements, 2);
}

// Proves the PostFinance camt.054.001.04 credit reads to one booked CHF 1500.00 credit on the
// notified IBAN, that a time without offset gets an instant only when the bank's offset is given,
// and that the virtual account comes from where the options say.
TEST(Iso20022Samples, PostFinanceCredit) {
  auto read = ReadCamt054(Sample(kPostFinanceCredit));
  ASSERT_TRUE(read) << read.error().detail << " at " << read.error().field;
  EXPECT_EQ(read->version, 4);
  EXPECT_EQ(read->message_id, "201904245375204223076552");
  EXPECT_EQ(read->created.text, "2019-04-24T21:28:58");
  EXPECT_TRUE(read->created.has_time);
  EXPECT_FALSE(read->created.instant);
  ASSERT_EQ(read->transactions.size(), 1u);
  const Transaction& t = read->transactions[0];
  EXPECT_EQ(t.amount, Money(150000, *Currency::FromCode("CHF")));
  EXPECT_EQ(t.credit_debit, CreditDebit::kCredit);
  EXPECT_FALSE(t.reversal);
  EXPECT_FALSE(t.credit_debit_conflict);
  EXPECT_EQ(t.status, EntryStatus::kBooked);
  ASSERT_TRUE(t.booking_date);
  EXPECT_EQ(t.booking_date->text, "2019-04-24");
  EXPECT_FALSE(t.booking_date->has_time);
  EXPECT_EQ(t.booking_date->date, std::chrono::sys_days(std::chrono::year(2019) / 4 / 24));
  ASSERT_TRUE(t.value_date);
  EXPECT_EQ(t.value_date->text, "2019-04-25");
  EXPECT_EQ(t.dedupe_reference, "074820002ZZ9J42U");
  EXPECT_EQ(t.reference_source, ReferenceSource::kEntry);
  EXPECT_EQ(t.notification_id, "20190424375204223076553");
  EXPECT_EQ(t.notified_account, "CH2909000000250094239");
  EXPECT_EQ(t.creditor_account, "");
  EXPECT_EQ(t.bank_transaction_code.family, "RCDT");
  EXPECT_EQ(t.bank_transaction_code.sub_family, "VCOM");
  EXPECT_FALSE(t.returned);
  EXPECT_EQ(Classify(t).action, Action::kReview);
  EXPECT_EQ(Classify(t).reason, "no_virtual_account");

  ReadOptions swiss{.virtual_account_source = VirtualAccountSource::kNotifiedAccount,
                    .local_utc_offset = std::chrono::hours(2)};
  auto local = ReadCamt054(Sample(kPostFinanceCredit), swiss);
  ASSERT_TRUE(local);
  EXPECT_EQ(local->created.instant, At("2019-04-24T19:28:58Z"));
  EXPECT_EQ(local->transactions[0].virtual_account, "CH2909000000250094239");
  EXPECT_EQ(Classify(local->transactions[0]).action, Action::kDeposit);
}

// Proves the PostFinance returns notification reads as a booked credit flagged as a returned
// payment (PMNT/ICDT/RRTN with RtrInf AC01), which the relay ignores rather than books: the file
// holds no DBIT and no RvslInd=true, it is money coming back from a payment the holder made.
TEST(Iso20022Samples, PostFinanceReturns) {
  ReadOptions by_account{.virtual_account_source = VirtualAccountSource::kNotifiedAccount};
  auto read = ReadCamt054(Sample(kPostFinanceReturns), by_account);
  ASSERT_TRUE(read) << read.error().detail << " at " << read.error().field;
  EXPECT_EQ(read->version, 4);
  EXPECT_EQ(read->message_id, "20190520375204012050698");
  ASSERT_EQ(read->transactions.size(), 1u);
  const Transaction& t = read->transactions[0];
  EXPECT_EQ(t.amount, Money(40000, *Currency::FromCode("CHF")));
  EXPECT_EQ(t.credit_debit, CreditDebit::kCredit);
  EXPECT_FALSE(t.reversal);
  EXPECT_TRUE(t.returned);
  EXPECT_EQ(t.return_reason, "AC01");
  EXPECT_EQ(t.bank_transaction_code.family, "ICDT");
  EXPECT_EQ(t.bank_transaction_code.sub_family, "RRTN");
  EXPECT_EQ(t.payer_name, "Robert Schneider SA");
  EXPECT_EQ(t.entry_reference, "086820002PBWFX2U");
  EXPECT_EQ(t.transaction_reference, "180327CH02P92DYD");
  EXPECT_EQ(t.end_to_end_id, "EndToEndId-004-01-01");
  EXPECT_EQ(t.dedupe_reference, "086820002PBWFX2U");
  EXPECT_EQ(t.remittance, "Kontouebertrag");
  auto verdict = Classify(t);
  EXPECT_EQ(verdict.action, Action::kIgnore);
  EXPECT_EQ(verdict.reason, "returned_payment");
}

// Proves the Finnish camt.054.001.02 sample flattens six entries into thirteen transactions, each
// batched TxDtls with its own AmtDtls/TxAmt amount, with debits, an INFO credit reversal, payer
// names, references and creditor references as written.
TEST(Iso20022Samples, FinnishNotificationFlattensBatches) {
  auto read = ReadCamt054(Sample(kFinnishNotification));
  ASSERT_TRUE(read) << read.error().detail << " at " << read.error().field;
  EXPECT_EQ(read->version, 2);
  EXPECT_EQ(read->message_id, "BANKFILEID219073");
  EXPECT_EQ(read->created.instant, At("2009-10-30T19:01:45Z"));
  const auto& ts = read->transactions;
  ASSERT_EQ(ts.size(), 13u);
  EXPECT_EQ(Amounts(ts), (std::vector<std::int64_t>{190000, 10000, 40000, 10000, 250000, 50000,
                                                    200002, 100001, 123002, 50000, 50000, 4000,
                                                    6000}));
  EXPECT_EQ(Indicators(ts), "CCCCCCDDDDDCC");
  for (const auto& t : ts) EXPECT_EQ(t.amount.currency().code(), "EUR");
  std::vector<int> entries;
  for (const auto& t : ts) entries.push_back(t.entry_number);
  EXPECT_EQ(entries, (std::vector<int>{1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6, 6}));

  EXPECT_EQ(ts[0].payer_name, "PAYERS NAME1");
  EXPECT_EQ(ts[0].creditor_reference, "3900");
  EXPECT_EQ(ts[0].dedupe_reference, "D091029N987654321S001");
  EXPECT_EQ(ts[0].reference_source, ReferenceSource::kTransaction);
  EXPECT_EQ(ts[0].entry_reference, "091029ACCTSTMTARCH04");
  EXPECT_EQ(ts[4].payer_name, "AT-02 DEBTOR NAME 01");
  EXPECT_EQ(ts[4].end_to_end_id, "EndToEndIdAT-41-001");
  EXPECT_EQ(ts[4].creditor_reference, "RF7812345");  // "RF7812345 " in the file
  EXPECT_EQ(ts[5].remittance, "RFB/557742358");
  EXPECT_EQ(ts[6].creditor_account, "29501800020582");
  EXPECT_EQ(ts[7].remittance, "Invoices 123 and 321");
  EXPECT_EQ(ts[9].dedupe_reference, "ISSRBKREF12345678");  // no AcctSvcrRef, no TxId in Refs
  EXPECT_EQ(ts[9].reference_source, ReferenceSource::kEndToEndId);
  EXPECT_EQ(ts[9].amount.minor(), 50000);  // TxAmt EUR, not InstdAmt USD 750.00
  EXPECT_TRUE(ts[11].reversal);
  EXPECT_EQ(ts[11].status, EntryStatus::kInformation);
  EXPECT_EQ(ts[11].return_reason, "AC01");
  EXPECT_EQ(ts[12].return_reason, "CUST");
  for (const auto& t : ts) EXPECT_FALSE(t.reference_ambiguous) << t.dedupe_reference;

  // The transactions net to the sample's own TxsSummry/TtlNetNtryAmt, 169.95, when its credit
  // reversal (CRDT, RvslInd) counts as money out, as the Finnish banks intend.
  std::int64_t net = 0;
  for (const auto& t : ts) {
    bool in = (t.credit_debit == CreditDebit::kCredit) != t.reversal;
    net += in ? t.amount.minor() : -t.amount.minor();
  }
  EXPECT_EQ(net, 16995);

  EXPECT_EQ(Classify(ts[0]).reason, "no_virtual_account");
  EXPECT_EQ(Classify(ts[6]).reason, "debit");
  EXPECT_EQ(Classify(ts[11]).reason, "not_booked");
  ReadOptions by_reference{.virtual_account_source = VirtualAccountSource::kCreditorReference};
  auto referenced = ReadCamt054(Sample(kFinnishNotification), by_reference);
  ASSERT_TRUE(referenced);
  EXPECT_EQ(referenced->transactions[1].virtual_account, "43216");
  EXPECT_EQ(Classify(referenced->transactions[1]).action, Action::kDeposit);
  EXPECT_EQ(Classify(referenced->transactions[5]).reason, "no_virtual_account");  // Ustrd only
}

// Proves the Finnish camt.053.001.02 statement reads its four balances and ten entries (thirteen
// transactions), and that opening balance plus credits minus debits equals the closing balance;
// two charges sharing one AcctSvcrRef get distinct, flagged references.
TEST(Iso20022Samples, FinnishStatementReconciles) {
  auto read = ReadCamt053(Sample(kFinnishStatement));
  ASSERT_TRUE(read) << read.error().detail << " at " << read.error().field;
  EXPECT_EQ(read->version, 2);
  EXPECT_EQ(read->message_id, "BANKFILEID00001");
  ASSERT_EQ(read->statements.size(), 1u);
  const AccountStatement& s = read->statements[0];
  EXPECT_EQ(s.id, "BANKSTMTID0972009");
  EXPECT_EQ(s.account, "FI7433010001222090");
  ASSERT_EQ(s.balances.size(), 4u);
  EXPECT_EQ(s.balances[0].type, "OPBD");
  EXPECT_EQ(s.balances[0].amount, Money(1000000, *Currency::FromCode("EUR")));  // not CdtLine
  EXPECT_EQ(s.balances[1].type, "PRCD");
  EXPECT_EQ(s.balances[2].type, "CLBD");
  EXPECT_EQ(s.balances[2].amount.minor(), 2364483);
  EXPECT_EQ(s.balances[3].type, "CLAV");
  EXPECT_EQ(s.balances[3].amount.minor(), 3364483);
  ASSERT_TRUE(s.balances[2].date);
  EXPECT_EQ(s.balances[2].date->text, "2009-10-29");

  const auto& ts = s.transactions;
  ASSERT_EQ(ts.size(), 13u);
  EXPECT_EQ(Amounts(ts), (std::vector<std::int64_t>{100012, 400000, 200002, 100001, 123002, 200000,
                                                    50000, 300000, 212000, 545500, 1000000, 10000,
                                                    10000}));
  EXPECT_EQ(Indicators(ts), "DDDDDCCCCCCDD");
  EXPECT_EQ(s.balances[0].amount.minor() + SignedSum(ts), s.balances[2].amount.minor());
  EXPECT_EQ(ts[1].dedupe_reference, "091029ACCTSTMTARCH02");  // an entry without TxDtls
  EXPECT_EQ(ts[8].transaction_id, "ISSRBKREF12345678");
  EXPECT_EQ(ts[8].dedupe_reference, "091029ACCTSTMTARCH06");
  EXPECT_EQ(ts[9].payer_name, "PAYERS NAME2");
  EXPECT_EQ(ts[9].creditor_reference, "RF98123456789012");
  EXPECT_EQ(ts[11].dedupe_reference, "091029ARCH09001:10.1");
  EXPECT_EQ(ts[12].dedupe_reference, "091029ARCH09001:10.2");
  EXPECT_TRUE(ts[11].reference_ambiguous);
  EXPECT_TRUE(ts[12].reference_ambiguous);
  EXPECT_EQ(ts[12].payer_name, "SEB Merchant Banking Finland");
}

// Proves the PostFinance camt.053.001.04 statement reads its balances and five entries, flags the
// entry whose TxDtls says CRDT under a DBIT entry, and disambiguates two entries the bank gave
// the same AcctSvcrRef; the signed entries lead from the opening to the forward available balance.
TEST(Iso20022Samples, PostFinanceStatement) {
  auto read = ReadCamt053(Sample(kPostFinanceStatement));
  ASSERT_TRUE(read) << read.error().detail << " at " << read.error().field;
  EXPECT_EQ(read->version, 4);
  EXPECT_EQ(read->message_id, "20201124375204229003967");
  ASSERT_EQ(read->statements.size(), 1u);
  const AccountStatement& s = read->statements[0];
  EXPECT_EQ(s.id, "20201124375204229003973");
  EXPECT_EQ(s.account, "CH2909000000250094239");
  std::vector<std::string> types;
  for (const auto& b : s.balances) types.push_back(b.type);
  EXPECT_EQ(types, (std::vector<std::string>{"OPBD", "CLBD", "CLAV", "FWAV"}));
  EXPECT_EQ(s.balances[0].amount, Money(21199319, *Currency::FromCode("CHF")));
  EXPECT_EQ(s.balances[1].amount.minor(), 21511221);
  EXPECT_EQ(s.balances[3].amount.minor(), 21664921);

  const auto& ts = s.transactions;
  ASSERT_EQ(ts.size(), 5u);
  EXPECT_EQ(Amounts(ts), (std::vector<std::int64_t>{450, 7770, 150000, 153700, 169222}));
  EXPECT_EQ(Indicators(ts), "CDCCC");
  EXPECT_TRUE(ts[1].credit_debit_conflict);
  EXPECT_EQ(Classify(ts[1]).reason, "credit_debit_conflict");
  EXPECT_EQ(s.balances[0].amount.minor() + SignedSum(ts), s.balances[3].amount.minor());
  EXPECT_EQ(ts[0].dedupe_reference, "0758103031480900");
  EXPECT_EQ(ts[3].dedupe_reference, "07582000303KBMSU:4.1");
  EXPECT_EQ(ts[4].dedupe_reference, "07582000303KBMSU:5.1");
  EXPECT_TRUE(ts[3].reference_ambiguous);
  EXPECT_FALSE(ts[2].reference_ambiguous);
  ReadOptions by_account{.virtual_account_source = VirtualAccountSource::kNotifiedAccount};
  auto by = ReadCamt053(Sample(kPostFinanceStatement), by_account);
  ASSERT_TRUE(by);
  EXPECT_EQ(Classify(by->statements[0].transactions[2]).action, Action::kDeposit);
  EXPECT_EQ(Classify(by->statements[0].transactions[3]).reason, "ambiguous_reference");
}

}  // namespace
}  // namespace varelay::iso20022
