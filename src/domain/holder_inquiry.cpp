#include "domain/holder_inquiry.h"

#include <algorithm>
#include <cmath>

namespace varelay {

std::string_view HolderInquiryOutcomeName(HolderInquiryOutcome outcome) {
  switch (outcome) {
    case HolderInquiryOutcome::kAsked: return "asked";
    case HolderInquiryOutcome::kFound: return "found";
    case HolderInquiryOutcome::kNotFound: return "not_found";
    case HolderInquiryOutcome::kFailed: return "failed";
  }
  return "asked";
}

std::optional<HolderInquiryOutcome> ParseHolderInquiryOutcome(std::string_view name) {
  for (auto o : {HolderInquiryOutcome::kAsked, HolderInquiryOutcome::kFound, HolderInquiryOutcome::kNotFound,
                 HolderInquiryOutcome::kFailed}) {
    if (HolderInquiryOutcomeName(o) == name) return o;
  }
  return std::nullopt;
}

std::optional<Millis> InquiryRateLimit::Take(const std::string& merchant, Instant now) {
  const double capacity = per_minute_;
  const double per_ms = capacity / 60'000.0;
  auto [it, fresh] = buckets_.try_emplace(merchant, Bucket{capacity, now});
  Bucket& b = it->second;
  if (!fresh && now > b.at) {
    b.tokens = std::min(capacity, b.tokens + static_cast<double>((now - b.at).count()) * per_ms);
    b.at = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  return Millis(static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) / per_ms)));
}

}  // namespace varelay
