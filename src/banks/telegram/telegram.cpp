#include "banks/telegram/telegram.h"

#include <array>

#include "domain/assert.h"

namespace varelay::telegram {
namespace {

// One row per body kind: its request codes and its decoder.
struct BodyKind {
  std::string_view message_code;
  std::string_view business_code;
  Result<Body> (*decode)(std::string_view bytes);
};

template <typename T, Result<T> (*kDecode)(std::string_view)>
Result<Body> DecodeAs(std::string_view bytes) {
  auto body = kDecode(bytes);
  if (!body) return std::unexpected(body.error());
  return Body(std::move(*body));
}

template <typename T, Result<T> (*kDecode)(std::string_view)>
constexpr BodyKind Row() {
  return {T::kMessageCode, T::kBusinessCode, &DecodeAs<T, kDecode>};
}

constexpr std::array<BodyKind, 7> kBodyKinds = {
    Row<DepositNotice, DecodeDepositNotice>(),
    Row<ReceivabilityInquiry, DecodeReceivabilityInquiry>(),
    Row<HolderInquiry, DecodeHolderInquiry>(),
    Row<Withdrawal, DecodeWithdrawal>(),
    Row<ResultInquiry, DecodeResultInquiry>(),
    Row<MissingSequenceRequest, DecodeMissingSequenceRequest>(),
    Row<ConsentRegistration, DecodeConsentRegistration>(),
};

bool IsRequestCode(std::string_view message_code) {
  return message_code.size() == 4 && message_code.substr(2) == "00";
}

// "0200" -> "0210": the family's "message code + 10".
std::string AnswerCode(std::string_view request_code) {
  std::string answer(request_code);
  answer[2] = '1';
  return answer;
}

bool CodesMatch(const Header& header, std::string_view message_code,
                std::string_view business_code) {
  return header.business_code == business_code &&
         (header.message_code == message_code || header.message_code == AnswerCode(message_code));
}

Result<Header> AnswerHeader(const Header& request) {
  if (!IsRequestCode(request.message_code)) {
    return Fail(ErrorCode::kMalformedRequest,
                "message code " + request.message_code + " is not a request",
                "header.message_code");
  }
  Header answer = request;
  answer.message_code = AnswerCode(request.message_code);
  return answer;
}

}  // namespace

std::string_view RequestMessageCode(const Body& body) {
  return std::visit([](const auto& b) { return std::decay_t<decltype(b)>::kMessageCode; }, body);
}

std::string_view BusinessCode(const Body& body) {
  return std::visit([](const auto& b) { return std::decay_t<decltype(b)>::kBusinessCode; }, body);
}

bool IsResponse(const Header& header) {
  return header.message_code.size() == 4 && header.message_code.substr(2) == "10";
}

Telegram MakeRequest(Header header, Body body) {
  header.message_code = std::string(RequestMessageCode(body));
  header.business_code = std::string(BusinessCode(body));
  return Telegram{std::move(header), std::move(body)};
}

Result<Telegram> MakeResponse(const Telegram& request, std::string_view response_code) {
  auto header = AnswerHeader(request.header);
  if (!header) return std::unexpected(header.error());
  header->response_code = std::string(response_code);
  return Telegram{std::move(*header), request.body};
}

Result<Telegram> MakeBankResponse(const Telegram& request, std::string_view bank_response_code) {
  auto header = AnswerHeader(request.header);
  if (!header) return std::unexpected(header.error());
  header->bank_response_code = std::string(bank_response_code);
  return Telegram{std::move(*header), request.body};
}

Result<Telegram> Decode(std::string_view bytes) {
  if (bytes.size() != kTelegramBytes) {
    return Fail(ErrorCode::kMalformedRequest,
                "a telegram is 300 bytes, got " + std::to_string(bytes.size()));
  }
  auto header = DecodeHeader(bytes.substr(0, kHeaderBytes));
  if (!header) return std::unexpected(header.error());
  for (const BodyKind& kind : kBodyKinds) {
    if (!CodesMatch(*header, kind.message_code, kind.business_code)) continue;
    auto body = kind.decode(bytes.substr(kHeaderBytes));
    if (!body) return std::unexpected(body.error());
    return Telegram{std::move(*header), std::move(*body)};
  }
  return Fail(ErrorCode::kMalformedRequest,
              "unknown message/business code " + header->message_code + "/" + header->business_code,
              "header.message_code");
}

std::string Encode(const Telegram& telegram) {
  VARELAY_INVARIANT(
      CodesMatch(telegram.header, RequestMessageCode(telegram.body), BusinessCode(telegram.body)),
      "telegram header codes do not match its body");
  std::string bytes = EncodeHeader(telegram.header);
  bytes += std::visit([](const auto& body) { return EncodeBody(body); }, telegram.body);
  return bytes;
}

Result<std::string> EncodeRawResponse(std::string_view request_bytes,
                                      std::string_view response_code) {
  if (request_bytes.size() < kHeaderBytes) {
    return Fail(ErrorCode::kMalformedRequest,
                "a telegram's header is 100 bytes, got " + std::to_string(request_bytes.size()));
  }
  auto request = DecodeHeader(request_bytes.substr(0, kHeaderBytes));
  if (!request) return std::unexpected(request.error());
  auto answer = AnswerHeader(*request);
  if (!answer) return std::unexpected(answer.error());
  answer->response_code = std::string(response_code);
  // A frame of the wrong length still gets a telegram of the right one: the body it carried, cut
  // or padded with spaces.
  std::string body(request_bytes.substr(kHeaderBytes, kTelegramBytes - kHeaderBytes));
  body.resize(kTelegramBytes - kHeaderBytes, ' ');
  return EncodeHeader(*answer) + body;
}

}  // namespace varelay::telegram
