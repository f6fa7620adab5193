#include "banks/telegram/header.h"

#include "banks/telegram/field_io.h"
#include "domain/assert.h"

namespace varelay::telegram {

std::string EncodeHeader(const Header& h) {
  detail::FieldWriter w(kHeaderBytes);
  w.Text(h.identification_code, 9);
  w.Text(h.institution_code, 8);
  w.Digits(h.bank_code_legacy, 2, "bank_code_legacy");
  w.Digits(h.message_code, 4, "message_code");
  w.Digits(h.business_code, 3, "business_code");
  VARELAY_INVARIANT(h.send_count >= 0, "negative send count");
  w.Numeric(static_cast<std::uint64_t>(h.send_count), 1, "send_count");
  w.Numeric(h.sequence, 6, "sequence");
  w.KstDateTime(h.sent_at);  // send date (8) and send time (6) are adjacent
  w.Text(h.response_code, 4);
  w.Text(h.bank_response_code, 4);
  w.Date(h.original_date);
  w.Numeric(h.original_sequence, 6, "original_sequence");
  w.Text(h.bank_reference, 15);
  w.Digits(h.bank_code, 3, "bank_code");
  w.Spare(13);
  VARELAY_INVARIANT(w.size() == kHeaderBytes, "header layout is not 100 bytes");
  return w.Take();
}

Result<Header> DecodeHeader(std::string_view bytes) {
  if (bytes.size() != kHeaderBytes) {
    return Fail(ErrorCode::kInvalidField, "header is " + std::to_string(bytes.size()) + " bytes",
                "header");
  }
  detail::FieldReader r(bytes, "header");
  Header h;
  h.identification_code = r.Text(9, "identification_code");
  h.institution_code = r.Text(8, "institution_code");
  h.bank_code_legacy = r.Digits(2, "bank_code_legacy");
  h.message_code = r.Digits(4, "message_code");
  h.business_code = r.Digits(3, "business_code");
  h.send_count = static_cast<int>(r.Numeric(1, "send_count"));
  h.sequence = static_cast<std::uint32_t>(r.Numeric(6, "sequence"));
  h.sent_at = r.KstDateTime("sent_at");
  h.response_code = r.Text(4, "response_code");
  h.bank_response_code = r.Text(4, "bank_response_code");
  h.original_date = r.OptionalDate("original_date");
  h.original_sequence = static_cast<std::uint32_t>(r.OptionalNumeric(6, "original_sequence"));
  h.bank_reference = r.Text(15, "bank_reference");
  h.bank_code = r.Digits(3, "bank_code");
  r.Skip(13);
  if (r.error()) return std::unexpected(*r.error());
  return h;
}

}  // namespace varelay::telegram
