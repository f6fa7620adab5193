#include "ledger_audit_load.h"

#include <boost/json.hpp>
#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "client/http_client.h"
#include "domain/ledger.h"
#include "relay_process.h"
#include "store/sqlite_store.h"

namespace varelay::bench {
namespace {

constexpr std::int64_t kFillBatch = 50'000;  // entries a transaction

// The deposit booked by entry `seq`: 1,000 won from bank 999's clearing to suspense.
Deposit FillDeposit(std::int64_t seq, Instant at) {
  Deposit d;
  d.id = "dep_fill" + std::to_string(seq);
  d.bank = "999";
  d.transaction_id = "fill-" + std::to_string(seq);
  d.number = "9990000000000";
  d.amount = Money(1000, Currency::Krw());
  d.deposited_at = at;
  d.received_at = at;
  d.parked_minor = 1000;
  return d;
}

}  // namespace

void FillLedger(const std::filesystem::path& data, std::int64_t entries) {
  auto store = OpenSqliteStore((data / "varelay.db").string());
  if (!store) throw std::runtime_error("cannot open the store to fill: " + store.error().detail);
  const Instant at = FromUnixMs(1'764'000'000'000);
  std::string head(kGenesisHash);
  for (std::int64_t seq = 1; seq <= entries;) {
    (*store)->Begin();
    for (std::int64_t end = std::min(entries, seq + kFillBatch - 1); seq <= end; ++seq) {
      Deposit d = FillDeposit(seq, at);
      (*store)->PutDeposit(d);
      LedgerEntry e = ChainEntry(seq, head, at, EntryKind::kDeposit, d.id, Currency::Krw(),
                                 {{"bank/999/clearing", 1000, 0}, {"suspense/999", 0, 1000}});
      head = e.hash;
      (*store)->AppendLedgerEntry(e);
    }
    if (auto r = (*store)->Commit(); !r) throw std::runtime_error("filling the ledger: " + r.error().detail);
  }
  if (auto r = (*store)->Sync(); !r) throw std::runtime_error("filling the ledger: " + r.error().detail);
}

AuditLoop::AuditLoop(std::string url) : url_(std::move(url)) {
  thread_ = std::thread([this] {
    auto client = client::HttpClient::Create(url_);
    if (!client) return;
    while (!stop_.load()) {
      const auto started = Clock::now();
      auto reply = (*client)->Send("GET", "/v1/ledger/verify", kAdminKey, "", {});
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
      if (stop_.load() && !reply) break;
      ++figures_.runs;
      figures_.total_ms += ms;
      figures_.max_ms = std::max(figures_.max_ms, ms);
      bool ok = false;
      if (reply && reply->status == 200) {
        auto body = boost::json::parse(reply->body).as_object();
        ok = body.at("ok").as_bool();
        figures_.entries = body.at("entries").to_number<std::int64_t>();
      }
      if (!ok) ++figures_.failed;
    }
  });
}

AuditLoop::~AuditLoop() { Finish(); }

AuditFigures AuditLoop::Finish() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  return figures_;
}

}  // namespace varelay::bench
