#include "banks/transfer_executor.h"

#include <boost/asio.hpp>

#include <iostream>
#include <set>
#include <thread>

#include "banks/consent.h"
#include "banks/json_bank_client.h"
#include "engine/async_submit.h"

namespace varelay::banks {
namespace asio = boost::asio;

namespace {

Instant Now() { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); }

}  // namespace

struct TransferExecutor::Impl : std::enable_shared_from_this<Impl> {
  Engine& engine;
  TransferExecutorOptions options;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;
  std::set<std::string> driving;  // ids with a running coroutine (io thread only)
  std::size_t in_flight = 0;      // exchanges now (io thread only)
  JsonBankClient json{ioc, options.timeout};

  // What one attempt got; `unsent`: nothing went to the bank (no URL), so its health is not told.
  struct Attempt : TransferAnswer {
    bool unsent = false;
  };

  Impl(Engine& e, TransferExecutorOptions o) : engine(e), options(std::move(o)) {}

  asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
    asio::steady_timer timer(ioc, std::max(d, std::chrono::milliseconds(0)));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<Result<Outcome>> Submit(Command command) {
    Submission s;
    s.internal = true;
    s.command = std::move(command);
    auto reply = co_await AsyncSubmit(engine, std::move(s), asio::use_awaitable);
    co_return std::move(reply.result);
  }

  // Records a step; on a refusal by the engine (overloaded, stopping) waits and tries again, since
  // nothing may be sent before the step is durable. nullopt: the transfer is no longer pending.
  asio::awaitable<std::optional<Transfer>> Record(RecordTransfer report) {
    for (;;) {
      Command command = report;
      auto result = co_await Submit(std::move(command));
      if (result) co_return std::get<TransferView>(*result).transfer;
      if (result.error().code == ErrorCode::kNotFound) co_return std::nullopt;
      co_await Sleep(std::chrono::seconds(1));
    }
  }

  asio::awaitable<TransferAnswer> Ask(std::string endpoint, telegram::Telegram request, bool inquiry) {
    while (in_flight >= options.max_in_flight) co_await Sleep(std::chrono::milliseconds(20));
    ++in_flight;
    auto answer = co_await Exchange(ioc.get_executor(), endpoint, request, options.timeout);
    --in_flight;
    std::optional<telegram::Telegram> got;
    std::string error;
    if (answer) {
      got = std::move(*answer);
    } else {
      error = answer.error().detail;
    }
    co_return inquiry ? ReadResultAnswer(request, got, error) : ReadWithdrawalAnswer(request, got, error);
  }

  // Records the send ("in doubt") before it leaves; false: the transfer is no longer pending.
  asio::awaitable<bool> MarkSending(Transfer& t) {
    RecordTransfer sending{t.id, TransferStep::kSending, {}, {}, {}, {}};
    auto sent = co_await Record(std::move(sending));
    if (!sent) co_return false;
    t = std::move(*sent);
    co_return true;
  }

  // `t` as its bank must read it: a division transfer holds the master's account sealed (the
  // engine never sees it in clear); it is opened here for the one message and kept nowhere.
  Result<Transfer> ForTheBank(const Transfer& t) const {
    Transfer wire = t;
    for (std::string* account : {&wire.debit_account, &wire.recipient_account}) {
      if (!crypto::IsSealedText(*account)) continue;
      if (!options.sealer) return Fail(ErrorCode::kInternal, "a sealed account and no seal key to open it");
      auto opened = options.sealer->Open(*account);
      if (!opened) return std::unexpected(opened.error());
      *account = std::move(*opened);
    }
    return wire;
  }

  // An attempt that sent nothing, saying why.
  static Attempt Unsent(std::string why) {
    Attempt none{{TransferVerdict::kUnknown, {}, {}, std::move(why)}};
    none.unsent = true;
    return none;
  }

  // One attempt at a telegram bank: a result inquiry when in doubt, else the withdrawal.
  asio::awaitable<std::optional<Attempt>> AskTelegram(Transfer& t, std::string endpoint) {
    auto wire = ForTheBank(t);
    if (!wire) co_return Unsent("the transfer's account cannot be read: " + wire.error().detail);
    if (t.in_doubt) {
      auto inquiry = ResultInquiryTelegram(*wire, NextQuerySequence(), Now(), options.ids);
      auto got = co_await Ask(endpoint, inquiry, true);
      co_return Attempt{got};
    }
    if (!co_await MarkSending(t)) co_return std::nullopt;
    auto withdrawal = WithdrawalTelegram(*wire, t.attempts, options.ids);
    auto got = co_await Ask(endpoint, withdrawal, false);
    co_return Attempt{got};
  }

