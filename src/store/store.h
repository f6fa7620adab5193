// Persistence behind one interface. The engine is the only writer: it opens a batch, writes the
// rows its commands changed, and commits the batch as one durable transaction (one fsync). Reads
// issued inside a batch see that batch's writes. The store holds no business rules.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "domain/division/division_model.h"
#include "domain/error.h"
#include "domain/holder_inquiry.h"
#include "domain/ledger.h"
#include "domain/model.h"
#include "domain/payout_limits.h"
#include "domain/transfer.h"
#include "domain/webhook.h"

namespace varelay {

struct IdempotencyRecord {
  std::string caller;  // the institution ("merchant/shop-1", "bank/004", "operator")
  std::string key;
  std::string fingerprint;  // SHA-256 of method, path and body
  int status = 0;
  std::string body;  // the response as sent
  Instant created_at;
};

// A camt.053 message's account statements not stored before, with the message's XML: one write
// per message, so the XML is written once however many statements the message holds.
struct StatementMessage {
  std::string bank;
  std::string message_id;
  std::string xml;
  Instant received_at;
  std::vector<BankStatement> statements;  // each of this bank and message, none stored before
};

// Filters for dispute look-ups; empty fields do not filter.
struct DepositQuery {
  std::string merchant;
  std::string bank;
  std::string number;
  std::string order_id;
  std::optional<Instant> from;  // received_at >= from
  std::optional<Instant> to;    // received_at < to
  std::string after_id;         // cursor: deposits booked after this one
  int limit = 100;              // rows returned at most
};

struct LedgerQuery {
  std::string merchant;
  std::string number;
  std::string order_id;
  std::optional<Instant> from;
  std::optional<Instant> to;
  std::int64_t after_seq = 0;
  int limit = 100;
};

struct EventQuery {
  std::string merchant;                // empty: every merchant (admin)
  std::optional<EventType> type;
  std::int64_t after_seq = 0;          // cursor: events written after this one
  int limit = 100;
};

struct HolderInquiryQuery {
  std::string merchant;   // empty: every merchant
  std::string before_id;  // cursor: inquiries recorded before this one (newest first)
  int limit = 100;
};
struct TransferQuery {
  std::string merchant;  // empty: every merchant (admin)
  std::optional<TransferStatus> status;
  std::string before_id;  // cursor: transfers created before this one (newest first)
  int limit = 100;
};

// One row of `numbers` as Load reads it: the text is borrowed for the duration of the call, so
// millions of rows are read without a copy each.
struct NumberRow {
  std::string_view bank, number, merchant, region;
  NumberState state = NumberState::kFree;
  std::int64_t generation = 0;
  std::string_view assignment_id;
  std::optional<Instant> release_at;
  std::int64_t event_seq = 0;
};

// Receives everything the engine keeps in memory, once, at start-up.
class LoadSink {
 public:
  virtual ~LoadSink() = default;
  virtual void OnBank(Bank bank) = 0;
  virtual void OnMerchant(Merchant merchant) = 0;
  virtual void OnContract(Contract contract) = 0;
  virtual void OnApiKey(ApiKey key) = 0;
  virtual void OnNumber(const NumberRow& number) = 0;
  // The last number has been read (the live assignments are read next).
  virtual void OnNumbersLoaded() {}
  // Assignments still tied to a number: open ones, and the tombstones of cooling numbers. In no
  // particular order, and possibly on a thread of the store's own while OnNumber is still being
  // called: it must touch nothing the other callbacks touch. Every call has returned before the
  // next callback after OnNumbersLoaded, and before Load returns.
  virtual void OnLiveAssignment(Assignment assignment) = 0;
  virtual void OnLedgerHead(std::int64_t seq, std::string hash) = 0;
  // Endpoints not deleted.
  virtual void OnWebhookEndpoint(WebhookEndpoint endpoint) = 0;
  // The newest event's seq (0: none).
  virtual void OnEventHead(std::int64_t seq) = 0;
  // Deliveries still pending, with their events, in event order.
  virtual void OnPendingDelivery(Delivery delivery, Event event) = 0;
  // Transfers not yet completed or refused, oldest first.
  virtual void OnPendingTransfer(Transfer transfer) = 0;
  // Every merchant's pay-out policy an operator set.
  virtual void OnPayoutPolicy(PayoutPolicy policy) = 0;
  // Division accounts (docs/division-accounts.md): every master, account, payment and approval.
  virtual void OnMaster(Master /*master*/) {}
  virtual void OnDivisionAccount(DivisionAccount /*account*/) {}
  virtual void OnDivisionPayment(DivisionPayment /*payment*/) {}
  virtual void OnDivisionApproval(DivisionApproval /*approval*/) {}
};

// The writes a batch is made of, in the order the engine makes them. A store applies them to its
// tables; the command log (store/log_records.h) records them to apply later.
class StoreWrites {
 public:
  virtual ~StoreWrites() = default;

