#include "domain/money.h"

#include <algorithm>
#include <charconv>

namespace varelay {
namespace {

struct CurrencyRow {
  std::string_view code;
  int exponent;
};

// The currencies a bank can plausibly notify us in. The exponent is what matters for exact
// conversion; the list is sorted for binary search.
constexpr std::array kCurrencies = {
    CurrencyRow{"AUD", 2}, CurrencyRow{"BHD", 3}, CurrencyRow{"CAD", 2}, CurrencyRow{"CHF", 2},
    CurrencyRow{"CNY", 2}, CurrencyRow{"DKK", 2}, CurrencyRow{"EUR", 2}, CurrencyRow{"GBP", 2},
    CurrencyRow{"HKD", 2}, CurrencyRow{"IDR", 2}, CurrencyRow{"INR", 2}, CurrencyRow{"JOD", 3},
    CurrencyRow{"JPY", 0}, CurrencyRow{"KRW", 0}, CurrencyRow{"KWD", 3}, CurrencyRow{"MYR", 2},
    CurrencyRow{"NOK", 2}, CurrencyRow{"NZD", 2}, CurrencyRow{"OMR", 3}, CurrencyRow{"PHP", 2},
    CurrencyRow{"SEK", 2}, CurrencyRow{"SGD", 2}, CurrencyRow{"THB", 2}, CurrencyRow{"TND", 3},
    CurrencyRow{"TWD", 2}, CurrencyRow{"USD", 2}, CurrencyRow{"VND", 0},
};

constexpr bool SortedByCode() {
  for (std::size_t i = 1; i < kCurrencies.size(); ++i) {
    if (!(kCurrencies[i - 1].code < kCurrencies[i].code)) return false;
  }
  return true;
}
static_assert(SortedByCode());

}  // namespace

std::optional<Currency> Currency::FromCode(std::string_view code) {
  auto it = std::lower_bound(kCurrencies.begin(), kCurrencies.end(), code,
                             [](const CurrencyRow& row, std::string_view c) { return row.code < c; });
  if (it == kCurrencies.end() || it->code != code) return std::nullopt;
  return Currency({it->code[0], it->code[1], it->code[2]}, it->exponent);
}

Currency Currency::Krw() { return Currency({'K', 'R', 'W'}, 0); }

Result<std::int64_t> CheckPositiveAmount(std::int64_t minor_units, std::string_view field) {
  if (minor_units <= 0) {
    return Fail(ErrorCode::kInvalidAmount, "must be a positive integer in minor units",
                std::string(field));
  }
  if (minor_units > kMaxAmountMinor) {
    return Fail(ErrorCode::kInvalidAmount, "must be at most 9999999999999 minor units",
                std::string(field));
  }
  return minor_units;
}

Result<std::int64_t> ParseDecimalAmount(std::string_view text, Currency currency) {
  auto bad = [&](std::string detail) { return Fail(ErrorCode::kInvalidAmount, std::move(detail)); };
  if (text.empty() || text.size() > 32) return bad("amount must be a decimal number");
  std::string_view whole = text;
  std::string_view fraction;
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    whole = text.substr(0, dot);
    fraction = text.substr(dot + 1);
    if (fraction.empty()) return bad("amount has a dot with no digits after it");
  }
  auto all_digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || !all_digits(whole) || !all_digits(fraction)) {
    return bad("amount must be a non-negative decimal number");
  }
  // Trailing zeros carry no value ("12.50000" in CHF is 1250 minor units).
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  if (static_cast<int>(fraction.size()) > currency.exponent()) {
    return bad("amount has more fraction digits than " + std::string(currency.code()) + " allows");
  }
  std::int64_t minor = 0;
  for (char c : whole) {
    if (minor > (kMaxAmountMinor - (c - '0')) / 10) return bad("amount is too large");
    minor = minor * 10 + (c - '0');
  }
  for (int i = 0; i < currency.exponent(); ++i) {
    int digit = i < static_cast<int>(fraction.size()) ? fraction[i] - '0' : 0;
    if (minor > (kMaxAmountMinor - digit) / 10) return bad("amount is too large");
    minor = minor * 10 + digit;
  }
  return minor;
}

std::string FormatDecimalAmount(std::int64_t minor_units, Currency currency) {
  std::string digits = std::to_string(minor_units < 0 ? -minor_units : minor_units);
  const auto exponent = static_cast<std::size_t>(currency.exponent());
  if (exponent > 0) {
    if (digits.size() <= exponent) digits.insert(0, exponent + 1 - digits.size(), '0');
    digits.insert(digits.size() - exponent, 1, '.');
  }
  if (minor_units < 0) digits.insert(0, 1, '-');
  return digits;
}

}  // namespace varelay
