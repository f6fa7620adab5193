// The strict reader json_codec.cpp decodes request bodies with, shared with the division
// routes' codecs (division_codec.cpp): every problem of a body is collected, not just the first.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "api/json_codec.h"
#include "banks/telegram/frame.h"
#include "domain/identifiers.h"
#include "domain/money.h"
#include "domain/time.h"

namespace varelay::api::json_reader {
namespace json = boost::json;

inline constexpr std::size_t kMaxUrlChars = 2048;
inline bool IsUrlText(std::string_view s) { return !s.empty() && s.size() <= kMaxUrlChars && IsCleanText(s, kMaxUrlChars); }

// Reads the members of one JSON object, collecting every problem instead of stopping at the first.
class Reader {
 public:
  Reader(const json::object& object, RequestError& sink, std::string prefix = {})
      : object_(object), sink_(sink), prefix_(std::move(prefix)) {}

  // A required or optional string checked by `valid`; "" when absent or wrong.
  std::string Text(std::string_view key, bool required, bool (*valid)(std::string_view),
                   std::string_view reason) {
    const json::value* v = Find(key, required);
    if (!v) return {};
    if (!v->is_string()) return Bad(ErrorCode::kInvalidField, key, "must be a string"), std::string();
    std::string_view s = v->get_string();
    if (!valid(s)) return Bad(ErrorCode::kInvalidField, key, std::string(reason)), std::string();
    return std::string(s);
  }

  // A name-like field: 1..max_chars characters, no control characters.
  std::string Name(std::string_view key, bool required, std::size_t max_chars) {
    const json::value* v = Find(key, required);
    if (!v) return {};
    if (!v->is_string()) return Bad(ErrorCode::kInvalidField, key, "must be a string"), std::string();
    std::string_view s = v->get_string();
    if (!IsCleanText(s, max_chars)) {
      Bad(ErrorCode::kInvalidField, key,
          "must be 1 to " + std::to_string(max_chars) + " characters without control characters");
      return {};
    }
    return std::string(s);
  }

  // Like Name, but an empty string is the same as absent (banks often send a blank payer name).
  std::string OptionalName(std::string_view key, std::size_t max_chars) {
    const json::value* v = object_.if_contains(key);
    if (v && v->is_string() && v->get_string().empty()) return {};
    if (v && v->is_string() && !IsCleanText(v->get_string(), max_chars)) {
      Bad(ErrorCode::kInvalidField, key,
          "must be 0 to " + std::to_string(max_chars) + " characters without control characters");
      return {};
    }
    return Name(key, false, max_chars);
  }

  std::optional<std::int64_t> Integer(std::string_view key, bool required, std::int64_t min,
                                      std::int64_t max) {
    const json::value* v = Find(key, required);
    if (!v) return std::nullopt;
    if (!v->is_int64() || v->get_int64() < min || v->get_int64() > max) {
      Bad(ErrorCode::kInvalidField, key,
          "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return std::nullopt;
    }
    return v->get_int64();
  }

  // An amount in minor units: a JSON integer from 1 to kMaxAmountMinor. Fractions, exponents,
  // strings and overflowing numbers are all refused, never rounded.
  std::int64_t Amount(std::string_view key, bool required) {
    const json::value* v = Find(key, required);
    if (!v) return 0;
    if (v->is_int64() && v->get_int64() >= 1 && v->get_int64() <= kMaxAmountMinor) return v->get_int64();
    Bad(ErrorCode::kInvalidAmount, key, "must be an integer number of minor units from 1 to 9999999999999");
    return 0;
  }

  Currency CurrencyCode(std::string_view key) {
    const json::value* v = Find(key, false);
    if (!v) return Currency::Krw();
    if (!v->is_string()) return Bad(ErrorCode::kUnknownCurrency, key, "must be an ISO 4217 code"), Currency::Krw();
    auto c = Currency::FromCode(v->get_string());
    if (!c) return Bad(ErrorCode::kUnknownCurrency, key, "is not a currency the relay knows"), Currency::Krw();
    return *c;
  }

  std::optional<Instant> Time(std::string_view key, bool required) {
    const json::value* v = Find(key, required);
    if (!v) return std::nullopt;
    std::optional<Instant> t;
    if (v->is_string()) t = ParseRfc3339(v->get_string());
    if (!t) Bad(ErrorCode::kInvalidField, key, "must be an RFC 3339 date-time such as 2026-11-25T10:00:00Z");
    return t;
  }

  // An optional true/false; nullopt when absent (or null) or wrong.
  std::optional<bool> Boolean(std::string_view key) {
    const json::value* v = Find(key, false);
    if (!v) return std::nullopt;
    if (!v->is_bool()) return Bad(ErrorCode::kInvalidField, key, "must be true or false"), std::nullopt;
    return v->get_bool();
  }

  const json::object* Object(std::string_view key) {
    const json::value* v = Find(key, false);
    if (!v) return nullptr;
    if (!v->is_object()) return Bad(ErrorCode::kInvalidField, key, "must be an object"), nullptr;
    return &v->get_object();
  }

  const json::array* Array(std::string_view key, bool required) {
    const json::value* v = Find(key, required);
    if (!v) return nullptr;
    if (!v->is_array()) return Bad(ErrorCode::kInvalidField, key, "must be an array"), nullptr;
    return &v->get_array();
  }

  // Where the relay reaches a bank: "HOST:PORT" (a telegram bank) or an http(s) base URL. The
  // engine checks that the form fits the bank's protocol.
  std::string Endpoint(std::string_view key) {
    return Text(key, true, [](std::string_view s) {
      return telegram::ParseHostPort(s).has_value() ||
             (IsUrlText(s) && (s.starts_with("http://") || s.starts_with("https://")));
    }, "must be HOST:PORT (a telegram bank) or an http:// or https:// base URL");
  }

  // Refuses members not in `known`: a misspelt optional field must not pass silently.
  void NoOthers(std::initializer_list<std::string_view> known) {
    for (const auto& member : object_) {
      if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
        Bad(ErrorCode::kUnknownField, member.key(), "is not a field of this request");
      }
    }
  }

  void Bad(ErrorCode code, std::string_view key, std::string reason) {
    if (sink_.fields.empty()) sink_.error = Error{code, FieldName(key) + " " + reason, FieldName(key)};
    sink_.fields.push_back({FieldName(key), std::move(reason)});
  }

  std::string FieldName(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

 private:
  const json::value* Find(std::string_view key, bool required) {
    const json::value* v = object_.if_contains(key);
    if (v && v->is_null() && !required) return nullptr;  // explicit null means absent
    if (!v || v->is_null()) {
      if (required) Bad(ErrorCode::kMissingField, key, "is required");
      return nullptr;
    }
    return v;
  }

  const json::object& object_;
  RequestError& sink_;
  std::string prefix_;
};

template <typename T>
inline Decoded<T> Finish(RequestError& sink, T value) {
  if (!sink.fields.empty()) return std::unexpected(std::move(sink));
  return value;
}

}  // namespace varelay::api::json_reader
