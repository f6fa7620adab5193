// Proves the telegram link: the inquiry, deposit and cancellation telegrams it builds sit at the
// offsets of docs/telegrams.md, a re-send differs only in its send count, a cancellation names its
// deposit the way the relay keys it, answers map to verdicts and outbox outcomes (default codes
// back to reasons), and over a real socket it connects, reconnects after a drop, and gives up on
// a silent relay after its timeout.
#include "telegram_link.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "banks/telegram/euc_kr.h"
#include "banks/telegram/field.h"

namespace varelay::banksim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Money Krw(std::int64_t minor) { return Money(minor, Currency::Krw()); }

// 2026-11-25T15:30:00Z = 2026-11-26 00:30:00 in Seoul: the KST date differs from the UTC one.
const Instant kSent = FromUnixMs(1'795'620'600'000);

TelegramLinkOptions Options() {
  TelegramLinkOptions o;
  o.bank_code = "004";
  return o;
}

DepositMessage Deposit(int send_count = 1) {
  return DepositMessage{
      "004TEST00000001", "90040000000001",       Krw(39'000), "홍길동", "2026-11-25T15:29:58.250Z",
      "004100000000001", TelegramRef{17, kSent}, send_count};
}

std::string_view Field(std::string_view bytes, std::size_t offset, std::size_t length) {
  return bytes.substr(offset, length);
}

TEST(BanksimTelegramLink, BuildsADepositNoticeAtTheDocumentedOffsets) {
  std::string bytes = telegram::Encode(DepositTelegram(Deposit(), Options()));
  ASSERT_EQ(bytes.size(), 300u);
  EXPECT_EQ(Field(bytes, 17, 2), "04");
  EXPECT_EQ(Field(bytes, 19, 4), "0200");
  EXPECT_EQ(Field(bytes, 23, 3), "300");
  EXPECT_EQ(Field(bytes, 26, 1), "1");
  EXPECT_EQ(Field(bytes, 27, 6), "000017");
  EXPECT_EQ(Field(bytes, 33, 8), "20261126") << "the send date is the KST date";
  EXPECT_EQ(Field(bytes, 41, 6), "003000");
  EXPECT_EQ(Field(bytes, 55, 14), std::string(14, '0')) << "no original";
  EXPECT_EQ(Field(bytes, 69, 15), "004TEST00000001");
  EXPECT_EQ(Field(bytes, 84, 3), "004");
  const std::size_t b = 100;
  EXPECT_EQ(Field(bytes, b + 0, 15), "004100000000001");
  EXPECT_EQ(Field(bytes, b + 15, 2), "01");
  EXPECT_EQ(Field(bytes, b + 17, 2), "20");
  EXPECT_EQ(Field(bytes, b + 21, 13), "0000000039000");
  auto name = telegram::EucKrToUtf8(Field(bytes, b + 53, 6));
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(*name, "홍길동");
  EXPECT_EQ(Field(bytes, b + 59, 8), std::string(8, ' '));
  EXPECT_EQ(Field(bytes, b + 116, 16), "90040000000001  ");
  EXPECT_EQ(Field(bytes, b + 132, 14), "20261126002958") << "deposited_at in KST, whole seconds";
  EXPECT_EQ(Field(bytes, b + 152, 3), "004");

  auto decoded = telegram::Decode(bytes);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().detail;
  EXPECT_EQ(telegram::Encode(*decoded), bytes);
  EXPECT_EQ(RelayTransactionId(*decoded), "tg:20261126:000017:90040000000001");

  // A re-send: the same telegram but for the send count.
  std::string again = telegram::Encode(DepositTelegram(Deposit(2), Options()));
  EXPECT_EQ(Field(again, 26, 1), "2");
  EXPECT_EQ(again.substr(0, 26) + again.substr(27), bytes.substr(0, 26) + bytes.substr(27));
  EXPECT_EQ(Field(telegram::Encode(DepositTelegram(Deposit(12), Options())), 26, 1), "9")
      << "one digit: a 12th attempt says 9";
}

TEST(BanksimTelegramLink, ACancellationNamesItsDepositAsTheRelayKeysIt) {
  CancellationMessage c{"004TEST00000002",
                        "004TEST00000001",
                        "2026-11-26T01:00:00Z",
                        "90040000000001",
                        Krw(39'000),
                        "홍길동",
                        "004100000000001",
                        TelegramRef{1, kSent + std::chrono::hours(25)},
                        TelegramRef{17, kSent},
                        3};
  auto request = CancellationTelegram(c, Options());
  std::string bytes = telegram::Encode(request);
  EXPECT_EQ(Field(bytes, 26, 1), "3");
  EXPECT_EQ(Field(bytes, 27, 6), "000001");
  EXPECT_EQ(Field(bytes, 33, 8), "20261127");
  EXPECT_EQ(Field(bytes, 55, 8), "20261126") << "original date: the deposit telegram's send date";
  EXPECT_EQ(Field(bytes, 63, 6), "000017");
  EXPECT_EQ(Field(bytes, 100 + 17, 2), "51");
  EXPECT_EQ(Field(bytes, 100 + 21, 13), "0000000039000");
  EXPECT_EQ(Field(bytes, 100 + 116, 16), "90040000000001  ");
  // The relay's id of the original: tg:<original date>:<original sequence>:<this number>, the
  // same as the deposit's own.
  const auto& h = request.header;
  ASSERT_TRUE(h.original_date.has_value());
  char sequence[8];
  std::snprintf(sequence, sizeof sequence, "%06u", h.original_sequence);
  EXPECT_EQ("tg:" + telegram::FormatDate(*h.original_date) + ":" + sequence + ":90040000000001",
            RelayTransactionId(DepositTelegram(Deposit(), Options())));
  EXPECT_EQ(RelayTransactionId(request), "tg:20261127:000001:90040000000001");
}

TEST(BanksimTelegramLink, BuildsAnInquiryAndReadsItsAnswer) {
  PrecheckQuery q{"90040000000001", Krw(5'000), "Kim Minji", TelegramRef{3, kSent}};
  auto request = InquiryTelegram(q, Options());
  std::string bytes = telegram::Encode(request);
  EXPECT_EQ(Field(bytes, 19, 4), "0900");
  EXPECT_EQ(Field(bytes, 23, 3), "100");
  EXPECT_EQ(Field(bytes, 27, 6), "000003");
  EXPECT_EQ(Field(bytes, 100, 16), "90040000000001  ");
  EXPECT_EQ(Field(bytes, 100 + 16, 30), std::string(30, ' ')) << "the holder name is the answer's";
  EXPECT_EQ(Field(bytes, 100 + 70, 13), "0000000005000");
  EXPECT_EQ(Field(bytes, 100 + 85, 2), "10");
  EXPECT_EQ(Field(bytes, 100 + 87, 20), "Kim Minji           ");

  auto ok = telegram::MakeResponse(request, "0000");
  std::get<telegram::ReceivabilityInquiry>(ok->body).holder_name = "Example Shop Co.";
  std::get<telegram::ReceivabilityInquiry>(ok->body).end_at = kSent + seconds(600);
  auto accepted = VerdictFrom(*ok);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_TRUE(accepted->accept);
  EXPECT_EQ(accepted->holder_name, "Example Shop Co.");
  EXPECT_EQ(accepted->due_at, "2026-11-25T15:40:00Z");

  for (auto [code, reason] : {std::pair{"0101", "unknown_number"},
                              {"0102", "not_assigned"},
                              {"0103", "expired"},
                              {"0104", "amount_mismatch"},
                              {"0105", "merchant_inactive"},
                              {"0106", "duplicate"},
                              {"0901", "format_error"},
                              {"0999", "system_error"},
                              {"V713", "bank_code_V713"}}) {
    EXPECT_EQ(ReasonForCode(code), reason);
    auto refused = VerdictFrom(*telegram::MakeResponse(request, code));
    ASSERT_TRUE(refused.has_value());
    EXPECT_FALSE(refused->accept);
    EXPECT_EQ(refused->reason, reason);
  }
}

TEST(BanksimTelegramLink, NoticeAnswersAcknowledgeResendOrFail) {
  auto deposit = DepositTelegram(Deposit(), Options());
  auto ok = ReceiptFrom(deposit, *telegram::MakeResponse(deposit, "0000"));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->answer, "telegram 0000");
  EXPECT_EQ(ok->relay_transaction_id, "tg:20261126:000017:90040000000001");
  EXPECT_FALSE(ok->duplicate_known);

  auto busy = ReceiptFrom(deposit, *telegram::MakeResponse(deposit, "0999"));
  ASSERT_FALSE(busy.has_value());
  EXPECT_FALSE(busy.error().final) << "a system error is sent again";
  EXPECT_EQ(busy.error().Summary(), "telegram 0999 system_error");

  for (const char* code : {"0106", "0901", "0101", "X001"}) {
    auto refused = ReceiptFrom(deposit, *telegram::MakeResponse(deposit, code));
    ASSERT_FALSE(refused.has_value());
    EXPECT_TRUE(refused.error().final) << code;
  }
  EXPECT_EQ(ReceiptFrom(deposit, *telegram::MakeResponse(deposit, "0106")).error().Summary(),
            "telegram 0106 duplicate");

  CancellationMessage c{"004TEST00000002",
                        "004TEST00000001",
                        "2026-11-26T01:00:00Z",
                        "90040000000001",
                        Krw(39'000),
                        "",
                        "004100000000001",
                        TelegramRef{18, kSent},
                        TelegramRef{17, kSent},
                        1};
  auto cancellation = CancellationTelegram(c, Options());
  auto unknown = ReceiptFrom(cancellation, *telegram::MakeResponse(cancellation, "0101"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_FALSE(unknown.error().final) << "the deposit may not have reached the relay yet";
}

// A relay's telegram listener in miniature: one connection at a time, each telegram handed to
// `answer`, which returns the telegrams to send back (none: stay silent; an empty one: hang up
// after sending the others, as the relay's idle timeout does), or nullopt to hang up at once.
class FakeTelegramRelay {
 public:
  using Replies = std::optional<std::vector<std::string>>;
  using Answer = std::function<Replies(const telegram::Telegram&)>;

  explicit FakeTelegramRelay(Answer answer) : answer_(std::move(answer)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    socklen_t length = sizeof address;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeTelegramRelay() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (int fd = connection_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }

  std::vector<telegram::Telegram> Received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

  unsigned short port = 0;
  std::atomic<int> connections{0};

 private:
  void Run() {
    while (!stopping_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      ++connections;
      connection_ = fd;
      telegram::FrameReader reader;
      char chunk[1024];
      bool open = true;
      while (open && !stopping_) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        reader.Feed(std::string_view(chunk, static_cast<std::size_t>(n)));
        for (auto frame = reader.Next(); frame && *frame; frame = reader.Next()) {
          auto decoded = telegram::Decode(**frame);
          if (decoded) {
            std::lock_guard lock(mutex_);
            received_.push_back(*decoded);
          }
          auto reply = decoded ? answer_(*decoded) : std::nullopt;
          if (!reply) {
            open = false;
            break;
          }
          std::string framed;  // in one write, as the relay writes an answer and its request
          for (const auto& t : *reply) {
            if (t.empty())
              open = false;
            else
              framed += telegram::Frame(t);
          }
          if (!framed.empty()) ::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL);
          if (!open) break;
        }
      }
      connection_ = -1;
      ::close(fd);
    }
  }

  Answer answer_;
  std::mutex mutex_;
  std::vector<telegram::Telegram> received_;
  int listen_fd_ = -1;
  std::atomic<int> connection_{-1};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

std::unique_ptr<TelegramRelayLink> LinkTo(unsigned short port, milliseconds timeout) {
  TelegramLinkOptions o = Options();
  o.port = port;
  o.timeout = timeout;
  auto link = TelegramRelayLink::Create(o);
  EXPECT_TRUE(link.has_value());
  return std::move(*link);
}

TEST(BanksimTelegramLink, TalksOverOneConnectionAndReconnectsWhenItDrops) {
  std::atomic<int> hang_up_after{-1};
  std::atomic<bool> close_after_answer{false};
  FakeTelegramRelay relay([&](const telegram::Telegram& t) -> FakeTelegramRelay::Replies {
    if (hang_up_after.load() == 0) return std::nullopt;
    --hang_up_after;
    auto answer = telegram::MakeResponse(t, "0000");
    if (auto* inquiry = std::get_if<telegram::ReceivabilityInquiry>(&answer->body))
      inquiry->holder_name = "Example Shop Co.";
    if (close_after_answer.exchange(false))
      return std::vector{telegram::Encode(*answer), std::string()};
    return std::vector{telegram::Encode(*answer)};
  });
  auto link = LinkTo(relay.port, seconds(5));
  EXPECT_EQ(link->Describe(), "telegram 127.0.0.1:" + std::to_string(relay.port) + " (bank 004)");
  auto verdict =
      link->Precheck(PrecheckQuery{"90040000000001", Krw(5'000), "", TelegramRef{1, kSent}});
  ASSERT_TRUE(verdict.has_value()) << verdict.error().Summary();
  EXPECT_EQ(verdict->holder_name, "Example Shop Co.");
  auto receipt = link->NotifyDeposit(Deposit());
  ASSERT_TRUE(receipt.has_value()) << receipt.error().Summary();
  EXPECT_EQ(relay.connections.load(), 1) << "one connection for both";

  // The relay hangs up instead of answering: no answer this time, a new connection next time.
  hang_up_after = 0;
  auto lost = link->NotifyDeposit(Deposit(2));
  ASSERT_FALSE(lost.has_value());
  EXPECT_EQ(lost.error().http_status, 0);
  EXPECT_FALSE(lost.error().final);
  hang_up_after = -1;
  ASSERT_TRUE(link->NotifyDeposit(Deposit(3)).has_value());
  int connections = relay.connections.load();
  EXPECT_GE(connections, 2);

  // The relay closes a connection after an answer (its idle timeout): the next telegram goes out
  // on a new one, without a failure.
  close_after_answer = true;
  ASSERT_TRUE(link->NotifyDeposit(Deposit(4)).has_value());
  std::this_thread::sleep_for(milliseconds(50));
  auto after_close = link->NotifyDeposit(Deposit(5));
  ASSERT_TRUE(after_close.has_value()) << after_close.error().Summary();
  EXPECT_EQ(relay.connections.load(), connections + 1);
}

TEST(BanksimTelegramLink, GivesUpOnASilentRelayAfterItsTimeoutAndStartsAfresh) {
  std::atomic<bool> silent{true};
  FakeTelegramRelay relay([&](const telegram::Telegram& t) -> FakeTelegramRelay::Replies {
    if (silent) return std::vector<std::string>();
    return std::vector{telegram::Encode(*telegram::MakeResponse(t, "0104"))};
  });
  auto link = LinkTo(relay.port, milliseconds(200));
  auto started = std::chrono::steady_clock::now();
  auto lost =
      link->Precheck(PrecheckQuery{"90040000000001", Krw(5'000), "", TelegramRef{1, kSent}});
  ASSERT_FALSE(lost.has_value());
  EXPECT_EQ(lost.error().Summary(), "no answer: no answer within 200 ms");
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(200));
  silent = false;
  auto refused =
      link->Precheck(PrecheckQuery{"90040000000001", Krw(5'000), "", TelegramRef{2, kSent}});
  ASSERT_TRUE(refused.has_value()) << refused.error().Summary();
  EXPECT_EQ(refused->reason, "amount_mismatch");
  EXPECT_EQ(relay.connections.load(), 2) << "a timed-out connection is not reused";
}

TEST(BanksimTelegramLink, AnswersTheRelaysRequestForMissingNumbersAndHandsOnTheRange) {
  // The relay answers each notice and, after the one numbered 17, asks for 11..16 of that day
  // (its --telegram-request-missing); the bank's 0610 must reach it before the next telegram.
  FakeTelegramRelay relay([&](const telegram::Telegram& t) -> FakeTelegramRelay::Replies {
    if (telegram::IsResponse(t.header)) return std::vector<std::string>();  // read and dropped
    std::vector<std::string> out{telegram::Encode(*telegram::MakeResponse(t, "0000"))};
    if (t.header.sequence == 17) {
      telegram::Header h = t.header;
      h.sequence = 1;
      telegram::MissingSequenceRequest ask;
      ask.date = telegram::KstDate(t.header.sent_at);
      ask.from_sequence = 11;
      ask.to_sequence = 16;
      out.push_back(telegram::Encode(telegram::MakeRequest(h, ask)));
    }
    return out;
  });
  TelegramLinkOptions o = Options();
  o.port = relay.port;
  std::vector<std::tuple<std::chrono::sys_days, std::uint32_t, std::uint32_t>> asked;
  o.on_missing_request = [&](std::chrono::sys_days day, std::uint32_t from, std::uint32_t to) {
    asked.emplace_back(day, from, to);
  };
  auto link = TelegramRelayLink::Create(o);
  ASSERT_TRUE(link.has_value());
  ASSERT_TRUE((*link)->NotifyDeposit(Deposit()).has_value());
  ASSERT_EQ(asked.size(), 1u) << "handled with the answer it came behind";
  EXPECT_EQ(asked[0],
            std::tuple(std::chrono::sys_days(std::chrono::year(2026) / 11 / 26), 11u, 16u));
  DepositMessage next = Deposit();
  next.telegram.sequence = 18;
  ASSERT_TRUE((*link)->NotifyDeposit(next).has_value());
  auto received = relay.Received();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[1].header.message_code, "0610");
  EXPECT_EQ(received[1].header.business_code, "200");
  EXPECT_EQ(received[1].header.bank_response_code, "0000");
  EXPECT_EQ(received[2].header.sequence, 18u);
  EXPECT_EQ(relay.connections.load(), 1);
}

TEST(BanksimTelegramLink, NoRelayListeningIsNoAnswer) {
  unsigned short port = 0;
  {
    FakeTelegramRelay gone([](const telegram::Telegram&) { return FakeTelegramRelay::Replies(); });
    port = gone.port;
  }
  auto link = LinkTo(port, milliseconds(500));
  auto failed = link->NotifyDeposit(Deposit());
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().Summary().rfind("no answer: cannot connect to 127.0.0.1:", 0), 0u)
      << failed.error().Summary();
  EXPECT_FALSE(TelegramRelayLink::Create(TelegramLinkOptions{"127.0.0.1", 9100, "04"}).has_value());
  EXPECT_EQ(telegram::ParseHostPort("127.0.0.1:9100"),
            (std::pair<std::string, unsigned short>{"127.0.0.1", 9100}));
  EXPECT_EQ(telegram::ParseHostPort("[::1]:9100")->first, "::1");
  EXPECT_FALSE(telegram::ParseHostPort("127.0.0.1").has_value());
  EXPECT_FALSE(telegram::ParseHostPort("127.0.0.1:0").has_value());
  EXPECT_FALSE(telegram::ParseHostPort("::1:9100").has_value());
  EXPECT_EQ(telegram::ParseHostPort("127.0.0.1:0", true)->second, 0);
  EXPECT_FALSE(telegram::ParseHostPort("127.0.0.1:", true).has_value());
}

}  // namespace
}  // namespace varelay::banksim
