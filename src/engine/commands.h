// What callers ask of the engine, and what it answers. The API layer builds these from validated
// requests; the engine applies them in order. Plain values: no HTTP, no JSON.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/error.h"
#include "domain/ledger.h"
#include "domain/model.h"
#include "engine/division_commands.h"
#include "store/store.h"

namespace varelay {

// Who is asking, as established from their API key. A caller left as constructed has no role and
// is refused: only an API key, a connector or the relay itself (explicitly) grants one.
struct Caller {
  std::string key_id;
  Role role = Role::kNone;
  std::string merchant;  // role kMerchant
  std::string bank;      // role kBank
  // The transport a bank's request came by (JSON routes, camt routes, telegrams), set by the
  // transport; a bank is held to its channels (domain/bank_channels.h). nullopt: none named, which
  // no bank command accepts.
  std::optional<BankProtocol> channel;
  std::string master{};  // role kMaster
};

// --- admin ---
struct CreateBank {
  std::string code, name;
  BankProtocol protocol = BankProtocol::kJson;
  std::string endpoint{};  // checked by the API layer against the protocol
};
// Renames a bank, moves its endpoint or sets the channels it may also report on (ChannelBit of
// each; its own protocol is always allowed). Absent fields are left as they are.
struct UpdateBank {
  std::string code;
  std::optional<std::string> name;
  std::optional<std::string> endpoint;
  std::optional<std::uint32_t> extra_channels;
};
// Issues the bank a new request-signing secret (replacing any earlier one at once); from then on
// every request by its keys must be signed.
struct CreateBankSigningSecret { std::string bank; };
struct ListBanks {};
struct CreateMerchant { std::string id, name; };
struct ListMerchants {};
struct GetMerchant { std::string id; };
// Renames or (de)activates a merchant; an inactive merchant issues nothing and its numbers are
// refused at the pre-check. Absent fields are left as they are.
struct UpdateMerchant {
  std::string id;
  std::optional<std::string> name;
  std::optional<bool> active;
  // Division accounts (docs/division-accounts.md): what deny-lists match, and whether the merchant
  // may authorise division payments with its own key.
  std::optional<MerchantCategory> category{};
  std::optional<bool> division_direct{};
};
struct CreateContract {
  std::string merchant, bank, mother_account, holder_name;
  Issuance issuance = Issuance::kPool;
  std::string realtime_url;  // checked by the API layer
  std::int64_t realtime_timeout_ms = 3000;
  bool fallback_to_pool = true;
};
struct ListContracts { std::string merchant; };
struct CreateApiKey { Role role = Role::kMerchant; std::string merchant, bank, label; };
struct ListApiKeys {};
struct RevokeApiKey { std::string id; };
// At most kMaxNumbersPerLoad numbers; invalid ones are reported, valid ones loaded together.
struct LoadNumbers { std::string merchant, bank, region; std::vector<std::string> numbers; };
inline constexpr std::size_t kMaxNumbersPerLoad = 50'000;
struct ListPools {};
struct VerifyLedger {};
// A merchant's pay-out limits and allow-list (docs/architecture.md, "Pay-out limits"), replacing what was set.
struct SetPayoutPolicy {
  std::string merchant;
  std::int64_t per_transfer_max_minor = kDefaultPayoutPerTransferMaxMinor;
  std::int64_t daily_max_minor = kDefaultPayoutDailyMaxMinor;
  std::vector<PayoutRecipient> recipients;  // at most kMaxPayoutRecipients, checked by the API layer
};
// Admin, or the merchant's own keys.
struct GetPayoutPolicy { std::string merchant; };

// --- merchant ---
struct CreateAssignment {
  std::string order_id;
  Money amount{0, Currency::Krw()};
  std::string bank;
  std::string region;  // empty: any region of that bank
  Customer customer;
  std::optional<Instant> due_at;
  std::optional<std::int64_t> expires_in_s;
  AmountRule rule;
  // Real-time issuance, filled by the API layer after asking the bank (never by a client): the
  // number the bank just issued, or why it could not.
  std::optional<std::string> bank_number;
  std::optional<std::string> bank_failure;
  std::optional<Instant> bank_due_at;  // the due time the bank was told, kept on the second pass
};
struct GetAssignment { std::string id; };
struct GetOrder { std::string order_id; };
struct CancelAssignment { std::string id; };
struct FindDeposits { DepositQuery query; };
struct FindLedgerEntries { LedgerQuery query; };

// --- bank ---
struct Precheck {
  std::string number;
  Money amount{0, Currency::Krw()};
  std::string payer_name;
};
struct DepositNotice {
  std::string transaction_id;
  std::string number;
  Money amount{0, Currency::Krw()};
  std::string payer_name;
  Instant deposited_at;
};
struct CancelDeposit {
  std::string transaction_id;  // the cancellation's own id
  std::string original_transaction_id;
  Instant cancelled_at;
};

// Several notices from one bank message (a camt.054, a telegram batch), applied in order in one
// batch. Each item stands alone: a refused item changes nothing and does not stop the others.
using BankNotice = std::variant<DepositNotice, CancelDeposit>;
// A transaction of a bank message that the connector did not turn into a notice, and why.
struct SkippedNotice {
  std::string reference;
  std::string action;  // "ignore" (not the relay's business) or "review" (a person must look)
  std::string reason;
};
struct ImportNotices {
  std::string source;  // the bank's message id, for people
  std::vector<BankNotice> notices;
  std::vector<SkippedNotice> skipped;  // reported back as given
};
inline constexpr std::size_t kMaxNoticesPerImport = 100'000;

// A bank's camt.053: its account statements, stored once (a re-sent message is a duplicate).
// At most kMaxStatementsPerMessage statements (kBodyTooLarge beyond); the XML is kept once per
// (bank, message), whatever the count.
inline constexpr std::size_t kMaxStatementsPerMessage = 1'000;
struct StoreStatements {
  std::vector<BankStatement> statements;  // bank and received_at are set by the engine
  std::string xml;
};
struct ListStatements { std::string bank; int limit = 100; };

// --- merchant: transfers (pay-outs from the mother account; docs/transfers.md) ---
struct CreateTransfer {
  std::string bank;  // the contract's bank: the mother account there is debited
  Money amount{0, Currency::Krw()};
  std::string recipient_bank, recipient_account, recipient_name, memo;
};
struct GetTransfer { std::string id; };
struct ListTransfers { TransferQuery query; };
// How to reach a bank with the relay's own request (a transfer): its protocol and endpoint.
// kBankUnavailable when it has no endpoint. The relay's own (admin) only.
struct RouteToBank { std::string bank; };
// An account-holder inquiry by a merchant key (docs/architecture.md, "Account-holder inquiries"):
// the merchant needs a contract with the bank and is rate-limited; the inquiry is recorded
// (`asked`) before the bank is asked, then FinishHolderInquiry records how it ended.
struct StartHolderInquiry { std::string bank, account; };
struct FinishHolderInquiry {
  std::string id;
  HolderInquiryOutcome outcome = HolderInquiryOutcome::kFailed;
};
// Admin: the inquiries recorded, newest first.
struct ListHolderInquiries { HolderInquiryQuery query; };
// An account-holder inquiry as the API takes it: RouteToBank first, then the bank is asked.
struct HolderInquiryRequest {
  std::string bank, account, holder_id;
};

// --- merchant: webhooks ---
inline constexpr std::size_t kMaxEndpointsPerMerchant = 16;
struct CreateWebhookEndpoint {
  std::string url;  // already checked against the URL policy by the API layer
  std::vector<EventType> event_types;  // empty: every type
  std::string description;
  bool include_personal_data = true;   // false: events without the customer
};
struct ListWebhookEndpoints {};
struct GetWebhookEndpoint { std::string id; };
// Absent fields are left as they are.
struct UpdateWebhookEndpoint {
  std::string id;
  std::optional<std::string> url;
  std::optional<std::vector<EventType>> event_types;
  std::optional<bool> enabled;
  std::optional<std::string> description;
  std::optional<bool> include_personal_data;
};
struct DeleteWebhookEndpoint { std::string id; };
struct RotateWebhookSecret {
  std::string id;
  Millis previous_valid_for{std::chrono::hours(24)};  // how long the old secret keeps signing
};
inline constexpr Millis kMaxSecretOverlap{std::chrono::days(7)};
struct ListEvents {
  EventQuery query;
  std::string after_id;  // the cursor as the merchant sees it: an event id
};
struct GetEvent { std::string id; };
// Queues the event again to every enabled endpoint subscribed to its type, or to the one named.
struct ResendEvent { std::string id; std::string endpoint_id; };

// --- operations (no caller) ---
struct ReadGauges {};
// What the webhook dispatcher learned from its attempts, to be made durable.
struct DeliveryReport {
  Delivery delivery;  // as it now stands
  bool gone = false;  // the endpoint answered 410: disable it
};
struct RecordDeliveries { std::vector<DeliveryReport> reports; };
// The dispatcher's memory is bounded: it asks for pending deliveries it let go of.
struct LoadPendingDeliveries {
  std::int64_t after_event_seq = 0;
  int limit = 10'000;
};

// What the transfer executor learned, to be made durable.
enum class TransferStep {
  kSending,      // about to send the withdrawal: attempts + 1, in doubt until an answer settles it
  kCompleted,    // the bank debited and credited (`response_code`, `bank_reference`)
  kRefused,      // the bank refused (`response_code`, `error`); nothing moved
  kRetryLater,   // no answer, or no way to ask: try again at `retry_at` (`error`)
  kNotReceived,  // the result inquiry says the bank never got it: send again, the same request
};
struct RecordTransfer {
  std::string id;
  TransferStep step = TransferStep::kSending;
  std::string response_code, bank_reference, error;
  Instant retry_at{};
};

using Command =
    std::variant<CreateBank, CreateBankSigningSecret, ListBanks, CreateMerchant, ListMerchants, GetMerchant, UpdateMerchant, CreateContract,
                 ListContracts, CreateApiKey, ListApiKeys, RevokeApiKey, LoadNumbers, ListPools,
                 VerifyLedger, CreateAssignment, GetAssignment, GetOrder, CancelAssignment,
                 FindDeposits, FindLedgerEntries, Precheck, DepositNotice, CancelDeposit, ImportNotices,
                 StoreStatements, ListStatements,
                 CreateWebhookEndpoint, ListWebhookEndpoints, GetWebhookEndpoint, UpdateWebhookEndpoint,
                 DeleteWebhookEndpoint, RotateWebhookSecret, ListEvents, GetEvent, ResendEvent,
                 ReadGauges, RecordDeliveries, LoadPendingDeliveries, UpdateBank, CreateTransfer,
                 GetTransfer, ListTransfers, RouteToBank, RecordTransfer, SetPayoutPolicy, GetPayoutPolicy,
                 StartHolderInquiry, FinishHolderInquiry, ListHolderInquiries,
                 // Division accounts: one alternative, the component's own commands inside it.
                 DivisionCommand>;

// What committed batches hand to the webhook dispatcher: endpoints that changed (deleted ones
// carry deleted_at) and deliveries that became pending, each with its event.
struct OutboxWork {
  Delivery delivery;
  std::shared_ptr<const Event> event;
};
struct OutboxChanges {
  std::vector<WebhookEndpoint> endpoints;
  std::vector<OutboxWork> deliveries;
  // At start-up: more deliveries are pending in the store than were handed over (after the last).
  bool more_pending = false;
  bool empty() const { return endpoints.empty() && deliveries.empty() && !more_pending; }
};
// At most this many pending deliveries are handed over at start-up; the rest wait in the store.
inline constexpr std::size_t kMaxRecoveredDeliveries = 100'000;
struct PendingDeliveries { std::vector<OutboxWork> items; };

// Receives outbox changes after they are durable, on the engine thread. Must not block.
class OutboxListener {
 public:
  virtual ~OutboxListener() = default;
  virtual void OnCommitted(OutboxChanges changes) = 0;
};

// Receives transfers that became pending (created, or found pending at start-up) once durable, on
// the engine thread. Must not block.
class TransferListener {
 public:
  virtual ~TransferListener() = default;
  virtual void OnPendingTransfers(std::vector<Transfer> transfers) = 0;
};

// --- answers ---
struct BankList {
  std::vector<Bank> items;  // signing secrets and endpoints blanked unless `full`
  bool full = false;        // an admin's view: protocols and endpoints shown
};
struct MerchantList { std::vector<Merchant> items; };
struct ContractList { std::vector<Contract> items; };
struct IssuedApiKey {
  ApiKey key;
  std::string token;  // shown once, never stored
};
struct ApiKeyList { std::vector<ApiKey> items; };
struct SkippedNumber { std::string number, reason; };
struct LoadReport {
  std::int64_t loaded = 0;
  std::vector<SkippedNumber> skipped;
};
struct PoolCounts {
  std::string merchant, bank, region;
  std::int64_t free = 0, assigned = 0, cooling = 0;
};
struct PoolList { std::vector<PoolCounts> items; };
struct LedgerVerdict {
  bool ok = true;
  std::int64_t entries = 0;
  std::optional<std::int64_t> first_bad_seq;
  std::string reason;
};
struct AssignmentView {
  Assignment assignment;
  bool created = false;  // false: an existing assignment returned for the same order and payload
};
struct DepositPage {
  std::vector<Deposit> items;
  std::string next_after;  // empty at the end
};
struct LedgerPage {
  std::vector<LedgerEntry> items;
  std::optional<std::int64_t> next_after;
};
enum class PrecheckRefusal { kUnknownNumber, kNotAssigned, kExpired, kAmountMismatch, kMerchantInactive };
std::string_view PrecheckRefusalName(PrecheckRefusal r);
struct PrecheckAnswer {
  std::optional<PrecheckRefusal> refusal;  // nullopt: accept
  std::string holder_name;
  Instant due_at;
};
struct DepositAck {
  Deposit deposit;
  bool duplicate = false;
};
inline constexpr std::size_t kDepositOutcomeCount = 7;
struct Gauges {
  std::vector<PoolCounts> pools;
  std::array<std::int64_t, kDepositOutcomeCount> deposits_by_outcome{};
  StoreStats store;
};
struct EndpointView {
  WebhookEndpoint endpoint;
  bool show_secret = false;  // only when created or rotated
};
struct EndpointList { std::vector<WebhookEndpoint> items; };
struct EventView {
  Event event;
  std::vector<Delivery> deliveries;
};
struct EventPage {
  std::vector<EventView> items;
  std::string next_after;  // empty at the end
};
struct Recorded {};
// The contract issues in real time: the API layer must ask the bank for a number, then submit the
// same CreateAssignment again with `bank_number` (or `bank_failure`).
struct NeedsBankNumber {
  std::string url;
  std::int64_t timeout_ms = 3000;
  std::string merchant, bank, mother_account, order_id;
  Money amount{0, Currency::Krw()};
  Instant due_at;
  std::string signing_secret;  // the bank's, to sign the request with (empty: unsigned)
};
struct ImportedNotice {
  std::string transaction_id;
  bool cancellation = false;
  std::optional<DepositAck> ack;  // booked (or a duplicate); nullopt when refused
  std::optional<Error> refusal;
};
struct ImportReport {
  std::string source;
  std::vector<ImportedNotice> items;
  std::vector<SkippedNotice> skipped;
};
struct StatementList {
  std::vector<BankStatement> items;
  std::vector<bool> duplicate;  // StoreStatements: per item, already stored before
};
struct BankSigningSecret {
  std::string bank;
  std::string secret;  // shown once
};

struct TransferView {
  Transfer transfer;
  bool created = false;
};
struct TransferPage {
  std::vector<Transfer> items;
  std::string next_before;  // empty at the end
};
// A merchant's pay-out policy with what today's transfers hold against its daily limit.
struct PayoutPolicyView {
  PayoutPolicy policy;
  bool set = false;  // false: the defaults, no operator set any
  std::chrono::year_month_day day{};  // today in Seoul
  std::int64_t used_today_minor = 0;
};
struct BankRoute {
  std::string bank;
  BankProtocol protocol = BankProtocol::kJson;
  std::string endpoint;
  std::string signing_secret;  // a JSON bank's: signs the relay's requests (empty: unsigned)
};
// StartHolderInquiry's answer: ask the bank at `route` and report as `inquiry_id`; or, with
// `retry_after`, the merchant asked too often: nothing was recorded, ask again after that long.
struct HolderInquiryTicket {
  BankRoute route;
  std::string inquiry_id;
  std::optional<Millis> retry_after;
};
struct HolderInquiryPage {
  std::vector<HolderInquiryRecord> items;
  std::string next_before;  // empty at the end
};

using Outcome = std::variant<Bank, BankList, Merchant, MerchantList, Contract, ContractList,
                             IssuedApiKey, ApiKey, ApiKeyList, LoadReport, PoolList, LedgerVerdict,
                             AssignmentView, DepositPage, LedgerPage, PrecheckAnswer, DepositAck,
                             Gauges, EndpointView, EndpointList, EventView, EventPage, Recorded,
                             BankSigningSecret, ImportReport, NeedsBankNumber, StatementList,
                             PendingDeliveries, TransferView, TransferPage, BankRoute, PayoutPolicyView,
                             HolderInquiryTicket, HolderInquiryPage, DivisionOutcome>;

// A response as the API sent it, kept for Idempotency-Key replays.
struct RenderedResponse {
  int status = 200;
  std::string body;
  bool replayed = false;
};

struct IdempotencyRequest {
  std::string key;
  std::string fingerprint;  // of method, path and body
};

// A bank's signature on a JSON request, checked once its key is known (docs/bank-protocol.md).
struct RequestSignature {
  std::string timestamp;  // the Varelay-Timestamp header: Unix seconds
  std::string signature;  // the Varelay-Signature header: "v1=<hex>"
  std::string content;    // what was signed: "{timestamp}.{METHOD}.{target}.{body}"
};
inline constexpr Millis kSignatureTolerance{std::chrono::minutes(5)};

// One request handed to the engine.
struct Submission {
  std::string bearer;  // the presented API key
  bool internal = false;  // from the relay itself (metrics, the dispatcher): no key, no caller
  // With `internal`: a connector that authenticated the bank its own way (telegrams by source
  // address) acts as this bank.
  std::optional<Caller> internal_caller;
  // The transport the request came by, for a bank's key (Caller::channel).
  std::optional<BankProtocol> channel;
  Command command;
  std::optional<IdempotencyRequest> idempotency;
  std::optional<RequestSignature> signature;
  // Turns an outcome into the response the client gets; called on the engine thread only when
  // `idempotency` is set, so the response can be stored with the change it reports.
  std::function<RenderedResponse(const Result<Outcome>&)> render;
  // Called once, on the engine thread, after the change is durable. Must not block.
  std::function<void(Result<Outcome>, std::optional<RenderedResponse>)> reply;
};

}  // namespace varelay
