// Pay-outs: the relay asks a bank to debit a merchant's mother account and credit another account
// (a refund to a payer, a pay-out to a supplier). The bank may answer late or not at all, so a
// transfer is recorded before it is sent and is never sent again before the bank has been asked
// what became of the last attempt (the result inquiry).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/money.h"
#include "domain/time.h"

namespace varelay {

// pending -> completed | refused. Nothing else ends a transfer: an unanswered debit stays pending
// (and keeps being asked about) until the bank says what happened.
enum class TransferStatus { kPending, kCompleted, kRefused };
std::string_view TransferStatusName(TransferStatus status);
std::optional<TransferStatus> ParseTransferStatus(std::string_view name);

// Relay-originated telegram sequence numbers per bank and KST day: transfers take theirs from
// 1..kMaxTransferSequence, recorded with the transfer so no restart reuses one; queries that book
// nothing (holder and result inquiries, missing-sequence requests) count from kFirstQuerySequence
// in memory.
inline constexpr std::uint32_t kMaxTransferSequence = 899'999;
inline constexpr std::uint32_t kFirstQuerySequence = 900'000;

// The Korean calendar day of `t` (UTC+9, no daylight saving): the day telegram sequence numbers
// count within.
std::chrono::year_month_day KstDay(Instant t);

// Why a transfer moves money: a merchant's pay-out, or a division payment's debit of the master's
// account (to the merchant's mother account) or its refund (back to the master's account). A
// division transfer's master account is sealed (debit_account of a debit, recipient_account of a
// refund): the executor unseals it before it builds the bank's request.
enum class TransferPurpose { kPayout, kDivisionDebit, kDivisionRefund };
std::string_view TransferPurposeName(TransferPurpose purpose);
std::optional<TransferPurpose> ParseTransferPurpose(std::string_view name);

struct Transfer {
  std::string id;  // "trf_" + 20 chars; the reference JSON banks dedupe by
  std::string merchant;
  std::string bank;           // the contract's bank, which holds the debit account
  std::string debit_account;  // the contract's mother account
  Money amount{0, Currency::Krw()};
  std::string recipient_bank;  // KFTC 3-digit
  std::string recipient_account;
  std::string recipient_name;
  std::string memo;  // what the debited passbook shows
  TransferStatus status = TransferStatus::kPending;
  // The transfer's identity at a telegram bank, fixed when it is created: every re-send repeats
  // the KST date and sequence (only the send count rises), so the bank books it once.
  std::chrono::year_month_day request_date{};
  std::uint32_t request_sequence = 0;
  int attempts = 0;       // withdrawal requests sent
  bool in_doubt = false;  // a request went out and its outcome is unknown: ask before sending again
  std::string response_code;  // the bank's last definitive code ("0000" when completed)
  std::string last_error;     // why the last attempt did not settle it
  std::string bank_reference;
  Instant created_at{};
  Instant updated_at{};
  Instant next_attempt_at{};  // pending only
  std::optional<Instant> finished_at;
  TransferPurpose purpose = TransferPurpose::kPayout;
  std::string division_payment{};  // dvp_... for a division debit or refund
};

}  // namespace varelay
