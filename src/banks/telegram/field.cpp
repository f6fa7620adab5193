#include "banks/telegram/field.h"

#include <string>

#include "banks/telegram/euc_kr.h"
#include "banks/telegram/field_io.h"
#include "domain/assert.h"

namespace varelay::telegram {
namespace {

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::unexpected<Error> WrongLength(std::string_view field, std::size_t width,
                                   std::string_view name) {
  return Fail(ErrorCode::kInvalidField,
              "expected " + std::to_string(width) + " bytes, got " + std::to_string(field.size()),
              std::string(name));
}

int DigitsValue(std::string_view s) {
  int value = 0;
  for (char c : s) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

std::optional<std::string> FormatNumeric(std::uint64_t value, std::size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() > width) return std::nullopt;
  return std::string(width - digits.size(), '0') + digits;
}

std::optional<std::string> FormatDigits(std::string_view digits, std::size_t width) {
  if (digits.size() > width || !AllDigits(digits)) return std::nullopt;
  return std::string(width - digits.size(), '0') + std::string(digits);
}

std::string FormatText(std::string_view utf8, std::size_t width) {
  return FitEucKrReplacing(utf8, width);
}

Result<std::uint64_t> ParseNumeric(std::string_view field, std::size_t width,
                                   std::string_view name) {
  VARELAY_ASSERT(width <= kMaxNumericWidth, "numeric field too wide for uint64");
  if (field.size() != width) return WrongLength(field, width, name);
  if (!AllDigits(field)) {
    return Fail(ErrorCode::kInvalidField, "not " + std::to_string(width) + " digits",
                std::string(name));
  }
  std::uint64_t value = 0;
  for (char c : field) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  return value;
}

Result<std::string> ParseDigits(std::string_view field, std::size_t width, std::string_view name) {
  if (field.size() != width) return WrongLength(field, width, name);
  if (!AllDigits(field)) {
    return Fail(ErrorCode::kInvalidField, "not " + std::to_string(width) + " digits",
                std::string(name));
  }
  return std::string(field);
}

Result<std::string> ParseText(std::string_view field, std::size_t width, std::string_view name) {
  if (field.size() != width) return WrongLength(field, width, name);
  auto text = DecodeEucKrField(field);
  if (!text) return Fail(text.error().code, text.error().detail, std::string(name));
  return text;
}

bool IsBlankNumeric(std::string_view field) {
  return field.find_first_not_of(' ') == std::string_view::npos ||
         field.find_first_not_of('0') == std::string_view::npos;
}

std::chrono::year_month_day KstDate(Instant t) {
  return std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(t + kKstOffset)};
}

Instant KstMidnight(std::chrono::year_month_day date) {
  return Instant(std::chrono::sys_days(date).time_since_epoch()) - kKstOffset;
}

std::string FormatDate(std::chrono::year_month_day date) {
  auto year = static_cast<std::uint64_t>(static_cast<int>(date.year()));
  VARELAY_INVARIANT(static_cast<int>(date.year()) >= 0 && year <= 9999,
                    "telegram dates have four-digit years");
  return *FormatNumeric(year, 4) + *FormatNumeric(unsigned(date.month()), 2) +
         *FormatNumeric(unsigned(date.day()), 2);
}

std::string FormatKstDateTime(Instant t) {
  using namespace std::chrono;
  auto local = floor<seconds>(t + kKstOffset);
  auto day = floor<days>(local);
  hh_mm_ss<seconds> hms{local - day};
  return FormatDate(year_month_day{day}) + *FormatNumeric(hms.hours().count(), 2) +
         *FormatNumeric(hms.minutes().count(), 2) + *FormatNumeric(hms.seconds().count(), 2);
}

Result<std::chrono::year_month_day> ParseDate(std::string_view field, std::string_view name) {
  using namespace std::chrono;
  if (field.size() != 8) return WrongLength(field, 8, name);
  if (!AllDigits(field))
    return Fail(ErrorCode::kInvalidField, "not a YYYYMMDD date", std::string(name));
  year_month_day date{year(DigitsValue(field.substr(0, 4))),
                      month(static_cast<unsigned>(DigitsValue(field.substr(4, 2)))),
                      day(static_cast<unsigned>(DigitsValue(field.substr(6, 2))))};
  if (!date.ok()) return Fail(ErrorCode::kInvalidField, "no such date", std::string(name));
  return date;
}

Result<Instant> ParseKstDateTime(std::string_view field, std::string_view name) {
  using namespace std::chrono;
  if (field.size() != 14) return WrongLength(field, 14, name);
  auto date = ParseDate(field.substr(0, 8), name);
  if (!date) return std::unexpected(date.error());
  std::string_view clock = field.substr(8);
  if (!AllDigits(clock))
    return Fail(ErrorCode::kInvalidField, "not a HHMMSS time", std::string(name));
  int h = DigitsValue(clock.substr(0, 2));
  int m = DigitsValue(clock.substr(2, 2));
  int s = DigitsValue(clock.substr(4, 2));
  if (h > 23 || m > 59 || s > 59) {
    return Fail(ErrorCode::kInvalidField, "no such time of day", std::string(name));
  }
  return KstMidnight(*date) + hours(h) + minutes(m) + seconds(s);
}

namespace detail {

void FieldWriter::Numeric(std::uint64_t value, std::size_t width, std::string_view name) {
  auto field = FormatNumeric(value, width);
  VARELAY_INVARIANT(field.has_value(), "value wider than its telegram field: " + std::string(name));
  out_ += *field;
}

void FieldWriter::Amount(std::int64_t won, std::size_t width, std::string_view name) {
  VARELAY_INVARIANT(won >= 0, "negative amount in a telegram field: " + std::string(name));
  Numeric(static_cast<std::uint64_t>(won), width, name);
}

void FieldWriter::Digits(std::string_view digits, std::size_t width, std::string_view name) {
  auto field = FormatDigits(digits, width);
  VARELAY_INVARIANT(field.has_value(),
                    "not digits or too long for its field: " + std::string(name));
  out_ += *field;
}

void FieldWriter::Date(std::optional<std::chrono::year_month_day> date) {
  out_ += date ? FormatDate(*date) : std::string(8, '0');
}

void FieldWriter::KstDateTime(std::optional<Instant> t) {
  out_ += t ? FormatKstDateTime(*t) : std::string(14, '0');
}

std::string_view FieldReader::Next(std::size_t width) {
  VARELAY_INVARIANT(pos_ + width <= bytes_.size(), "telegram layout longer than its bytes");
  std::string_view field = bytes_.substr(pos_, width);
  field_start_ = pos_;
  pos_ += width;
  return field;
}

std::string FieldReader::Name(std::string_view name) const {
  return std::string(scope_) + "." + std::string(name);
}

template <typename T>
T FieldReader::Keep(Result<T> result, T empty) {
  if (result) return std::move(*result);
  if (!error_) {
    Error error = std::move(result.error());
    error.detail = "offset " + std::to_string(field_start_) + ": " + error.detail;
    error_ = std::move(error);
  }
  return empty;
}

std::uint64_t FieldReader::Numeric(std::size_t width, std::string_view name) {
  std::string_view field = Next(width);
  return Keep<std::uint64_t>(ParseNumeric(field, width, Name(name)), 0);
}

std::uint64_t FieldReader::OptionalNumeric(std::size_t width, std::string_view name) {
  std::string_view field = Next(width);
  if (IsBlankNumeric(field)) return 0;
  return Keep<std::uint64_t>(ParseNumeric(field, width, Name(name)), 0);
}

std::string FieldReader::Digits(std::size_t width, std::string_view name) {
  std::string_view field = Next(width);
  return Keep<std::string>(ParseDigits(field, width, Name(name)), {});
}

std::string FieldReader::Text(std::size_t width, std::string_view name) {
  std::string_view field = Next(width);
  return Keep<std::string>(ParseText(field, width, Name(name)), {});
}

std::chrono::year_month_day FieldReader::Date(std::string_view name) {
  std::string_view field = Next(8);
  return Keep<std::chrono::year_month_day>(ParseDate(field, Name(name)), {});
}

std::optional<std::chrono::year_month_day> FieldReader::OptionalDate(std::string_view name) {
  std::string_view field = Next(8);
  if (IsBlankNumeric(field)) return std::nullopt;
  auto date = ParseDate(field, Name(name));
  if (!date)
    return Keep<std::optional<std::chrono::year_month_day>>(std::unexpected(date.error()), {});
  return *date;
}

Instant FieldReader::KstDateTime(std::string_view name) {
  std::string_view field = Next(14);
  return Keep<Instant>(ParseKstDateTime(field, Name(name)), {});
}

std::optional<Instant> FieldReader::OptionalKstDateTime(std::string_view name) {
  std::string_view field = Next(14);
  if (IsBlankNumeric(field)) return std::nullopt;
  auto t = ParseKstDateTime(field, Name(name));
  if (!t) return Keep<std::optional<Instant>>(std::unexpected(t.error()), {});
  return *t;
}

}  // namespace detail
}  // namespace varelay::telegram
