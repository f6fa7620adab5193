#include "domain/transfer.h"

#include <array>

namespace varelay {

namespace {
constexpr std::array<std::pair<TransferStatus, std::string_view>, 3> kStatusNames = {{
    {TransferStatus::kPending, "pending"},
    {TransferStatus::kCompleted, "completed"},
    {TransferStatus::kRefused, "refused"},
}};
}  // namespace

std::string_view TransferStatusName(TransferStatus status) {
  for (const auto& [s, name] : kStatusNames) {
    if (s == status) return name;
  }
  return "pending";
}

std::chrono::year_month_day KstDay(Instant t) {
  return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t + std::chrono::hours(9)));
}

std::optional<TransferStatus> ParseTransferStatus(std::string_view name) {
  for (const auto& [s, n] : kStatusNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

}  // namespace varelay

namespace varelay {

std::string_view TransferPurposeName(TransferPurpose purpose) {
  switch (purpose) {
    case TransferPurpose::kPayout: return "payout";
    case TransferPurpose::kDivisionDebit: return "division_debit";
    case TransferPurpose::kDivisionRefund: return "division_refund";
  }
  return "payout";
}

std::optional<TransferPurpose> ParseTransferPurpose(std::string_view name) {
  if (name == "payout") return TransferPurpose::kPayout;
  if (name == "division_debit") return TransferPurpose::kDivisionDebit;
  if (name == "division_refund") return TransferPurpose::kDivisionRefund;
  return std::nullopt;
}

}  // namespace varelay
