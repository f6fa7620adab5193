#include "telegram_link.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "banks/telegram/field.h"
#include "banks/telegram/reject_codes.h"
#include "domain/identifiers.h"

namespace varelay::banksim {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kReadChunkBytes = 4096;

telegram::Header BaseHeader(const TelegramLinkOptions& options, const TelegramRef& ref,
                            int send_count) {
  telegram::Header h;
  h.identification_code = options.identification_code;
  h.institution_code = options.institution_code;
  h.bank_code_legacy = options.bank_code.substr(1);  // "004" -> "04"
  h.send_count = std::clamp(send_count, 1, 9);       // one digit on the wire
  h.sequence = ref.sequence;
  h.sent_at = ref.sent_at;
  h.bank_code = options.bank_code;
  return h;
}

// RFC 3339 text of a notice as an instant; the header's send time if it does not parse.
Instant EventInstant(std::string_view text, Instant fallback) {
  auto parsed = ParseRfc3339(text);
  return parsed ? std::chrono::time_point_cast<Millis>(
                      std::chrono::floor<std::chrono::seconds>(*parsed))
                : fallback;
}

telegram::DepositNotice NoticeBody(const TelegramLinkOptions& options,
                                   telegram::TransactionKind kind,
                                   const std::string& mother_account, Money amount,
                                   const std::string& payer_name, const std::string& number,
                                   Instant transacted_at) {
  telegram::DepositNotice body;
  body.mother_account = mother_account;
  body.record_count = 1;
  body.kind = kind;
  body.bank_code_legacy = options.bank_code.substr(1);
  body.amount_won = amount.minor();
  body.depositor_name = payer_name;
  body.cash_won = amount.minor();
  body.virtual_account = number;
  body.transacted_at = transacted_at;
  body.bank_code = options.bank_code;
  return body;
}

std::string Milliseconds(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

LinkFailure NoAnswer(std::string detail) { return LinkFailure{0, "no_answer", std::move(detail)}; }

}  // namespace

telegram::Telegram InquiryTelegram(const PrecheckQuery& query, const TelegramLinkOptions& options) {
  telegram::ReceivabilityInquiry body;
  body.virtual_account = query.number;
  body.bank_code_legacy = options.bank_code.substr(1);
  body.amount_won = query.amount.minor();
  body.kind = telegram::TransactionKind::kInquiry;
  body.payer_name = query.payer_name;
  body.bank_code = options.bank_code;
  return telegram::MakeRequest(BaseHeader(options, query.telegram, 1), body);
}

telegram::Telegram DepositTelegram(const DepositMessage& message,
                                   const TelegramLinkOptions& options) {
  telegram::Header header = BaseHeader(options, message.telegram, message.send_count);
  header.bank_reference = message.transaction_id;
  return telegram::MakeRequest(
      std::move(header),
      NoticeBody(options, telegram::TransactionKind::kDeposit, message.mother_account,
                 message.amount, message.payer_name, message.number,
                 EventInstant(message.deposited_at, message.telegram.sent_at)));
}

telegram::Telegram CancellationTelegram(const CancellationMessage& message,
                                        const TelegramLinkOptions& options) {
  telegram::Header header = BaseHeader(options, message.telegram, message.send_count);
  header.bank_reference = message.transaction_id;
  // The deposit's telegram by its send date and sequence; without one (never the case for a
  // notice of this bank) the relay refuses the cancellation as a format error.
  if (message.original_telegram.sequence != 0) {
    header.original_date = telegram::KstDate(message.original_telegram.sent_at);
    header.original_sequence = message.original_telegram.sequence;
  }
  return telegram::MakeRequest(
      std::move(header),
      NoticeBody(options, telegram::TransactionKind::kCancellation, message.mother_account,
                 message.amount, message.payer_name, message.number,
                 EventInstant(message.cancelled_at, message.telegram.sent_at)));
}

std::string ReasonForCode(std::string_view code) {
  for (std::size_t i = 0; i < telegram::kRejectReasonCount; ++i) {
    auto reason = static_cast<telegram::RejectReason>(i);
    if (telegram::DefaultRejectCode(reason) == code)
      return std::string(telegram::RejectReasonName(reason));
  }
  return "bank_code_" + std::string(code);
}

std::string RelayTransactionId(const telegram::Telegram& notice) {
  std::string number;
  if (const auto* body = std::get_if<telegram::DepositNotice>(&notice.body))
    number = body->virtual_account;
  char sequence[8];
  std::snprintf(sequence, sizeof sequence, "%06u", notice.header.sequence);
  return "tg:" + telegram::FormatDate(telegram::KstDate(notice.header.sent_at)) + ":" + sequence +
         ":" + number;
}

LinkResult<PrecheckVerdict> VerdictFrom(const telegram::Telegram& answer) {
  const auto* body = std::get_if<telegram::ReceivabilityInquiry>(&answer.body);
  if (!body)
    return std::unexpected(
        LinkFailure{0, "bad_answer", "not an inquiry answer", false, "telegram"});
  PrecheckVerdict verdict;
  if (answer.header.response_code == telegram::kResponseOk) {
    verdict.accept = true;
    verdict.holder_name = body->holder_name;
    if (body->end_at) verdict.due_at = FormatRfc3339(*body->end_at);
  } else {
    verdict.reason = ReasonForCode(answer.header.response_code);
  }
  return verdict;
}

LinkResult<NoticeReceipt> ReceiptFrom(const telegram::Telegram& request,
                                      const telegram::Telegram& answer) {
  const auto* body = std::get_if<telegram::DepositNotice>(&request.body);
  bool cancellation = body && body->kind == telegram::TransactionKind::kCancellation;
  const std::string& code = answer.header.response_code;
  if (code == telegram::kResponseOk) {
    NoticeReceipt receipt;
    receipt.status = cancellation ? "cancelled" : "booked";
    receipt.answer = "telegram " + code;
    receipt.relay_transaction_id = RelayTransactionId(request);
    receipt.duplicate_known = false;
    return receipt;
  }
  std::string reason = ReasonForCode(code);
  // The relay could not decide, or (a cancellation) does not know the deposit yet: send again.
  bool again =
      code == telegram::DefaultRejectCode(telegram::RejectReason::kSystemError) ||
      (cancellation && code == telegram::DefaultRejectCode(telegram::RejectReason::kUnknownNumber));
  return std::unexpected(LinkFailure{0, reason, "the relay answered " + code + " (" + reason + ")",
                                     !again, "telegram " + code});
}

// ---- TelegramRelayLink --------------------------------------------------------------------------

Result<std::unique_ptr<TelegramRelayLink>> TelegramRelayLink::Create(TelegramLinkOptions options) {
  if (!IsBankCode(options.bank_code))
    return Fail(ErrorCode::kInvalidField, "the bank code must be 3 digits", "bank");
  if (options.host.empty() || options.port == 0)
    return Fail(ErrorCode::kInvalidField, "the relay's telegram address must be HOST:PORT",
                "relay_telegram");
  return std::unique_ptr<TelegramRelayLink>(new TelegramRelayLink(std::move(options)));
}

TelegramRelayLink::~TelegramRelayLink() { Close(); }

std::string TelegramRelayLink::Describe() const {
  std::string host =
      options_.host.find(':') != std::string::npos ? "[" + options_.host + "]" : options_.host;
  return "telegram " + host + ":" + std::to_string(options_.port) + " (bank " + options_.bank_code +
         ")";
}

LinkResult<PrecheckVerdict> TelegramRelayLink::Precheck(const PrecheckQuery& query) {
  auto answer = Exchange(InquiryTelegram(query, options_));
  if (!answer) return std::unexpected(answer.error());
  return VerdictFrom(*answer);
}

LinkResult<NoticeReceipt> TelegramRelayLink::NotifyDeposit(const DepositMessage& message) {
  auto request = DepositTelegram(message, options_);
  auto answer = Exchange(request);
  if (!answer) return std::unexpected(answer.error());
  return ReceiptFrom(request, *answer);
}

LinkResult<NoticeReceipt> TelegramRelayLink::NotifyCancellation(
    const CancellationMessage& message) {
  auto request = CancellationTelegram(message, options_);
  auto answer = Exchange(request);
  if (!answer) return std::unexpected(answer.error());
  return ReceiptFrom(request, *answer);
}

void TelegramRelayLink::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  reader_ = telegram::FrameReader();
}

