// EUC-KR (KS X 1001) text for bank telegrams, converted with glibc iconv. Field lengths in a
// telegram are bytes: ASCII takes one, a Hangul syllable or other KS X 1001 character takes two.
// Thread-safe: each thread keeps its own converters.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "domain/error.h"

namespace varelay::telegram {

// Converts UTF-8 to EUC-KR. Fails (kInvalidField) on malformed UTF-8 and on characters EUC-KR
// cannot represent (emoji, Hangul syllables outside the 2,350 of KS X 1001 such as "똠", C1
// controls U+0080..U+009F).
Result<std::string> Utf8ToEucKr(std::string_view utf8);

// Converts EUC-KR to UTF-8. Fails (kInvalidField) on any byte sequence that is not EUC-KR: a byte
// 0x80..0xA0 or 0xFF, a lead byte without its trail byte, an unassigned code. CP949 (UHC)
// extension characters (lead bytes 0x81..0xA0) are therefore refused, not misread.
Result<std::string> EucKrToUtf8(std::string_view euc_kr);

// Encodes `utf8` and fits it into exactly `max_bytes` bytes: cut at the last whole character that
// fits (a 2-byte character is never split) and padded with spaces. Fails like Utf8ToEucKr.
Result<std::string> FitEucKr(std::string_view utf8, std::size_t max_bytes);

// As FitEucKr, but total: each malformed UTF-8 byte and each character EUC-KR cannot represent
// becomes '?'. Used when encoding a telegram, which must always produce its bytes.
std::string FitEucKrReplacing(std::string_view utf8, std::size_t max_bytes);

// Decodes a received text field: trailing spaces are trimmed, the rest converted to UTF-8.
// Fails like EucKrToUtf8.
Result<std::string> DecodeEucKrField(std::string_view field);

}  // namespace varelay::telegram
