#include "statement.h"

#include <cstdio>

#include "domain/assert.h"

namespace varelay::banksim {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void AppendXmlElement(std::string& out, std::string_view tag, std::string_view text) {
  out += '<';
  out += tag;
  out += '>';
  out += XmlEscape(text);
  out += "</";
  out += tag;
  out += '>';
}

namespace {

std::string Compact(sys_days day) {
  std::string d = FormatDate(day);
  return d.substr(0, 4) + d.substr(5, 2) + d.substr(8, 2);
}

// "YYYYMMDDHHMMSS" in business time.
std::string CompactTime(Instant t) {
  std::string s = FormatBusinessTime(t);
  return s.substr(0, 4) + s.substr(5, 2) + s.substr(8, 2) + s.substr(11, 2) + s.substr(14, 2) +
         s.substr(17, 2);
}

std::string Abs(std::int64_t minor) { return std::to_string(minor < 0 ? -minor : minor); }

const char* Indicator(std::int64_t minor) { return minor < 0 ? "DBIT" : "CRDT"; }


void Amount(std::string& out, std::string_view tag, Money m) {
  out += "<" + std::string(tag) + " Ccy=\"" + std::string(m.currency().code()) + "\">" +
         Abs(m.minor()) + "</" + std::string(tag) + ">";
}

void Balance(std::string& out, std::string_view code, Money m, sys_days day) {
  out += "<Bal><Tp><CdOrPrtry><Cd>" + std::string(code) + "</Cd></CdOrPrtry></Tp>";
  Amount(out, "Amt", m);
  out += "<CdtDbtInd>" + std::string(Indicator(m.minor())) + "</CdtDbtInd><Dt><Dt>" +
         FormatDate(day) + "</Dt></Dt></Bal>";
}

void Account(std::string& out, std::string_view tag, std::string_view number) {
  out += "<" + std::string(tag) + "><Id><Othr>";
  AppendXmlElement(out, "Id", number);
  out += "</Othr></Id></" + std::string(tag) + ">";
}

void Entry(std::string& out, const StatementLine& line) {
  const Booking& b = line.booking;
  bool reversal = b.kind == BookingKind::kCancellation;
  const char* family = b.kind == BookingKind::kWithdrawal ? "ICDT"
                       : line.credit != reversal          ? "RCDT"
                                                          : "ICDT";
  out += "<Ntry>";
  Amount(out, "Amt", b.amount);
  out += std::string("<CdtDbtInd>") + (line.credit ? "CRDT" : "DBIT") + "</CdtDbtInd>";
  if (reversal) out += "<RvslInd>true</RvslInd>";
  out += "<Sts><Cd>BOOK</Cd></Sts>";
  out += "<BookgDt><DtTm>" + FormatBusinessTime(b.booked_at) + "</DtTm></BookgDt>";
  out += "<ValDt><Dt>" + FormatDate(BusinessDay(b.booked_at)) + "</Dt></ValDt>";
  AppendXmlElement(out, "AcctSvcrRef", b.id);
  out += std::string("<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>") + family +
         "</Cd><SubFmlyCd>OTHR</SubFmlyCd></Fmly></Domn></BkTxCd>";
  out += "<NtryDtls><TxDtls><Refs>";
  AppendXmlElement(out, "AcctSvcrRef", b.id);
  AppendXmlElement(out, "EndToEndId", b.kind == BookingKind::kWithdrawal ? b.reference : "NOTPROVIDED");
  AppendXmlElement(out, "TxId", b.kind == BookingKind::kCancellation ? b.original_id : b.id);
  out += "</Refs>";
  Amount(out, "Amt", b.amount);
  out += std::string("<CdtDbtInd>") + (line.credit ? "CRDT" : "DBIT") + "</CdtDbtInd>";
  if (b.kind != BookingKind::kWithdrawal) {
    // The payer and the virtual number paid into: the number is the creditor account of the
    // transaction, where a relay's camt reader looks for it.
    out += "<RltdPties>";
    if (!b.payer_name.empty()) {
      out += "<Dbtr><Pty>";
      AppendXmlElement(out, "Nm", b.payer_name);
      out += "</Pty></Dbtr>";
    }
    Account(out, "DbtrAcct", b.kind == BookingKind::kDeposit ? b.debit_account : b.credit_account);
    Account(out, "CdtrAcct", b.virtual_number);
    out += "</RltdPties>";
  }
  out += "</TxDtls></NtryDtls>";
  if (reversal) AppendXmlElement(out, "AddtlNtryInf", "cancels deposit " + b.original_id);
  out += "</Ntry>";
}

// ---- fixed-width fields
// ----------------------------------------------------------------------------

// Left-aligned, space-filled, cut at a character boundary.
void Text(std::string& out, std::string_view text, std::size_t width) {
  std::size_t n = std::min(text.size(), width);
  while (n > 0 && n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  out.append(text.substr(0, n));
  out.append(width - n, ' ');
}

// Right-aligned, zero-filled; a value too wide for its field is an invariant breach (the limits
// keep amounts within 13 digits and balances within 17).
void Number(std::string& out, std::uint64_t value, std::size_t width) {
  std::string digits = std::to_string(value);
  VARELAY_INVARIANT(digits.size() <= width, "a number does not fit its telegram field");
  out.append(width - digits.size(), '0');
  out += digits;
}

void Signed(std::string& out, std::int64_t value, std::size_t width) {
  out += value < 0 ? '-' : '+';
  Number(out, static_cast<std::uint64_t>(value < 0 ? -value : value), width);
}

void EndRecord(std::string& out, std::size_t start) {
  VARELAY_INVARIANT(out.size() - start <= kRecordBytes, "a telegram record is too long");
  out.append(kRecordBytes - (out.size() - start), ' ');
  out += '\n';
}

std::string KindCode(BookingKind kind) {
  switch (kind) {
    case BookingKind::kDeposit:
      return "20";
    case BookingKind::kCancellation:
      return "51";
    case BookingKind::kWithdrawal:
      return "30";
  }
  return "00";
}

}  // namespace

std::optional<sys_days> ParseDate(std::string_view text) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  y = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
  m = static_cast<unsigned>((text[5] - '0') * 10 + (text[6] - '0'));
  d = static_cast<unsigned>((text[8] - '0') * 10 + (text[9] - '0'));
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return sys_days(ymd);
}

std::string FormatDate(sys_days day) {
  std::chrono::year_month_day ymd{day};
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()));
  return buffer;
}

