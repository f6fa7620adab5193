#include "banks/telegram/bodies.h"

#include "banks/telegram/field_io.h"
#include "domain/assert.h"

namespace varelay::telegram {
namespace {

using detail::FieldReader;
using detail::FieldWriter;

std::string Finish(FieldWriter& w, std::string_view layout) {
  VARELAY_INVARIANT(w.size() == kBodyBytes, std::string(layout) + " body layout is not 200 bytes");
  return w.Take();
}

template <typename Body>
Result<Body> Check(const FieldReader& r, Body body, std::string_view layout) {
  VARELAY_INVARIANT(r.offset() == kBodyBytes,
                    std::string(layout) + " body layout is not 200 bytes");
  if (r.error()) return std::unexpected(*r.error());
  return body;
}

Result<void> CheckSize(std::string_view bytes) {
  if (bytes.size() == kBodyBytes) return {};
  return Fail(ErrorCode::kInvalidField, "body is " + std::to_string(bytes.size()) + " bytes",
              "body");
}

TransactionKind ReadKind(FieldReader& r) {
  return static_cast<TransactionKind>(r.Numeric(2, "transaction_kind"));
}

std::int64_t ReadAmount(FieldReader& r, std::size_t width, std::string_view name) {
  return static_cast<std::int64_t>(r.Numeric(width, name));
}

}  // namespace

std::string EncodeBody(const DepositNotice& b) {
  FieldWriter w(kBodyBytes);
  w.Text(b.mother_account, 15);
  VARELAY_INVARIANT(b.record_count >= 0, "negative record count");
  w.Numeric(static_cast<std::uint64_t>(b.record_count), 2, "record_count");
  w.Numeric(static_cast<std::uint64_t>(b.kind), 2, "transaction_kind");
  w.Digits(b.bank_code_legacy, 2, "bank_code_legacy");
  w.Amount(b.amount_won, 13, "amount");
  w.Amount(b.balance_won, 13, "balance");
  w.Text(b.branch_giro_code, 6);
  w.Text(b.depositor_name, 14);
  w.Text(b.cheque_number, 10);
  w.Amount(b.cash_won, 13, "cash");
  w.Amount(b.other_bank_cheque_won, 13, "other_bank_cheque");
  w.Amount(b.other_cheques_won, 13, "other_cheques");
  w.Text(b.virtual_account, 16);
  w.KstDateTime(b.transacted_at);
  w.Text(b.passbook_serial, 6);
  w.Digits(b.bank_code, 3, "bank_code");
  w.Text(b.branch_code, 7);
  w.Spare(38);
  return Finish(w, "deposit notice");
}

Result<DepositNotice> DecodeDepositNotice(std::string_view bytes) {
  if (auto size = CheckSize(bytes); !size) return std::unexpected(size.error());
  FieldReader r(bytes, "body");
  DepositNotice b;
  b.mother_account = r.Text(15, "mother_account");
  b.record_count = static_cast<int>(r.Numeric(2, "record_count"));
  b.kind = ReadKind(r);
  b.bank_code_legacy = r.Digits(2, "bank_code_legacy");
  b.amount_won = ReadAmount(r, 13, "amount");
  b.balance_won = ReadAmount(r, 13, "balance");
  b.branch_giro_code = r.Text(6, "branch_giro_code");
  b.depositor_name = r.Text(14, "depositor_name");
  b.cheque_number = r.Text(10, "cheque_number");
  b.cash_won = ReadAmount(r, 13, "cash");
  b.other_bank_cheque_won = ReadAmount(r, 13, "other_bank_cheque");
  b.other_cheques_won = ReadAmount(r, 13, "other_cheques");
  b.virtual_account = r.Text(16, "virtual_account");
  b.transacted_at = r.KstDateTime("transacted_at");
  b.passbook_serial = r.Text(6, "passbook_serial");
  b.bank_code = r.Digits(3, "bank_code");
  b.branch_code = r.Text(7, "branch_code");
  r.Skip(38);
  return Check(r, std::move(b), "deposit notice");
}

std::string EncodeBody(const ReceivabilityInquiry& b) {
  FieldWriter w(kBodyBytes);
  w.Text(b.virtual_account, 16);
  w.Text(b.holder_name, 30);
  w.Digits(b.bank_code_legacy, 2, "bank_code_legacy");
  w.Date(b.start_date);
  w.KstDateTime(b.end_at);
  w.Amount(b.amount_won, 13, "amount");
  w.Text(b.registration_kind, 2);
  w.Numeric(static_cast<std::uint64_t>(b.kind), 2, "transaction_kind");
  w.Text(b.payer_name, 20);
  w.Digits(b.bank_code, 3, "bank_code");
  w.Spare(90);
  return Finish(w, "receivability inquiry");
}

Result<ReceivabilityInquiry> DecodeReceivabilityInquiry(std::string_view bytes) {
  if (auto size = CheckSize(bytes); !size) return std::unexpected(size.error());
  FieldReader r(bytes, "body");
  ReceivabilityInquiry b;
  b.virtual_account = r.Text(16, "virtual_account");
  b.holder_name = r.Text(30, "holder_name");
  b.bank_code_legacy = r.Digits(2, "bank_code_legacy");
  b.start_date = r.OptionalDate("start_date");
  b.end_at = r.OptionalKstDateTime("end_at");
  b.amount_won = ReadAmount(r, 13, "amount");
  b.registration_kind = r.Text(2, "registration_kind");
  b.kind = ReadKind(r);
  b.payer_name = r.Text(20, "payer_name");
  b.bank_code = r.Digits(3, "bank_code");
  r.Skip(90);
  return Check(r, std::move(b), "receivability inquiry");
}

std::string EncodeBody(const HolderInquiry& b) {
  FieldWriter w(kBodyBytes);
  w.Digits(b.bank_code, 3, "bank_code");
  w.Text(b.account_number, 16);
  w.Text(b.holder_id, 10);
  w.Text(b.holder_name, 30);
  w.Spare(141);
  return Finish(w, "holder inquiry");
}

Result<HolderInquiry> DecodeHolderInquiry(std::string_view bytes) {
  if (auto size = CheckSize(bytes); !size) return std::unexpected(size.error());
  FieldReader r(bytes, "body");
  HolderInquiry b;
  b.bank_code = r.Digits(3, "bank_code");
  b.account_number = r.Text(16, "account_number");
  b.holder_id = r.Text(10, "holder_id");
  b.holder_name = r.Text(30, "holder_name");
  r.Skip(141);
  return Check(r, std::move(b), "holder inquiry");
}

std::string EncodeBody(const Withdrawal& b) {
  FieldWriter w(kBodyBytes);
  w.Digits(b.debit_bank_code, 3, "debit_bank_code");
  w.Text(b.debit_account, 16);
  w.Amount(b.amount_won, 13, "amount");
  w.Digits(b.recipient_bank_code, 3, "recipient_bank_code");
  w.Text(b.recipient_account, 16);
  w.Text(b.recipient_name, 20);
  w.Text(b.passbook_memo, 14);
  w.KstDateTime(b.processed_at);
  w.Spare(101);
  return Finish(w, "withdrawal");
}

Result<Withdrawal> DecodeWithdrawal(std::string_view bytes) {
  if (auto size = CheckSize(bytes); !size) return std::unexpected(size.error());
  FieldReader r(bytes, "body");
  Withdrawal b;
  b.debit_bank_code = r.Digits(3, "debit_bank_code");
  b.debit_account = r.Text(16, "debit_account");
  b.amount_won = ReadAmount(r, 13, "amount");
  b.recipient_bank_code = r.Digits(3, "recipient_bank_code");
  b.recipient_account = r.Text(16, "recipient_account");
  b.recipient_name = r.Text(20, "recipient_name");
  b.passbook_memo = r.Text(14, "passbook_memo");
  b.processed_at = r.OptionalKstDateTime("processed_at");
  r.Skip(101);
  return Check(r, std::move(b), "withdrawal");
}

std::string EncodeBody(const ResultInquiry& b) {
  FieldWriter w(kBodyBytes);
  w.Digits(b.bank_code, 3, "bank_code");
  w.Text(b.account_number, 16);
  w.Amount(b.original_amount_won, 13, "original_amount");
  w.Text(b.original_response_code, 4);
  w.KstDateTime(b.processed_at);
  w.Spare(150);
  return Finish(w, "result inquiry");
}

Result<ResultInquiry> DecodeResultInquiry(std::string_view bytes) {
  if (auto size = CheckSize(bytes); !size) return std::unexpected(size.error());
  FieldReader r(bytes, "body");
  ResultInquiry b;
  b.bank_code = r.Digits(3, "bank_code");
  b.account_number = r.Text(16, "account_number");
  b.original_amount_won = ReadAmount(r, 13, "original_amount");
  b.original_response_code = r.Text(4, "original_response_code");
  b.processed_at = r.OptionalKstDateTime("processed_at");
  r.Skip(150);
  return Check(r, std::move(b), "result inquiry");
}

std::string EncodeBody(const MissingSequenceRequest& b) {
  FieldWriter w(kBodyBytes);
  w.Date(b.date);
  w.Numeric(b.from_sequence, 6, "from_sequence");
  w.Numeric(b.to_sequence, 6, "to_sequence");
  w.Digits(b.missing_business_code, 3, "missing_business_code");
  w.Spare(177);
  return Finish(w, "missing-sequence request");
}

Result<MissingSequenceRequest> DecodeMissingSequenceRequest(std::string_view bytes) {
  if (auto size = CheckSize(bytes); !size) return std::unexpected(size.error());
  FieldReader r(bytes, "body");
  MissingSequenceRequest b;
  b.date = r.Date("date");
  b.from_sequence = static_cast<std::uint32_t>(r.Numeric(6, "from_sequence"));
  b.to_sequence = static_cast<std::uint32_t>(r.Numeric(6, "to_sequence"));
  b.missing_business_code = r.Digits(3, "missing_business_code");
  r.Skip(177);
  return Check(r, std::move(b), "missing-sequence request");
}

std::string EncodeBody(const ConsentRegistration& b) {
  FieldWriter w(kBodyBytes);
  w.Digits(b.bank_code, 3, "bank_code");
  w.Text(b.account_number, 16);
  w.Text(b.holder_id, 10);
  w.Text(b.holder_name, 30);
  w.Text(b.action == ConsentAction::kCancel ? "C" : "R", 1);
  w.Text(b.consent_id, 20);
  w.Amount(b.ceiling_won, 13, "ceiling");
  w.Spare(107);
  return Finish(w, "consent registration");
}

Result<ConsentRegistration> DecodeConsentRegistration(std::string_view bytes) {
  if (auto size = CheckSize(bytes); !size) return std::unexpected(size.error());
  FieldReader r(bytes, "body");
  ConsentRegistration b;
  b.bank_code = r.Digits(3, "bank_code");
  b.account_number = r.Text(16, "account_number");
  b.holder_id = r.Text(10, "holder_id");
  b.holder_name = r.Text(30, "holder_name");
  std::string action = r.Text(1, "action");
  b.consent_id = r.Text(20, "consent_id");
  b.ceiling_won = ReadAmount(r, 13, "ceiling");
  r.Skip(107);
  auto checked = Check(r, std::move(b), "consent registration");
  if (checked && action != "R" && action != "C") {
    return Fail(ErrorCode::kInvalidField, "action must be R (register) or C (cancel)", "body.action");
  }
  if (checked) checked->action = action == "C" ? ConsentAction::kCancel : ConsentAction::kRegister;
  return checked;
}

}  // namespace varelay::telegram
