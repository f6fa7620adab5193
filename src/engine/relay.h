// The relay's live state and the rules that change it. Single-threaded by design: only the engine
// thread calls it. Every command is validated in full before anything changes, so a refused
// command changes nothing; every change is also written to the store's open batch.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/commands.h"
#include "engine/division_book.h"
#include "engine/holder_inquiries.h"
#include "engine/ledger_audit.h"
#include "engine/number_table.h"
#include "engine/payout_book.h"
#include "engine/random.h"
#include "engine/snapshot_file.h"
#include "store/store.h"

namespace varelay {

struct RelayOptions {
  Millis quarantine{std::chrono::days(7)};     // cooling time before a number is reused
  Millis default_due{std::chrono::days(7)};    // when an assignment names no due time
  Millis max_due{std::chrono::days(30)};       // the furthest due time accepted
  Millis idempotency_retention{std::chrono::hours(24)};
  int holder_inquiries_per_minute = kDefaultHolderInquiriesPerMinute;  // per merchant
  // How long an account-holder inquiry may stay open: the bank timeout (--bank-timeout-ms, whose
  // default is 10 s) plus kHolderInquiryExpiryMargin; varelayd sets it from the flag.
  Millis holder_inquiry_expiry{std::chrono::seconds(10) + kHolderInquiryExpiryMargin};
  std::size_t max_open_holder_inquiries = kMaxOpenHolderInquiries;
  std::uint64_t id_seed = 0;                   // 0: random
};

// How a start found its state.
struct RecoveryReport {
  bool from_snapshot = false;    // the stop snapshot
  std::string snapshot_skipped;  // why a snapshot the store named was not used; empty otherwise
  // The running snapshot (Relay::WriteRunningSnapshot): whether the numbers came from it and the
  // log after it, at which batch it was taken and how many batches were replayed over it; or why
  // a running snapshot on the disk was not used.
  bool from_running_snapshot = false;
  std::uint64_t running_snapshot_position = 0;
  std::uint64_t replayed_batches = 0;
  double replay_seconds = 0;  // reading the log after it and bringing the state up to date
  std::string running_snapshot_skipped;
  std::int64_t numbers = 0;
  std::int64_t live_assignments = 0;  // open ones, and the tombstones of cooling numbers
};

struct SnapshotFigures {
  std::int64_t numbers = 0;
  std::int64_t live_assignments = 0;
  std::uint64_t bytes = 0;
};

class Relay final : private LoadSink, private DivisionHost {
 public:
  Relay(Store& store, RelayOptions options);
  ~Relay() override;

  // Rebuilds the live state, once, before anything else. The numbers and live assignments come
  // from the first of these that can be read whole: the stop snapshot at `snapshot_path` when
  // the store names it (the store then stops naming it, so it is read at most once, and never
  // after a change); the running snapshot at `running_snapshot_path` with the store's log after
  // it replayed over it; the store's tables. A running snapshot not used is removed before
  // anything changes (the batches it was taken at might otherwise be written again, differently).
  Result<RecoveryReport> Recover(const std::string& snapshot_path,
                                 const std::string& running_snapshot_path = {});
  // Writes the numbers and live assignments to `path` and has the store name the file. Between
  // commands only; anything applied afterwards must come after a new Recover.
  Result<SnapshotFigures> WriteSnapshot(const std::string& path);
  // Writes the numbers and live assignments to `path` as a running snapshot taken at log batch
  // `position` (the store's CommittedPosition). Between batches only; changes nothing, and
  // touches no store, so a forked copy of the process may call it.
  Result<SnapshotFigures> WriteRunningSnapshot(const std::string& path,
                                               std::uint64_t position) const;

  // Resolves a presented API key; kUnauthorized when unknown or revoked.
  Result<Caller> Authenticate(std::string_view bearer) const;
  // The role of every active key by its look-up handle (SHA-256 hex of the secret), for
  // KeyDirectory.
  std::unordered_map<std::string, Role> ActiveKeyRoles() const {
    std::unordered_map<std::string, Role> roles;
    for (const auto& [hash, id] : key_by_hash_) roles.emplace(hash, keys_.at(id).role);
    return roles;
  }
  // A caller vouched for by a connector: kUnauthorized unless its bank or merchant exists.
  Result<void> CheckCaller(const Caller& caller) const;
  // For a bank with a signing secret: the request must carry a fresh, valid signature.
  Result<void> CheckSignature(const Caller& caller, const std::optional<RequestSignature>& signature,
                              Instant now) const;