std::string FormatBusinessTime(Instant t) {
  auto local = std::chrono::floor<std::chrono::seconds>(t + kBusinessDayOffset);
  auto day = std::chrono::floor<days>(local);
  std::chrono::hh_mm_ss hms{local - day};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%sT%02d:%02d:%02d+09:00", FormatDate(day).c_str(),
                int(hms.hours().count()), int(hms.minutes().count()), int(hms.seconds().count()));
  return buffer;
}

std::string RenderCamt053(const std::vector<AccountStatement>& statements,
                          const StatementContext& context) {
  std::string date = FormatDate(context.day);
  std::string created = FormatBusinessTime(context.created_at);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out +=
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt><GrpHdr>";
  AppendXmlElement(out, "MsgId", "STMT" + context.bank_code + context.run_id + Compact(context.day));
  AppendXmlElement(out, "CreDtTm", created);
  out += "</GrpHdr>";
  for (const auto& s : statements) {
    std::int64_t credits = 0, debits = 0, credit_sum = 0, debit_sum = 0;
    for (const auto& line : s.lines) {
      (line.credit ? credits : debits) += 1;
      (line.credit ? credit_sum : debit_sum) += line.booking.amount.minor();
    }
    out += "<Stmt>";
    AppendXmlElement(out, "Id", context.bank_code + "-" + s.account.number + "-" + Compact(context.day));
    AppendXmlElement(out, "CreDtTm", created);
    out += "<FrToDt><FrDtTm>" + date + "T00:00:00+09:00</FrDtTm><ToDtTm>" + date +
           "T23:59:59+09:00</ToDtTm></FrToDt>";
    out += "<Acct><Id><Othr>";
    AppendXmlElement(out, "Id", s.account.number);
    out += "</Othr></Id>";
    AppendXmlElement(out, "Ccy", s.account.balance.currency().code());
    out += "<Ownr>";
    AppendXmlElement(out, "Nm", s.account.holder_name);
    out += "</Ownr><Svcr><FinInstnId><ClrSysMmbId>";
    AppendXmlElement(out, "MmbId", context.bank_code);
    out += "</ClrSysMmbId></FinInstnId></Svcr></Acct>";
    Balance(out, "OPBD", s.opening, context.day);
    Balance(out, "CLBD", s.closing, context.day);
    out += "<TxsSummry><TtlNtries><NbOfNtries>" + std::to_string(s.lines.size()) +
           "</NbOfNtries><Sum>" + std::to_string(credit_sum + debit_sum) +
           "</Sum><TtlNetNtry><Amt>" + Abs(credit_sum - debit_sum) + "</Amt><CdtDbtInd>" +
           Indicator(credit_sum - debit_sum) + "</CdtDbtInd></TtlNetNtry></TtlNtries>";
    out += "<TtlCdtNtries><NbOfNtries>" + std::to_string(credits) + "</NbOfNtries><Sum>" +
           std::to_string(credit_sum) + "</Sum></TtlCdtNtries><TtlDbtNtries><NbOfNtries>" +
           std::to_string(debits) + "</NbOfNtries><Sum>" + std::to_string(debit_sum) +
           "</Sum></TtlDbtNtries></TxsSummry>";
    for (const auto& line : s.lines) Entry(out, line);
    out += "</Stmt>";
  }
  out += "</BkToCstmrStmt></Document>\n";
  return out;
}

std::string RenderTelegramSummary(const std::vector<AccountStatement>& statements,
                                  const StatementContext& context) {
  std::string out;
  std::string date = Compact(context.day);
  for (const auto& s : statements) {
    std::size_t start = out.size();
    out += 'H';
    out += date;
    Text(out, context.bank_code, 3);
    Text(out, s.account.number, 20);
    Text(out, s.account.holder_name, 30);
    Signed(out, s.opening.minor(), 17);
    EndRecord(out, start);

    std::uint64_t credits = 0, debits = 0, credit_sum = 0, debit_sum = 0, seq = 0;
    for (const auto& line : s.lines) {
      const Booking& b = line.booking;
      start = out.size();
      out += 'D';
      Number(out, ++seq, 6);
      out += CompactTime(b.booked_at);
      out += KindCode(b.kind);
      out += line.credit ? '+' : '-';
      Number(out, static_cast<std::uint64_t>(b.amount.minor()), 13);
      Signed(out, line.balance_after.minor(), 17);
      Text(out, b.virtual_number, 16);
      Text(out, b.payer_name, 20);
      Text(out, b.id, 20);
      Text(out, b.original_id, 20);
      EndRecord(out, start);
      (line.credit ? credits : debits) += 1;
      (line.credit ? credit_sum : debit_sum) += static_cast<std::uint64_t>(b.amount.minor());
    }
    start = out.size();
    out += 'T';
    Number(out, credits, 6);
    Number(out, credit_sum, 17);
    Number(out, debits, 6);
    Number(out, debit_sum, 17);
    Signed(out, s.closing.minor(), 17);
    EndRecord(out, start);
  }
  return out;
}

}  // namespace varelay::banksim
