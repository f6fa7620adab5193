#include "banks/telegram_connector.h"

#include <cstdio>

#include "banks/telegram/euc_kr.h"
#include "banks/telegram/field.h"
#include "domain/identifiers.h"

namespace varelay::banks {
namespace {

using telegram::RejectReason;

// Numbers are right-padded with spaces in their 16-byte field; a bank may also zero-fill on the
// left. Neither is part of the number.
std::string Trimmed(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

std::optional<Command> DepositCommand(const telegram::Header& h, const telegram::DepositNotice& n) {
  const std::string number = Trimmed(n.virtual_account);
  const auto sent_on = telegram::KstDate(h.sent_at);
  if (n.kind == telegram::TransactionKind::kDeposit) {
    DepositNotice c;
    c.transaction_id = TelegramTransactionId(sent_on, h.sequence, number);
    c.number = number;
    c.amount = Money(n.amount_won, Currency::Krw());
    c.payer_name = Trimmed(n.depositor_name);
    c.deposited_at = n.transacted_at;
    return c;
  }
  if (n.kind == telegram::TransactionKind::kCancellation && h.original_date) {
    CancelDeposit c;
    c.transaction_id = TelegramTransactionId(sent_on, h.sequence, number);
    c.original_transaction_id = TelegramTransactionId(*h.original_date, h.original_sequence, number);
    c.cancelled_at = n.transacted_at;
    return c;
  }
  return std::nullopt;
}

}  // namespace

std::string TelegramTransactionId(std::chrono::year_month_day date, std::uint32_t sequence, std::string_view number) {
  char text[32];
  std::snprintf(text, sizeof text, "tg:%04d%02u%02u:%06u:", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), sequence);
  return text + std::string(number);
}

TelegramAction ActionFor(const telegram::Telegram& request) {
  TelegramAction action;
  if (const auto* notice = std::get_if<telegram::DepositNotice>(&request.body)) {
    action.command = DepositCommand(request.header, *notice);
    if (!action.command) action.reject = RejectReason::kFormatError;
    if (action.command) {
      const auto* deposit = std::get_if<DepositNotice>(&*action.command);
      if (deposit && (!IsVirtualAccountNumber(deposit->number) || deposit->amount.minor() <= 0)) {
        action.command.reset();
        action.reject = deposit->amount.minor() <= 0 ? RejectReason::kFormatError : RejectReason::kUnknownNumber;
      }
    }
    return action;
  }
  if (const auto* inquiry = std::get_if<telegram::ReceivabilityInquiry>(&request.body)) {
    // A cancellation is always accepted: the money is going back to the payer.
    if (inquiry->kind == telegram::TransactionKind::kCancellation) {
      action.accept_at_once = true;
      return action;
    }
    std::string number = Trimmed(inquiry->virtual_account);
    if (!IsVirtualAccountNumber(number)) {
      action.reject = RejectReason::kUnknownNumber;
    } else if (inquiry->amount_won <= 0) {
      action.reject = RejectReason::kAmountMismatch;
    } else {
      action.command = Precheck{number, Money(inquiry->amount_won, Currency::Krw()), Trimmed(inquiry->payer_name)};
    }
    return action;
  }
  // Holder inquiries, withdrawals, result inquiries, missing-sequence requests and consent
  // registrations go from the relay to a bank, not the other way.
  action.reject = RejectReason::kFormatError;
  return action;
}

std::optional<SequenceGaps::Gap> SequenceGaps::Observe(const std::string& bank, std::chrono::year_month_day day,
                                                      std::uint32_t sequence) {
  const int day_number = std::chrono::sys_days(day).time_since_epoch().count();
  auto [it, first] = highest_.try_emplace({bank, day_number}, sequence);
  // Days long past are forgotten: one entry per bank and day is all that is kept.
  std::erase_if(highest_, [&](const auto& e) { return e.first.second < day_number - 1; });
  if (first || sequence <= it->second) return std::nullopt;
  Gap gap{it->second + 1, sequence - 1};
  it->second = sequence;
  if (gap.from > gap.to) return std::nullopt;
  return gap;
}

telegram::Telegram MissingSequenceRequestFor(const telegram::Header& seen, SequenceGaps::Gap gap,
                                             std::uint32_t relay_sequence, Instant now) {
  telegram::Header h;
  h.identification_code = seen.identification_code;
  h.institution_code = seen.institution_code;
  h.bank_code_legacy = seen.bank_code_legacy;
  h.bank_code = seen.bank_code;
  h.sequence = relay_sequence;
  h.sent_at = std::chrono::time_point_cast<std::chrono::seconds>(now);
  telegram::MissingSequenceRequest body;
  body.date = telegram::KstDate(seen.sent_at);
  body.from_sequence = gap.from;
  body.to_sequence = gap.to;
  return telegram::MakeRequest(h, body);
}

RejectReason ReasonFor(PrecheckRefusal refusal) {
  switch (refusal) {
    case PrecheckRefusal::kUnknownNumber: return RejectReason::kUnknownNumber;
    case PrecheckRefusal::kNotAssigned: return RejectReason::kNotAssigned;
    case PrecheckRefusal::kExpired: return RejectReason::kExpired;
    case PrecheckRefusal::kAmountMismatch: return RejectReason::kAmountMismatch;
    case PrecheckRefusal::kMerchantInactive: return RejectReason::kMerchantInactive;
  }
  return RejectReason::kSystemError;
}

RejectReason ReasonFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kTransactionIdConflict: return RejectReason::kDuplicate;
    case ErrorCode::kNotFound: return RejectReason::kUnknownNumber;  // a cancellation of nothing we know
    case ErrorCode::kInvalidField:
    case ErrorCode::kInvalidAmount:
    case ErrorCode::kMissingField: return RejectReason::kFormatError;
    default: return RejectReason::kSystemError;
  }
}

std::string AnswerWith(const telegram::Telegram& request, std::optional<RejectReason> reason,
                       const telegram::RejectCodeTable& codes) {
  std::string code = reason ? std::string(codes.CodeFor(request.header.bank_code, *reason))
                            : std::string(telegram::kResponseOk);
  auto answer = telegram::MakeResponse(request, code);
  // ActionFor is only ever asked about requests, so MakeResponse cannot refuse here.
  return answer ? telegram::Encode(*answer) : std::string();
}

std::string AnswerFor(const telegram::Telegram& request, const Result<Outcome>& outcome,
                      const telegram::RejectCodeTable& codes) {
  if (!outcome) return AnswerWith(request, ReasonFor(outcome.error()), codes);
  if (const auto* pre = std::get_if<PrecheckAnswer>(&*outcome)) {
    if (pre->refusal) return AnswerWith(request, ReasonFor(*pre->refusal), codes);
    auto answer = telegram::MakeResponse(request, telegram::kResponseOk);
    if (!answer) return {};
    auto& inquiry = std::get<telegram::ReceivabilityInquiry>(answer->body);
    inquiry.holder_name = pre->holder_name;  // the codec fits it to 30 EUC-KR bytes
    inquiry.end_at = pre->due_at;
    return telegram::Encode(*answer);
  }
  return AnswerWith(request, std::nullopt, codes);  // a deposit or cancellation, booked or a re-send
}

}  // namespace varelay::banks
