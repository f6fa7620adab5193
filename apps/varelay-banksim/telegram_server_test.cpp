// Proves the telegram server: the bank answers the relay's holder inquiry, withdrawal and result
// inquiry with the documented bank response codes at the documented offsets, a re-sent withdrawal
// replays its result without a second debit, a refusal is recorded for the result inquiry, a
// reused date + sequence with other content is a conflict, garbage gets a format-error answer or a
// closed connection, the transfer faults drop an answer or refuse service, a restarted bank still
// answers from its state file, and over a real loopback socket framed telegrams are answered in
// order on several connections.
#include "telegram_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "banks/telegram/euc_kr.h"
#include "banks/telegram/field.h"
#include "state_file.h"

namespace varelay::banksim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Money Krw(std::int64_t minor) { return Money(minor, Currency::Krw()); }

// 2026-11-25T15:30:00Z = 2026-11-26 00:30:00 in Seoul: the reference takes the KST date.
const Instant kSent = FromUnixMs(1'795'620'600'000);
const Instant kNow = kSent + seconds(2);  // when the bank executes: 00:30:02 KST

constexpr const char* kMother = "004100000000001";
constexpr const char* kCustomer = "11112222333";

class CountingJournal : public BankJournal {
 public:
  void Append(std::span<const BankRecord> records) override {
    for (const auto& r : records) withdrawals += std::holds_alternative<Withdrawal>(r);
  }
  int withdrawals = 0;
};

