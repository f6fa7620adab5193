#include <string>

#include "banks/iso20022/camt.h"
#include "domain/digest.h"
#include "domain/identifiers.h"

namespace varelay::iso20022 {
namespace {

Classification Ignore(std::string_view reason) { return {Action::kIgnore, reason, {}}; }
Classification Review(std::string_view reason) { return {Action::kReview, reason, {}}; }

// Where a reversal points at the deposit it undoes. Its own Ntry/AcctSvcrRef names the reversal
// booking, so a TxDtls/Refs/AcctSvcrRef equal to it says nothing about the original.
std::string OriginalReference(const Transaction& t) {
  std::string raw;
  if (!t.transaction_reference.empty() && t.transaction_reference != t.entry_reference) {
    raw = t.transaction_reference;
  } else if (!t.transaction_id.empty()) {
    raw = t.transaction_id;
  } else if (!t.end_to_end_id.empty() && t.end_to_end_id != "NOTPROVIDED") {
    raw = t.end_to_end_id;
  }
  // The same shaping as dedupe_reference, so a hashed original still matches its deposit.
  if (raw.empty() || IsExternalId(raw)) return raw;
  return "h:" + Sha256Hex(raw).substr(0, 40);
}

}  // namespace

Classification Classify(const Transaction& t) {
  if (t.status != EntryStatus::kBooked) return Ignore("not_booked");
  if (t.credit_debit_conflict) return Review("credit_debit_conflict");
  // A reversal undoes a booking whichever way it runs: a DBIT reversal takes back a credit, and
  // banks also report a credit that did not stand as a CRDT with RvslInd (the Finnish practice).
  // Cancelling an id the relay never booked is answered not_found and books nothing.
  if (t.reversal) {
    std::string original = OriginalReference(t);
    if (original.empty()) return Review("reversal_without_original_reference");
    // The relay needs the cancellation's own id to differ from the deposit's.
    if (original == t.dedupe_reference) return Review("reversal_without_own_reference");
    return {Action::kCancellation, "booked_reversal", std::move(original)};
  }
  if (t.credit_debit == CreditDebit::kDebit) return Ignore("debit");
  if (t.returned) return Ignore("returned_payment");
  if (t.amount.minor() == 0) return Ignore("zero_amount");
  // A reference the message shares between transactions, or one made up from the message's own
  // id, could book a resent or a second payment twice, or merge two into one: a person decides.
  if (t.reference_ambiguous) return Review("ambiguous_reference");
  if (t.reference_source == ReferenceSource::kMessagePosition) return Review("no_bank_reference");
  if (t.virtual_account.empty()) return Review("no_virtual_account");
  return {Action::kDeposit, "booked_credit", {}};
}

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kDeposit: return "deposit";
    case Action::kCancellation: return "cancellation";
    case Action::kIgnore: return "ignore";
    case Action::kReview: return "review";
  }
  return "review";
}

}  // namespace varelay::iso20022
