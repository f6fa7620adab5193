#include "domain/bank_codes.h"

namespace varelay {

std::string_view DivisionDeclineFor(std::string_view code) {
  if (code.empty() || code == kTelegramBankOk || code == kJsonBankOk) return {};
  if (code == kTelegramInsufficientFunds || code == kJsonInsufficientFunds) return "insufficient_funds";
  if (code == kTelegramOverConsentCeiling || code == kJsonOverConsentCeiling) return "over_consent_ceiling";
  if (code == kTelegramNoConsent || code == kJsonNoConsent) return "consent_missing";
  return "bank_refused";
}

}  // namespace varelay
