// Per-assignment amount policy: what the bank's pre-check accepts and how a deposit that arrived
// is split between the merchant and suspense. The same rule answers both, so a pre-checked
// deposit is never parked.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace varelay {

enum class AmountRuleKind { kExact, kRange, kOpen, kAccumulate };
enum class Overpayment { kRefuse, kPark };

struct AmountRule {
  AmountRuleKind kind = AmountRuleKind::kExact;
  std::int64_t min_minor = 0;  // kRange only
  std::int64_t max_minor = 0;  // kRange only
  Overpayment overpayment = Overpayment::kRefuse;  // kAccumulate only

  friend bool operator==(const AmountRule&, const AmountRule&) = default;
};

std::string_view AmountRuleKindName(AmountRuleKind kind);
std::optional<AmountRuleKind> ParseAmountRuleKind(std::string_view name);
std::string_view OverpaymentName(Overpayment o);
std::optional<Overpayment> ParseOverpayment(std::string_view name);

enum class DepositOutcome {
  kMatched,         // the order is paid in full
  kPartial,         // accumulate: part of the total arrived
  kOverpaid,        // accumulate with overpayment=park: paid in full, the excess parked
  kAmountMismatch,  // breaks the rule: parked whole, the order stays open
  kUnknownNumber,   // not a number of ours at that bank: parked
  kNotAssigned,     // a pooled number with no order: parked
  kLate,            // after the due time or during quarantine: parked, attributed to that order
};

std::string_view DepositOutcomeName(DepositOutcome outcome);

// What an open assignment expects, as the rule sees it.
struct Expectation {
  AmountRule rule;
  std::int64_t amount_minor;       // the order's amount (the total, under accumulate)
  std::int64_t paid_minor;         // already credited to the merchant
};

// The pre-check: would a deposit of `amount_minor` be taken without breaking the rule?
bool AcceptsAmount(const Expectation& expected, std::int64_t amount_minor);

// How one deposit into an open assignment is booked.
struct Allocation {
  DepositOutcome outcome;
  std::int64_t to_merchant_minor;
  std::int64_t to_suspense_minor;
  bool completes_order;
};

// Splits a deposit of `amount_minor` that arrived for an open assignment. Never drops money:
// to_merchant + to_suspense == amount_minor always.
Allocation Allocate(const Expectation& expected, std::int64_t amount_minor);

}  // namespace varelay
