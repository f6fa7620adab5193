#include "banks/telegram/reject_codes.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "domain/identifiers.h"

namespace varelay::telegram {
namespace {

struct ReasonRow {
  RejectReason reason;
  std::string_view name;
  std::string_view default_code;
};

// Defaults: the relay's own codes, 01xx for business refusals, 09xx for the telegram or the relay.
constexpr std::array<ReasonRow, kRejectReasonCount> kReasons = {{
    {RejectReason::kUnknownNumber, "unknown_number", "0101"},
    {RejectReason::kNotAssigned, "not_assigned", "0102"},
    {RejectReason::kExpired, "expired", "0103"},
    {RejectReason::kAmountMismatch, "amount_mismatch", "0104"},
    {RejectReason::kMerchantInactive, "merchant_inactive", "0105"},
    {RejectReason::kDuplicate, "duplicate", "0106"},
    {RejectReason::kFormatError, "format_error", "0901"},
    {RejectReason::kSystemError, "system_error", "0999"},
}};

std::size_t Index(RejectReason reason) { return static_cast<std::size_t>(reason); }

bool IsResponseCode(std::string_view code) {
  if (code.size() != 4) return false;
  for (char c : code) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!alnum) return false;
  }
  return true;
}

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (true) {
    pos = line.find_first_not_of(" \t", pos);
    if (pos == std::string_view::npos) break;
    std::size_t end = line.find_first_of(" \t", pos);
    if (end == std::string_view::npos) end = line.size();
    words.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

std::unexpected<Error> LineError(std::size_t line_number, std::string detail) {
  return Fail(ErrorCode::kInvalidField, "line " + std::to_string(line_number) + ": " + detail,
              "reject_codes");
}

}  // namespace

std::string_view RejectReasonName(RejectReason reason) { return kReasons[Index(reason)].name; }

std::optional<RejectReason> ParseRejectReason(std::string_view name) {
  for (const ReasonRow& row : kReasons) {
    if (row.name == name) return row.reason;
  }
  return std::nullopt;
}

std::string_view DefaultRejectCode(RejectReason reason) {
  return kReasons[Index(reason)].default_code;
}

Result<RejectCodeTable> RejectCodeTable::Parse(std::string_view config_text) {
  RejectCodeTable table;
  std::map<std::pair<std::string, RejectReason>, std::size_t> seen_on_line;
  std::size_t line_number = 0;
  while (!config_text.empty()) {
    ++line_number;
    std::size_t end = config_text.find('\n');
    std::string_view line = config_text.substr(0, end);
    config_text = end == std::string_view::npos ? std::string_view() : config_text.substr(end + 1);
    line = line.substr(0, line.find('#'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> words = Words(line);
    if (words.empty()) continue;
    if (words.size() != 3) {
      return LineError(line_number, "expected '<bank code> <reason> <code>', got " +
                                        std::to_string(words.size()) + " words");
    }
    if (!IsBankCode(words[0])) {
      return LineError(line_number, "bank code '" + std::string(words[0]) + "' is not 3 digits");
    }
    auto reason = ParseRejectReason(words[1]);
    if (!reason) return LineError(line_number, "unknown reason '" + std::string(words[1]) + "'");
    if (!IsResponseCode(words[2])) {
      return LineError(line_number,
                       "code '" + std::string(words[2]) + "' is not 4 ASCII letters or digits");
    }
    auto [it, inserted] =
        seen_on_line.emplace(std::pair(std::string(words[0]), *reason), line_number);
    if (!inserted) {
      return LineError(line_number, "bank " + std::string(words[0]) + " " + std::string(words[1]) +
                                        " already given on line " + std::to_string(it->second));
    }
    table.codes_[std::string(words[0])][Index(*reason)] = std::string(words[2]);
  }
  return table;
}

Result<RejectCodeTable> RejectCodeTable::Load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kNotFound, "cannot read " + path.string(), "reject_codes");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Fail(ErrorCode::kNotFound, "cannot read " + path.string(), "reject_codes");
  auto table = Parse(text.str());
  if (!table) table.error().detail = path.string() + ": " + table.error().detail;
  return table;
}

std::string_view RejectCodeTable::CodeFor(std::string_view bank_code, RejectReason reason) const {
  auto bank = codes_.find(bank_code);
  if (bank == codes_.end() || bank->second[Index(reason)].empty()) return DefaultRejectCode(reason);
  return bank->second[Index(reason)];
}

}  // namespace varelay::telegram