  // One attempt at a JSON bank: `transfer/result` when in doubt, else `transfer/withdraw` with the
  // transfer's fixed bank_tran_id. Without a base URL nothing is sent.
  asio::awaitable<std::optional<Attempt>> AskJson(Transfer& t, const BankRoute& bank) {
    std::string base = JsonBaseUrl(options.json_banks, bank.bank, bank.endpoint);
    if (base.empty()) {
      co_return Unsent("no URL for JSON bank " + bank.bank + ": give varelayd --json-bank " + bank.bank + "=URL");
    }
    auto wire = ForTheBank(t);
    if (!wire) co_return Unsent("the transfer's account cannot be read: " + wire.error().detail);
    std::string tran_id = TransferTranId(t, options.ids.json_institution_code);
    const bool inquiry = t.in_doubt;  // before MarkSending, which puts a withdrawal in doubt
    std::string body;
    std::string_view path = kJsonWithdrawPath;
    if (t.in_doubt) {
      path = kJsonResultPath;
      body = JsonResultBody(*wire, QueryTranId(NextQuerySequence(), options.ids.json_institution_code), tran_id);
    } else {
      if (!co_await MarkSending(t)) co_return std::nullopt;
      body = JsonWithdrawBody(*wire, tran_id);
    }
    while (in_flight >= options.max_in_flight) co_await Sleep(std::chrono::milliseconds(20));
    ++in_flight;
    std::string secret = bank.signing_secret;
    auto response = co_await json.Post(base, path, std::move(body), std::move(secret));
    --in_flight;
    co_return Attempt{inquiry ? ReadJsonResultAnswer(response) : ReadJsonWithdrawAnswer(response)};
  }

  // One transfer, from pending to settled. Each loop is one attempt: a result inquiry when the
  // last withdrawal's outcome is unknown, else a withdrawal. (Arguments to co_await calls are
  // named locals: g++ 12 mishandles temporaries with destructors inside co_await expressions.)
  asio::awaitable<void> Drive(Transfer t) {
    int unsettled = 0;
    for (;;) {
      co_await Sleep(std::chrono::duration_cast<std::chrono::milliseconds>(t.next_attempt_at - Now()));
      RecordTransfer report{t.id, TransferStep::kRetryLater, {}, {}, {}, {}};
      Command route_query = RouteToBank{t.bank};
      auto route = co_await Submit(std::move(route_query));
      if (!route) {
        report.error = route.error().detail;
      } else if (options.health && !options.health->Allow(t.bank, Now())) {
        report.error = "bank " + t.bank + " is not called for now: its circuit is open";
      } else {
        BankRoute bank = std::get<BankRoute>(*route);
        std::optional<Attempt> answer;
        if (bank.protocol == BankProtocol::kJson) {
          answer = co_await AskJson(t, bank);
        } else {
          answer = co_await AskTelegram(t, bank.endpoint);
        }
        if (!answer) co_return;
        if (options.health && !answer->unsent) {
          options.health->Record(t.bank, answer->verdict != TransferVerdict::kUnknown, Now());
        }
        report.response_code = answer->response_code;
        report.bank_reference = answer->bank_reference;
        report.error = answer->detail;
        switch (answer->verdict) {
          case TransferVerdict::kCompleted: report.step = TransferStep::kCompleted; break;
          case TransferVerdict::kRefused: report.step = TransferStep::kRefused; break;
          case TransferVerdict::kNotReceived:
            report.step = TransferStep::kNotReceived;
            unsettled = 0;
            break;
          case TransferVerdict::kUnknown: break;
        }
      }
      if (report.step == TransferStep::kRetryLater) {
        auto pause = options.first_retry * (1LL << std::min(unsettled++, 20));
        report.retry_at = Now() + std::min<Millis>(pause, options.max_retry);
      }
      bool settles = report.step == TransferStep::kCompleted || report.step == TransferStep::kRefused;
      auto next = co_await Record(std::move(report));
      if (!next || settles) co_return;
      t = std::move(*next);
    }
  }

  void Take(Transfer t) {
    if (!driving.insert(t.id).second) return;
    auto self = shared_from_this();
    std::string id = t.id;
    asio::co_spawn(ioc, Drive(std::move(t)), [self, id](std::exception_ptr e) {
      self->driving.erase(id);
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::cerr << "varelayd: transfer " << id << " stopped: " << ex.what() << "\n";
        }
      }
    });
  }
};

TransferExecutor::TransferExecutor(Engine& engine, TransferExecutorOptions options)
    : impl_(std::make_shared<Impl>(engine, std::move(options))) {}

TransferExecutor::~TransferExecutor() { Stop(); }

void TransferExecutor::Start() {
  impl_->thread = std::thread([impl = impl_] { impl->ioc.run(); });
}

void TransferExecutor::Stop() {
  impl_->work.reset();
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void TransferExecutor::OnPendingTransfers(std::vector<Transfer> transfers) {
  asio::post(impl_->ioc, [impl = impl_, transfers = std::move(transfers)]() mutable {
    for (auto& t : transfers) impl->Take(std::move(t));
  });
}

}  // namespace varelay::banks