  // Inserts a bank or updates its protocol and signing secret.
  virtual void PutBank(const Bank& bank) = 0;
  virtual void InsertMerchant(const Merchant& merchant) = 0;
  virtual void UpdateMerchant(const Merchant& merchant) = 0;
  virtual void InsertContract(const Contract& contract) = 0;
  virtual void PutApiKey(const ApiKey& key) = 0;
  virtual void PutNumber(const NumberRecord& number) = 0;
  virtual void PutAssignment(const Assignment& assignment) = 0;
  virtual void PutDeposit(const Deposit& deposit) = 0;
  virtual void AppendLedgerEntry(const LedgerEntry& entry) = 0;
  virtual void PutIdempotency(const IdempotencyRecord& record) = 0;
  virtual void PutWebhookEndpoint(const WebhookEndpoint& endpoint) = 0;
  virtual void AppendEvent(const Event& event) = 0;
  virtual void PutDelivery(const Delivery& delivery) = 0;
  // A camt.053 message's new statements; its XML is kept once per (bank, message), for
  // reconciliation (a message already kept keeps its first XML).
  virtual void PutStatementMessage(const StatementMessage& message) = 0;
  // One account statement with its message's XML: the form command logs written before
  // PutStatementMessage hold (one record per statement, each with the whole XML). Nothing writes
  // it any more; a log replays it as it always did.
  virtual void PutStatement(const BankStatement& statement, const std::string& xml) = 0;
  virtual void PutTransfer(const Transfer& transfer) = 0;
  // Marks every pending delivery to the endpoint failed with `reason` (the endpoint was disabled
  // or deleted).
  virtual void FailPendingDeliveries(const std::string& endpoint_id, const std::string& reason) = 0;
  // Deletes idempotency records created before `cutoff`, at most `limit` of them.
  virtual void DeleteIdempotencyBefore(Instant cutoff, int limit) = 0;
  // Sets the channels a bank may also report on (Bank::extra_channels); PutBank leaves them.
  virtual void PutBankChannels(const std::string& bank, std::uint32_t extra_channels) = 0;
  // Inserts or replaces a merchant's pay-out policy.
  virtual void PutPayoutPolicy(const PayoutPolicy& policy) = 0;
  // Inserts an account-holder inquiry's record or updates its outcome.
  virtual void PutHolderInquiry(const HolderInquiryRecord& record) = 0;
  // Division accounts. A merchant's category and division_direct (InsertMerchant and
  // UpdateMerchant leave them); the others insert or replace the record by its id.
  virtual void PutMerchantDivision(const Merchant& merchant) = 0;
  virtual void PutMaster(const Master& master) = 0;
  virtual void PutDivisionAccount(const DivisionAccount& account) = 0;
  virtual void PutDivisionPayment(const DivisionPayment& payment) = 0;
  virtual void PutDivisionApproval(const DivisionApproval& approval) = 0;
};

enum class LoadParts { kAll, kAllButNumbers };

// Figures a store keeps for /metrics.
struct StoreStats {
  std::uint64_t checkpoints_background = 0;  // write-ahead log checkpoints on the store's own thread
  std::uint64_t checkpoints_by_writer = 0;   // ... and by the writer, finishing one or at the limit
  // The command log (store/log_store.h); all 0 without one.
  std::uint64_t log_batches_applied = 0;  // batches written to the tables since the start
  std::uint64_t log_apply_rounds = 0;     // ... in this many transactions
  std::uint64_t log_unapplied_bytes = 0;  // logged and acknowledged, not yet in the tables
  std::uint64_t log_batches_replayed = 0;  // applied from the log at open (left by a crash)
  // Idempotency records in the tables (behind a command log: those its applier has written).
  std::int64_t idempotency_records = 0;
};

// Writes that go nowhere: for a reader of a log that wants only some of them (it overrides those).
class IgnoredWrites : public StoreWrites {
 public:
  void PutBank(const Bank&) override {}
  void InsertMerchant(const Merchant&) override {}
  void UpdateMerchant(const Merchant&) override {}
  void InsertContract(const Contract&) override {}
  void PutApiKey(const ApiKey&) override {}
  void PutNumber(const NumberRecord&) override {}
  void PutAssignment(const Assignment&) override {}
  void PutDeposit(const Deposit&) override {}
  void AppendLedgerEntry(const LedgerEntry&) override {}
  void PutIdempotency(const IdempotencyRecord&) override {}
  void PutWebhookEndpoint(const WebhookEndpoint&) override {}
  void AppendEvent(const Event&) override {}
  void PutDelivery(const Delivery&) override {}
  void PutStatementMessage(const StatementMessage&) override {}
  void PutStatement(const BankStatement&, const std::string&) override {}
  void PutTransfer(const Transfer&) override {}
  void FailPendingDeliveries(const std::string&, const std::string&) override {}
  void DeleteIdempotencyBefore(Instant, int) override {}
  void PutBankChannels(const std::string&, std::uint32_t) override {}
  void PutPayoutPolicy(const PayoutPolicy&) override {}
  void PutHolderInquiry(const HolderInquiryRecord&) override {}
  void PutMerchantDivision(const Merchant&) override {}
  void PutMaster(const Master&) override {}
  void PutDivisionAccount(const DivisionAccount&) override {}
  void PutDivisionPayment(const DivisionPayment&) override {}
  void PutDivisionApproval(const DivisionApproval&) override {}
};

// Where the posting check (Store::CheckPostings) goes on: the deposits after rowid `after`, or,
// once those are done, the ledger entries after seq `after`.
struct PostingCursor {
  bool entries = false;
  std::int64_t after = 0;
};
struct PostingRange {
  std::vector<std::string> misposted;  // "dep_..." or "ledger entry N names no deposit"
  std::optional<PostingCursor> next;   // none: the check is done
};

class Store : public StoreWrites {
 public:
  // Safe from any thread.
  virtual StoreStats Stats() const { return {}; }