  // Applies one command at `now`. Writes go to the store's open batch.
  Result<Outcome> Apply(const Caller& caller, const Command& command, Instant now);
  Gauges ReadGauges() const;
  // The ledger's head as the commands applied so far left it, for an audit of the tables once
  // they hold this batch (AuditLedgerTo): kForbidden unless `caller` is an admin.
  Result<LedgerHead> LedgerHeadFor(const Caller& caller) const;

  // Expires assignments whose due time has come, returns cooled numbers to their pools, records
  // `failed` the holder inquiries whose outcome never came, and deletes expired idempotency
  // records (a bounded slice a batch).
  void RunTimers(Instant now);
  // When RunTimers next has work, if ever.
  std::optional<Instant> NextTimer() const;

  // Counts what today's (Asia/Seoul) transfers not refused hold against each merchant's daily
  // pay-out limit, from the store: once, after Recover, while the tables hold every batch.
  Result<void> LoadPayoutDay(Instant now) { return payouts_.LoadDay(now); }

  // Creates an admin key for `token` unless an active admin key exists; returns whether it did.
  bool EnsureAdminKey(const std::string& token, Instant now);

  // Checks every structural invariant of the live state; the first breach as an error.
  Result<void> CheckInvariants() const;

  // What the outbox gained since the last call: at start-up every live endpoint and pending
  // delivery, then what each batch added. The engine hands it on once the batch is durable.
  OutboxChanges TakeOutbox();
  // Transfers that became pending since the last call (at start-up: every pending one).
  std::vector<Transfer> TakeNewTransfers() { return std::exchange(new_transfers_, {}); }

 private:
  // Deletes a slice of the idempotency records older than the retention, when there are any.
  void SweepIdempotency(Instant now);
  using Pool = NumberPool;
  // Hashes std::string and std::string_view alike, so a look-up by a view allocates nothing.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // LoadSink
  void OnBank(Bank bank) override;
  void OnMerchant(Merchant merchant) override;
  void OnContract(Contract contract) override;
  void OnApiKey(ApiKey key) override;
  void OnNumber(const NumberRow& number) override;
  void OnNumbersLoaded() override { StartIndexing(); }
  void OnLiveAssignment(Assignment assignment) override;
  void OnLedgerHead(std::int64_t seq, std::string hash) override;
  void OnWebhookEndpoint(WebhookEndpoint endpoint) override;
  void OnEventHead(std::int64_t seq) override;
  void OnPendingDelivery(Delivery delivery, Event event) override;
  void OnPendingTransfer(Transfer transfer) override;
  void OnPayoutPolicy(PayoutPolicy policy) override { payouts_.OnPolicy(std::move(policy)); }
  void OnMaster(Master master) override { division_.OnMaster(std::move(master)); }
  void OnDivisionAccount(DivisionAccount account) override { division_.OnAccount(std::move(account)); }
  void OnDivisionPayment(DivisionPayment payment) override { division_.OnPayment(std::move(payment)); }
  void OnDivisionApproval(DivisionApproval approval) override { division_.OnApproval(std::move(approval)); }

  // DivisionHost (relay_division.cpp): what the division accounts component may use of the relay.
  const Merchant* FindMerchant(const std::string& id) const override;
  const Contract* MotherAccountOf(const std::string& merchant, const std::string& bank) const override;
  bool KnowsBank(const std::string& bank) const override { return banks_.contains(bank); }
  Result<Transfer> OpenTransfer(Transfer draft, Instant now) override;
  void PublishEvent(Event event, const std::function<std::string(const Event&)>& render, Instant now) override {
    Publish(std::move(event), render, now);
  }
  void AppendLedgerEntry(Instant at, EntryKind kind, const std::string& reference,
                         std::vector<LedgerLine> lines) override;
  std::string NewId(std::string_view prefix, Instant now) override {
    return ids_.NewTimeOrderedId(prefix, ToUnixMs(now));
  }
  IssuedApiKey IssueMasterKey(const std::string& master, const std::string& label, std::optional<Instant> expires_at,
                              std::string_view token_prefix, Instant now) override;
  void RevokeKey(const std::string& key_id, Instant now) override;
  std::pair<std::string, std::string> PutOwnEndpoint(const std::string& owner, const std::string& endpoint_id,
                                                     const std::string& url, Instant now) override;

