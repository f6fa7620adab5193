#include "domain/model.h"

namespace varelay {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kMerchant: return "merchant";
    case Role::kBank: return "bank";
    case Role::kMerchantPayouts: return "merchant_payouts";
    case Role::kNone: return "none";
    case Role::kMaster: return "master";
  }
  return "none";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "merchant") return Role::kMerchant;
  if (name == "bank") return Role::kBank;
  if (name == "merchant_payouts") return Role::kMerchantPayouts;
  if (name == "master") return Role::kMaster;
  return std::nullopt;
}

std::string_view BankProtocolName(BankProtocol protocol) {
  switch (protocol) {
    case BankProtocol::kJson: return "json";
    case BankProtocol::kTelegram: return "telegram";
    case BankProtocol::kIso20022: return "iso20022";
  }
  return "json";
}

std::optional<BankProtocol> ParseBankProtocol(std::string_view name) {
  for (auto p : {BankProtocol::kJson, BankProtocol::kTelegram, BankProtocol::kIso20022}) {
    if (BankProtocolName(p) == name) return p;
  }
  return std::nullopt;
}

std::string_view IssuanceName(Issuance issuance) {
  return issuance == Issuance::kRealtime ? "realtime" : "pool";
}

std::optional<Issuance> ParseIssuance(std::string_view name) {
  if (name == "pool") return Issuance::kPool;
  if (name == "realtime") return Issuance::kRealtime;
  return std::nullopt;
}

std::string_view NumberStateName(NumberState state) {
  switch (state) {
    case NumberState::kFree: return "free";
    case NumberState::kAssigned: return "assigned";
    case NumberState::kCooling: return "cooling";
  }
  return "free";
}

std::string_view AssignmentStatusName(AssignmentStatus status) {
  switch (status) {
    case AssignmentStatus::kOpen: return "open";
    case AssignmentStatus::kPaid: return "paid";
    case AssignmentStatus::kExpired: return "expired";
    case AssignmentStatus::kCancelled: return "cancelled";
  }
  return "open";
}

std::string_view DepositStatusName(DepositStatus status) {
  return status == DepositStatus::kCancelled ? "cancelled" : "booked";
}

}  // namespace varelay