  // Reads the live state into `sink`: all of it, or all but the numbers and the assignments
  // behind them (which a snapshot provides).
  virtual Result<void> Load(LoadSink& sink, LoadParts parts) = 0;

  // The engine's stop snapshot is valid only while the store is exactly as it was when the
  // snapshot was written: the engine records a token here after writing one, and clears it before
  // it changes anything again. Each is a durable transaction of its own, outside any batch
  // (durable on return, no Sync needed).
  virtual Result<std::string> SnapshotToken() = 0;  // empty: none
  virtual Result<void> SetSnapshotToken(const std::string& token) = 0;

  // The command log's position (store/log_store.h) up to which these tables hold every batch:
  // read outside a batch, set inside the batch that applies it. A store no log writes to keeps 0.
  virtual Result<std::uint64_t> LogPosition() { return 0; }
  virtual void SetLogPosition(std::uint64_t /*lsn*/) {}

  // Queries that read whole tables (the Query* methods, ReadLedger, CheckPostings,
  // FindDeliveries, CountDeposits) answer once the tables hold every batch committed before
  // them. A store that writes its tables behind a command log makes them wait for that; these let
  // the one writer wait elsewhere instead, doing other work meanwhile. For the writer's thread.
  // - CommittedPosition: the last batch committed; AppliedPosition: the tables hold every batch
  //   up to it. A store that writes its tables at commit keeps both 0 (nothing to wait for).
  // - SetReadFloor(n), n > 0: the queries that follow need only the batches up to n, not every
  //   one committed since; 0 restores the default.
  // - HurryApply (below) asks the store not to keep a waiting query long.
  // - SetAppliedListener: called with the new AppliedPosition (from another thread; must not
  //   block) whenever it moves; once it returns, the one it replaced is not running and will not
  //   be called.
  virtual std::uint64_t CommittedPosition() { return 0; }
  virtual std::uint64_t AppliedPosition() { return 0; }
  virtual void SetReadFloor(std::uint64_t /*lsn*/) {}
  virtual void SetAppliedListener(std::function<void(std::uint64_t applied)> /*listener*/) {}
  // A query waits for the tables: apply what is committed now rather than gather more first.
  virtual void HurryApply() {}
  // Returns once the tables hold every batch up to `position` (a CommittedPosition), hurrying
  // the applier meanwhile: for a reader on a connection of its own, which then sees at least
  // that batch. Safe from any thread; the writer goes on meanwhile.
  virtual void WaitForTables(std::uint64_t /*position*/) {}

