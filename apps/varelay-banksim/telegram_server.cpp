#include "telegram_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <charconv>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "banks/telegram/field.h"
#include "domain/assert.h"
#include "net/listen.h"

namespace varelay::banksim {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunkBytes = 4096;

Money Krw(std::int64_t won) { return Money(won, Currency::Krw()); }

// The answer to `request` with `code`: MakeBankResponse cannot fail on a request.
telegram::Telegram Answer(const telegram::Telegram& request, std::string_view code) {
  auto answer = telegram::MakeBankResponse(request, code);
  VARELAY_INVARIANT(answer.has_value(), "answering a telegram that is not a request");
  return std::move(*answer);
}

telegram::Telegram AnswerHolderInquiry(const Bank& bank, const telegram::Telegram& request) {
  const auto& body = std::get<telegram::HolderInquiry>(request.body);
  auto holder = bank.HolderOf(body.account_number);
  telegram::Telegram answer = Answer(request, holder ? kBankOk : kBankUnknownAccount);
  std::get<telegram::HolderInquiry>(answer.body).holder_name = holder ? holder->holder_name : "";
  return answer;
}

// The code a withdrawal's outcome is answered with, in the 0110 and in a result inquiry's body.
std::string_view CodeOf(const Withdrawal& w) {
  if (w.status == WithdrawalStatus::kCompleted) return kBankOk;
  if (w.reason == "consent_missing") return kBankNoConsent;
  if (w.reason == "over_consent_ceiling") return kBankOverConsentCeiling;
  return kBankInsufficientFunds;
}

std::string_view CodeOf(BankErrc error) {
  switch (error) {
    case BankErrc::kNotFound:
      return kBankUnknownAccount;
    case BankErrc::kHolderMismatch:
      return kBankHolderMismatch;
    case BankErrc::kWrongAccountKind:
      return kBankNotSupported;
    case BankErrc::kReferenceConflict:
      return kBankTransferConflict;
    case BankErrc::kInvalidField:  // an amount of 0: the telegram decoded, its content cannot be
      return kBankFormatError;
    default:
      return kBankSystemError;
  }
}

// A completed withdrawal's bank transaction id goes in the answer's header (bank reference).
void AddBankReference(const Withdrawal& w, telegram::Header& header) {
  if (w.status == WithdrawalStatus::kCompleted) header.bank_reference = w.booking_id;
}

telegram::Telegram AnswerWithdrawal(Bank& bank, const telegram::Telegram& request, Instant now) {
  const auto& body = std::get<telegram::Withdrawal>(request.body);
  WithdrawalOrder order{
      body.debit_account, Krw(body.amount_won),
      TransferReference(telegram::KstDate(request.header.sent_at), request.header.sequence),
      body.recipient_bank_code == bank.options().bank_code ? body.recipient_account : std::string()};
  auto result = bank.Withdraw(order, now);
  telegram::Telegram answer =
      Answer(request, result ? CodeOf(result->withdrawal) : CodeOf(result.error().code));
  // The processed time says when the money moved: a completed withdrawal's only.
  auto& processed_at = std::get<telegram::Withdrawal>(answer.body).processed_at;
  processed_at.reset();
  if (result && result->withdrawal.status == WithdrawalStatus::kCompleted) {
    processed_at = result->withdrawal.executed_at;
    AddBankReference(result->withdrawal, answer.header);
  }
  return answer;
}

// 0600/500: register (or cancel) a customer account's withdrawal consent; the answer carries the
// consent id and the account's ceiling per debit.
telegram::Telegram AnswerConsent(Bank& bank, const telegram::Telegram& request, Instant now) {
  const auto& body = std::get<telegram::ConsentRegistration>(request.body);
  auto result = bank.RegisterConsent(body.account_number, body.holder_id, body.holder_name,
                                     body.action == telegram::ConsentAction::kCancel, now);
  telegram::Telegram answer = Answer(request, result ? kBankOk : CodeOf(result.error().code));
  auto& out = std::get<telegram::ConsentRegistration>(answer.body);
  out.consent_id = result ? result->consent_id : "";
  out.ceiling_won = result ? result->ceiling_won : 0;
  return answer;
}

telegram::Telegram AnswerResultInquiry(const Bank& bank, const telegram::Telegram& request) {
  const auto& body = std::get<telegram::ResultInquiry>(request.body);
  const telegram::Header& h = request.header;
  if (!h.original_date) return Answer(request, kBankFormatError);  // it names no transfer
  const Withdrawal* w =
      bank.FindWithdrawal(TransferReference(*h.original_date, h.original_sequence));
  // The body repeats the original's account and amount as a cross-check, when given.
  bool differs =
      w && ((!body.account_number.empty() && body.account_number != w->account) ||
            (body.original_amount_won != 0 && body.original_amount_won != w->amount.minor()));
  telegram::Telegram answer = Answer(request, !w        ? kBankNoSuchTransfer
                                              : differs ? kBankTransferConflict
                                                        : kBankOk);
  auto& out = std::get<telegram::ResultInquiry>(answer.body);
  out.original_response_code.clear();
  out.processed_at.reset();
  if (w && !differs) {
    // When the bank decided, refusals included: the result names a decision, not a movement.
    out.original_response_code = std::string(CodeOf(*w));
    out.processed_at = w->executed_at;
    AddBankReference(*w, answer.header);
  }
  return answer;
}

// A telegram that did not decode, answered from its header alone: message code + 10, `code` in
// the bank response code, the received body echoed (cut or space-filled to 200 bytes). nullopt
// when the header cannot be read or is not a request.
std::optional<std::string> HeaderOnlyAnswer(std::string_view payload, std::string_view code) {
  if (payload.size() < telegram::kHeaderBytes) return std::nullopt;
  auto header = telegram::DecodeHeader(payload.substr(0, telegram::kHeaderBytes));
  if (!header || header->message_code.substr(2) != "00") return std::nullopt;
  header->message_code[2] = '1';
  header->bank_response_code = std::string(code);
  std::string body(payload.substr(telegram::kHeaderBytes, telegram::kBodyBytes));
  body.resize(telegram::kBodyBytes, ' ');
  return telegram::EncodeHeader(*header) + body;
}

// Whether this bank serves the request kind named by a header's codes.
bool Serves(const telegram::Header& h) {
  auto is = [&h](std::string_view message, std::string_view business) {
    return h.message_code == message && h.business_code == business;
  };
  return is(telegram::HolderInquiry::kMessageCode, telegram::HolderInquiry::kBusinessCode) ||
         is(telegram::Withdrawal::kMessageCode, telegram::Withdrawal::kBusinessCode) ||
         is(telegram::ResultInquiry::kMessageCode, telegram::ResultInquiry::kBusinessCode) ||
         is(telegram::ConsentRegistration::kMessageCode, telegram::ConsentRegistration::kBusinessCode);
}

// The roll of a transfer telegram: its send date and sequence name it, the send count is the
// attempt, so a re-send is rolled anew.
bool DropsAnswer(const FaultPlan& faults, const telegram::Header& h) {
  auto date = telegram::KstDate(h.sent_at);
  auto days = static_cast<std::uint64_t>(std::chrono::sys_days(date).time_since_epoch().count());
  return Strikes(faults, FaultKind::kDropTransferAnswer, days * 1'000'000 + h.sequence,
                 h.send_count);
}

}  // namespace

