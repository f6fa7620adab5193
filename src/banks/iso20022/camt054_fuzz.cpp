// libFuzzer target: any bytes given to ReadCamt054 (and ReadCamt053, which shares the entry code)
// are refused with an error or read to transactions whose amounts are non-negative and within the
// relay's bound, whose dedupe references are valid relay transaction ids and distinct, and whose
// classification never turns anything but a booked credit to a virtual account into a deposit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "banks/iso20022/camt.h"
#include "domain/assert.h"
#include "domain/identifiers.h"

namespace {

using namespace varelay;
using namespace varelay::iso20022;

void CheckTransactions(const std::vector<Transaction>& transactions,
                       std::unordered_set<std::string>& references) {
  for (const Transaction& t : transactions) {
    VARELAY_INVARIANT(t.amount.minor() >= 0, "a negative amount was read");
    VARELAY_INVARIANT(t.amount.minor() <= kMaxAmountMinor, "an amount beyond the relay's bound");
    VARELAY_INVARIANT(IsExternalId(t.dedupe_reference), "a dedupe reference the relay refuses");
    VARELAY_INVARIANT(references.insert(t.dedupe_reference).second, "a repeated dedupe reference");
    Classification verdict = Classify(t);
    if (verdict.action == Action::kDeposit) {
      VARELAY_INVARIANT(t.status == EntryStatus::kBooked && t.credit_debit == CreditDebit::kCredit &&
                            !t.reversal && !t.returned && t.amount.minor() > 0 &&
                            !t.virtual_account.empty() && !t.reference_ambiguous,
                        "a deposit that is not a plain booked credit to a virtual account");
    }
    if (verdict.action == Action::kCancellation) {
      VARELAY_INVARIANT(t.reversal && IsExternalId(verdict.original_reference),
                        "a cancellation without a usable original reference");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  // The first byte picks where the virtual account is read from, so all three paths are fuzzed.
  ReadOptions options;
  if (size > 0) {
    options.virtual_account_source = static_cast<VirtualAccountSource>(data[0] % 3);
    if (data[0] & 0x80) options.local_utc_offset = std::chrono::hours(9);
  }
  std::unordered_set<std::string> references;
  if (auto notification = ReadCamt054(xml, options)) {
    CheckTransactions(notification->transactions, references);
  }
  references.clear();
  if (auto statement = ReadCamt053(xml, options)) {
    for (const AccountStatement& s : statement->statements) {
      CheckTransactions(s.transactions, references);
    }
  }
  return 0;
}