  // Admin.
  Result<Outcome> Do(const Caller&, const CreateBank&, Instant now);
  Result<Outcome> Do(const Caller&, const CreateBankSigningSecret&, Instant now);
  Result<Outcome> Do(const Caller&, const ListBanks&, Instant now);
  Result<Outcome> Do(const Caller&, const CreateMerchant&, Instant now);
  Result<Outcome> Do(const Caller&, const ListMerchants&, Instant now);
  Result<Outcome> Do(const Caller&, const GetMerchant&, Instant now);
  Result<Outcome> Do(const Caller&, const UpdateMerchant&, Instant now);
  Result<Outcome> Do(const Caller&, const CreateContract&, Instant now);
  Result<Outcome> Do(const Caller&, const ListContracts&, Instant now);
  Result<Outcome> Do(const Caller&, const CreateApiKey&, Instant now);
  Result<Outcome> Do(const Caller&, const ListApiKeys&, Instant now);
  Result<Outcome> Do(const Caller&, const RevokeApiKey&, Instant now);
  Result<Outcome> Do(const Caller&, const LoadNumbers&, Instant now);
  Result<Outcome> Do(const Caller&, const ListPools&, Instant now);
  Result<Outcome> Do(const Caller&, const VerifyLedger&, Instant now);
  // Merchant.
  Result<Outcome> Do(const Caller&, const CreateAssignment&, Instant now);
  Result<Outcome> Do(const Caller&, const GetAssignment&, Instant now);
  Result<Outcome> Do(const Caller&, const GetOrder&, Instant now);
  Result<Outcome> Do(const Caller&, const CancelAssignment&, Instant now);
  Result<Outcome> Do(const Caller&, const FindDeposits&, Instant now);
  Result<Outcome> Do(const Caller&, const FindLedgerEntries&, Instant now);
  // Bank.
  Result<Outcome> Do(const Caller&, const Precheck&, Instant now);
  Result<Outcome> Do(const Caller&, const DepositNotice&, Instant now);
  Result<Outcome> Do(const Caller&, const CancelDeposit&, Instant now);
  Result<Outcome> Do(const Caller&, const ImportNotices&, Instant now);
  Result<Outcome> Do(const Caller&, const StoreStatements&, Instant now);
  Result<Outcome> Do(const Caller&, const ListStatements&, Instant now);
  Result<Outcome> Do(const Caller&, const varelay::ReadGauges&, Instant now);
  // Webhooks.
  Result<Outcome> Do(const Caller&, const CreateWebhookEndpoint&, Instant now);
  Result<Outcome> Do(const Caller&, const ListWebhookEndpoints&, Instant now);
  Result<Outcome> Do(const Caller&, const GetWebhookEndpoint&, Instant now);
  Result<Outcome> Do(const Caller&, const UpdateWebhookEndpoint&, Instant now);
  Result<Outcome> Do(const Caller&, const DeleteWebhookEndpoint&, Instant now);
  Result<Outcome> Do(const Caller&, const RotateWebhookSecret&, Instant now);
  Result<Outcome> Do(const Caller&, const ListEvents&, Instant now);
  Result<Outcome> Do(const Caller&, const GetEvent&, Instant now);
  Result<Outcome> Do(const Caller&, const ResendEvent&, Instant now);
  Result<Outcome> Do(const Caller&, const RecordDeliveries&, Instant now);
  Result<Outcome> Do(const Caller&, const LoadPendingDeliveries&, Instant now);
  Result<Outcome> Do(const Caller&, const UpdateBank&, Instant now);
  // Transfers.
  Result<Outcome> Do(const Caller&, const CreateTransfer&, Instant now);
  Result<Outcome> Do(const Caller&, const GetTransfer&, Instant now);
  Result<Outcome> Do(const Caller&, const ListTransfers&, Instant now);
  Result<Outcome> Do(const Caller&, const RouteToBank&, Instant now);
  Result<Outcome> Do(const Caller&, const RecordTransfer&, Instant now);
  // Pay-out limits, who may set and read them (relay_payouts.cpp; the state is payouts_).
  Result<Outcome> Do(const Caller&, const SetPayoutPolicy&, Instant now);
  Result<Outcome> Do(const Caller&, const GetPayoutPolicy&, Instant now);
  // Account-holder inquiries, who may ask which bank (relay_inquiries.cpp; the state is inquiries_).
  Result<Outcome> Do(const Caller&, const StartHolderInquiry&, Instant now);
  Result<Outcome> Do(const Caller&, const FinishHolderInquiry&, Instant now);
  Result<Outcome> Do(const Caller&, const ListHolderInquiries&, Instant now);
  // Division accounts, who may send which (relay_division.cpp; the state is division_).
  Result<Outcome> Do(const Caller&, const DivisionCommand&, Instant now);
  Result<Outcome> SetDivision(const SetMerchantDivision& c);

