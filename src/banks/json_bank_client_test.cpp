// Proves the relay's JSON bank client: bank_tran_id and bodies as docs/telegrams.md ("JSON banks")
// gives them, every kind of answer read to the right verdict (no answer, an HTTP error or 999
// settles nothing), requests signed as banks sign theirs; against a real loopback HTTP server, a
// post arrives signed and an answer that never comes (the connection closed) leaves it unknown;
// BankConsentRegistrar, routed by a real engine, registers at a JSON or a telegram bank (0600/500
// over loopback TCP), is refused, or is unavailable; and the
// transfer executor sends a JSON bank's transfer once and, its answer dropped, settles it by
// transfer/result with one booking.
#include "banks/json_bank_client.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "banks/consent.h"
#include "banks/telegram/frame.h"
#include "banks/transfer_executor.h"
#include "domain/digest.h"
#include "engine/engine.h"
#include "store/sqlite_store.h"

namespace varelay::banks {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

Transfer SampleTransfer() {
  Transfer t;
  t.id = "trf_0123456789abcdefghij";
  t.bank = "088";
  t.debit_account = "33334444555";
  t.amount = Money(12'000, Currency::Krw());
  t.recipient_bank = "004";
  t.recipient_account = "004100000000001";
  t.recipient_name = "Example Shop";
  t.memo = "DIVISION";
  t.request_date = std::chrono::year_month_day(std::chrono::year(2026), std::chrono::month(11), std::chrono::day(25));
  t.request_sequence = 17;
  t.created_at = *ParseRfc3339("2026-11-25T01:00:00Z");
  return t;
}

notify::WebhookResponse Http(int status, std::string body) {
  notify::WebhookResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(JsonBankClient, TranIdsAndBodies) {
  Transfer t = SampleTransfer();
  EXPECT_EQ(TransferTranId(t, "VR00000001"), "VR00000001U000000017");
  EXPECT_EQ(QueryTranId(900'001, "VR00000001"), "VR00000001U000900001");
  auto body = boost::json::parse(JsonWithdrawBody(t, TransferTranId(t, "VR00000001"))).as_object();
  EXPECT_EQ(body.at("bank_tran_id"), "VR00000001U000000017");
  EXPECT_EQ(body.at("bank_tran_date"), "20261125");
  EXPECT_EQ(body.at("tran_dtime"), "20261125100000");
  EXPECT_EQ(body.at("tran_amt"), "12000") << "amounts are digit strings";
  EXPECT_EQ(body.at("withdraw_account"), "33334444555");
  EXPECT_EQ(body.at("recv_bank_code"), "004");
  EXPECT_EQ(body.at("recv_account"), "004100000000001");
  EXPECT_EQ(body.at("recv_name"), "Example Shop");
  EXPECT_EQ(body.at("print_content"), "DIVISION");
  auto result = boost::json::parse(JsonResultBody(t, "VR00000001U000900001", "VR00000001U000000017")).as_object();
  EXPECT_EQ(result.at("org_bank_tran_id"), "VR00000001U000000017");
  EXPECT_EQ(result.at("org_bank_tran_date"), "20261125");
  auto consent = boost::json::parse(JsonConsentBody({"088", "33334444555", "900101", "Kim Minji", true}, "x")).as_object();
  EXPECT_EQ(consent.at("action"), "cancel");
}

TEST(JsonBankClient, ReadsAnswers) {
  auto done = ReadJsonWithdrawAnswer(Http(200, R"({"rsp_code":"A0000","bank_rsp_code":"000","bank_tran_id":"X"})"));
  EXPECT_EQ(done.verdict, TransferVerdict::kCompleted);
  EXPECT_EQ(done.response_code, "000");
  EXPECT_EQ(done.bank_reference, "X");
  auto poor = ReadJsonWithdrawAnswer(Http(200, R"({"rsp_code":"A0002","bank_rsp_code":"201"})"));
  EXPECT_EQ(poor.verdict, TransferVerdict::kRefused);
  EXPECT_EQ(poor.response_code, "201");
  EXPECT_EQ(poor.detail, "insufficient funds");
  EXPECT_EQ(ReadJsonWithdrawAnswer(Http(200, R"({"rsp_code":"A0002","bank_rsp_code":"999"})")).verdict,
            TransferVerdict::kUnknown);
  EXPECT_EQ(ReadJsonWithdrawAnswer(Http(503, "{}")).verdict, TransferVerdict::kUnknown);
  EXPECT_EQ(ReadJsonWithdrawAnswer(Http(200, "not json")).verdict, TransferVerdict::kUnknown);
  EXPECT_EQ(ReadJsonWithdrawAnswer(notify::WebhookResponse{}).verdict, TransferVerdict::kUnknown);

  EXPECT_EQ(ReadJsonResultAnswer(Http(200, R"({"rsp_code":"A0002","bank_rsp_code":"301"})")).verdict,
            TransferVerdict::kNotReceived);
  auto found = ReadJsonResultAnswer(Http(200, R"({"rsp_code":"A0000","bank_rsp_code":"000","org_bank_rsp_code":"000"})"));
  EXPECT_EQ(found.verdict, TransferVerdict::kCompleted);
  auto ceiling = ReadJsonResultAnswer(Http(200, R"({"rsp_code":"A0000","bank_rsp_code":"000","org_bank_rsp_code":"203"})"));
  EXPECT_EQ(ceiling.verdict, TransferVerdict::kRefused);
  EXPECT_EQ(ceiling.response_code, "203");
  EXPECT_EQ(ReadJsonResultAnswer(Http(200, R"({"rsp_code":"A0000","bank_rsp_code":"000"})")).verdict,
            TransferVerdict::kUnknown);

  auto registered = ReadJsonConsentAnswer(
      Http(200, R"({"rsp_code":"A0000","bank_rsp_code":"000","consent_id":"CNS1","ceiling":50000})"));
  EXPECT_EQ(registered.outcome, ConsentOutcome::kRegistered);
  EXPECT_EQ(registered.consent_id, "CNS1");
  EXPECT_EQ(registered.ceiling_won, 50'000);
  auto mismatch = ReadJsonConsentAnswer(Http(200, R"({"rsp_code":"A0002","bank_rsp_code":"102"})"));
  EXPECT_EQ(mismatch.outcome, ConsentOutcome::kRefused);
  EXPECT_EQ(mismatch.response_code, "102");
  EXPECT_EQ(ReadJsonConsentAnswer(Http(502, "")).outcome, ConsentOutcome::kUnavailable);

  EXPECT_EQ(ReadJsonRealNameAnswer(Http(200, R"({"rsp_code":"A0000","bank_rsp_code":"000","account_holder_name":"김민지"})"))
                .value(),
            "김민지");
  EXPECT_EQ(ReadJsonRealNameAnswer(Http(200, R"({"rsp_code":"A0002","bank_rsp_code":"101"})")).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(ReadJsonRealNameAnswer(Http(503, "")).error().code, ErrorCode::kBankUnavailable);
  auto name = boost::json::parse(JsonRealNameBody("088", "33334444555", "900101", "T")).as_object();
  EXPECT_EQ(name.at("account_num"), "33334444555");
  EXPECT_EQ(name.at("account_holder_info"), "900101");
}

TEST(ConsentTelegram, BuildsTheRequestAndReadsTheBanksAnswers) {
  auto request = ConsentTelegram({"004", "33334444555", "900101", "김민지"}, 900'005, *ParseRfc3339("2026-11-25T01:00:00Z"));
  EXPECT_EQ(request.header.message_code, "0600");
  EXPECT_EQ(request.header.business_code, "500");
  EXPECT_EQ(request.header.sequence, 900'005u);
  EXPECT_EQ(telegram::Decode(telegram::Encode(request)).value(), request);
  auto answer = telegram::MakeBankResponse(request, "0000").value();
  std::get<telegram::ConsentRegistration>(answer.body).consent_id = "CNS9";
  std::get<telegram::ConsentRegistration>(answer.body).ceiling_won = 100'000;
  auto registered = ReadConsentAnswer(answer);
  EXPECT_EQ(registered.outcome, ConsentOutcome::kRegistered);
  EXPECT_EQ(registered.consent_id, "CNS9");
  EXPECT_EQ(registered.ceiling_won, 100'000);
  auto refused = ReadConsentAnswer(telegram::MakeBankResponse(request, "0102").value());
  EXPECT_EQ(refused.outcome, ConsentOutcome::kRefused);
  EXPECT_EQ(refused.response_code, "0102");
  EXPECT_EQ(ReadConsentAnswer(telegram::MakeBankResponse(request, "0999").value()).outcome, ConsentOutcome::kUnavailable);
  EXPECT_EQ(ReadConsentAnswer(std::nullopt, "no answer within 500 ms").outcome, ConsentOutcome::kUnavailable);
  EXPECT_EQ(ReadConsentAnswer(telegram::MakeBankResponse(request, "0000").value()).outcome, ConsentOutcome::kUnavailable)
      << "a registration answered without a consent id";
}

// A bank on loopback: answers each request with `answer` (nullopt: closes the connection unanswered)
// on its own thread, and keeps what it was sent.
class LoopbackBank {
 public:
  using Answer = std::function<std::optional<std::string>(const http::request<http::string_body>&)>;
  explicit LoopbackBank(Answer answer) : answer_(std::move(answer)) {
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { Serve(); });
  }
  ~LoopbackBank() {
    stopping_ = true;
    tcp::socket poke(ioc_);  // unblocks accept
    boost::system::error_code ec;
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
  std::vector<http::request<http::string_body>> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  void Serve() {
    while (!stopping_) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      beast::flat_buffer buffer;
      http::request<http::string_body> request;
      http::read(socket, buffer, request, ec);
      if (ec) continue;
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(request);
      }
      auto body = answer_(request);
      if (!body) continue;  // the socket closes unanswered
      http::response<http::string_body> response{http::status::ok, request.version()};
      response.set(http::field::content_type, "application/json");
      response.body() = *body;
      response.prepare_payload();
      http::write(socket, response, ec);
    }
  }

  Answer answer_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<http::request<http::string_body>> seen_;
};

notify::WebhookResponse PostTo(const std::string& base, std::string body, std::string secret) {
  asio::io_context io;
  JsonBankClient client(io, std::chrono::milliseconds(2000));
  auto future = asio::co_spawn(io, client.Post(base, kJsonWithdrawPath, std::move(body), std::move(secret)),
                               asio::use_future);
  io.run();
  return future.get();
}

TEST(JsonBankClient, PostsSignedOverLoopbackAndADroppedAnswerIsUnknown) {
  LoopbackBank bank([](const auto&) { return std::optional<std::string>(R"({"rsp_code":"A0000","bank_rsp_code":"000"})"); });
  auto response = PostTo(bank.url() + "/", R"({"a":1})", "bsk_secret");
  EXPECT_EQ(ReadJsonWithdrawAnswer(response).verdict, TransferVerdict::kCompleted) << response.error;
  auto seen = bank.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target(), "/v2.0/transfer/withdraw");
  std::string ts(seen[0]["Varelay-Timestamp"]);
  EXPECT_EQ(seen[0]["Varelay-Signature"],
            "v1=" + HmacSha256Hex("bsk_secret", ts + ".POST./v2.0/transfer/withdraw.{\"a\":1}"));

  LoopbackBank silent([](const auto&) { return std::optional<std::string>(); });
  auto lost = PostTo(silent.url(), "{}", "");
  EXPECT_EQ(lost.status, 0);
  EXPECT_EQ(ReadJsonWithdrawAnswer(lost).verdict, TransferVerdict::kUnknown);
  EXPECT_TRUE(silent.seen().at(0)["Varelay-Signature"].empty()) << "no secret, no signature";
}

// A started engine on a temporary store with JSON bank 088 (its URL given as --json-bank would)
// and telegram bank 004 without an endpoint.
struct BookingBank;

class RegistrarTest : public ::testing::Test {
 protected:
  // Runs one pay-out of 12,000 won through a transfer executor to `book` at a loopback JSON bank
  // and returns the transfer once settled (or after 5 s).
  Transfer PayOutThrough(BookingBank& book);

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("varelay-consent-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    store_ = std::move(OpenSqliteStore((dir_ / "varelay.db").string()).value());
    engine_ = std::make_unique<Engine>(*store_, clock_, EngineOptions{});
    ASSERT_TRUE(engine_->Recover());
    engine_->Start();
    Do(CreateBank{"088", "Shinhan"});
    Do(CreateBank{"004", "KB", BankProtocol::kTelegram, ""});
  }
  void TearDown() override {
    engine_->Stop();
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Submits as the relay itself (`bearer` empty) or with a key; waits for the outcome.
  Result<Outcome> Ask(Command command, const std::string& bearer = {}) {
    std::promise<Result<Outcome>> done;
    Submission s;
    s.internal = bearer.empty();
    s.bearer = bearer;
    s.command = std::move(command);
    s.reply = [&done](Result<Outcome> r, std::optional<RenderedResponse>) { done.set_value(std::move(r)); };
    EXPECT_TRUE(engine_->Submit(std::move(s)));
    return done.get_future().get();
  }
  void Do(Command command) {
    auto r = Ask(std::move(command));
    ASSERT_TRUE(r.has_value()) << r.error().detail;
  }
  ConsentAnswer Register(BankConsentRegistrar& registrar, ConsentRequest request) {
    std::promise<ConsentAnswer> answer;
    registrar.Register(std::move(request), [&answer](ConsentAnswer a) { answer.set_value(std::move(a)); });
    return answer.get_future().get();
  }

  std::filesystem::path dir_;
  SystemClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(RegistrarTest, RegistersAtAJsonBankIsRefusedOrUnavailable) {
  LoopbackBank bank([](const http::request<http::string_body>& r) {
    auto body = boost::json::parse(r.body()).as_object();
    if (body.at("holder_name") != "Kim Minji") return std::optional<std::string>(R"({"rsp_code":"A0002","bank_rsp_code":"102"})");
    return std::optional<std::string>(
        R"({"rsp_code":"A0000","bank_rsp_code":"000","consent_id":"CNS77","ceiling":30000})");
  });
  BankHealth health({2, std::chrono::seconds(60)});
  ConsentRegistrarOptions options;
  options.timeout = std::chrono::milliseconds(2000);
  options.health = &health;
  options.json_banks["088"] = bank.url();
  BankConsentRegistrar registrar(*engine_, options);

  auto ok = Register(registrar, {"088", "33334444555", "900101", "Kim Minji"});
  EXPECT_EQ(ok.outcome, ConsentOutcome::kRegistered) << ok.detail;
  EXPECT_EQ(ok.consent_id, "CNS77");
  EXPECT_EQ(ok.ceiling_won, 30'000);
  EXPECT_EQ(bank.seen().at(0).target(), "/v2.0/transfer/withdraw-consent");
  auto refused = Register(registrar, {"088", "33334444555", "900101", "Lee"});
  EXPECT_EQ(refused.outcome, ConsentOutcome::kRefused);
  EXPECT_EQ(refused.response_code, "102");
  EXPECT_EQ(Register(registrar, {"004", "1234567", "900101", "Kim"}).outcome, ConsentOutcome::kUnavailable)
      << "a telegram bank without an endpoint";
  EXPECT_EQ(Register(registrar, {"011", "1234567", "900101", "Kim"}).outcome, ConsentOutcome::kUnavailable)
      << "an unknown bank";
}

// A telegram bank on loopback: reads one framed telegram per connection and answers it with
// `code`, a consent id and a ceiling.
class LoopbackTelegramBank {
 public:
  explicit LoopbackTelegramBank(std::string code) : code_(std::move(code)) {
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { Serve(); });
  }
  ~LoopbackTelegramBank() {
    stopping_ = true;
    tcp::socket poke(ioc_);
    boost::system::error_code ec;
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

 private:
  void Serve() {
    while (!stopping_) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      std::string frame(4 + telegram::kTelegramBytes, '\0');
      asio::read(socket, asio::buffer(frame), ec);
      if (ec) continue;
      auto request = telegram::Decode(std::string_view(frame).substr(4));
      if (!request) continue;
      auto answer = telegram::MakeBankResponse(*request, code_).value();
      auto& body = std::get<telegram::ConsentRegistration>(answer.body);
      body.consent_id = code_ == "0000" ? "CNS42" : "";
      body.ceiling_won = 70'000;
      asio::write(socket, asio::buffer(telegram::Frame(telegram::Encode(answer))), ec);
    }
  }

  std::string code_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

TEST_F(RegistrarTest, RegistersAtATelegramBankOr0102Refuses) {
  LoopbackTelegramBank yes("0000");
  LoopbackTelegramBank no("0102");
  ConsentRegistrarOptions options;
  options.timeout = std::chrono::milliseconds(2000);
  BankConsentRegistrar registrar(*engine_, options);
  Do(UpdateBank{"004", std::nullopt, yes.endpoint(), std::nullopt});
  auto ok = Register(registrar, {"004", "33334444555", "900101", "김민지"});
  EXPECT_EQ(ok.outcome, ConsentOutcome::kRegistered) << ok.detail;
  EXPECT_EQ(ok.consent_id, "CNS42");
  EXPECT_EQ(ok.ceiling_won, 70'000);
  Do(UpdateBank{"004", std::nullopt, no.endpoint(), std::nullopt});
  auto refused = Register(registrar, {"004", "33334444555", "900101", "Lee"});
  EXPECT_EQ(refused.outcome, ConsentOutcome::kRefused);
  EXPECT_EQ(refused.response_code, "0102");
}

TEST_F(RegistrarTest, AnUnansweringBankIsUnavailableAndOpensItsCircuit) {
  LoopbackBank bank([](const auto&) { return std::optional<std::string>(); });
  BankHealth health({2, std::chrono::seconds(60)});
  ConsentRegistrarOptions options;
  options.timeout = std::chrono::milliseconds(500);
  options.health = &health;
  options.json_banks["088"] = bank.url();
  BankConsentRegistrar registrar(*engine_, options);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Register(registrar, {"088", "33334444555", "900101", "Kim Minji"}).outcome, ConsentOutcome::kUnavailable);
  }
  auto open = Register(registrar, {"088", "33334444555", "900101", "Kim Minji"});
  EXPECT_EQ(open.outcome, ConsentOutcome::kUnavailable);
  EXPECT_NE(open.detail.find("circuit is open"), std::string::npos) << open.detail;
  EXPECT_EQ(bank.seen().size(), 2u) << "an open circuit calls nobody";
}

// A JSON bank that books each bank_tran_id once, never answers the first withdraw (the dropped
// answer) and answers result inquiries from its book.
struct BookingBank {
  std::mutex mutex;
  std::map<std::string, std::int64_t> booked;  // bank_tran_id -> amount
  int withdraws = 0;
  int results = 0;
  bool drop_first = true;  // the first withdrawal is booked and left unanswered

  std::optional<std::string> Answer(const http::request<http::string_body>& r) {
    auto body = boost::json::parse(r.body()).as_object();
    std::lock_guard lock(mutex);
    if (r.target() == "/v2.0/transfer/withdraw") {
      ++withdraws;
      booked.emplace(std::string(body.at("bank_tran_id").as_string()), std::stoll(std::string(body.at("tran_amt").as_string())));
      if (withdraws == 1 && drop_first) return std::nullopt;
      return R"({"rsp_code":"A0000","bank_rsp_code":"000"})";
    }
    ++results;
    if (!booked.contains(std::string(body.at("org_bank_tran_id").as_string()))) {
      return R"({"rsp_code":"A0002","bank_rsp_code":"301"})";
    }
    return R"({"rsp_code":"A0000","bank_rsp_code":"000","org_bank_rsp_code":"000","org_bank_tran_id":"REF1"})";
  }
};

Transfer RegistrarTest::PayOutThrough(BookingBank& book) {
  LoopbackBank bank([&book](const auto& r) { return book.Answer(r); });
  Do(CreateMerchant{"shop", "Shop"});
  Do(CreateContract{"shop", "088", "8801234567890", "Shop Co.", Issuance::kPool, "", 3000, true});
  auto key = std::get<IssuedApiKey>(Ask(CreateApiKey{Role::kMerchantPayouts, "shop", "", "payouts"}).value()).token;
  auto& engine = engine_;
  engine->Stop();  // the executor must be the engine's transfer listener from its start
  engine.reset();
  engine = std::make_unique<Engine>(*store_, clock_, EngineOptions{});
  EXPECT_TRUE(engine->Recover());
  TransferExecutorOptions options;
  options.timeout = std::chrono::milliseconds(500);
  options.first_retry = std::chrono::milliseconds(1'000);
  options.json_banks["088"] = bank.url();
  TransferExecutor executor(*engine, options);
  engine->SetTransferListener(&executor);
  executor.Start();
  engine->Start();

  auto created = Ask(CreateTransfer{"088", Money(12'000, Currency::Krw()), "004", "1101234567", "Kim", "DIVISION"}, key);
  EXPECT_TRUE(created.has_value()) << created.error().detail;
  Transfer t;
  if (!created) return t;
  std::string id = std::get<TransferView>(*created).transfer.id;
  for (int i = 0; i < 200; ++i) {
    t = std::get<TransferView>(Ask(GetTransfer{id}, key).value()).transfer;
    if (t.status != TransferStatus::kPending) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  engine->Stop();  // before the executor it calls goes away
  executor.Stop();
  return t;
}

TEST_F(RegistrarTest, ExecutorSendsAJsonTransferAndResolvesADroppedAnswerWithOneDebit) {
  BookingBank book;
  Transfer t = PayOutThrough(book);
  EXPECT_EQ(t.status, TransferStatus::kCompleted) << t.last_error;
  EXPECT_EQ(t.attempts, 1) << "sent once; the result inquiry told the outcome";
  EXPECT_EQ(t.bank_reference, "REF1");
  std::lock_guard lock(book.mutex);
  EXPECT_EQ(book.withdraws, 1);
  EXPECT_GE(book.results, 1);
  EXPECT_EQ(book.booked.size(), 1u);
}

// Proves a withdrawal the bank answers at once settles on that answer, with no result inquiry (it
// was read as a result answer, and settled only by the inquiry a retry pause later).
TEST_F(RegistrarTest, ExecutorSettlesAJsonTransferOnTheWithdrawalsOwnAnswer) {
  BookingBank book;
  book.drop_first = false;
  Transfer t = PayOutThrough(book);
  EXPECT_EQ(t.status, TransferStatus::kCompleted) << t.last_error;
  std::lock_guard lock(book.mutex);
  EXPECT_EQ(book.withdraws, 1);
  EXPECT_EQ(book.results, 0);
}

}  // namespace
}  // namespace varelay::banks