// A bank with a mother account (50,000 won) and a customer with a Hangul name (100,000 won).
struct TestBank {
  explicit TestBank(BankJournal* journal = nullptr) : bank(BankOptions{}, "TEST", journal) {
    Account mother{kMother, "Example Shop Co.", AccountKind::kMother, Krw(50'000), Krw(0), "9004",
                   {}, {}, 0, {}, false};
    Account customer{kCustomer, "김민지", AccountKind::kCustomer, Krw(100'000), Krw(0), "", {}, {}, 0, {}, false};
    EXPECT_TRUE(bank.OpenAccount(mother, kSent).has_value());
    EXPECT_TRUE(bank.OpenAccount(customer, kSent).has_value());
  }
  std::int64_t Balance(std::string_view number) const {
    return bank.FindAccount(number)->balance.minor();
  }
  Bank bank;
};

telegram::Header RelayHeader(std::uint32_t sequence, int send_count = 1) {
  telegram::Header h;
  h.identification_code = "VARELAY01";
  h.institution_code = "VR000001";
  h.bank_code_legacy = "04";
  h.send_count = send_count;
  h.sequence = sequence;
  h.sent_at = kSent;
  h.bank_code = "004";
  return h;
}

std::string HolderInquiryBytes(std::string account, std::uint32_t sequence = 5) {
  telegram::HolderInquiry q;
  q.bank_code = "004";
  q.account_number = std::move(account);
  return telegram::Encode(telegram::MakeRequest(RelayHeader(sequence), q));
}

std::string WithdrawalBytes(std::uint32_t sequence, std::int64_t amount_won, int send_count = 1,
                            std::string account = kMother) {
  telegram::Withdrawal w;
  w.debit_bank_code = "004";
  w.debit_account = std::move(account);
  w.amount_won = amount_won;
  w.recipient_bank_code = "088";
  w.recipient_account = "110123456789";
  w.recipient_name = "Example Shop Co.";
  w.passbook_memo = "VARELAY PAYOUT";
  return telegram::Encode(telegram::MakeRequest(RelayHeader(sequence, send_count), w));
}

std::string ResultInquiryBytes(std::uint32_t original_sequence, std::int64_t amount_won,
                               std::string account = kMother, std::uint32_t sequence = 90) {
  telegram::ResultInquiry q;
  q.bank_code = "004";
  q.account_number = std::move(account);
  q.original_amount_won = amount_won;
  telegram::Header h = RelayHeader(sequence);
  h.original_date = telegram::KstDate(kSent);
  h.original_sequence = original_sequence;
  return telegram::Encode(telegram::MakeRequest(h, q));
}

std::string_view Field(std::string_view bytes, std::size_t offset, std::size_t length) {
  return bytes.substr(offset, length);
}

// The answer bytes, which must be a 300-byte answer.
std::string Answered(Bank& bank, std::string_view request, const FaultPlan& faults = {},
                     milliseconds since_start = {}) {
  TelegramReply reply = AnswerRelayTelegram(bank, request, kNow, faults, since_start);
  EXPECT_EQ(reply.disposition, TelegramDisposition::kAnswer);
  EXPECT_EQ(reply.answer.size(), telegram::kTelegramBytes);
  return reply.answer;
}

// Everything but the message code (19, 4), the bank response code (51, 4) and `others` (offset,
// length) equals the request's.
void ExpectEchoed(std::string_view request, std::string answer,
                  std::vector<std::pair<std::size_t, std::size_t>> others = {}) {
  std::string expected(request);
  others.push_back({19, 4});
  others.push_back({51, 4});
  for (auto [offset, length] : others) {
    expected.replace(offset, length, answer.substr(offset, length));
  }
  EXPECT_EQ(answer, expected);
}

// Proves 0600/400 -> 0610 0000 with the holder's name (EUC-KR, accounts and virtual numbers), 0101
// for no account.
TEST(BanksimTelegramServer, AnswersAHolderInquiryWithTheHoldersName) {
  TestBank t;
  std::string request = HolderInquiryBytes(kMother);
  std::string answer = Answered(t.bank, request);
  EXPECT_EQ(Field(answer, 19, 4), "0610");
  EXPECT_EQ(Field(answer, 23, 3), "400");
  EXPECT_EQ(Field(answer, 47, 4), "0000") << "the relay's response code stays as sent";
  EXPECT_EQ(Field(answer, 51, 4), "0000");
  EXPECT_EQ(Field(answer, 100 + 29, 30), "Example Shop Co.              ");
  ExpectEchoed(request, answer, {{100 + 29, 30}});

  // In EUC-KR: 김민지 is 6 bytes.
  answer = Answered(t.bank, HolderInquiryBytes(kCustomer));
  EXPECT_EQ(telegram::EucKrToUtf8(Field(answer, 100 + 29, 6)).value(), "김민지");
  EXPECT_EQ(Field(answer, 100 + 35, 24), std::string(24, ' '));
  // A virtual number in front of the mother account is in the mother's name.
  answer = Answered(t.bank, HolderInquiryBytes("90040000000001"));
  EXPECT_EQ(Field(answer, 51, 4), "0000");
  EXPECT_EQ(Field(answer, 100 + 29, 16), "Example Shop Co.");

  answer = Answered(t.bank, HolderInquiryBytes("5555555"));
  EXPECT_EQ(Field(answer, 51, 4), "0101");
  EXPECT_EQ(Field(answer, 100 + 29, 30), std::string(30, ' '));
}

// Proves a withdrawal debits once under tg:<KST date>:<sequence> and a re-send replays its answer.
TEST(BanksimTelegramServer, AWithdrawalDebitsOnceAndAReSendReplaysIt) {
  CountingJournal journal;
  TestBank t(&journal);
  std::string request = WithdrawalBytes(17, 30'000);
  std::string answer = Answered(t.bank, request);
  EXPECT_EQ(Field(answer, 19, 4), "0110");
  EXPECT_EQ(Field(answer, 23, 3), "100");
  EXPECT_EQ(Field(answer, 51, 4), "0000");
  EXPECT_EQ(Field(answer, 100 + 85, 14), "20261126003002") << "processed time in KST";
  const Withdrawal* w = t.bank.FindWithdrawal("tg:20261126:000017");
  ASSERT_NE(w, nullptr) << "the reference takes the KST send date";
  EXPECT_EQ(w->account, kMother);
  EXPECT_EQ(w->amount, Krw(30'000));
  EXPECT_EQ(w->status, WithdrawalStatus::kCompleted);
  EXPECT_EQ(Field(answer, 69, 15), w->booking_id) << "the bank reference: its transaction id";
  ExpectEchoed(request, answer, {{69, 15}, {100 + 85, 14}});
  EXPECT_EQ(t.Balance(kMother), 20'000);
  EXPECT_EQ(journal.withdrawals, 1);

  // The relay did not get the answer and sends again: same date and sequence, send count 2.
  std::string resend = WithdrawalBytes(17, 30'000, 2);
  std::string again = AnswerRelayTelegram(t.bank, resend, kNow + seconds(30)).answer;
  EXPECT_EQ(Field(again, 26, 1), "2");
  EXPECT_EQ(again.substr(0, 26) + again.substr(27), answer.substr(0, 26) + answer.substr(27))
      << "the recorded result, processed time included";
  EXPECT_EQ(t.Balance(kMother), 20'000) << "never debited twice";
  EXPECT_EQ(journal.withdrawals, 1) << "a replay records nothing";

  // Another sequence is another transfer.
  EXPECT_EQ(Field(Answered(t.bank, WithdrawalBytes(18, 5'000)), 51, 4), "0000");
  EXPECT_EQ(t.Balance(kMother), 15'000);
}

// Proves 0201 is recorded and kept, 0101 records nothing, 0303 moves nothing, amount 0 is 0901.
TEST(BanksimTelegramServer, RefusalsUnknownAccountsAndConflicts) {
  TestBank t;
  // More than the balance: refused and recorded, no processed time.
  std::string refused = Answered(t.bank, WithdrawalBytes(20, 50'001));
  EXPECT_EQ(Field(refused, 51, 4), "0201");
  EXPECT_EQ(Field(refused, 100 + 85, 14), std::string(14, '0'));
  ASSERT_NE(t.bank.FindWithdrawal("tg:20261126:000020"), nullptr);
  EXPECT_EQ(t.bank.FindWithdrawal("tg:20261126:000020")->status, WithdrawalStatus::kRefused);
  EXPECT_EQ(t.Balance(kMother), 50'000);
  // Money arrives, the relay re-sends: the recorded refusal stands.
  PaymentOrder payment{kCustomer, "90040000000001", Krw(10'000), "Kim Minji"};
  ASSERT_TRUE(t.bank.BookPayment(payment, NoticePlan{Krw(10'000), kNow}, kNow).has_value());
  ASSERT_EQ(t.Balance(kMother), 60'000);
  EXPECT_EQ(Field(Answered(t.bank, WithdrawalBytes(20, 50'001, 2)), 51, 4), "0201");

  // An unknown debit account: nothing recorded.
  std::string unknown = Answered(t.bank, WithdrawalBytes(21, 1'000, 1, "404040404"));
  EXPECT_EQ(Field(unknown, 51, 4), "0101");
  EXPECT_EQ(t.bank.FindWithdrawal("tg:20261126:000021"), nullptr);

  // The same date + sequence with another amount or account: a conflict, nothing moves.
  ASSERT_EQ(Field(Answered(t.bank, WithdrawalBytes(22, 1'000)), 51, 4), "0000");
  EXPECT_EQ(Field(Answered(t.bank, WithdrawalBytes(22, 2'000, 2)), 51, 4), "0303");
  EXPECT_EQ(Field(Answered(t.bank, WithdrawalBytes(22, 1'000, 2, kCustomer)), 51, 4), "0303");
  EXPECT_EQ(t.Balance(kMother), 59'000);
  EXPECT_EQ(t.Balance(kCustomer), 90'000);

  // An amount of 0 decodes but is no transfer: a format error, nothing recorded.
  EXPECT_EQ(Field(Answered(t.bank, WithdrawalBytes(23, 0)), 51, 4), "0901");
  EXPECT_EQ(t.bank.FindWithdrawal("tg:20261126:000023"), nullptr);
}

// Proves the result inquiry reports the original's code and time, 0301 when never received.
TEST(BanksimTelegramServer, AResultInquiryReportsCompletedRefusedOrUnknown) {
  TestBank t;
  ASSERT_EQ(Field(Answered(t.bank, WithdrawalBytes(17, 30'000)), 51, 4), "0000");
  ASSERT_EQ(Field(Answered(t.bank, WithdrawalBytes(18, 90'000)), 51, 4), "0201");

  std::string request = ResultInquiryBytes(17, 30'000);
  std::string done = Answered(t.bank, request);
  EXPECT_EQ(Field(done, 19, 4), "0610");
  EXPECT_EQ(Field(done, 23, 3), "101");
  EXPECT_EQ(Field(done, 51, 4), "0000") << "the transfer was found";
  EXPECT_EQ(Field(done, 55, 8), "20261126");
  EXPECT_EQ(Field(done, 63, 6), "000017");
  EXPECT_EQ(Field(done, 100 + 32, 4), "0000") << "the original's outcome";
  EXPECT_EQ(Field(done, 100 + 36, 14), "20261126003002") << "when it was done";
  EXPECT_EQ(Field(done, 69, 15), t.bank.FindWithdrawal("tg:20261126:000017")->booking_id);
  ExpectEchoed(request, done, {{69, 15}, {100 + 32, 4}, {100 + 36, 14}});

  std::string refused = Answered(t.bank, ResultInquiryBytes(18, 90'000));
  EXPECT_EQ(Field(refused, 51, 4), "0000");
  EXPECT_EQ(Field(refused, 100 + 32, 4), "0201");
  EXPECT_EQ(Field(refused, 100 + 36, 14), "20261126003002") << "when the bank refused it";
  EXPECT_EQ(Field(refused, 69, 15), std::string(15, ' ')) << "no transaction: no bank reference";

  std::string never = Answered(t.bank, ResultInquiryBytes(19, 1'000));
  EXPECT_EQ(Field(never, 51, 4), "0301") << "never received: safe to send again";
  EXPECT_EQ(Field(never, 100 + 32, 4), "    ");
  EXPECT_EQ(Field(never, 100 + 36, 14), std::string(14, '0'));

  // The cross-check: the body names another account or amount than the original.
  EXPECT_EQ(Field(Answered(t.bank, ResultInquiryBytes(17, 30'001)), 51, 4), "0303");
  EXPECT_EQ(Field(Answered(t.bank, ResultInquiryBytes(17, 30'000, kCustomer)), 51, 4), "0303");
  // Without the account and amount it is not cross-checked.
  EXPECT_EQ(Field(Answered(t.bank, ResultInquiryBytes(17, 0, "")), 100 + 32, 4), "0000");

  // Without an original date it names nothing: a format error.
  auto nameless = telegram::Decode(request).value();
  nameless.header.original_date.reset();
  EXPECT_EQ(Field(Answered(t.bank, telegram::Encode(nameless)), 51, 4), "0901");
}

// Proves other codes get 0302, undecodable telegrams 0901 from the header, the rest a hang-up.
TEST(BanksimTelegramServer, OtherCodesAreNotSupportedAndGarbageIsAFormatErrorOrAHangUp) {
  TestBank t;
  // Decodable telegrams this bank does not serve (one of them a notice a bank would send).
  telegram::MissingSequenceRequest missing;
  missing.date = telegram::KstDate(kSent);
  missing.from_sequence = 1;
  missing.to_sequence = 3;
  std::string request = telegram::Encode(telegram::MakeRequest(RelayHeader(7), missing));
  std::string answer = Answered(t.bank, request);
  EXPECT_EQ(Field(answer, 19, 4), "0610");
  EXPECT_EQ(Field(answer, 51, 4), "0302");
  ExpectEchoed(request, answer);
  telegram::DepositNotice notice;
  notice.bank_code_legacy = "04";
  notice.bank_code = "004";
  notice.transacted_at = kSent;
  answer = Answered(t.bank, telegram::Encode(telegram::MakeRequest(RelayHeader(8), notice)));
  EXPECT_EQ(Field(answer, 19, 4), "0210");
  EXPECT_EQ(Field(answer, 51, 4), "0302");

  // A code pair no telegram has: answered from the header, the body echoed byte for byte.
  std::string odd = WithdrawalBytes(9, 1'000);
  odd.replace(19, 4, "0700");
  odd.replace(100, 5, "\xff\x01xyz");
  answer = Answered(t.bank, odd);
  EXPECT_EQ(Field(answer, 19, 4), "0710");
  EXPECT_EQ(Field(answer, 51, 4), "0302");
  ExpectEchoed(odd, answer);

  // A served telegram whose body does not decode: a format error, nothing executed.
  std::string bad = WithdrawalBytes(10, 1'000);
  bad[100 + 25] = 'X';  // inside the amount
  answer = Answered(t.bank, bad);
  EXPECT_EQ(Field(answer, 19, 4), "0110");
  EXPECT_EQ(Field(answer, 51, 4), "0901");
  ExpectEchoed(bad, answer);
  EXPECT_EQ(t.bank.FindWithdrawal("tg:20261126:000010"), nullptr);
  // A frame of another length with a readable header: a format error, the body space-filled.
  answer = Answered(t.bank, WithdrawalBytes(11, 1'000).substr(0, 250));
  EXPECT_EQ(Field(answer, 51, 4), "0901");
  EXPECT_EQ(Field(answer, 250, 50), std::string(50, ' '));

  // No header to answer from, or an answer telegram: the connection is closed.
  EXPECT_EQ(AnswerRelayTelegram(t.bank, "garbage", kNow).disposition, TelegramDisposition::kClose);
  std::string unreadable = WithdrawalBytes(12, 1'000);
  unreadable[30] = '?';  // inside the sequence number
  EXPECT_EQ(AnswerRelayTelegram(t.bank, unreadable, kNow).disposition, TelegramDisposition::kClose);
  std::string an_answer = Answered(t.bank, WithdrawalBytes(13, 1'000));
  EXPECT_EQ(AnswerRelayTelegram(t.bank, an_answer, kNow).disposition, TelegramDisposition::kClose);
  EXPECT_EQ(t.Balance(kMother), 49'000) << "only sequence 13 moved money";
}

// Proves the drop fault executes without answering, deterministically, and the outage executes
// nothing.
TEST(BanksimTelegramServer, TransferFaultsDropTheAnswerOrCloseBeforeExecuting) {
  TestBank t;
  FaultPlan drop;
  drop.drop_transfer_answer_p = 1;
  TelegramReply silent = AnswerRelayTelegram(t.bank, WithdrawalBytes(17, 30'000), kNow, drop);
  EXPECT_EQ(silent.disposition, TelegramDisposition::kSilent);
  EXPECT_EQ(t.Balance(kMother), 20'000) << "executed and recorded, only the answer is lost";
  // The relay asks for the result; inquiries are answered.
  EXPECT_EQ(Field(Answered(t.bank, ResultInquiryBytes(17, 30'000), drop), 100 + 32, 4), "0000");
  // Rolls are deterministic per telegram and send count.
  drop.drop_transfer_answer_p = 0.5;
  int dropped = 0;
  for (int count = 1; count <= 9; ++count) {
    auto first = AnswerRelayTelegram(t.bank, WithdrawalBytes(17, 30'000, count), kNow, drop);
    auto second = AnswerRelayTelegram(t.bank, WithdrawalBytes(17, 30'000, count), kNow, drop);
    EXPECT_EQ(first.disposition, second.disposition);
    dropped += first.disposition == TelegramDisposition::kSilent;
  }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, 9);
  EXPECT_EQ(t.Balance(kMother), 20'000);

  FaultPlan outage;
  outage.transfer_outage = ParseOutage("2:5");
  EXPECT_EQ(
      AnswerRelayTelegram(t.bank, WithdrawalBytes(18, 1'000), kNow, outage, seconds(3)).disposition,
      TelegramDisposition::kClose);
  EXPECT_EQ(t.bank.FindWithdrawal("tg:20261126:000018"), nullptr) << "nothing executed";
  EXPECT_EQ(Field(Answered(t.bank, ResultInquiryBytes(18, 1'000), outage, seconds(5)), 51, 4),
            "0301")
      << "after the window: never received";
  EXPECT_EQ(Field(Answered(t.bank, WithdrawalBytes(18, 1'000), outage, seconds(1)), 51, 4), "0000")
      << "before the window";
  EXPECT_EQ(DescribeFaults(drop), "faults: drop-transfer-answer=0.5 seed=1");
  EXPECT_EQ(DescribeFaults(outage), "faults: transfer-outage=2000ms..5000ms seed=1");
}

// Proves withdrawals survive a restart through the state file: inquiries and re-sends still answer.
TEST(BanksimTelegramServer, ARestartedBankAnswersFromItsStateFile) {
  auto dir = std::filesystem::temp_directory_path() /
             ("banksim-telegram-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "state.jsonl").string();
  {
    auto file = StateFile::Rewrite(path, {});
    ASSERT_TRUE(file.has_value());
    TestBank t(file->get());
    ASSERT_EQ(Field(Answered(t.bank, WithdrawalBytes(17, 30'000)), 51, 4), "0000");
    ASSERT_EQ(Field(Answered(t.bank, WithdrawalBytes(18, 90'000)), 51, 4), "0201");
  }
  auto records = StateFile::Load(path);
  ASSERT_TRUE(records.has_value()) << records.error().detail;
  Bank restarted(BankOptions{}, "NEXT");
  for (const auto& record : *records) restarted.Restore(record);
  ASSERT_TRUE(restarted.FinishRestore().has_value());
  std::string done = Answered(restarted, ResultInquiryBytes(17, 30'000));
  EXPECT_EQ(Field(done, 51, 4), "0000");
  EXPECT_EQ(Field(done, 100 + 32, 4), "0000");
  EXPECT_EQ(Field(done, 100 + 36, 14), "20261126003002");
  EXPECT_EQ(Field(Answered(restarted, ResultInquiryBytes(18, 90'000)), 100 + 32, 4), "0201");
  EXPECT_EQ(Field(Answered(restarted, WithdrawalBytes(18, 90'000, 2)), 51, 4), "0201");
  EXPECT_EQ(Field(Answered(restarted, WithdrawalBytes(17, 30'000, 3)), 51, 4), "0000");
  EXPECT_EQ(restarted.FindAccount(kMother)->balance, Krw(20'000)) << "replayed, not debited again";
  std::filesystem::remove_all(dir);
}

// Proves --telegram-serve takes HOST:PORT with port 0 and the reference format.
TEST(BanksimTelegramServer, ParsesTheServeAddress) {
  EXPECT_EQ(telegram::ParseHostPort("127.0.0.1:0", true),
            (std::pair<std::string, unsigned short>{"127.0.0.1", 0}));
  EXPECT_EQ(telegram::ParseHostPort("[::1]:9200", true)->first, "::1");
  EXPECT_FALSE(telegram::ParseHostPort("127.0.0.1", true).has_value());
  EXPECT_FALSE(telegram::ParseHostPort("127.0.0.1:65536", true).has_value());
  EXPECT_EQ(TransferReference(telegram::KstDate(kSent), 7), "tg:20261126:000007");
}

// ---- over a real socket ----------------------------------------------------------------------

// A relay's side of one connection: blocking writes, reads with a deadline.
class RelayConnection {
 public:
  explicit RelayConnection(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    connected = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RelayConnection() { ::close(fd_); }

  void Send(std::string_view bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // The next frame, or nullopt when none came within `timeout` or the server closed.
  std::optional<std::string> Next(milliseconds timeout = milliseconds(5'000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto frame = reader_.Next();
      if (frame && *frame) return **frame;
      if (!frame || closed) return std::nullopt;
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      char chunk[1024];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        closed = true;
        continue;
      }
      reader_.Feed(std::string_view(chunk, static_cast<std::size_t>(n)));
    }
  }
  // Whether the server closes the connection within `timeout` (reading and dropping any frame).
  bool ClosedWithin(milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed && std::chrono::steady_clock::now() < deadline) {
      Next(std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()));
    }
    return closed;
  }

  bool connected = false;
  bool closed = false;

 private:
  int fd_ = -1;
  telegram::FrameReader reader_;
};

// The server wired as main.cpp wires it: the bank behind a lock, the faults of `faults`.
struct ServedBank {
  explicit ServedBank(FaultPlan plan = {}, seconds idle_timeout = seconds(60))
      : faults(std::move(plan)) {
    TelegramServerOptions options;
    options.idle_timeout = idle_timeout;
    server = std::make_unique<TelegramServer>(
        [this](std::string_view payload) {
          std::lock_guard lock(mutex);
          return AnswerRelayTelegram(t.bank, payload, kNow, faults);
        },
        options);
    auto bound = server->Listen();
    EXPECT_TRUE(bound.has_value());
    port = bound.value_or(0);
    server->Start();
  }
  std::int64_t Balance(std::string_view number) {
    std::lock_guard lock(mutex);
    return t.Balance(number);
  }

  std::mutex mutex;
  TestBank t;
  FaultPlan faults;
  std::unique_ptr<TelegramServer> server;
  unsigned short port = 0;
};

// Proves real framed telegrams over loopback are answered in order on two connections, garbage
// closes.
TEST(BanksimTelegramServer, AnswersFramedTelegramsInOrderOverLoopback) {
  ServedBank served;
  ASSERT_NE(served.port, 0);
  RelayConnection relay(served.port);
  ASSERT_TRUE(relay.connected);
  // Three telegrams in one write, the middle one cut across two writes: answered in order.
  std::string frames = telegram::Frame(HolderInquiryBytes(kMother, 1)) +
                       telegram::Frame(WithdrawalBytes(17, 30'000)) +
                       telegram::Frame(ResultInquiryBytes(17, 30'000));
  relay.Send(frames.substr(0, 400));
  relay.Send(frames.substr(400));
  auto holder = relay.Next();
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(Field(*holder, 19, 4), "0610");
  EXPECT_EQ(Field(*holder, 100 + 29, 16), "Example Shop Co.");
  auto withdrawal = relay.Next();
  ASSERT_TRUE(withdrawal.has_value());
  std::string replayed;
  {
    std::lock_guard lock(served.mutex);
    replayed = Answered(served.t.bank, WithdrawalBytes(17, 30'000));
  }
  EXPECT_EQ(*withdrawal, replayed) << "byte for byte what the pure function answers (a replay)";
  EXPECT_EQ(Field(*withdrawal, 51, 4), "0000");
  auto result = relay.Next();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(Field(*result, 19, 4), "0610");
  EXPECT_EQ(Field(*result, 100 + 32, 4), "0000");

  // A second connection at the same time; garbage with a readable header is answered 0901 and
  // the connection stays usable.
  RelayConnection other(served.port);
  ASSERT_TRUE(other.connected);
  std::string bad = WithdrawalBytes(18, 1'000);
  bad[100 + 25] = 'X';
  other.Send(telegram::Frame(bad) + telegram::Frame(WithdrawalBytes(18, 1'000, 2)));
  auto format_error = other.Next();
  ASSERT_TRUE(format_error.has_value());
  EXPECT_EQ(Field(*format_error, 51, 4), "0901");
  auto done = other.Next();
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(Field(*done, 51, 4), "0000");
  EXPECT_EQ(served.Balance(kMother), 19'000);

  // The first connection is still served.
  relay.Send(telegram::Frame(HolderInquiryBytes("5555555", 2)));
  auto unknown = relay.Next();
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(Field(*unknown, 51, 4), "0101");

  // A stream that cannot be framed, or a frame without a header, closes the connection.
  other.Send("03X0");
  EXPECT_TRUE(other.ClosedWithin(milliseconds(5'000)));
  relay.Send(telegram::Frame("too short for a header"));
  EXPECT_TRUE(relay.ClosedWithin(milliseconds(5'000)));
  RelayConnection huge(served.port);
  huge.Send("9999");
  EXPECT_TRUE(huge.ClosedWithin(milliseconds(5'000))) << "above the 4,096-byte frame limit";
}

// Proves a dropped answer sends nothing but keeps the connection for the result inquiry.
TEST(BanksimTelegramServer, ADroppedAnswerLeavesTheConnectionForTheResultInquiry) {
  FaultPlan drop;
  drop.drop_transfer_answer_p = 1;
  ServedBank served(drop);
  RelayConnection relay(served.port);
  relay.Send(telegram::Frame(WithdrawalBytes(17, 30'000)));
  EXPECT_FALSE(relay.Next(milliseconds(300)).has_value()) << "no answer: the relay times out";
  relay.Send(telegram::Frame(ResultInquiryBytes(17, 30'000)));
  auto result = relay.Next();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(Field(*result, 51, 4), "0000");
  EXPECT_EQ(Field(*result, 100 + 32, 4), "0000");
  EXPECT_EQ(served.Balance(kMother), 20'000);
}

// Proves an idle connection is closed after the idle timeout and Stop closes the open ones.
TEST(BanksimTelegramServer, ClosesIdleConnectionsAndEveryConnectionOnStop) {
  ServedBank served({}, seconds(1));
  RelayConnection idle(served.port);
  ASSERT_TRUE(idle.connected);
  EXPECT_TRUE(idle.ClosedWithin(milliseconds(5'000)));

  ServedBank stopping;
  RelayConnection open(stopping.port);
  open.Send(telegram::Frame(HolderInquiryBytes(kMother)));
  ASSERT_TRUE(open.Next().has_value()) << "served, and the connection stays open";
  stopping.server->Stop();
  EXPECT_TRUE(open.ClosedWithin(milliseconds(5'000)));
  stopping.server->Stop();  // idempotent
}

}  // namespace
}  // namespace varelay::banksim