  // The log kept for a running snapshot (the engine's copy of its numbers and live assignments
  // at a batch, written while it runs): a store that KeepsLog keeps every batch after the
  // position KeepLogAfter last named (none named yet: every batch), so a start can read the
  // snapshot and replay the log after it instead of reading every number from the tables. A
  // store may drop batches it was asked to keep once it keeps too much; ReplayLogAfter then says
  // so, and the start reads the tables. For the writer's thread, but KeepLogAfter (any thread).
  virtual bool KeepsLog() const { return false; }
  virtual void KeepLogAfter(std::uint64_t /*position*/) {}
  // Bytes written to the log since the store opened (what a running snapshot saves replaying).
  virtual std::uint64_t LoggedBytes() const { return 0; }
  // Bytes the writes of the batch in progress come to in the log so far (0 for a store that
  // keeps none): the engine ends a batch early rather than let it grow without bound.
  virtual std::uint64_t BatchBytes() const { return 0; }
  // Hands `target` the number and assignment writes (what a running snapshot holds; the others
  // are read and checked, not handed on) of every logged batch after `position`, in order, up to
  // the last committed one, and returns how many batches that was. Before the first Commit only.
  // Fails (changing nothing in the store) when the log does not hold every one of those batches.
  virtual Result<std::uint64_t> ReplayLogAfter(std::uint64_t /*position*/,
                                               StoreWrites& /*target*/) {
    return Fail(ErrorCode::kNotFound, "this store keeps no command log");
  }

  // A batch: Begin, writes and reads, then Commit or Rollback. Write methods record the first
  // failure and Commit reports it; after a failed Commit the batch is rolled back. A committed
  // batch is visible and survives a crash of the process; it survives a power cut once a Sync
  // that began after its Commit has returned. Nobody may hear of a batch before that.
  virtual void Begin() = 0;
  virtual Result<void> Commit() = 0;
  // Makes every batch committed so far durable. Safe from one other thread while the writer
  // goes on with later batches, which is how the engine overlaps one batch's flush with the next
  // batch's work.
  virtual Result<void> Sync() = 0;
  virtual void Rollback() = 0;