  static std::string PoolKey(std::string_view merchant, std::string_view bank,
                             std::string_view region);

  // What the checks of numbers [first, last) found: counts, and the first breach described.
  struct NumberChecks {
    std::size_t free_numbers = 0;
    std::size_t tied = 0;  // live assignments found behind assigned and cooling numbers
    std::map<const Pool*, std::int64_t> assigned, cooling;
    // The open assignments met on the way, by a hash of (merchant, order id), for the check that
    // no order has two.
    std::vector<std::pair<std::uint64_t, const Assignment*>> open_orders;
    std::string breach;
  };
  NumberChecks CheckNumbers(std::size_t first, std::size_t last) const;
  // From this many numbers on, CheckInvariants checks the two halves of the table at once.
  static constexpr std::size_t kParallelChecksFrom = 1 << 16;

  // Recovery: the snapshot's numbers and live assignments; any failure leaves them half read.
  Result<void> ReadSnapshot(const std::string& path, std::string_view token);
  // The same from a running snapshot and the log after it; fills the report's running fields.
  Result<void> ReadRunningSnapshot(const std::string& path, RecoveryReport& report);
  // What both kinds of snapshot hold after their headers.
  void WriteSnapshotBody(SnapshotWriter& w) const;
  Result<void> ReadSnapshotBody(SnapshotReader& r, const std::string& path);
  // Replays the log's number and assignment writes over a running snapshot (relay_snapshot.cpp).
  class LogReplay;
  // Drops whatever numbers, pools and live assignments a failed snapshot read left.
  void ForgetNumbers();
  // Counts a loaded number in its pool and gathers its release time when it cools.
  void CountLoadedNumber(NumberSlot& slot);
  // Moves the due and release times gathered while loading into the timer queues, in order.
  void QueueLoadedTimers();
  // The number index is built on a helper thread while the rest of the state is read.
  void StartIndexing();
  void FinishIndexing();

  // Marks a number changed: its row is written once, when the command (or the timer run) ends,
  // however many times the command changed it (an issue changes it, then its event bumps the
  // sequence; a payment starts the quarantine, then its event does the same).
  void Touch(NumberSlot& slot);
  // Touches a number that has just gone back to its pool's free list (its row is written after
  // the others', in the order they went).
  void MarkFreed(NumberSlot& slot);
  void WriteTouchedNumbers();
  NumberSlot* FindSlot(std::string_view bank, std::string_view number) {
    return numbers_.Find(bank, number);
  }
  // The assignment a number is (or was last) tied to; it must be live.
  Assignment& LiveAssignment(const NumberSlot& slot);
  Pool* ChoosePool(const std::string& merchant, const std::string& bank, const std::string& region);
  // The free number an assignment takes: the one the bank just issued (registered in the
  // merchant's pool for `region` if new), or the front of a pool. kPoolExhausted when none.
  Result<NumberSlot*> TakeNumber(const CreateAssignment& c, const std::string& merchant);
  Result<NumberSlot*> AdoptBankNumber(const std::string& merchant, const std::string& bank,
                                      const std::string& region, const std::string& number);
  Result<Assignment> LoadAssignment(const std::string& id);
  // Closes an open assignment and starts its number's quarantine.
  void Close(Assignment& assignment, AssignmentStatus status, Instant closed_at);
  void StartCooling(NumberSlot& slot, Instant from);
  void ReleaseToPool(NumberSlot& slot);
  void AppendLedger(Instant at, EntryKind kind, const Deposit& deposit,
                    std::vector<LedgerLine> lines);
  Result<Deposit> BookDeposit(const std::string& bank, const DepositNotice& notice, Instant now);
  // A bank's command must come by a channel it may use (its protocol or one an admin added):
  // kChannelNotAllowed otherwise.
  // A pre-check (`precheck`) over JSON is also an iso20022 bank's (camt has none).
  Result<void> CheckChannel(const Caller& caller, bool precheck = false) const;
  // The deposit a transaction id names (or, `by_cancellation`, the one a cancellation with that id
  // reversed); for a bank on several channels, under either form the id takes (bank_channels.h).
  Result<std::optional<Deposit>> FindCredit(const std::string& bank, const std::string& transaction_id,
                                            bool by_cancellation);

