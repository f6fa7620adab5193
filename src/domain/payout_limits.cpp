#include "domain/payout_limits.h"

#include <algorithm>

namespace varelay {

std::optional<PayoutRefusal> CheckPayout(const PayoutPolicy& policy, std::int64_t amount_minor,
                                         std::int64_t used_today_minor, const PayoutRecipient& recipient) {
  if (!policy.recipients.empty() &&
      !std::binary_search(policy.recipients.begin(), policy.recipients.end(), recipient)) {
    return PayoutRefusal::kRecipientNotAllowed;
  }
  if (amount_minor > policy.per_transfer_max_minor) return PayoutRefusal::kOverPerTransferLimit;
  // Both sides are at most kMaxPayoutLimitMinor-sized sums of bounded amounts: no overflow.
  if (used_today_minor + amount_minor > policy.daily_max_minor) return PayoutRefusal::kOverDailyLimit;
  return std::nullopt;
}

namespace {
constexpr std::chrono::hours kSeoulOffset{9};
}

std::chrono::year_month_day SeoulDay(Instant at) {
  return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(at + kSeoulOffset));
}

Instant SeoulDayStart(std::chrono::year_month_day day) {
  return std::chrono::time_point_cast<Millis>(std::chrono::sys_days(day) - kSeoulOffset);
}

std::int64_t PayoutDay::Used(const std::string& merchant, std::chrono::year_month_day day) const {
  if (day != day_) return 0;
  auto it = used_.find(merchant);
  return it == used_.end() ? 0 : it->second;
}

void PayoutDay::Reserve(const std::string& merchant, std::chrono::year_month_day day, std::int64_t amount_minor) {
  if (day != day_) {
    if (day < day_) return;  // a day already past is never reserved against again
    day_ = day;
    used_.clear();
  }
  used_[merchant] += amount_minor;
}

void PayoutDay::Release(const std::string& merchant, std::chrono::year_month_day day, std::int64_t amount_minor) {
  if (day != day_) return;
  auto it = used_.find(merchant);
  if (it == used_.end()) return;
  it->second = std::max<std::int64_t>(0, it->second - amount_minor);
}

}  // namespace varelay