  virtual Result<std::optional<IdempotencyRecord>> FindIdempotency(const std::string& caller,
                                                                   const std::string& key) = 0;
  // When the oldest idempotency record in the tables was created (nullopt: there is none), read
  // from an index: for the clean-up to know whether it is behind. Records a command log holds
  // and the tables do not yet are younger than any cutoff worth sweeping; deletions it holds may
  // not show yet (a sweep repeated meanwhile deletes nothing twice). A store that cannot tell
  // answers the epoch: always worth a sweep.
  virtual Result<std::optional<Instant>> OldestIdempotency() { return std::optional<Instant>(Instant{}); }
  virtual Result<std::optional<Deposit>> FindDeposit(const std::string& bank,
                                                     const std::string& transaction_id) = 0;
  // The deposit a cancellation with this (bank, transaction id) reversed.
  virtual Result<std::optional<Deposit>> FindDepositByCancellation(const std::string& bank,
                                                                   const std::string& cancel_transaction_id) = 0;
  virtual Result<std::optional<Assignment>> FindAssignment(const std::string& id) = 0;
  virtual Result<std::optional<Assignment>> FindAssignmentByOrder(const std::string& merchant,
                                                                  const std::string& order_id) = 0;
  virtual Result<std::vector<Deposit>> QueryDeposits(const DepositQuery& query) = 0;
  virtual Result<std::vector<LedgerEntry>> QueryLedger(const LedgerQuery& query) = 0;
  // Entries with seq > after_seq in order, at most `limit`: for verification and export.
  virtual Result<std::vector<LedgerEntry>> ReadLedger(std::int64_t after_seq, int limit) = 0;
  // One range of the posting check: of the next `count` deposits (by rowid), those not posted
  // exactly once (a booked deposit: one deposit entry and no reversal; a cancelled one: one of
  // each); then, once the deposits are done, of the next `count` deposit and reversal entries (by
  // seq), those naming no deposit. Each range is one short read, so a check of a million
  // deposits never holds one read transaction (and with it the write-ahead log) for seconds.
  virtual Result<PostingRange> CheckPostings(PostingCursor from, int count) = 0;
  virtual Result<std::optional<BankStatement>> FindStatement(const std::string& bank, const std::string& message_id,
                                                            const std::string& statement_id) = 0;
  // Statements of `bank` (all banks when empty), newest first, at most `limit`.
  virtual Result<std::vector<BankStatement>> QueryStatements(const std::string& bank, int limit) = 0;
  // Events in write order, after the cursor, at most `limit`.
  virtual Result<std::vector<Event>> QueryEvents(const EventQuery& query) = 0;
  virtual Result<std::optional<Event>> FindEvent(const std::string& id) = 0;
  // Pending deliveries of events after `after_event_seq`, with their events, in event order.
  virtual Result<std::vector<std::pair<Delivery, Event>>> QueryPendingDeliveries(std::int64_t after_event_seq,
                                                                                  int limit) = 0;
  // Every delivery of the given events, in event order.
  virtual Result<std::vector<Delivery>> FindDeliveries(const std::vector<std::int64_t>& event_seqs) = 0;
  virtual Result<std::optional<Transfer>> FindTransfer(const std::string& id) = 0;
  // Newest first.
  virtual Result<std::vector<Transfer>> QueryTransfers(const TransferQuery& query) = 0;
  // The highest request sequence of `bank`'s transfers on KST day `day` (0: none).
  virtual Result<std::uint32_t> LastTransferSequence(const std::string& bank, std::chrono::year_month_day day) = 0;
  // How many deposits have been booked in all.
  virtual Result<std::int64_t> CountDeposits() = 0;
  // Account-holder inquiries, newest first.
  virtual Result<std::vector<HolderInquiryRecord>> QueryHolderInquiries(const HolderInquiryQuery& query) = 0;
};

}  // namespace varelay
