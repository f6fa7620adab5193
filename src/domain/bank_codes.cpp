#include "domain/bank_codes.h"

namespace varelay {

std::string_view DivisionDeclineFor(std::string_view code) {
  if (code.empty() || code == kTelegramBankOk || code == kJsonBankOk) return {};
  if (code == kTelegramInsufficientFunds || code == kJsonInsufficientFunds) return "insufficient_funds";
  if (code == kTelegramOverConsentCeiling || code == kJsonOverConsentCeiling) return "over_consent_ceiling";
  if (code == kTelegramNoConsent || code == kJsonNoConsent) return "consent_missing";
  return "bank_refused";
}

std::string BankRefusalText(std::string_view code) {
  auto is = [code](std::string_view telegram, std::string_view json) { return code == telegram || code == json; };
  if (is(kTelegramNoSuchAccount, kJsonNoSuchAccount)) return "no such account";
  if (is(kTelegramHolderMismatch, kJsonHolderMismatch)) return "the holder does not match the account";
  if (is(kTelegramAccountClosed, kJsonAccountClosed)) return "the account is closed";
  if (is(kTelegramInsufficientFunds, kJsonInsufficientFunds)) return "insufficient funds";
  if (is(kTelegramNoConsent, kJsonNoConsent)) return "no withdrawal consent for the debit account";
  if (is(kTelegramOverConsentCeiling, kJsonOverConsentCeiling)) return "above the consent's ceiling per debit";
  return "the bank refused with code " + std::string(code);
}

}  // namespace varelay
