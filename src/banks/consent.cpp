#include "banks/consent.h"

#include <boost/asio.hpp>

#include <iostream>
#include <thread>

#include "banks/json_bank_client.h"
#include "domain/bank_codes.h"
#include "engine/async_submit.h"

namespace varelay::banks {
namespace asio = boost::asio;

namespace {

Instant Now() { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); }

ConsentAnswer Unavailable(std::string detail) { return {ConsentOutcome::kUnavailable, {}, 0, {}, std::move(detail)}; }

}  // namespace

telegram::Telegram ConsentTelegram(const ConsentRequest& r, std::uint32_t sequence, Instant now,
                                   const OutboundHeader& ids) {
  telegram::ConsentRegistration body;
  body.bank_code = r.bank;
  body.account_number = r.account;
  body.holder_id = r.holder_id;
  body.holder_name = r.holder_name;
  body.action = r.cancel ? telegram::ConsentAction::kCancel : telegram::ConsentAction::kRegister;
  telegram::Header h;
  h.identification_code = ids.identification_code;
  h.institution_code = ids.institution_code;
  h.bank_code_legacy = r.bank.substr(1);
  h.bank_code = r.bank;
  h.sequence = sequence;
  h.sent_at = std::chrono::time_point_cast<std::chrono::seconds>(now);
  h.response_code.clear();
  h.bank_response_code.clear();
  return telegram::MakeRequest(std::move(h), body);
}

ConsentAnswer ReadConsentAnswer(const std::optional<telegram::Telegram>& answer, std::string_view error) {
  if (!answer) return Unavailable(error.empty() ? "no answer" : std::string(error));
  const auto& code = answer->header.bank_response_code;
  const auto* body = std::get_if<telegram::ConsentRegistration>(&answer->body);
  if (!body) return Unavailable("the bank's answer is not a consent registration");
  if (code == kTelegramBankOk) {
    if (body->consent_id.empty() && body->action == telegram::ConsentAction::kRegister) {
      return Unavailable("the bank's answer has no consent id");
    }
    return {ConsentOutcome::kRegistered, body->consent_id, body->ceiling_won, code, {}};
  }
  if (code.empty() || code == kTelegramSystemError) return Unavailable("the bank answered " + code);
  return {ConsentOutcome::kRefused, {}, 0, code, BankRefusalText(code)};
}

std::string JsonBaseUrl(const std::map<std::string, std::string>& json_banks, const std::string& bank,
                        const std::string& endpoint) {
  if (auto it = json_banks.find(bank); it != json_banks.end()) return it->second;
  if (endpoint.starts_with("http://") || endpoint.starts_with("https://")) return endpoint;
  return {};
}

struct BankConsentRegistrar::Impl : std::enable_shared_from_this<Impl> {
  Engine& engine;
  ConsentRegistrarOptions options;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  JsonBankClient json{ioc, options.timeout};
  std::thread thread;

  Impl(Engine& e, ConsentRegistrarOptions o) : engine(e), options(std::move(o)) {}

  // g++ 12 takes this coroutine's frame allocation (Asio's operator new) for a mismatched one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
  asio::awaitable<ConsentAnswer> Ask(ConsentRequest request) {
    Submission s;
    s.internal = true;
    s.command = RouteToBank{request.bank};
    auto reply = co_await AsyncSubmit(engine, std::move(s), asio::use_awaitable);
    if (!reply.result) co_return Unavailable(reply.result.error().detail);
    auto route = std::get<BankRoute>(*reply.result);
    if (options.health && !options.health->Allow(route.bank, Now())) {
      co_return Unavailable("bank " + route.bank + " is not called for now: its circuit is open");
    }
    ConsentAnswer answer;
    if (route.protocol == BankProtocol::kJson) {
      std::string base = JsonBaseUrl(options.json_banks, route.bank, route.endpoint);
      if (base.empty()) co_return Unavailable("no URL for JSON bank " + route.bank + " (varelayd --json-bank)");
      std::string body = JsonConsentBody(request, QueryTranId(NextQuerySequence(), options.ids.json_institution_code));
      auto response = co_await json.Post(base, kJsonConsentPath, std::move(body), route.signing_secret);
      answer = ReadJsonConsentAnswer(response);
    } else if (route.endpoint.empty()) {
      co_return Unavailable("bank " + route.bank + " has no endpoint");
    } else {
      auto telegram = ConsentTelegram(request, NextQuerySequence(), Now(), options.ids);
      auto got = co_await Exchange(ioc.get_executor(), route.endpoint, telegram, options.timeout);
      answer = got ? ReadConsentAnswer(*got) : ReadConsentAnswer(std::nullopt, got.error().detail);
    }
    if (options.health) options.health->Record(route.bank, answer.outcome != ConsentOutcome::kUnavailable, Now());
    co_return answer;
  }
#pragma GCC diagnostic pop

  void Spawn(ConsentRequest request, std::function<void(ConsentAnswer)> done) {
    asio::co_spawn(ioc, Ask(std::move(request)), [done = std::move(done)](std::exception_ptr e, ConsentAnswer answer) {
      if (e) answer = Unavailable("the consent request failed inside the relay");
      done(std::move(answer));
    });
  }
};

BankConsentRegistrar::BankConsentRegistrar(Engine& engine, ConsentRegistrarOptions options)
    : impl_(std::make_shared<Impl>(engine, std::move(options))) {
  impl_->thread = std::thread([impl = impl_] { impl->ioc.run(); });
}

BankConsentRegistrar::~BankConsentRegistrar() {
  impl_->work.reset();
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void BankConsentRegistrar::Register(ConsentRequest request, std::function<void(ConsentAnswer)> done) {
  auto impl = impl_;
  asio::post(impl->ioc, [impl, request = std::move(request), done = std::move(done)]() mutable {
    impl->Spawn(std::move(request), std::move(done));
  });
}

}  // namespace varelay::banks