std::optional<std::string> TelegramRelayLink::Connect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(options_.port);
  if (int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return "cannot resolve " + options_.host + ": " + ::gai_strerror(rc);
  std::string error = "no address for " + options_.host;
  auto deadline = Clock::now() + options_.timeout;
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      rc = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
      if (rc == 0) {
        errno = ETIMEDOUT;
        rc = -1;
      } else if (rc > 0) {
        int so_error = 0;
        socklen_t length = sizeof so_error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
        errno = so_error;
        rc = so_error == 0 ? 0 : -1;
      }
    }
    if (rc != 0) {
      error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // small request-answer frames
    fd_ = fd;
    reader_ = telegram::FrameReader();
    ::freeaddrinfo(found);
    return std::nullopt;
  }
  ::freeaddrinfo(found);
  return "cannot connect to " + options_.host + ":" + port + ": " + error;
}

LinkResult<telegram::Telegram> TelegramRelayLink::Exchange(const telegram::Telegram& request) {
  std::string frame = telegram::Frame(telegram::Encode(request));
  std::lock_guard lock(mutex_);
  bool retry = false;
  auto answer = ExchangeOnce(frame, request, retry);
  if (!answer && retry) answer = ExchangeOnce(frame, request, retry);
  return answer;
}

std::optional<std::string> TelegramRelayLink::SendAll(std::string_view bytes,
                                                      Clock::time_point deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd_, POLLOUT, 0};
      if (left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) >= 0) continue;
      return "could not send within " + Milliseconds(options_.timeout);
    }
    return std::string("send failed: ") + std::strerror(errno);
  }
  return std::nullopt;
}