std::string TransferReference(std::chrono::year_month_day send_date, std::uint32_t sequence) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%06u", sequence);
  return "tg:" + telegram::FormatDate(send_date) + ":" + digits;
}

std::optional<telegram::Telegram> AnswerRequest(Bank& bank, const telegram::Telegram& request,
                                                Instant now) {
  if (telegram::IsResponse(request.header)) return std::nullopt;
  if (!Serves(request.header)) return Answer(request, kBankNotSupported);
  if (std::holds_alternative<telegram::HolderInquiry>(request.body))
    return AnswerHolderInquiry(bank, request);
  if (std::holds_alternative<telegram::Withdrawal>(request.body))
    return AnswerWithdrawal(bank, request, now);
  if (std::holds_alternative<telegram::ConsentRegistration>(request.body))
    return AnswerConsent(bank, request, now);
  return AnswerResultInquiry(bank, request);
}

TelegramReply AnswerRelayTelegram(Bank& bank, std::string_view payload, Instant now,
                                  const FaultPlan& faults, std::chrono::milliseconds since_start) {
  if (InTransferOutage(faults, since_start)) return {};  // the line is down: nothing executes
  auto request = telegram::Decode(payload);
  if (!request) {
    if (payload.size() < telegram::kHeaderBytes) return {};
    auto header = telegram::DecodeHeader(payload.substr(0, telegram::kHeaderBytes));
    if (!header) return {};
    // A 300-byte telegram under codes this bank does not serve is "not supported" whatever its
    // body; a served one that does not decode, or a frame of another length, is a format error.
    bool format_error = Serves(*header) || payload.size() != telegram::kTelegramBytes;
    auto answer = HeaderOnlyAnswer(payload, format_error ? kBankFormatError : kBankNotSupported);
    if (!answer) return {};
    return TelegramReply{TelegramDisposition::kAnswer, std::move(*answer)};
  }
  auto answer = AnswerRequest(bank, *request, now);
  if (!answer) return {};
  if (std::holds_alternative<telegram::Withdrawal>(request->body) &&
      DropsAnswer(faults, request->header)) {
    return TelegramReply{TelegramDisposition::kSilent, {}};
  }
  TelegramReply reply{TelegramDisposition::kAnswer, telegram::Encode(*answer)};
  if (std::holds_alternative<telegram::Withdrawal>(request->body)) reply.delay = faults.debit_delay;
  return reply;
}

// ---- TelegramServer ----------------------------------------------------------------------------

struct TelegramServer::Impl {
  Impl(Handler h, TelegramServerOptions o)
      : handler(std::move(h)),
        options(std::move(o)),
        pool(static_cast<std::size_t>(std::max(options.workers, 1))) {}

