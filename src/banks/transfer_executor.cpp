#include "banks/transfer_executor.h"

#include <boost/asio.hpp>

#include <iostream>
#include <set>
#include <thread>

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
        std::string endpoint = std::get<BankRoute>(*route).endpoint;
        TransferAnswer answer;
        if (t.in_doubt) {
          auto inquiry = ResultInquiryTelegram(t, NextQuerySequence(), Now(), options.ids);
          answer = co_await Ask(endpoint, inquiry, true);
        } else {
          RecordTransfer sending{t.id, TransferStep::kSending, {}, {}, {}, {}};
          auto sent = co_await Record(std::move(sending));
          if (!sent) co_return;
          t = std::move(*sent);
          auto withdrawal = WithdrawalTelegram(t, t.attempts, options.ids);
          answer = co_await Ask(endpoint, withdrawal, false);
        }
        if (options.health) options.health->Record(t.bank, answer.verdict != TransferVerdict::kUnknown, Now());
        report.response_code = answer.response_code;
        report.bank_reference = answer.bank_reference;
        report.error = answer.detail;
        switch (answer.verdict) {
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
