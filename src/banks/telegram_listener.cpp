#include "banks/telegram_listener.h"

#include <boost/asio.hpp>

#include <atomic>
#include <iostream>
#include <thread>

#include "banks/telegram/field.h"
#include "banks/telegram/frame.h"
#include "banks/outbound_telegrams.h"
#include "banks/telegram_connector.h"
#include "engine/async_submit.h"
#include "net/listen.h"

namespace varelay::banks {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunkBytes = 4096;
}  // namespace

struct TelegramListener::Impl {
  Impl(Engine& e, TelegramListenerOptions o) : engine(e), options(std::move(o)), acceptor(io) {}

  Engine& engine;
  TelegramListenerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::thread thread;
  std::atomic<std::size_t> connections{0};
  SequenceGaps gaps;                 // the listener's thread only

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
      if (connections.load() >= options.max_connections) continue;  // closed by going out of scope
      ++connections;
      asio::co_spawn(io, Session(std::move(socket)), asio::detached);
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
    s.internal_caller = Caller{"telegram", Role::kBank, "", request.header.bank_code};
    s.command = std::move(*action.command);
    auto reply = co_await AsyncSubmit(engine, std::move(s), asio::use_awaitable);
    co_return AnswerFor(request, reply.result, options.reject_codes);
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    struct Count {
      std::atomic<std::size_t>& n;
      ~Count() { --n; }
    } count{connections};
    boost::system::error_code ec;
    auto peer = socket.remote_endpoint(ec).address();
    if (ec) co_return;
    telegram::FrameReader reader(options.max_frame_bytes);
    asio::steady_timer idle(io);
    std::string chunk(kReadChunkBytes, '\0');
    for (;;) {
      // A read that outlives the idle timeout is cancelled by closing the socket.
      idle.expires_after(options.idle_timeout);
      idle.async_wait([&socket](boost::system::error_code wait_ec) {
        if (!wait_ec) socket.close();
      });
      auto [read_ec, n] = co_await socket.async_read_some(asio::buffer(chunk), kUseTuple);
      idle.cancel();
      if (read_ec) co_return;
      reader.Feed(std::string_view(chunk.data(), n));
      for (;;) {
        auto frame = reader.Next();
        if (!frame) co_return;  // cannot be framed: nothing more can be understood
        if (!*frame) break;
        auto out = co_await Answer(**frame, peer);
        if (!out) co_return;
        if (out->empty()) continue;
        auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(*out), kUseTuple);
        if (write_ec) co_return;
      }
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
