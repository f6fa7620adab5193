// Proves the camt.054 link's messages are what the relay's own reader takes: a deposit is a
// booked credit to the virtual number keyed by the transaction id, a cancellation a booked
// reversal naming the deposit, text is escaped, several mother accounts get a notification each,
// and (when xmllint and ../shared are there) the XML validates against camt.054.001.08.xsd; and
// that the relay's ImportReport settles a notice as acknowledged, re-sent or failed.
#include "camt_link.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "banks/iso20022/camt.h"

namespace varelay::banksim {
namespace {

Money Krw(std::int64_t minor) { return Money(minor, Currency::Krw()); }

// 2026-11-25T10:00:00Z = 19:00 in Seoul.
const Instant kBooked = FromUnixMs(1'795'600'800'000);

DepositMessage Deposit() {
  return DepositMessage{"004TEST00000001",
                        "90040000000001",
                        Krw(39'000),
                        "홍길동",
                        "2026-11-25T10:00:00.750Z",
                        "004100000000001",
                        TelegramRef{1, kBooked},
                        1};
}

CancellationMessage Cancellation() {
  return CancellationMessage{"004TEST00000002",
                             "004TEST00000001",
                             "2026-11-26T00:30:00Z",
                             "90040000000001",
                             Krw(39'000),
                             "홍길동",
                             "004100000000001",
                             TelegramRef{2, kBooked},
                             TelegramRef{1, kBooked},
                             1};
}

iso20022::Notification Read(const std::string& xml) {
  auto read = iso20022::ReadCamt054(xml);
  EXPECT_TRUE(read.has_value()) << read.error().detail << " at " << read.error().field << "\n"
                                << xml;
  return read.value_or(iso20022::Notification{});
}

TEST(BanksimCamtLink, ADepositIsABookedCreditToTheVirtualNumberKeyedByTheTransactionId) {
  CamtNotice notice = CamtNoticeFor(Deposit());
  EXPECT_EQ(notice.booked_at, kBooked) << "whole seconds";
  std::string xml = RenderCamt054({notice}, "N004TEST00000001", kBooked);
  auto message = Read(xml);
  EXPECT_EQ(message.version, 8);
  EXPECT_EQ(message.message_id, "N004TEST00000001");
  ASSERT_EQ(message.transactions.size(), 1u);
  const auto& t = message.transactions[0];
  EXPECT_EQ(t.dedupe_reference, "004TEST00000001");
  EXPECT_EQ(t.reference_source, iso20022::ReferenceSource::kEntry);
  EXPECT_EQ(t.virtual_account, "90040000000001");
  EXPECT_EQ(t.creditor_account, "90040000000001");
  EXPECT_EQ(t.notified_account, "004100000000001");
  EXPECT_EQ(t.payer_name, "홍길동");
  EXPECT_EQ(t.amount, Krw(39'000));
  EXPECT_EQ(t.credit_debit, iso20022::CreditDebit::kCredit);
  EXPECT_FALSE(t.reversal);
  EXPECT_EQ(t.status, iso20022::EntryStatus::kBooked);
  ASSERT_TRUE(t.booking_date && t.booking_date->instant);
  EXPECT_EQ(*t.booking_date->instant, kBooked);
  EXPECT_EQ(t.booking_date->text, "2026-11-25T19:00:00+09:00");
  auto c = iso20022::Classify(t);
  EXPECT_EQ(c.action, iso20022::Action::kDeposit) << c.reason;
}

TEST(BanksimCamtLink, ACancellationIsABookedReversalNamingTheDeposit) {
  auto message = Read(RenderCamt054({CamtNoticeFor(Cancellation())}, "N004TEST00000002", kBooked));
  ASSERT_EQ(message.transactions.size(), 1u);
  const auto& t = message.transactions[0];
  EXPECT_EQ(t.credit_debit, iso20022::CreditDebit::kDebit);
  EXPECT_TRUE(t.reversal);
  EXPECT_EQ(t.dedupe_reference, "004TEST00000002") << "its own id: Ntry/AcctSvcrRef";
  EXPECT_EQ(t.entry_reference, "004TEST00000002");
  EXPECT_EQ(t.transaction_reference, "004TEST00000001");
  auto c = iso20022::Classify(t);
  EXPECT_EQ(c.action, iso20022::Action::kCancellation) << c.reason;
  EXPECT_EQ(c.original_reference, "004TEST00000001");
}

TEST(BanksimCamtLink, EscapesTextAndGivesEachMotherAccountItsNotification) {
  DepositMessage odd = Deposit();
  odd.payer_name = "Kim & <Lee> \"Park\" 'Choi'";
  DepositMessage other = Deposit();
  other.transaction_id = "004TEST00000003";
  other.mother_account = "004200000000001";
  other.payer_name = "";
  std::string xml =
      RenderCamt054({CamtNoticeFor(odd), CamtNoticeFor(Cancellation()), CamtNoticeFor(other)},
                    "BATCH-1", kBooked);
  auto message = Read(xml);
  ASSERT_EQ(message.transactions.size(), 3u);
  EXPECT_EQ(message.transactions[0].payer_name, odd.payer_name);
  EXPECT_EQ(message.transactions[0].notification_id, "BATCH-1-1");
  EXPECT_EQ(message.transactions[1].notification_id, "BATCH-1-1");
  EXPECT_EQ(message.transactions[2].notification_id, "BATCH-1-2");
  EXPECT_EQ(message.transactions[2].notified_account, "004200000000001");
  EXPECT_EQ(message.transactions[2].payer_name, "");
  EXPECT_EQ(iso20022::Classify(message.transactions[2]).action, iso20022::Action::kDeposit);
}

TEST(BanksimCamtLink, ValidatesAgainstTheCamt054Schema) {
  const std::filesystem::path xsd = VARELAY_CAMT054_XSD;
  if (!std::filesystem::exists(xsd)) GTEST_SKIP() << "no " << xsd;
  if (std::system("xmllint --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no xmllint";
  auto dir =
      std::filesystem::temp_directory_path() / ("banksim-camt-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  DepositMessage odd = Deposit();
  odd.payer_name = "Kim & <Lee>";
  int n = 0;
  for (const auto& notices :
       {std::vector{CamtNoticeFor(Deposit())}, std::vector{CamtNoticeFor(Cancellation())},
        std::vector{CamtNoticeFor(odd), CamtNoticeFor(Cancellation())}}) {
    auto file = dir / ("camt" + std::to_string(++n) + ".xml");
    std::ofstream(file) << RenderCamt054(notices, "N004TEST00000001", kBooked);
    std::string command = "xmllint --noout --schema '" + xsd.string() + "' '" + file.string() +
                          "' >'" + file.string() + ".log' 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << std::ifstream(file.string() + ".log").rdbuf();
  }
  std::filesystem::remove_all(dir);
}

TEST(BanksimCamtLink, TheImportReportSettlesTheNotice) {
  const std::string booked =
      R"({"source":"N1","booked":1,"duplicates":0,"refused":0,"skipped":[],"items":[)"
      R"({"transaction_id":"004TEST00000001","kind":"deposit","result":"booked",)"
      R"("deposit":{"id":"dep_1","outcome":"matched","status":"booked"}}]})";
  auto ok = ReceiptFromImportReport(booked, "004TEST00000001", false);
  ASSERT_TRUE(ok.has_value()) << ok.error().Summary();
  EXPECT_EQ(ok->deposit_id, "dep_1");
  EXPECT_EQ(ok->outcome, "matched");
  EXPECT_FALSE(ok->duplicate);
  EXPECT_EQ(ok->answer, "200");
  EXPECT_EQ(ok->relay_transaction_id, "004TEST00000001");

  std::string duplicate = booked;
  duplicate.replace(duplicate.find("\"result\":\"booked\""), 17, "\"result\":\"duplicate\"");
  auto again = ReceiptFromImportReport(duplicate, "004TEST00000001", false);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->duplicate);

  const std::string refused =
      R"({"source":"N2","booked":0,"duplicates":0,"refused":1,"skipped":[],"items":[)"
      R"({"transaction_id":"004TEST00000002","kind":"cancellation","result":"refused",)"
      R"("code":"not_found","detail":"no deposit 004TEST00000001"}]})";
  auto not_yet = ReceiptFromImportReport(refused, "004TEST00000002", true);
  ASSERT_FALSE(not_yet.has_value());
  EXPECT_FALSE(not_yet.error().final) << "the deposit may not have arrived yet";
  EXPECT_EQ(not_yet.error().Summary(), "200 refused not_found");
  std::string conflict = refused;
  conflict.replace(conflict.find("not_found"), 9, "transaction_id_conflict");
  EXPECT_TRUE(ReceiptFromImportReport(conflict, "004TEST00000002", true).error().final);
  EXPECT_TRUE(ReceiptFromImportReport(refused, "004TEST00000002", false).error().final);

  const std::string skipped =
      R"({"source":"N3","booked":0,"duplicates":0,"refused":0,"items":[],"skipped":[)"
      R"({"reference":"004TEST00000003","action":"review","reason":"no_virtual_account"}]})";
  auto review = ReceiptFromImportReport(skipped, "004TEST00000003", false);
  ASSERT_FALSE(review.has_value());
  EXPECT_TRUE(review.error().final);
  EXPECT_EQ(review.error().Summary(), "200 skipped no_virtual_account");

  auto missing = ReceiptFromImportReport(skipped, "004TEST00000009", false);
  ASSERT_FALSE(missing.has_value());
  EXPECT_FALSE(missing.error().final);
  EXPECT_EQ(missing.error().code, "bad_answer");
  EXPECT_FALSE(ReceiptFromImportReport("[]", "x", false).has_value());

  EXPECT_FALSE(
      Camt054RelayLink::Create(JsonLinkOptions{"ftp://x", "k", "", std::chrono::seconds(1), {}})
          .has_value());
  auto link = Camt054RelayLink::Create(
      JsonLinkOptions{"http://127.0.0.1:8080", "k", "s", std::chrono::seconds(1), {}});
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ((*link)->Describe(),
            "iso20022 http://127.0.0.1:8080 camt.054 (signed), pre-check over json");
}

}  // namespace
}  // namespace varelay::banksim
