// Money is integer minor units with an ISO 4217 currency; never a double, never a bare integer
// crossing a function boundary.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"

namespace varelay {

class Currency {
 public:
  // Looks up an ISO 4217 alphabetic code ("KRW"); nullopt when the relay does not know it.
  static std::optional<Currency> FromCode(std::string_view code);
  static Currency Krw();

  std::string_view code() const { return {code_.data(), code_.size()}; }
  // Number of fraction digits (KRW 0, USD 2, KWD 3).
  int exponent() const { return exponent_; }

  friend bool operator==(const Currency&, const Currency&) = default;

 private:
  Currency(std::array<char, 3> code, int exponent) : code_(code), exponent_(exponent) {}
  std::array<char, 3> code_;
  int exponent_;
};

// The largest amount the relay accepts: 13 digits, the width of a bank telegram's amount field.
inline constexpr std::int64_t kMaxAmountMinor = 9'999'999'999'999;

class Money {
 public:
  Money(std::int64_t minor, Currency currency) : minor_(minor), currency_(currency) {}

  std::int64_t minor() const { return minor_; }
  Currency currency() const { return currency_; }

  friend bool operator==(const Money&, const Money&) = default;

 private:
  std::int64_t minor_;
  Currency currency_;
};

// Validates an amount given in minor units: positive and at most kMaxAmountMinor.
Result<std::int64_t> CheckPositiveAmount(std::int64_t minor_units, std::string_view field);

// Converts a decimal string ("1234.50") to minor units of `currency` exactly. More fraction digits
// than the currency has is an error, never rounded (ISO 20022 amounts may carry five).
Result<std::int64_t> ParseDecimalAmount(std::string_view text, Currency currency);

// Formats minor units as a decimal string with the currency's exponent ("1234.50").
std::string FormatDecimalAmount(std::int64_t minor_units, Currency currency);

}  // namespace varelay