bool TelegramRelayLink::HandleRelayRequest(const telegram::Telegram& request,
                                           Clock::time_point deadline) {
  const auto* missing = std::get_if<telegram::MissingSequenceRequest>(&request.body);
  // The relay sends no other request to a bank today; one it does is answered "could not decide".
  auto answer = telegram::MakeBankResponse(request, missing ? "0000" : "0999");
  if (!answer || SendAll(telegram::Frame(telegram::Encode(*answer)), deadline)) return false;
  if (missing && missing->missing_business_code == telegram::DepositNotice::kBusinessCode &&
      missing->from_sequence <= missing->to_sequence && options_.on_missing_request) {
    options_.on_missing_request(std::chrono::sys_days(missing->date), missing->from_sequence,
                                missing->to_sequence);
  }
  return true;
}

bool TelegramRelayLink::TakeUnasked(Clock::time_point deadline) {
  std::string chunk(kReadChunkBytes, '\0');
  for (;;) {
    ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n > 0) {
      reader_.Feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return false;  // end of stream (the relay's idle timeout) or an error
  }
  for (;;) {
    auto next = reader_.Next();
    if (!next) return false;
    if (!*next) return true;
    auto decoded = telegram::Decode(**next);
    // Only a request can come unasked; an answer to nothing means the stream is out of step.
    if (!decoded || telegram::IsResponse(decoded->header)) return false;
    if (!HandleRelayRequest(*decoded, deadline)) return false;
  }
}

LinkResult<telegram::Telegram> TelegramRelayLink::ExchangeOnce(const std::string& frame,
                                                               const telegram::Telegram& request,
                                                               bool& retry_on_new_connection) {
  retry_on_new_connection = false;
  auto deadline = Clock::now() + options_.timeout;
  bool kept = fd_ >= 0;
  if (kept && !TakeUnasked(deadline)) {
    Close();
    kept = false;
  }
  if (!kept) {
    if (auto error = Connect()) return std::unexpected(NoAnswer(*error));
    deadline = Clock::now() + options_.timeout;
  }
  if (auto error = SendAll(frame, deadline)) {
    Close();
    retry_on_new_connection = kept;
    return std::unexpected(NoAnswer(*error));
  }
  const telegram::Header& q = request.header;
  std::string expected_code = q.message_code;
  expected_code[2] = '1';
  std::string chunk(kReadChunkBytes, '\0');
  bool received = false;
  for (;;) {
    auto next = reader_.Next();
    if (!next) {
      Close();
      return std::unexpected(LinkFailure{
          0, "bad_answer", "the relay's answer cannot be framed: " + next.error().detail});
    }
    if (*next) {
      received = true;
      auto answer = telegram::Decode(**next);
      if (!answer) {
        Close();
        return std::unexpected(LinkFailure{
            0, "bad_answer", "the relay's answer does not decode: " + answer.error().detail});
      }
      if (!telegram::IsResponse(answer->header)) {
        // A request of the relay's own (0600/200) before our answer: answer it, keep waiting.
        if (!HandleRelayRequest(*answer, deadline)) {
          Close();
          return std::unexpected(NoAnswer("could not answer the relay's request"));
        }
        continue;
      }
      const telegram::Header& a = answer->header;
      if (a.message_code != expected_code || a.business_code != q.business_code ||
          a.sequence != q.sequence || a.sent_at != q.sent_at || a.bank_code != q.bank_code) {
        // Not the answer to this telegram: the stream is out of step, start afresh next time.
        Close();
        return std::unexpected(LinkFailure{0, "bad_answer",
                                           "the answer " + a.message_code + "/" +
                                               std::to_string(a.sequence) +
                                               " does not match the request " + q.message_code +
                                               "/" + std::to_string(q.sequence)});
      }
      // A request the relay wrote right behind the answer is handled now, not at the next send.
      if (!TakeUnasked(deadline)) Close();
      return std::move(*answer);
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd_, POLLIN, 0};
    int rc = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      // Whatever the relay answers later would be read as the next telegram's answer: close.
      Close();
      return std::unexpected(NoAnswer("no answer within " + Milliseconds(options_.timeout)));
    }
    ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n > 0) {
      reader_.Feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    std::string error = n == 0 ? "the relay closed the connection" : std::strerror(errno);
    Close();
    retry_on_new_connection = kept && !received;
    return std::unexpected(NoAnswer(error + " without answering"));
  }
}

}  // namespace varelay::banksim
