// Awaiting the engine from Asio code: submit a request and resume, on the caller's executor, once
// the engine has made its batch durable and replied. Header-only, so the engine library itself
// stays free of Boost; the layers that do I/O (api, banks) include it.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <optional>

#include "engine/engine.h"

namespace varelay {

struct EngineReply {
  Result<Outcome> result;
  std::optional<RenderedResponse> rendered;
};

// Hands a submission to the engine and completes, on the caller's executor, once the engine has
// made its batch durable and replied.
template <typename Token>
auto AsyncSubmit(Engine& engine, Submission submission, Token&& token) {
  return boost::asio::async_initiate<Token, void(EngineReply)>(
      [&engine](auto handler, Submission s) {
        using Handler = decltype(handler);
        auto executor = boost::asio::get_associated_executor(handler);
        struct State {
          Handler handler;
          boost::asio::executor_work_guard<decltype(executor)> work;
        };
        auto state = std::make_shared<State>(State{std::move(handler), boost::asio::make_work_guard(executor)});
        auto complete = [state](EngineReply reply) {
          auto ex = state->work.get_executor();
          boost::asio::post(ex, [state, reply = std::move(reply)]() mutable {
            std::move(state->handler)(std::move(reply));
            state->work.reset();
          });
        };
        s.reply = [complete](Result<Outcome> result, std::optional<RenderedResponse> rendered) {
          complete(EngineReply{std::move(result), std::move(rendered)});
        };
        if (!engine.Submit(std::move(s))) {
          bool stopping = engine.IsStopping();
          complete(EngineReply{Fail(stopping ? ErrorCode::kShuttingDown : ErrorCode::kOverloaded,
                                    stopping ? "the relay is shutting down" : "the relay is overloaded; retry shortly"),
                               std::nullopt});
        }
      },
      token, std::move(submission));
}

}  // namespace varelay
