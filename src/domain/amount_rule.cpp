#include "domain/amount_rule.h"

#include "domain/assert.h"

namespace varelay {

std::string_view AmountRuleKindName(AmountRuleKind kind) {
  switch (kind) {
    case AmountRuleKind::kExact: return "exact";
    case AmountRuleKind::kRange: return "range";
    case AmountRuleKind::kOpen: return "open";
    case AmountRuleKind::kAccumulate: return "accumulate";
  }
  return "exact";
}

std::optional<AmountRuleKind> ParseAmountRuleKind(std::string_view name) {
  if (name == "exact") return AmountRuleKind::kExact;
  if (name == "range") return AmountRuleKind::kRange;
  if (name == "open") return AmountRuleKind::kOpen;
  if (name == "accumulate") return AmountRuleKind::kAccumulate;
  return std::nullopt;
}

std::string_view OverpaymentName(Overpayment o) {
  return o == Overpayment::kPark ? "park" : "refuse";
}

std::optional<Overpayment> ParseOverpayment(std::string_view name) {
  if (name == "refuse") return Overpayment::kRefuse;
  if (name == "park") return Overpayment::kPark;
  return std::nullopt;
}

std::string_view DepositOutcomeName(DepositOutcome outcome) {
  switch (outcome) {
    case DepositOutcome::kMatched: return "matched";
    case DepositOutcome::kPartial: return "partial";
    case DepositOutcome::kOverpaid: return "overpaid";
    case DepositOutcome::kAmountMismatch: return "amount_mismatch";
    case DepositOutcome::kUnknownNumber: return "unknown_number";
    case DepositOutcome::kNotAssigned: return "not_assigned";
    case DepositOutcome::kLate: return "late";
  }
  return "unknown_number";
}

bool AcceptsAmount(const Expectation& expected, std::int64_t amount_minor) {
  if (amount_minor <= 0) return false;
  switch (expected.rule.kind) {
    case AmountRuleKind::kExact:
      return amount_minor == expected.amount_minor;
    case AmountRuleKind::kRange:
      return amount_minor >= expected.rule.min_minor && amount_minor <= expected.rule.max_minor;
    case AmountRuleKind::kOpen:
      return true;
    case AmountRuleKind::kAccumulate: {
      std::int64_t remaining = expected.amount_minor - expected.paid_minor;
      return remaining > 0 &&
             (amount_minor <= remaining || expected.rule.overpayment == Overpayment::kPark);
    }
  }
  return false;
}

Allocation Allocate(const Expectation& expected, std::int64_t amount_minor) {
  VARELAY_INVARIANT(amount_minor > 0, "a deposit has a positive amount");
  const Allocation parked{DepositOutcome::kAmountMismatch, 0, amount_minor, false};
  switch (expected.rule.kind) {
    case AmountRuleKind::kExact:
    case AmountRuleKind::kRange:
    case AmountRuleKind::kOpen:
      if (!AcceptsAmount(expected, amount_minor)) return parked;
      return {DepositOutcome::kMatched, amount_minor, 0, true};
    case AmountRuleKind::kAccumulate: {
      std::int64_t remaining = expected.amount_minor - expected.paid_minor;
      if (amount_minor < remaining) return {DepositOutcome::kPartial, amount_minor, 0, false};
      if (amount_minor == remaining) return {DepositOutcome::kMatched, amount_minor, 0, true};
      if (expected.rule.overpayment == Overpayment::kRefuse || remaining <= 0) return parked;
      return {DepositOutcome::kOverpaid, remaining, amount_minor - remaining, true};
    }
  }
  return parked;
}

}  // namespace varelay
