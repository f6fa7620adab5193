// SHA-256 as lowercase hex: for the ledger's hash chain, API key hashes and request fingerprints.
#pragma once

#include <string>
#include <string_view>

namespace varelay {

std::string Sha256Hex(std::string_view data);

// HMAC-SHA256 of `data` keyed by `key`, as lowercase hex.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// Compares two strings in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace varelay
