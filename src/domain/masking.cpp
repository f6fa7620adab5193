#include "domain/masking.h"

#include <cstddef>
#include <vector>

namespace varelay {
namespace {

// The text cut into its characters (code points, as byte ranges). A broken sequence never reads
// past the end: a lead byte promising more bytes than are left, or a stray continuation byte,
// is one character of what is there.
std::vector<std::string_view> Characters(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = lead < 0x80    ? 1
                         : lead >= 0xF0 ? 4
                         : lead >= 0xE0 ? 3
                         : lead >= 0xC0 ? 2
                                        : 1;
    std::size_t end = i + 1;
    while (end < text.size() && end < i + length &&
           (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
      ++end;
    out.push_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto at = text.find(separator, start);
    parts.push_back(
        text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// A name of one word keeps its first character (unless that is all of it) and its last (from three
// characters on); a word of a longer name keeps its first character only.
std::string MaskWord(std::string_view word, bool whole_name) {
  const auto chars = Characters(word);
  std::string out;
  for (std::size_t i = 0; i < chars.size(); ++i) {
    const bool first = i == 0 && (!whole_name || chars.size() > 1);
    const bool last = whole_name && chars.size() > 2 && i + 1 == chars.size();
    const bool shown = first || last;
    out += shown ? std::string(chars[i]) : std::string("*");
  }
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Digits outside [first, size - last) become '*'; everything else stays.
std::string MaskDigitsBetween(std::string_view text, std::size_t first, std::size_t last) {
  std::size_t digits = 0;
  for (char c : text) digits += IsDigit(c) ? 1 : 0;
  std::string out;
  std::size_t seen = 0;
  for (char c : text) {
    if (!IsDigit(c)) {
      out += c;
      continue;
    }
    out += (seen < first || seen + last >= digits) ? c : '*';
    ++seen;
  }
  return out;
}

}  // namespace

std::string MaskName(std::string_view name) {
  const auto words = Split(name, ' ');
  if (words.size() == 1) return MaskWord(name, /*whole_name=*/true);
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += ' ';
    out += MaskWord(words[i], /*whole_name=*/false);
  }
  return out;
}

std::string MaskPhone(std::string_view phone) {
  const char separator = phone.find('-') != std::string_view::npos ? '-' : ' ';
  const auto groups = Split(phone, separator);
  if (groups.size() == 1) {
    std::size_t digits = 0;
    for (char c : phone) digits += IsDigit(c) ? 1 : 0;
    return MaskDigitsBetween(phone, digits >= 10 ? 3 : 0, 4);
  }
  std::string out;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) out += separator;
    const bool shown = (i == 0 && groups.size() > 2) || i + 1 == groups.size();
    out += shown ? std::string(groups[i]) : MaskDigitsBetween(groups[i], 0, 0);
  }
  return out;
}

std::string MaskAccount(std::string_view account) {
  const std::size_t shown = account.size() > 4 ? 4 : (account.empty() ? 0 : 1);
  std::string masked(account.size() - shown, '*');
  masked += account.substr(account.size() - shown);
  return masked;
}

std::string MaskBirthDate(std::string_view birth_date) {
  return birth_date.empty() ? "" : "****-**-**";
}

std::string MaskEmail(std::string_view email) {
  if (email.empty()) return {};
  const auto at = email.rfind('@');
  const std::string_view local = email.substr(0, at);
  const auto chars = Characters(local);
  std::string out = chars.empty() ? "" : std::string(chars.front());
  out += "***";
  if (at != std::string_view::npos) out += email.substr(at);
  return out;
}

}  // namespace varelay
