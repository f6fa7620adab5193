#include "banks/telegram/euc_kr.h"

#include <iconv.h>

#include <cerrno>
#include <string>

#include "domain/identifiers.h"

namespace varelay::telegram {
namespace {

// One iconv descriptor per thread and direction: iconv_t is not safe to share between threads,
// and opening one per call would cost a gconv look-up per field.
class Converter {
 public:
  Converter(const char* to, const char* from) : cd_(iconv_open(to, from)) {}
  ~Converter() {
    if (ok()) iconv_close(cd_);
  }
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;

  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }

  // Converts `in` from the first byte on and appends to `out`. Returns the offset of the first
  // input byte that could not be converted (errno-style `error` set to EILSEQ or EINVAL), or
  // in.size() when everything converted.
  std::size_t Convert(std::string_view in, std::string& out, int& error) {
    iconv(cd_, nullptr, nullptr, nullptr, nullptr);  // back to the initial state after a failure
    char* in_ptr = const_cast<char*>(in.data());     // iconv's signature; it does not write input
    std::size_t in_left = in.size();
    error = 0;
    while (in_left > 0) {
      // 2 bytes per input byte covers both directions (EUC-KR 2 bytes -> UTF-8 3 bytes).
      std::size_t start = out.size();
      std::size_t room = 2 * in_left + 4;
      out.resize(start + room);
      char* out_ptr = out.data() + start;
      std::size_t out_left = room;
      std::size_t rc = iconv(cd_, &in_ptr, &in_left, &out_ptr, &out_left);
      out.resize(start + (room - out_left));
      if (rc == static_cast<std::size_t>(-1) && errno != E2BIG) {
        error = errno;
        break;
      }
    }
    return in.size() - in_left;
  }

 private:
  iconv_t cd_;
};

Converter& ToEucKr() {
  thread_local Converter converter("EUC-KR", "UTF-8");
  return converter;
}

Converter& FromEucKr() {
  thread_local Converter converter("UTF-8", "EUC-KR");
  return converter;
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Length of the UTF-8 sequence at the start of `s` if it is well formed, else 1 (skip one byte).
std::size_t Utf8SequenceLength(std::string_view s) {
  auto lead = static_cast<unsigned char>(s[0]);
  std::size_t n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (n > s.size() || !IsValidUtf8(s.substr(0, n))) return 1;
  return n;
}

// glibc's EUC-KR passes C1 controls (0x80..0x9F) through as single bytes. They are no part of
// KS X 1001 text, and they are how CP949 (UHC) extension characters start: reading them as C1
// would turn such a name into silent garbage, so they are refused both ways.
bool IsC1(unsigned char b) { return b >= 0x80 && b <= 0x9F; }

// Offset of the first byte that cannot start an EUC-KR character, or npos.
std::size_t FirstBadLeadByte(std::string_view euc_kr) {
  for (std::size_t i = 0; i < euc_kr.size();) {
    auto b = static_cast<unsigned char>(euc_kr[i]);
    if (b < 0x80) {
      ++i;
    } else if (b >= 0xA1 && b <= 0xFE) {
      i += 2;  // iconv checks the trail byte
    } else {
      return i;
    }
  }
  return std::string_view::npos;
}

// Keeps whole characters of an EUC-KR string up to `max_bytes` and pads with spaces.
std::string CutAndPad(std::string_view euc_kr, std::size_t max_bytes) {
  std::size_t end = 0;
  while (end < euc_kr.size()) {
    std::size_t width = static_cast<unsigned char>(euc_kr[end]) < 0x80 ? 1 : 2;
    if (end + width > max_bytes) break;
    end += width;
  }
  std::string out(euc_kr.substr(0, end));
  out.resize(max_bytes, ' ');
  return out;
}

}  // namespace

Result<std::string> Utf8ToEucKr(std::string_view utf8) {
  if (IsAscii(utf8)) return std::string(utf8);
  Converter& converter = ToEucKr();
  if (!converter.ok()) return Fail(ErrorCode::kInternal, "iconv has no EUC-KR converter");
  std::string out;
  int error = 0;
  std::size_t done = converter.Convert(utf8, out, error);
  if (error == 0) {
    for (char c : out) {
      if (IsC1(static_cast<unsigned char>(c))) {
        return Fail(ErrorCode::kInvalidField, "C1 control characters are not EUC-KR text");
      }
    }
  }
  if (error != 0) {
    return Fail(ErrorCode::kInvalidField,
                (error == EILSEQ ? "not representable in EUC-KR or not UTF-8 at byte "
                                 : "truncated UTF-8 at byte ") +
                    std::to_string(done));
  }
  return out;
}

Result<std::string> EucKrToUtf8(std::string_view euc_kr) {
  if (IsAscii(euc_kr)) return std::string(euc_kr);
  if (std::size_t bad = FirstBadLeadByte(euc_kr); bad != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidField, "not EUC-KR at byte " + std::to_string(bad));
  }
  Converter& converter = FromEucKr();
  if (!converter.ok()) return Fail(ErrorCode::kInternal, "iconv has no EUC-KR converter");
  std::string out;
  int error = 0;
  std::size_t done = converter.Convert(euc_kr, out, error);
  if (error != 0) {
    return Fail(ErrorCode::kInvalidField, "not EUC-KR at byte " + std::to_string(done));
  }
  return out;
}

Result<std::string> FitEucKr(std::string_view utf8, std::size_t max_bytes) {
  auto encoded = Utf8ToEucKr(utf8);
  if (!encoded) return std::unexpected(encoded.error());
  return CutAndPad(*encoded, max_bytes);
}

std::string FitEucKrReplacing(std::string_view utf8, std::size_t max_bytes) {
  if (IsAscii(utf8)) return CutAndPad(utf8, max_bytes);
  Converter& converter = ToEucKr();
  std::string out;
  std::size_t pos = 0;
  // Stop once the output is long enough: a hostile or careless name cannot make this loop long.
  while (pos < utf8.size() && out.size() <= max_bytes) {
    int error = 0;
    if (converter.ok()) pos += converter.Convert(utf8.substr(pos), out, error);
    if (pos >= utf8.size()) break;
    out.push_back('?');
    pos += Utf8SequenceLength(utf8.substr(pos));
  }
  for (char& c : out) {
    if (IsC1(static_cast<unsigned char>(c))) c = '?';
  }
  return CutAndPad(out, max_bytes);
}

Result<std::string> DecodeEucKrField(std::string_view field) {
  // Safe on raw bytes: a space (0x20) is never the trail byte of a 2-byte EUC-KR character.
  std::size_t end = field.find_last_not_of(' ');
  return EucKrToUtf8(end == std::string_view::npos ? std::string_view() : field.substr(0, end + 1));
}

}  // namespace varelay::telegram