  // Writes an event about `slot`'s number (with the assignment and deposit as they now stand) and
  // a pending delivery to each of the merchant's endpoints that wants it. Nothing for a number
  // without a merchant.
  void Emit(EventType type, NumberSlot& slot, const Assignment* assignment, const Deposit* deposit,
            Instant now);
  void QueueDelivery(const WebhookEndpoint& endpoint, const std::shared_ptr<const Event>& event, Instant now);
  // The caller's endpoint (a merchant's own), or kNotFound.
  Result<WebhookEndpoint*> OwnEndpoint(const Caller& caller, const std::string& id);
  // Stops deliveries to an endpoint that is disabled or deleted, in the store and the dispatcher.
  void EndpointChanged(const WebhookEndpoint& endpoint);
  Result<EventView> ViewEvent(Event event);
  // Writes a transfer.completed or transfer.refused event and its deliveries.
  void EmitTransfer(EventType type, const Transfer& transfer, Instant now);
  // Gives `event` (merchant, type and subject filled in) its seq, id and time, its body from
  // `render`, writes it, and queues a delivery to each of the merchant's endpoints that wants it.
  void Publish(Event event, const std::function<std::string(const Event&)>& render, Instant now);

  Store& store_;
  RelayOptions options_;
  IdSource ids_;

  std::map<std::string, Bank> banks_;
  std::map<std::string, Merchant> merchants_;
  std::map<std::pair<std::string, std::string>, Contract> contracts_;  // (merchant, bank)
  std::map<std::string, ApiKey> keys_;                                 // by id
  std::unordered_map<std::string, std::string> key_by_hash_;          // secret hash -> id
  std::map<std::string, std::unique_ptr<Pool>> pools_;                 // by PoolKey
  NumberTable numbers_;
  std::vector<NumberSlot*> touched_;  // see Touch
  std::vector<NumberSlot*> freed_;    // see MarkFreed
  Pool* loading_pool_ = nullptr;         // during Recover: the pool of the number loaded last
  std::thread indexing_;                  // during Recover: builds the number index
  bool indexed_ = false;                  // during Recover: the index is built
  // During Recover: open assignments' due times, cooling numbers' release times.
  std::vector<std::pair<Instant, std::string>> loading_expiries_;
  std::vector<std::pair<Instant, NumberSlot*>> loading_releases_;
  // Open assignments, and the tombstones of cooling numbers.
  std::unordered_map<std::string, Assignment, StringHash, std::equal_to<>> live_;
  std::multimap<Instant, std::string> expiries_;      // due_at -> open assignment id
  std::multimap<Instant, NumberSlot*> releases_;      // release_at -> cooling number
  Instant next_idempotency_sweep_{};
  std::int64_t ledger_seq_ = 0;
  std::string ledger_hash_;
  std::array<std::int64_t, kDepositOutcomeCount> deposits_by_outcome_{};
  std::map<std::string, WebhookEndpoint> endpoints_;  // not deleted, by id
  std::int64_t event_seq_ = 0;                        // the newest event's seq
  OutboxChanges outbox_;
  std::map<std::string, Transfer> pending_transfers_;  // by id
  std::map<std::string, std::int64_t> pending_by_merchant_;
  std::vector<Transfer> new_transfers_;
  PayoutBook payouts_;  // merchants' pay-out policies and the day's sums
  // The rate limit and the inquiries waiting for their bank. What a restart forgets stays `asked`
  // in the store.
  HolderInquiries inquiries_;
  DivisionBook division_;  // masters, division accounts, their payments and approvals
  // Masters' sessions by when they expire: forgotten then (their rows stay, expired), so a
  // login a day does not grow the keys held without end.
  std::multimap<Instant, std::string> session_expiries_;
  void ForgetExpiredSessions(Instant now);
  Instant last_now_{};     // the latest instant a command or timer ran at (for CheckInvariants)
};

// Whether `endpoint` has the form `protocol` is reached at (empty: none, always fits).
Result<void> CheckBankEndpoint(BankProtocol protocol, std::string_view endpoint);

// The event a booked deposit raises.
EventType DepositEventType(DepositOutcome outcome);

// The caller identity of commands the relay submits to itself (RecordDeliveries, ReadGauges).
inline constexpr std::string_view kInternalCaller = "relay-internal";

}  // namespace varelay
