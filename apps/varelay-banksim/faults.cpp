#include "faults.h"

#include <charconv>
#include <cmath>

namespace varelay::banksim {
namespace {

// SplitMix64: a good 64-bit mixer, enough to turn (seed, kind, seq, attempt) into a uniform roll.
std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double Probability(const FaultPlan& plan, FaultKind kind) {
  switch (kind) {
    case FaultKind::kDuplicate:
      return plan.duplicate_p;
    case FaultKind::kDropAnswer:
      return plan.drop_answer_p;
    case FaultKind::kCancelAfter:
      return plan.cancel_after_p;
    case FaultKind::kDropTransferAnswer:
      return plan.drop_transfer_answer_p;
  }
  return 0;
}

std::optional<double> ParseSeconds(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0 ||
      value > 7 * 24 * 3600.0) {
    return std::nullopt;
  }
  return value;
}

std::string FormatProbability(double p) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, p);
  return ec == std::errc() ? std::string(buffer, end) : "?";
}

}  // namespace

bool FaultPlan::Any() const {
  return duplicate_p > 0 || reorder || delay.count() > 0 || drop_answer_p > 0 ||
         outage.has_value() || amount_off_minor != 0 || late.count() > 0 || cancel_after_p > 0 ||
         drop_transfer_answer_p > 0 || transfer_outage.has_value() || debit_delay.count() > 0;
}

std::optional<OutageWindow> ParseOutage(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto start = ParseSeconds(text.substr(0, colon));
  auto end = ParseSeconds(text.substr(colon + 1));
  if (!start || !end || *start >= *end) return std::nullopt;
  return OutageWindow{
      std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*start * 1000))),
      std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*end * 1000)))};
}

bool Strikes(const FaultPlan& plan, FaultKind kind, std::uint64_t notice_seq, int attempt) {
  double p = Probability(plan, kind);
  if (p <= 0) return false;
  if (p >= 1) return true;
  std::uint64_t x = Mix(plan.seed);
  x = Mix(x ^ (static_cast<std::uint64_t>(kind) + 1));
  x = Mix(x ^ notice_seq);
  x = Mix(x ^ static_cast<std::uint64_t>(attempt));
  double roll = static_cast<double>(x >> 11) / static_cast<double>(1ULL << 53);
  return roll < p;
}

namespace {
bool Inside(const std::optional<OutageWindow>& window, std::chrono::milliseconds since_start) {
  return window && since_start >= window->start && since_start < window->end;
}
}  // namespace

bool InOutage(const FaultPlan& plan, std::chrono::milliseconds since_start) {
  return Inside(plan.outage, since_start);
}

bool InTransferOutage(const FaultPlan& plan, std::chrono::milliseconds since_start) {
  return Inside(plan.transfer_outage, since_start);
}

Money NotifiedAmount(const FaultPlan& plan, Money booked) {
  std::int64_t off = plan.amount_off_minor;
  std::int64_t amount = booked.minor() + off;
  if (amount < 1) amount = booked.minor() + (off < 0 ? -off : off);
  if (amount > kMaxAmountMinor) amount = kMaxAmountMinor;
  if (amount < 1) amount = 1;
  return Money(amount, booked.currency());
}

std::string DescribeFaults(const FaultPlan& plan) {
  if (!plan.Any()) return "faults: none";
  std::string out = "faults:";
  if (plan.duplicate_p > 0) out += " duplicate=" + FormatProbability(plan.duplicate_p);
  if (plan.reorder) out += " reorder";
  if (plan.delay.count() > 0) out += " delay=" + std::to_string(plan.delay.count()) + "ms";
  if (plan.drop_answer_p > 0) out += " drop-answer=" + FormatProbability(plan.drop_answer_p);
  if (plan.outage) {
    out += " outage=" + std::to_string(plan.outage->start.count()) + "ms.." +
           std::to_string(plan.outage->end.count()) + "ms";
  }
  if (plan.amount_off_minor != 0) out += " amount-off=" + std::to_string(plan.amount_off_minor);
  if (plan.late.count() > 0) out += " late=" + std::to_string(plan.late.count()) + "s";
  if (plan.cancel_after_p > 0) out += " cancel-after=" + FormatProbability(plan.cancel_after_p);
  if (plan.drop_transfer_answer_p > 0)
    out += " drop-transfer-answer=" + FormatProbability(plan.drop_transfer_answer_p);
  if (plan.transfer_outage) {
    out += " transfer-outage=" + std::to_string(plan.transfer_outage->start.count()) + "ms.." +
           std::to_string(plan.transfer_outage->end.count()) + "ms";
  }
  if (plan.debit_delay.count() > 0) out += " debit-delay=" + std::to_string(plan.debit_delay.count()) + "ms";
  out += " seed=" + std::to_string(plan.seed);
  return out;
}

}  // namespace varelay::banksim
