#include "banks/telegram_listener.h"

#include <boost/asio.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <iostream>
#include <thread>

#include "banks/outbound_telegrams.h"
#include "banks/telegram/field.h"
#include "banks/telegram/frame.h"
#include "banks/telegram_connector.h"
#include "engine/async_submit.h"
#include "net/connection_limits.h"
#include "net/listen.h"

namespace varelay::banks {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunkBytes = 4096;
}  // namespace

struct TelegramListener::Impl {
  Impl(Engine& e, TelegramListenerOptions o)
      : engine(e),
        options(std::move(o)),
        limits(options.max_connections, options.max_connections_per_peer),
        acceptor(io) {}

  Engine& engine;
  TelegramListenerOptions options;
  // Before the io_context: sessions it destroys with it give their places back here.
  net::ConnectionLimits limits;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::thread thread;
  SequenceGaps gaps;                 // the listener's thread only

  // Whether any configured bank may connect from `peer`.
  bool Allowed(const asio::ip::address& peer) const {
    for (const auto& [bank, networks] : options.bank_networks) {
      for (const auto& network : networks) {
        if (network.Contains(peer)) return true;
      }
    }
    return false;
  }

  bool Trusted(const std::string& bank, const asio::ip::address& peer) const {
    auto it = options.bank_networks.find(bank);
    if (it == options.bank_networks.end()) return false;
    for (const auto& network : it->second) {
      if (network.Contains(peer)) return true;
    }
    return false;
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      // A stranger, or a peer over a cap, is closed here by going out of scope: it never reads
      // a byte of ours nor holds a slot.
      auto peer = socket.remote_endpoint(ec).address();
      if (ec || !Allowed(peer)) continue;
      auto slot = limits.TryTake(peer);
      if (!slot) continue;
      asio::co_spawn(io, Session(std::move(socket), std::move(*slot), peer), asio::detached);
    }
  }

  // What to write back for one framed telegram: its answer, then perhaps a request for skipped
  // sequence numbers; empty for a bank's answer to such a request; nullopt to close the connection.
  asio::awaitable<std::optional<std::string>> Answer(std::string_view bytes, const asio::ip::address& peer) {
    auto decoded = telegram::Decode(bytes);
    if (!decoded) {
      auto header = telegram::DecodeHeader(bytes.substr(0, std::min(bytes.size(), telegram::kHeaderBytes)));
      if (!header || !Trusted(header->bank_code, peer)) co_return std::nullopt;
      auto raw = telegram::EncodeRawResponse(
          bytes, options.reject_codes.CodeFor(header->bank_code, telegram::RejectReason::kFormatError));
      if (!raw) co_return std::nullopt;
      co_return telegram::Frame(*raw);
    }
    const telegram::Telegram& request = *decoded;
    if (!Trusted(request.header.bank_code, peer)) co_return std::nullopt;
    if (telegram::IsResponse(request.header)) {
      // Only the answer to our own 0600/200 is expected; anything else is a confused peer.
      bool ours = options.request_missing && request.header.message_code == "0610" &&
                  request.header.business_code == telegram::MissingSequenceRequest::kBusinessCode;
      if (ours) co_return std::string();
      co_return std::nullopt;
    }
    std::string answer = co_await Decide(request);
    std::string out = telegram::Frame(answer);
    if (options.request_missing) {
      auto gap = gaps.Observe(request.header.bank_code, telegram::KstDate(request.header.sent_at), request.header.sequence);
      if (gap) {
        auto now = std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
        out += telegram::Frame(telegram::Encode(MissingSequenceRequestFor(request.header, *gap, NextQuerySequence(), now)));
      }
    }
    co_return out;
  }

  // The answer telegram to one request.
  asio::awaitable<std::string> Decide(const telegram::Telegram& request) {
    TelegramAction action = ActionFor(request);
    if (!action.command) co_return AnswerWith(request, action.reject, options.reject_codes);
    Submission s;
    s.internal = true;
    s.internal_caller = Caller{"telegram", Role::kBank, "", request.header.bank_code, BankProtocol::kTelegram};
    s.command = std::move(*action.command);
    auto reply = co_await AsyncSubmit(engine, std::move(s), asio::use_awaitable);
    co_return AnswerFor(request, reply.result, options.reject_codes);
  }

  // Reads frames and answers each. The next frame must begin within idle_timeout of the last
  // answer and end within frame_timeout of its first byte; each answer must be written within
  // write_timeout. The stream closes itself when a deadline passes.
  asio::awaitable<void> Session(tcp::socket socket,
                                [[maybe_unused]] net::ConnectionLimits::Slot slot,
                                asio::ip::address peer) {
    beast::tcp_stream stream(std::move(socket));
    telegram::FrameReader reader(options.max_frame_bytes);
    std::string chunk(kReadChunkBytes, '\0');
    SteadyTime deadline = std::chrono::steady_clock::now() + options.idle_timeout;
    for (;;) {
      stream.expires_at(deadline);
      auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(chunk), kUseTuple);
      if (read_ec) co_return;
      const SteadyTime read_at = std::chrono::steady_clock::now();
      bool frame_begun_here = reader.buffered() == 0;
      reader.Feed(std::string_view(chunk.data(), n));
      for (;;) {
        auto frame = reader.Next();
        if (!frame) co_return;  // cannot be framed: nothing more can be understood
        if (!*frame) break;
        frame_begun_here = true;  // what is left began in this chunk
        auto out = co_await Answer(**frame, peer);
        if (!out) co_return;
        if (out->empty()) continue;
        stream.expires_after(options.write_timeout);
        auto [write_ec, written] =
            co_await asio::async_write(stream, asio::buffer(*out), kUseTuple);
        if (write_ec) co_return;
      }
      if (reader.buffered() == 0) {
        deadline = std::chrono::steady_clock::now() + options.idle_timeout;
      } else if (frame_begun_here) {
        deadline = read_at + options.frame_timeout;
      }  // else: the frame begun earlier keeps its deadline
    }
  }
};

TelegramListener::TelegramListener(Engine& engine, TelegramListenerOptions options)
    : impl_(std::make_unique<Impl>(engine, std::move(options))) {}

TelegramListener::~TelegramListener() { Stop(); }

Result<unsigned short> TelegramListener::Listen() {
  return net::Listen(impl_->acceptor, impl_->options.host, impl_->options.port);
}

void TelegramListener::Start() {
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

void TelegramListener::Stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->io.stop();
  });
  impl_->thread.join();
}

}  // namespace varelay::banks
