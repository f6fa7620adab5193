// End-of-day statements for reconciliation, rendered from Bank::Statements: ISO 20022 camt.053
// (version 08) and a fixed-width telegram-style summary. Pure functions of their inputs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bank.h"

namespace varelay::banksim {

struct StatementContext {
  std::string bank_code;
  std::chrono::sys_days day;  // the business day (UTC+9)
  Instant created_at{};
  std::string run_id;  // makes message ids unique per bank instance
};

// "2026-11-25" -> that day; nullopt for anything else, including impossible dates.
std::optional<std::chrono::sys_days> ParseDate(std::string_view text);
std::string FormatDate(std::chrono::sys_days day);
// Local business time with its offset: "2026-11-25T19:20:00+09:00".
std::string FormatBusinessTime(Instant t);
// Text for XML content and attribute values: & < > " ' escaped.
std::string XmlEscape(std::string_view text);
// Appends <tag>text</tag> with the text escaped.
void AppendXmlElement(std::string& out, std::string_view tag, std::string_view text);

// camt.053.001.08: one Stmt per account with OPBD and CLBD balances, a transaction summary and one
// Ntry per booking. A deposit is CRDT (PMNT/RCDT) with the virtual number as the creditor account
// of its transaction and the relay transaction id as AcctSvcrRef; its cancellation is DBIT with
// RvslInd true; a withdrawal is DBIT (PMNT/ICDT).
std::string RenderCamt053(const std::vector<AccountStatement>& statements,
                          const StatementContext& context);

// The fixed-width summary: per account one H record, one D record per booking, one T record; each
// record kRecordBytes bytes plus "\n". Numbers right-aligned and zero-filled, text left-aligned and
// space-filled and cut without splitting a character (UTF-8 here; the telegram link encodes
// EUC-KR).
//
//   H  type 1 "H" | date 8 YYYYMMDD | bank 3 | account 20 | holder 30 | sign 1 | opening 17 | spare
//   70 D  type 1 "D" | seq 6 | time 14 YYYYMMDDHHMMSS | kind 2 (20 deposit, 51 deposit cancelled,
//      30 withdrawal) | sign 1 | amount 13 | sign 1 | balance 17 | number 16 | payer 20 |
//      transaction id 20 | original transaction id 20 | spare 19
//   T  type 1 "T" | credits 6 | credit sum 17 | debits 6 | debit sum 17 | sign 1 | closing 17 |
//   spare 85
inline constexpr std::size_t kRecordBytes = 150;
std::string RenderTelegramSummary(const std::vector<AccountStatement>& statements,
                                  const StatementContext& context);

}  // namespace varelay::banksim
