// Withdrawal consent (Open Banking's 출금동의): before the relay debits an account holder's own
// account (a division account's master, docs/division-accounts.md), the holder's bank registers
// that the relay may, and may answer a ceiling per debit. A telegram bank is asked with 0600/500, a
// JSON bank with `POST {base}/v2.0/transfer/withdraw-consent` (docs/telegrams.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "banks/bank_health.h"
#include "banks/outbound_telegrams.h"

namespace varelay {
class Engine;
}

namespace varelay::banks {

struct ConsentRequest {
  std::string bank;         // 3-digit KFTC code
  std::string account;
  std::string holder_id;    // birth date YYMMDD
  std::string holder_name;
  bool cancel = false;      // end the consent instead (consent_id is then not needed by the sim)
};

enum class ConsentOutcome {
  kRegistered,   // registered (or, for a cancellation, ended)
  kRefused,      // the bank said no: response_code says why (no such account, holder mismatch, ...)
  kUnavailable,  // no usable answer (timeout, outage, circuit open, no route): nothing is known
};

struct ConsentAnswer {
  ConsentOutcome outcome;
  std::string consent_id;        // the bank's, when registered
  std::int64_t ceiling_won = 0;  // the most one debit may take; 0 = no ceiling
  std::string response_code;     // the bank's code (telegram 4 chars, JSON bank_rsp_code 3)
  std::string detail;            // for people: why, in a few words
};

class ConsentRegistrar {
 public:
  virtual ~ConsentRegistrar() = default;
  virtual void Register(ConsentRequest, std::function<void(ConsentAnswer)> done) = 0;
};

struct ConsentRegistrarOptions {
  std::chrono::milliseconds timeout{10'000};  // --bank-timeout-ms
  OutboundHeader ids;
  BankHealth* health = nullptr;               // the circuit breakers shared with the other bank calls
  std::map<std::string, std::string> json_banks;  // --json-bank CODE=URL: a JSON bank's base URL
};

// Asks the bank named in the request by its protocol (the engine's bank list, as transfers are
// routed): a telegram bank at its endpoint, a JSON bank at its --json-bank URL (else its endpoint).
// Runs on its own thread from the constructor to the destructor; `done` is called there, once,
// never on the engine thread and never inside Register.
class BankConsentRegistrar final : public ConsentRegistrar {
 public:
  BankConsentRegistrar(Engine& engine, ConsentRegistrarOptions options);
  ~BankConsentRegistrar() override;
  BankConsentRegistrar(const BankConsentRegistrar&) = delete;
  BankConsentRegistrar& operator=(const BankConsentRegistrar&) = delete;

  void Register(ConsentRequest request, std::function<void(ConsentAnswer)> done) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Telegram 0600/500 for `request`, and what the bank's answer (nullopt: none, `error` says why) says.
telegram::Telegram ConsentTelegram(const ConsentRequest& request, std::uint32_t sequence, Instant now,
                                   const OutboundHeader& ids = {});
ConsentAnswer ReadConsentAnswer(const std::optional<telegram::Telegram>& answer, std::string_view error = {});

// The base URL of JSON bank `bank`: its --json-bank URL, else its endpoint when that is an http(s)
// URL; empty when it has neither.
std::string JsonBaseUrl(const std::map<std::string, std::string>& json_banks, const std::string& bank,
                        const std::string& endpoint);

}  // namespace varelay::banks
