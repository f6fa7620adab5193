// What a merchant may pay out (docs/architecture.md, "Pay-out limits"): a cap per transfer, a cap per
// Asia/Seoul calendar day, and an optional list of the only recipients allowed. Pure rules: the
// engine holds the policies and the day's running sums and applies these under its single writer.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/time.h"

namespace varelay {

// Defaults for a merchant no operator has set limits for, in won: about what a Korean bank allows
// an ordinary account online.
inline constexpr std::int64_t kDefaultPayoutPerTransferMaxMinor = 5'000'000;
inline constexpr std::int64_t kDefaultPayoutDailyMaxMinor = 20'000'000;
// The most an operator may set either cap to (the largest amount a transfer carries).
inline constexpr std::int64_t kMaxPayoutLimitMinor = 9'999'999'999'999;
// Recipients on one merchant's allow-list, at most.
inline constexpr std::size_t kMaxPayoutRecipients = 1000;

struct PayoutRecipient {
  std::string bank;     // KFTC 3-digit code
  std::string account;  // digits
  friend auto operator<=>(const PayoutRecipient&, const PayoutRecipient&) = default;
};

struct PayoutPolicy {
  std::string merchant;
  std::int64_t per_transfer_max_minor = kDefaultPayoutPerTransferMaxMinor;
  std::int64_t daily_max_minor = kDefaultPayoutDailyMaxMinor;
  // Empty: any recipient. Otherwise the only (bank, account) pairs transfers may go to, sorted.
  std::vector<PayoutRecipient> recipients;
  Instant updated_at{};
  friend bool operator==(const PayoutPolicy&, const PayoutPolicy&) = default;
};

enum class PayoutRefusal { kOverPerTransferLimit, kOverDailyLimit, kRecipientNotAllowed };

// Why a transfer of `amount_minor` (> 0) to `recipient` may not go, given what the merchant's
// transfers of the day that have not failed already hold (`used_today_minor`); nullopt: it may.
std::optional<PayoutRefusal> CheckPayout(const PayoutPolicy& policy, std::int64_t amount_minor,
                                         std::int64_t used_today_minor, const PayoutRecipient& recipient);

// The Asia/Seoul calendar day `at` falls on (UTC+9 all year: Korea keeps no daylight saving).
std::chrono::year_month_day SeoulDay(Instant at);
// When that day began (00:00 in Seoul), as an instant.
Instant SeoulDayStart(std::chrono::year_month_day day);

// The day's running sums of pay-outs per merchant: what a transfer reserves when it is created,
// until it is refused (then released). Only one day is held: the first reservation of a new day
// forgets the last.
class PayoutDay {
 public:
  // The amount `merchant`'s transfers of `day` hold.
  std::int64_t Used(const std::string& merchant, std::chrono::year_month_day day) const;
  void Reserve(const std::string& merchant, std::chrono::year_month_day day, std::int64_t amount_minor);
  // A refused transfer of `day` gives its amount back; one of another day changes nothing.
  void Release(const std::string& merchant, std::chrono::year_month_day day, std::int64_t amount_minor);

 private:
  std::chrono::year_month_day day_{};
  std::map<std::string, std::int64_t, std::less<>> used_;
};

}  // namespace varelay
