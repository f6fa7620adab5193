#include "domain/identifiers.h"

#include <algorithm>
#include <cstdint>

namespace varelay {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

bool AllDigits(std::string_view s) { return std::all_of(s.begin(), s.end(), IsDigit); }

}  // namespace

bool IsBankCode(std::string_view s) { return s.size() == 3 && AllDigits(s); }

bool IsMerchantId(std::string_view s) {
  if (s.empty() || s.size() > 64 || !(IsLower(s[0]) || IsDigit(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsLower(c) || IsDigit(c) || c == '_' || c == '-'; });
}

bool IsRegion(std::string_view s) {
  if (s.empty() || s.size() > 32 || !(IsLower(s[0]) || IsDigit(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLower(c) || IsDigit(c) || c == '-'; });
}

bool IsExternalId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return IsLower(c) || IsUpper(c) || IsDigit(c) || c == '.' || c == '_' || c == ':' || c == '-';
  });
}

bool IsVirtualAccountNumber(std::string_view s) {
  return s.size() >= 6 && s.size() <= 16 && AllDigits(s);
}

bool IsMotherAccountNumber(std::string_view s) {
  return s.size() >= 6 && s.size() <= 20 && AllDigits(s);
}

bool IsIdempotencyKey(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(extra) >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

bool IsCleanText(std::string_view s, std::size_t max_chars) {
  std::size_t chars = 0;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
    if ((c & 0xC0) != 0x80) ++chars;  // count code points by their lead bytes
  }
  return chars >= 1 && chars <= max_chars;
}

}  // namespace varelay
