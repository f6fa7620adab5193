// Shapes of the identifiers that cross the relay's boundaries. Each check is total: any byte
// string is either accepted or rejected, nothing is normalised behind the caller's back.
#pragma once

#include <cstddef>
#include <string_view>

namespace varelay {

// KFTC 3-digit bank code: "004".
bool IsBankCode(std::string_view s);
// Merchant id chosen by the operator: ^[a-z0-9][a-z0-9_-]{0,63}$.
bool IsMerchantId(std::string_view s);
// Pool region tag: ^[a-z0-9][a-z0-9-]{0,31}$.
bool IsRegion(std::string_view s);
// Order id or bank transaction id: ^[A-Za-z0-9._:-]{1,64}$.
bool IsExternalId(std::string_view s);
// Virtual account number: 6 to 16 digits (the telegram field is 16 bytes).
bool IsVirtualAccountNumber(std::string_view s);
// Mother (real) account number: 6 to 20 digits.
bool IsMotherAccountNumber(std::string_view s);
// Idempotency-Key header value: 1 to 255 printable ASCII characters.
bool IsIdempotencyKey(std::string_view s);
// Well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool IsValidUtf8(std::string_view s);
// Free text such as a name: valid UTF-8 is assumed (the JSON parser checks it); 1..max_chars
// code points, no control characters.
bool IsCleanText(std::string_view s, std::size_t max_chars);

}  // namespace varelay
