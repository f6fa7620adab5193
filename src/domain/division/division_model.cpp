#include "domain/division/division_model.h"

#include <array>

namespace varelay {
namespace {

constexpr std::array<std::string_view, 8> kPaymentStatusNames = {
    "awaiting_credentials", "awaiting_approval", "debiting", "approved", "declined", "expired",
    "partially_refunded", "refunded"};

}  // namespace

std::string_view MasterStatusName(MasterStatus status) {
  return status == MasterStatus::kSuspended ? "suspended" : "active";
}

std::string_view DivisionPaymentStatusName(DivisionPaymentStatus status) {
  return kPaymentStatusNames[static_cast<std::size_t>(status)];
}

std::optional<DivisionPaymentStatus> ParseDivisionPaymentStatus(std::string_view name) {
  for (std::size_t i = 0; i < kPaymentStatusNames.size(); ++i) {
    if (kPaymentStatusNames[i] == name) return static_cast<DivisionPaymentStatus>(i);
  }
  return std::nullopt;
}

bool HoldsLimits(DivisionPaymentStatus status) {
  return status == DivisionPaymentStatus::kAwaitingApproval || status == DivisionPaymentStatus::kDebiting ||
         status == DivisionPaymentStatus::kApproved || status == DivisionPaymentStatus::kPartiallyRefunded;
}

std::string_view ApprovalStatusName(ApprovalStatus status) {
  switch (status) {
    case ApprovalStatus::kPending: return "pending";
    case ApprovalStatus::kApproved: return "approved";
    case ApprovalStatus::kDeclined: return "declined";
    case ApprovalStatus::kTimedOut: return "timed_out";
  }
  return "pending";
}

}  // namespace varelay