  Handler handler;
  TelegramServerOptions options;
  // Declared before the I/O objects: a session's end touches them, and a session can end while
  // those are destroyed (a coroutine dropped by the stopped io_context or pool).
  std::atomic<std::size_t> connections{0};
  std::mutex sockets_mutex;
  std::set<tcp::socket*> sockets;  // of the sessions alive, for Stop to close
  asio::io_context io;
  asio::thread_pool pool;
  tcp::acceptor acceptor{io};
  std::thread thread;
  bool stopped = false;

  // Runs the handler on the pool and completes on the calling coroutine's executor: a withdrawal
  // fsyncs the state file and must not stall the other connections.
  template <typename Token>
  auto Handle(std::string payload, Token&& token) {
    return asio::async_initiate<Token, void(TelegramReply)>(
        [this](auto completion, std::string frame) {
          auto home = asio::get_associated_executor(completion);
          auto guard = asio::make_work_guard(home);
          asio::post(pool, [this, completion = std::move(completion), frame = std::move(frame),
                            guard = std::move(guard)]() mutable {
            TelegramReply reply = handler(frame);
            auto ex = guard.get_executor();
            asio::post(ex,
                       [completion = std::move(completion), reply = std::move(reply)]() mutable {
                         std::move(completion)(std::move(reply));
                       });
          });
        },
        token, std::move(payload));
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;
      if (connections.load() >= options.max_connections) continue;  // closed by going out of scope
      ++connections;
      asio::co_spawn(io, Session(std::move(socket)), asio::detached);
    }
  }

  // Arms `timer` to close `socket` after the idle timeout: a read or write that outlives it fails.
  // The timer holds the socket weakly: an expiry that races the session's end finds it gone.
  void Arm(asio::steady_timer& timer, const std::shared_ptr<tcp::socket>& socket) {
    timer.expires_after(options.idle_timeout);
    timer.async_wait([weak = std::weak_ptr(socket)](boost::system::error_code ec) {
      auto s = weak.lock();
      if (!ec && s) {
        boost::system::error_code ignored;
        s->close(ignored);
      }
    });
  }

  asio::awaitable<void> Session(tcp::socket accepted) {
    auto socket = std::make_shared<tcp::socket>(std::move(accepted));
    struct Registration {
      Impl& impl;
      tcp::socket* socket;
      ~Registration() {
        --impl.connections;
        std::lock_guard lock(impl.sockets_mutex);
        impl.sockets.erase(socket);
      }
    } registration{*this, socket.get()};
    {
      std::lock_guard lock(sockets_mutex);
      sockets.insert(socket.get());
    }
    boost::system::error_code ignored;
    socket->set_option(tcp::no_delay(true), ignored);  // small request-answer frames
    telegram::FrameReader reader(options.max_frame_bytes);
    asio::steady_timer deadline(io);
    asio::steady_timer delay(io);
    std::string chunk(kReadChunkBytes, '\0');
    for (;;) {
      Arm(deadline, socket);
      auto [read_ec, n] = co_await socket->async_read_some(asio::buffer(chunk), kUseTuple);
      deadline.cancel();
      if (read_ec) co_return;
      reader.Feed(std::string_view(chunk.data(), n));
      for (;;) {
        auto frame = reader.Next();
        if (!frame) co_return;  // cannot be framed: nothing more can be understood
        if (!*frame) break;
        TelegramReply reply = co_await Handle(std::move(**frame), asio::use_awaitable);
        if (reply.disposition == TelegramDisposition::kClose) co_return;
        if (reply.disposition == TelegramDisposition::kSilent) continue;
        if (auto wait = std::max(options.answer_delay, reply.delay); wait.count() > 0) {
          delay.expires_after(wait);
          co_await delay.async_wait(kUseTuple);
        }
        std::string out = telegram::Frame(reply.answer);
        Arm(deadline, socket);
        auto [write_ec, written] =
            co_await asio::async_write(*socket, asio::buffer(out), kUseTuple);
        deadline.cancel();
        if (write_ec) co_return;
      }
    }
  }
};

TelegramServer::TelegramServer(Handler handler, TelegramServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(options))) {}

TelegramServer::~TelegramServer() { Stop(); }

Result<unsigned short> TelegramServer::Listen() {
  return net::Listen(impl_->acceptor, impl_->options.host, impl_->options.port);
}

void TelegramServer::Start() {
  if (impl_->thread.joinable() || impl_->stopped) return;
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

void TelegramServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->thread.joinable()) {
    asio::post(impl_->io, [impl = impl_.get()] {
      boost::system::error_code ignored;
      impl->acceptor.close(ignored);
      std::lock_guard lock(impl->sockets_mutex);
      for (tcp::socket* socket : impl->sockets) socket->close(ignored);
      impl->io.stop();
    });
    impl_->thread.join();
  }
  // A handler running now finishes (the bank stays whole); queued ones are dropped.
  impl_->pool.stop();
  impl_->pool.join();
}

}  // namespace varelay::banksim
