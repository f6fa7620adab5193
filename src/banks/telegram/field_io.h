// Sequential writer and reader of fixed-width fields, shared by the header and body codecs (not
// part of the public interface). Layouts read as tables: one call per field, in offset order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "banks/telegram/field.h"
#include "domain/error.h"
#include "domain/time.h"

namespace varelay::telegram::detail {

// Appends fields. A number or digit string wider than its field is a programming error (the caller
// range-checks amounts against kMaxAmountMinor, the 13-digit width): it stops the process rather
// than send a truncated amount. Text never fails (see FormatText).
class FieldWriter {
 public:
  explicit FieldWriter(std::size_t size) { out_.reserve(size); }

  void Numeric(std::uint64_t value, std::size_t width, std::string_view name);
  // A signed amount in won; negative is a programming error like an overflow.
  void Amount(std::int64_t won, std::size_t width, std::string_view name);
  void Digits(std::string_view digits, std::size_t width, std::string_view name);
  void Text(std::string_view utf8, std::size_t width) { out_ += FormatText(utf8, width); }
  // Absent values are written as zeros.
  void Date(std::optional<std::chrono::year_month_day> date);
  void KstDateTime(std::optional<Instant> t);
  void Spare(std::size_t width) { out_.append(width, ' '); }

  std::size_t size() const { return out_.size(); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads fields in order from exactly the bytes of one layout. The first failure is kept and later
// reads return empty values, so a decoder reads every field and checks error() once at the end.
class FieldReader {
 public:
  // `scope` prefixes field names in errors: "header", "body".
  FieldReader(std::string_view bytes, std::string_view scope) : bytes_(bytes), scope_(scope) {}

  std::uint64_t Numeric(std::size_t width, std::string_view name);
  // Like Numeric, but spaces or zeros only read as 0 (an optional number: "not given").
  std::uint64_t OptionalNumeric(std::size_t width, std::string_view name);
  std::string Digits(std::size_t width, std::string_view name);
  std::string Text(std::size_t width, std::string_view name);
  std::chrono::year_month_day Date(std::string_view name);
  std::optional<std::chrono::year_month_day> OptionalDate(std::string_view name);
  Instant KstDateTime(std::string_view name);
  std::optional<Instant> OptionalKstDateTime(std::string_view name);
  // Spare bytes are not checked: banks fill them with spaces, zeros or NULs.
  void Skip(std::size_t width) { Next(width); }

  std::size_t offset() const { return pos_; }
  const std::optional<Error>& error() const { return error_; }

 private:
  std::string_view Next(std::size_t width);
  std::string Name(std::string_view name) const;
  template <typename T>
  T Keep(Result<T> result, T empty);

  std::string_view bytes_;
  std::string_view scope_;
  std::size_t pos_ = 0;
  std::size_t field_start_ = 0;
  std::optional<Error> error_;
};

}  // namespace varelay::telegram::detail
