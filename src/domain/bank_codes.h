// The codes banks answer the relay's own requests with (docs/telegrams.md, "Requests from the
// relay" and "JSON banks"), in both protocols, and what a division payment's decline reason is
// for each (docs/division-accounts.md, check 6). Telegram banks answer 4 characters, JSON (Open
// Banking-style) banks a 3-character bank_rsp_code; a transfer keeps whichever its bank gave in
// Transfer::response_code, so the mapping reads both.
#pragma once

#include <string>
#include <string_view>

namespace varelay {

// Telegram bank response codes (header offset 51).
inline constexpr std::string_view kTelegramBankOk = "0000";
inline constexpr std::string_view kTelegramNoSuchAccount = "0101";      // unknown account
inline constexpr std::string_view kTelegramHolderMismatch = "0102";     // consent: name or holder id differ
inline constexpr std::string_view kTelegramAccountClosed = "0103";      // closed or suspended account
inline constexpr std::string_view kTelegramInsufficientFunds = "0201";
inline constexpr std::string_view kTelegramNoConsent = "0202";          // no withdrawal consent for the debit account
inline constexpr std::string_view kTelegramOverConsentCeiling = "0203"; // above the consent's ceiling per debit
inline constexpr std::string_view kTelegramNoSuchTransfer = "0301";     // result inquiry: never received
inline constexpr std::string_view kTelegramSystemError = "0999";        // not done; ask again later

// JSON banks: success is rsp_code kJsonRspOk and bank_rsp_code kJsonBankOk together; a refusal
// carries one of the bank_rsp_codes below (the telegram code without its leading zero).
inline constexpr std::string_view kJsonRspOk = "A0000";
inline constexpr std::string_view kJsonRspBankError = "A0002";  // the bank refused: bank_rsp_code says why
inline constexpr std::string_view kJsonBankOk = "000";
inline constexpr std::string_view kJsonNoSuchAccount = "101";
inline constexpr std::string_view kJsonHolderMismatch = "102";
inline constexpr std::string_view kJsonAccountClosed = "103";
inline constexpr std::string_view kJsonInsufficientFunds = "201";
inline constexpr std::string_view kJsonNoConsent = "202";
inline constexpr std::string_view kJsonOverConsentCeiling = "203";
inline constexpr std::string_view kJsonNoSuchTransfer = "301";
inline constexpr std::string_view kJsonSystemError = "999";

// The division payment decline reason for a refused transfer's response code:
// insufficient_funds (0201/201), over_consent_ceiling (0203/203), consent_missing (0202/202),
// bank_refused for any other refusal (an unknown or closed account among them). Empty for a
// success code (0000/000) or no code.
std::string_view DivisionDeclineFor(std::string_view response_code);

// For people: what a refusal code of either protocol means ("insufficient funds"), or "the bank
// refused with code X" for a code of the bank's own.
std::string BankRefusalText(std::string_view response_code);

}  // namespace varelay
