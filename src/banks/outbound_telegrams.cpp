#include "banks/outbound_telegrams.h"

#include <boost/asio.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>

#include "banks/telegram/field.h"
#include "banks/telegram/frame.h"
#include "domain/bank_codes.h"

namespace varelay::banks {
namespace asio = boost::asio;
namespace beast = boost::beast;
using telegram::Telegram;

namespace {

telegram::Header HeaderFor(std::string_view bank_code, std::uint32_t sequence, Instant sent_at,
                           const OutboundHeader& ids) {
  telegram::Header h;
  h.identification_code = ids.identification_code;
  h.institution_code = ids.institution_code;
  h.bank_code_legacy = std::string(bank_code.substr(1));
  h.bank_code = std::string(bank_code);
  h.sequence = sequence;
  h.sent_at = std::chrono::time_point_cast<std::chrono::seconds>(sent_at);
  h.response_code.clear();  // blank in a request: the answer fills them
  h.bank_response_code.clear();
  return h;
}

// Whether `answer` is the answer to `request`: message code + 10, the same business code and
// sequence. A bank that answers something else has lost track; its answer settles nothing.
std::optional<std::string> Mismatch(const Telegram& request, const Telegram& answer) {
  const auto& q = request.header;
  const auto& a = answer.header;
  if (!telegram::IsResponse(a) || a.message_code.substr(0, 2) != q.message_code.substr(0, 2) ||
      a.message_code[3] != q.message_code[3] || a.business_code != q.business_code) {
    return "the bank answered " + a.message_code + "/" + a.business_code + " to " + q.message_code + "/" +
           q.business_code;
  }
  if (a.sequence != q.sequence) return "the bank's answer names sequence " + std::to_string(a.sequence);
  return std::nullopt;
}

TransferAnswer Unknown(std::string detail) { return {TransferVerdict::kUnknown, {}, {}, std::move(detail)}; }

}  // namespace

Telegram HolderInquiryTelegram(std::string_view bank_code, std::string_view account, std::string_view holder_id,
                               std::uint32_t sequence, Instant now, const OutboundHeader& ids) {
  telegram::HolderInquiry body;
  body.bank_code = std::string(bank_code);
  body.account_number = std::string(account);
  body.holder_id = std::string(holder_id);
  return telegram::MakeRequest(HeaderFor(bank_code, sequence, now, ids), body);
}

Telegram WithdrawalTelegram(const Transfer& t, int send_count, const OutboundHeader& ids) {
  auto header = HeaderFor(t.bank, t.request_sequence, t.created_at, ids);
  header.send_count = std::clamp(send_count, 1, 9);
  telegram::Withdrawal body;
  body.debit_bank_code = t.bank;
  body.debit_account = t.debit_account;
  body.amount_won = t.amount.minor();
  body.recipient_bank_code = t.recipient_bank;
  body.recipient_account = t.recipient_account;
  body.recipient_name = t.recipient_name;
  body.passbook_memo = t.memo;
  return telegram::MakeRequest(header, body);
}

Telegram ResultInquiryTelegram(const Transfer& t, std::uint32_t sequence, Instant now, const OutboundHeader& ids) {
  auto header = HeaderFor(t.bank, sequence, now, ids);
  header.original_date = t.request_date;
  header.original_sequence = t.request_sequence;
  telegram::ResultInquiry body;
  body.bank_code = t.bank;
  body.account_number = t.debit_account;
  body.original_amount_won = t.amount.minor();
  return telegram::MakeRequest(header, body);
}

TransferAnswer ReadWithdrawalAnswer(const Telegram& request, const std::optional<Telegram>& answer,
                                    std::string_view error) {
  if (!answer) return Unknown(error.empty() ? "no answer" : std::string(error));
  if (auto mismatch = Mismatch(request, *answer)) return Unknown(*mismatch);
  const auto& code = answer->header.bank_response_code;
  TransferAnswer out{TransferVerdict::kCompleted, code, answer->header.bank_reference, {}};
  if (code == telegram::kResponseOk) return out;
  if (code == kBankSystemError) return Unknown("the bank answered " + code + " (system error)");
  out.verdict = TransferVerdict::kRefused;
  out.detail = BankRefusalText(code);
  return out;
}

TransferAnswer ReadResultAnswer(const Telegram& request, const std::optional<Telegram>& answer,
                                std::string_view error) {
  if (!answer) return Unknown(error.empty() ? "no answer" : std::string(error));
  if (auto mismatch = Mismatch(request, *answer)) return Unknown(*mismatch);
  const auto& code = answer->header.bank_response_code;
  if (code == kBankNoSuchTransfer) return {TransferVerdict::kNotReceived, {}, {}, "the bank never received it"};
  if (code != telegram::kResponseOk) return Unknown("the bank answered the result inquiry with " + code);
  const auto* body = std::get_if<telegram::ResultInquiry>(&answer->body);
  if (!body) return Unknown("the result inquiry's answer has no result");
  const std::string& original = body->original_response_code;
  TransferAnswer out{TransferVerdict::kCompleted, original, answer->header.bank_reference, {}};
  if (original == telegram::kResponseOk) return out;
  if (original.find_first_not_of(' ') == std::string::npos || original == kBankSystemError) {
    return Unknown("the bank has no outcome for it yet");
  }
  out.verdict = TransferVerdict::kRefused;
  out.detail = BankRefusalText(original);
  return out;
}

Result<std::string> ReadHolderAnswer(const Telegram& request, const Telegram& answer) {
  if (auto mismatch = Mismatch(request, answer)) return Fail(ErrorCode::kBankUnavailable, *mismatch);
  const auto& code = answer.header.bank_response_code;
  if (code == kBankNoSuchAccount) return Fail(ErrorCode::kNotFound, "the bank has no such account");
  if (code != telegram::kResponseOk) return Fail(ErrorCode::kBankUnavailable, "the bank answered " + code);
  const auto* body = std::get_if<telegram::HolderInquiry>(&answer.body);
  if (!body || body->holder_name.empty()) return Fail(ErrorCode::kBankUnavailable, "the bank's answer names no holder");
  return body->holder_name;
}

asio::awaitable<Result<Telegram>> Exchange(asio::any_io_executor executor, std::string endpoint, Telegram request,
                                           std::chrono::milliseconds timeout) {
  constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
  auto where = telegram::ParseHostPort(endpoint);
  if (!where) co_return Fail(ErrorCode::kBankUnavailable, "the bank's endpoint '" + endpoint + "' is not HOST:PORT");
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);  // one deadline for the whole exchange
  asio::ip::tcp::resolver resolver(executor);
  auto [rec, addresses] = co_await resolver.async_resolve(where->first, std::to_string(where->second), kTuple);
  if (rec) co_return Fail(ErrorCode::kBankUnavailable, "cannot resolve " + where->first + ": " + rec.message());
  auto [cec, connected] = co_await stream.async_connect(addresses, kTuple);
  if (cec) co_return Fail(ErrorCode::kBankUnavailable, "cannot connect to " + endpoint + ": " + cec.message());
  std::string frame = telegram::Frame(telegram::Encode(request));
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(frame), kTuple);
  if (wec) co_return Fail(ErrorCode::kBankUnavailable, "sending to " + endpoint + ": " + wec.message());
  telegram::FrameReader reader;
  std::array<char, 1024> chunk{};
  for (;;) {
    auto next = reader.Next();
    if (!next) co_return Fail(ErrorCode::kBankUnavailable, "the bank's answer is not framed: " + next.error().detail);
    if (*next) {
      auto answer = telegram::Decode(**next);
      if (!answer) co_return Fail(ErrorCode::kBankUnavailable, "the bank's answer is garbled: " + answer.error().detail);
      if (auto mismatch = Mismatch(request, *answer)) co_return Fail(ErrorCode::kBankUnavailable, *mismatch);
      co_return std::move(*answer);
    }
    auto [rec2, n] = co_await stream.async_read_some(asio::buffer(chunk), kTuple);
    if (rec2) {
      co_return Fail(ErrorCode::kBankUnavailable,
                     rec2 == beast::error::timeout ? "no answer within " + std::to_string(timeout.count()) + " ms"
                                                   : "reading from " + endpoint + ": " + rec2.message());
    }
    reader.Feed(std::string_view(chunk.data(), n));
  }
}

std::uint32_t NextQuerySequence() {
  static std::atomic<std::uint32_t> next{0};
  constexpr std::uint32_t kSpan = 999'999 - kFirstQuerySequence + 1;
  return kFirstQuerySequence + next.fetch_add(1, std::memory_order_relaxed) % kSpan;
}

}  // namespace varelay::banks
