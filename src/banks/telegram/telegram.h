// A whole 300-byte telegram: the common header and one body. Which body a telegram carries follows
// from the header's message and business codes (request code or request code + 10 for the answer):
//
//   0200/300, 0210/300  DepositNotice           bank -> relay, relay answers
//   0900/100, 0910/100  ReceivabilityInquiry    bank -> relay, relay answers
//   0600/400, 0610/400  HolderInquiry           relay -> bank, bank answers
//   0100/100, 0110/100  Withdrawal              relay -> bank, bank answers
//   0600/101, 0610/101  ResultInquiry           relay -> bank, bank answers
//   0600/200, 0610/200  MissingSequenceRequest  relay -> bank, bank answers
//   0600/500, 0610/500  ConsentRegistration     relay -> bank, bank answers (varelay's extension)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "banks/telegram/bodies.h"
#include "banks/telegram/header.h"
#include "domain/error.h"

namespace varelay::telegram {

inline constexpr std::size_t kTelegramBytes = kHeaderBytes + kBodyBytes;  // 300

using Body = std::variant<DepositNotice, ReceivabilityInquiry, HolderInquiry, Withdrawal,
                          ResultInquiry, MissingSequenceRequest, ConsentRegistration>;

struct Telegram {
  Header header;
  Body body;

  friend bool operator==(const Telegram&, const Telegram&) = default;
};

// The request message code ("0200") and business code ("300") of a body's kind.
std::string_view RequestMessageCode(const Body& body);
std::string_view BusinessCode(const Body& body);

// True when the header's message code is an answer (third digit 1: "0210", "0910", ...).
bool IsResponse(const Header& header);

// A request telegram: `header` with its message and business codes set from `body`.
Telegram MakeRequest(Header header, Body body);

// The relay's answer to `request`: the same header and body, message code + 10, `response_code`
// (4 bytes, kResponseOk to accept) in the header's relay response code. The caller then fills the
// answer's own body fields (a receivability inquiry's holder name). Fails (kMalformedRequest) when
// `request` is itself an answer: a bank can send one, so this is outside input, not a bug.
Result<Telegram> MakeResponse(const Telegram& request, std::string_view response_code);
// As MakeResponse, with the code in the bank response code: a bank's answer (simulators, tests).
Result<Telegram> MakeBankResponse(const Telegram& request, std::string_view bank_response_code);

// Parses exactly kTelegramBytes bytes. Fails with kMalformedRequest on another length or a
// message/business code pair outside the table above, kInvalidField (naming the field, e.g.
// "body.amount" or "header.sequence") on a bad field, including text that is not EUC-KR.
Result<Telegram> Decode(std::string_view bytes);

// kTelegramBytes bytes. The header's message and business codes must match the body's kind
// (request or answer), and numbers must fit their fields: a breach is a bug and stops the process.
std::string Encode(const Telegram& telegram);

// The answer to a telegram whose body could not be decoded (a format error): its header with
// message code + 10 and `response_code` set, the received body echoed byte for byte (a frame of
// the wrong length: cut or padded with spaces to kTelegramBytes). Fails when the bytes are shorter
// than a header, the header does not decode, or it is not a request (message code ending in
// "00"); then the only answer left is to close the connection.
Result<std::string> EncodeRawResponse(std::string_view request_bytes,
                                      std::string_view response_code);

}  // namespace varelay::telegram
