// Sends pending transfers to their banks, as withdrawal telegrams (0100/100) to a telegram bank or
// `POST {base}/v2.0/transfer/withdraw` to a JSON bank, and settles them from the answers.
// Write-ahead: each send is recorded ("in doubt") before it leaves, so whatever happens next (a
// timeout, a dropped connection, a crash of the relay) the transfer is never sent again before a
// result inquiry (0600/101, or JSON `transfer/result`) has asked the bank what became of the last
// attempt. The bank books a re-send of the same telegram (same date and sequence), or of the same
// bank_tran_id, once. A transfer ends only on the bank's word: completed or refused. Until then it
// is retried with a growing pause.
#pragma once

#include <chrono>
#include <map>
#include <memory>

#include "banks/bank_health.h"
#include "banks/outbound_telegrams.h"
#include "crypto/sealer.h"
#include "engine/engine.h"

namespace varelay::banks {

struct TransferExecutorOptions {
  std::chrono::milliseconds timeout{10'000};      // per exchange: connect, send, answer
  std::chrono::milliseconds first_retry{2'000};   // pause after the first unsettled attempt
  std::chrono::milliseconds max_retry{300'000};   // the pause doubles up to this
  std::size_t max_in_flight = 16;                 // exchanges at once, all banks together
  OutboundHeader ids;
  BankHealth* health = nullptr;  // circuit breakers shared with the other bank calls; optional
  // --json-bank CODE=URL: a JSON bank's base URL (else its endpoint, when that is a URL). A JSON
  // bank with neither keeps its transfers pending, last_error saying so.
  std::map<std::string, std::string> json_banks;
  // Opens the sealed accounts of division transfers (the master's account is sealed in the
  // engine, docs/division-accounts.md); without it such a transfer stays pending, saying why.
  const crypto::Sealer* sealer = nullptr;
};

class TransferExecutor final : public TransferListener {
 public:
  TransferExecutor(Engine& engine, TransferExecutorOptions options);
  ~TransferExecutor() override;
  TransferExecutor(const TransferExecutor&) = delete;
  TransferExecutor& operator=(const TransferExecutor&) = delete;

  // Runs on its own thread until Stop. Transfers handed over before Start wait for it.
  void Start();
  // Stops at once: whatever was in flight stays pending (in doubt if it was sent) for the next run.
  void Stop();

  // TransferListener: called on the engine thread.
  void OnPendingTransfers(std::vector<Transfer> transfers) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace varelay::banks
