// Account-holder inquiries (a merchant asks a bank whose name an account is in): who may ask, how
// often, and what is kept of each (docs/architecture.md, "Account-holder inquiries"). Pure rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "domain/masking.h"  // MaskAccount, for account_masked
#include "domain/time.h"

namespace varelay {

// Inquiries a merchant may make per minute unless `--holder-inquiries-per-minute` says otherwise.
inline constexpr int kDefaultHolderInquiriesPerMinute = 30;
inline constexpr int kMaxHolderInquiriesPerMinute = 100'000;
// Inquiries asked and not yet answered the relay keeps at most (all merchants together); beyond
// it a new inquiry is refused 503 overloaded. Each is a few hundred bytes; the rate limit and the
// bank timeout keep the honest number far below.
inline constexpr std::size_t kMaxOpenHolderInquiries = 10'000;
// An inquiry still open this long after the bank's timeout has lost its outcome (its submission
// was refused: the relay overloaded or stopping); it is recorded `failed` and forgotten.
inline constexpr Millis kHolderInquiryExpiryMargin{std::chrono::seconds(30)};

enum class HolderInquiryOutcome { kAsked, kFound, kNotFound, kFailed };
std::string_view HolderInquiryOutcomeName(HolderInquiryOutcome outcome);
std::optional<HolderInquiryOutcome> ParseHolderInquiryOutcome(std::string_view name);

// What is kept of one inquiry, for operators: recorded `asked` before the bank is asked, then
// with its outcome. Never the holder's name, never the whole account number.
struct HolderInquiryRecord {
  std::string id;  // "hiq_" + 20 chars
  std::string merchant;
  std::string key_id;  // the API key that asked
  std::string bank;
  std::string account_masked;  // MaskAccount of the account asked about
  HolderInquiryOutcome outcome = HolderInquiryOutcome::kAsked;
  Instant asked_at{};
  std::optional<Instant> answered_at;
  friend bool operator==(const HolderInquiryRecord&, const HolderInquiryRecord&) = default;
};

// A token bucket per merchant: `per_minute` inquiries at once, then one every 60/per_minute
// seconds. Memory: one entry per merchant that asked.
class InquiryRateLimit {
 public:
  explicit InquiryRateLimit(int per_minute) : per_minute_(per_minute) {}
  // Takes a token for `merchant` at `now`; when none is left, how long until one is.
  std::optional<Millis> Take(const std::string& merchant, Instant now);

 private:
  struct Bucket {
    double tokens = 0;
    Instant at{};
  };
  int per_minute_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace varelay
