#include "store/log_records.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace varelay {
namespace {

using namespace std::string_literals;

constexpr std::int64_t kMinI64 = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxI64 = std::numeric_limits<std::int64_t>::max();
constexpr int kMinInt = std::numeric_limits<int>::min();
constexpr int kMaxInt = std::numeric_limits<int>::max();

Instant At(std::int64_t ms) { return FromUnixMs(ms); }
Currency Code(std::string_view code) { return *Currency::FromCode(code); }

// ---- a StoreWrites that keeps what it is given ----------------------------------------------

class RecordingWrites final : public StoreWrites {
 public:
  void PutBank(const Bank& v) override { Keep("PutBank", banks, v, &StoreWrites::PutBank); }
  void InsertMerchant(const Merchant& v) override {
    Keep("InsertMerchant", inserted_merchants, v, &StoreWrites::InsertMerchant);
  }
  void UpdateMerchant(const Merchant& v) override {
    Keep("UpdateMerchant", updated_merchants, v, &StoreWrites::UpdateMerchant);
  }
  void InsertContract(const Contract& v) override {
    Keep("InsertContract", contracts, v, &StoreWrites::InsertContract);
  }
  void PutApiKey(const ApiKey& v) override {
    Keep("PutApiKey", api_keys, v, &StoreWrites::PutApiKey);
  }
  void PutNumber(const NumberRecord& v) override {
    Keep("PutNumber", numbers, v, &StoreWrites::PutNumber);
  }
  void PutAssignment(const Assignment& v) override {
    Keep("PutAssignment", assignments, v, &StoreWrites::PutAssignment);
  }
  void PutDeposit(const Deposit& v) override {
    Keep("PutDeposit", deposits, v, &StoreWrites::PutDeposit);
  }
  void AppendLedgerEntry(const LedgerEntry& v) override {
    Keep("AppendLedgerEntry", ledger_entries, v, &StoreWrites::AppendLedgerEntry);
  }
  void PutIdempotency(const IdempotencyRecord& v) override {
    Keep("PutIdempotency", idempotency, v, &StoreWrites::PutIdempotency);
  }
  void PutWebhookEndpoint(const WebhookEndpoint& v) override {
    Keep("PutWebhookEndpoint", endpoints, v, &StoreWrites::PutWebhookEndpoint);
  }
  void AppendEvent(const Event& v) override {
    Keep("AppendEvent", events, v, &StoreWrites::AppendEvent);
  }
  void PutDelivery(const Delivery& v) override {
    Keep("PutDelivery", deliveries, v, &StoreWrites::PutDelivery);
  }
  void PutStatementMessage(const StatementMessage& v) override {
    Keep("PutStatementMessage", statement_messages, v, &StoreWrites::PutStatementMessage);
  }
  void PutStatement(const BankStatement& statement, const std::string& xml) override {
    calls.emplace_back("PutStatement");
    statements.emplace_back(statement, xml);
    forward_.push_back([statement, xml](StoreWrites& to) { to.PutStatement(statement, xml); });
  }
  void PutTransfer(const Transfer& v) override {
    Keep("PutTransfer", transfers, v, &StoreWrites::PutTransfer);
  }
  void FailPendingDeliveries(const std::string& endpoint_id, const std::string& reason) override {
    calls.emplace_back("FailPendingDeliveries");
    failed_pending.emplace_back(endpoint_id, reason);
    forward_.push_back(
        [endpoint_id, reason](StoreWrites& to) { to.FailPendingDeliveries(endpoint_id, reason); });
  }
  void DeleteIdempotencyBefore(Instant cutoff, int limit) override {
    calls.emplace_back("DeleteIdempotencyBefore");
    idempotency_deletes.emplace_back(cutoff, limit);
    forward_.push_back(
        [cutoff, limit](StoreWrites& to) { to.DeleteIdempotencyBefore(cutoff, limit); });
  }

  void PutBankChannels(const std::string& bank, std::uint32_t extra_channels) override {
    calls.emplace_back("PutBankChannels");
    bank_channels.emplace_back(bank, extra_channels);
    forward_.push_back([bank, extra_channels](StoreWrites& to) { to.PutBankChannels(bank, extra_channels); });
  }
  void PutPayoutPolicy(const PayoutPolicy& v) override {
    Keep("PutPayoutPolicy", payout_policies, v, &StoreWrites::PutPayoutPolicy);
  }
  void PutHolderInquiry(const HolderInquiryRecord& v) override {
    Keep("PutHolderInquiry", holder_inquiries, v, &StoreWrites::PutHolderInquiry);
  }
  void PutMerchantDivision(const Merchant& v) override {
    Keep("PutMerchantDivision", merchant_divisions, v, &StoreWrites::PutMerchantDivision);
  }
  void PutMaster(const Master& v) override { Keep("PutMaster", masters, v, &StoreWrites::PutMaster); }
  void PutDivisionAccount(const DivisionAccount& v) override {
    Keep("PutDivisionAccount", division_accounts, v, &StoreWrites::PutDivisionAccount);
  }
  void PutDivisionPayment(const DivisionPayment& v) override {
    Keep("PutDivisionPayment", division_payments, v, &StoreWrites::PutDivisionPayment);
  }
  void PutDivisionApproval(const DivisionApproval& v) override {
    Keep("PutDivisionApproval", division_approvals, v, &StoreWrites::PutDivisionApproval);
  }

  // Makes the first `count` calls received (all by default) again on `target`, in order.
  void Forward(StoreWrites& target,
               std::size_t count = std::numeric_limits<std::size_t>::max()) const {
    for (std::size_t i = 0; i < forward_.size() && i < count; ++i) forward_[i](target);
  }

  std::vector<std::string> calls;  // method names in call order
  std::vector<Bank> banks;
  std::vector<Merchant> merchant_divisions;
  std::vector<Master> masters;
  std::vector<DivisionAccount> division_accounts;
  std::vector<DivisionPayment> division_payments;
  std::vector<DivisionApproval> division_approvals;
  std::vector<Merchant> inserted_merchants;
  std::vector<Merchant> updated_merchants;
  std::vector<Contract> contracts;
  std::vector<ApiKey> api_keys;
  std::vector<NumberRecord> numbers;
  std::vector<Assignment> assignments;
  std::vector<Deposit> deposits;
  std::vector<LedgerEntry> ledger_entries;
  std::vector<IdempotencyRecord> idempotency;
  std::vector<WebhookEndpoint> endpoints;
  std::vector<Event> events;
  std::vector<Delivery> deliveries;
  std::vector<std::pair<BankStatement, std::string>> statements;
  std::vector<StatementMessage> statement_messages;
  std::vector<Transfer> transfers;
  std::vector<std::pair<std::string, std::string>> failed_pending;
  std::vector<std::pair<Instant, int>> idempotency_deletes;
  std::vector<std::pair<std::string, std::uint32_t>> bank_channels;
  std::vector<PayoutPolicy> payout_policies;
  std::vector<HolderInquiryRecord> holder_inquiries;

 private:
  template <typename T>
  void Keep(const char* name, std::vector<T>& into, const T& value,
            void (StoreWrites::*write)(const T&)) {
    calls.emplace_back(name);
    into.push_back(value);
    forward_.push_back([value, write](StoreWrites& to) { (to.*write)(value); });
  }

  std::vector<std::function<void(StoreWrites&)>> forward_;
};

// ---- values with every field set, none at its default ----------------------------------------

Bank SampleBank() {
  Bank b;
  b.code = "004";
  b.name = "국민\0은행"s;
  b.created_at = At(-86'400'123);  // before 1970
  b.protocol = BankProtocol::kIso20022;
  b.signing_secret = "bank-signing-secret";
  b.endpoint = "https://bank.example/relay";
  return b;
}

Merchant SampleMerchant() {
  Merchant m;
  m.id = "shop-1";
  m.name = "Shop \xF0\x9F\x9B\x92 One";
  m.active = false;
  m.created_at = At(kMinI64);
  return m;
}

Contract SampleContract() {
  Contract c;
  c.merchant = "contract-merchant";
  c.bank = "088";
  c.mother_account = "110-222-333333";
  c.holder_name = "주식회사 샵";
  c.created_at = At(1'764'000'000'001);
  c.issuance = Issuance::kRealtime;
  c.realtime_url = "https://bank.example/issue";
  c.realtime_timeout_ms = 1234;
  c.fallback_to_pool = false;
  return c;
}

ApiKey SampleApiKey() {
  ApiKey k;
  k.id = "key_0123456789abcdef";
  k.secret_hash = std::string(64, 'f');
  k.role = Role::kBank;
  k.merchant = "key-merchant";
  k.bank = "key-bank";
  k.label = "ops laptop";
  k.created_at = At(1'764'000'000'002);
  k.revoked_at = At(kMaxI64);
  return k;
}

NumberRecord SampleNumber() {
  NumberRecord n;
  n.bank = "number-bank";
  n.number = "56211234567890";
  n.merchant = "number-merchant";
  n.region = "seoul";
  n.state = NumberState::kCooling;
  n.generation = kMaxI64;
  n.assignment_id = "asg_number000000000000";
  n.release_at = At(1'764'000'000'003);
  n.event_seq = kMinI64;
  return n;
}

Assignment SampleAssignment() {
  Assignment a;
  a.id = "asg_00000000000000000001";
  a.merchant = "assignment-merchant";
  a.order_id = "order-42";
  a.bank = "assignment-bank";
  a.region = "busan";
  a.number = "56219999999999";
  a.generation = 7;
  a.holder_name = "홍길동";
  a.amount = Money(1'234'567, Code("USD"));
  a.rule = {AmountRuleKind::kAccumulate, -5, 987'654'321, Overpayment::kPark};
  a.paid_minor = 1'000;
  a.status = AssignmentStatus::kCancelled;
  a.customer = {"김철수\0jr"s, "+82-10-1234-5678", "buyer@example.com"};
  a.created_at = At(1'764'000'000'004);
  a.due_at = At(1'764'000'000'005);
  a.closed_at = At(1'764'000'000'006);
  a.request_fingerprint = std::string(64, 'a');
  return a;
}

Deposit SampleDeposit() {
  Deposit d;
  d.id = "dep_00000000000000000001";
  d.bank = "deposit-bank";
  d.transaction_id = "tx-777";
  d.number = "56218888888888";
  d.generation = 3;
  d.assignment_id = "asg_deposit";
  d.order_id = "deposit-order";
  d.merchant = "deposit-merchant";
  d.amount = Money(-9'999'999'999'999, Code("KWD"));
  d.payer_name = "입금자";
  d.deposited_at = At(1'764'000'000'007);
  d.received_at = At(1'764'000'000'008);
  d.outcome = DepositOutcome::kLate;
  d.to_merchant_minor = 11;
  d.parked_minor = 22;
  d.status = DepositStatus::kCancelled;
  d.cancelled_at = At(1'764'000'000'009);
  d.cancel_transaction_id = "tx-778";
  d.notice_fingerprint = std::string(64, 'n');
  return d;
}

LedgerEntry SampleLedgerEntry() {
  LedgerEntry e;
  e.seq = 99;
  e.at = At(1'764'000'000'010);
  e.kind = EntryKind::kReversal;
  e.deposit_id = "dep_ledger";
  e.currency = Code("EUR");
  e.lines = {{"bank/004/clearing", 0, 500},
             {"merchant/shop-1/collected", 300, 0},
             {"suspense/004", kMaxI64, kMinI64}};
  e.prev_hash = std::string(64, '1');
  e.hash = std::string(64, '2');
  return e;
}

IdempotencyRecord SampleIdempotency() {
  IdempotencyRecord i;
  i.caller = "merchant/shop-1";
  i.key = "idem-key";
  i.fingerprint = std::string(64, 'i');
  i.status = -409;
  i.body = "{\"a\":\"\0\"}"s;
  i.created_at = At(1'764'000'000'011);
  return i;
}

WebhookEndpoint SampleEndpoint() {
  WebhookEndpoint e;
  e.id = "whe_00000000000000000001";
  e.merchant = "endpoint-merchant";
  e.url = "https://shop.example/hooks";
  e.event_types.assign(kEventTypes.rbegin(), kEventTypes.rend());  // every type, the last first
  e.enabled = false;
  e.disabled_reason = "gone";
  e.description = "주문 알림";
  e.secret = "whsec_current";
  e.previous_secret = "whsec_previous";
  e.previous_secret_expires_at = At(1'764'000'000'012);
  e.created_at = At(1'764'000'000'013);
  e.deleted_at = At(1'764'000'000'014);
  return e;
}

Event SampleEvent() {
  Event e;
  e.seq = 1'000'000;
  e.id = "evt_00000000000000000001";
  e.merchant = "event-merchant";
  e.type = EventType::kTransferRefused;
  e.bank = "event-bank";
  e.number = "56217777777777";
  e.sequence = 5;
  e.generation = 6;
  e.assignment_id = "asg_event";
  e.order_id = "event-order";
  e.created_at = At(1'764'000'000'015);
  e.payload = "{\"type\":\"transfer.refused\",\"data\":\"" + std::string(300, 'p') + "\"}";
  return e;
}

Delivery SampleDelivery() {
  Delivery d;
  d.event_seq = 1'000'001;
  d.endpoint_id = "whe_delivery";
  d.merchant = "delivery-merchant";
  d.status = DeliveryStatus::kFailed;
  d.attempts = kMaxInt;
  d.last_attempt_at = At(1'764'000'000'016);
  d.next_attempt_at = At(1'764'000'000'017);
  d.last_status = kMinInt;
  d.last_error = "connection refused";
  d.delivered_at = At(1'764'000'000'018);
  return d;
}

BankStatement SampleStatement() {
  BankStatement s;
  s.bank = "statement-bank";
  s.message_id = "MSG-1";
  s.statement_id = "STMT-1";
  s.account = "110-222-333333";
  s.currency = "XYZ";  // as the bank wrote it, known to the relay or not
  s.opening_minor = kMinI64;
  s.closing_minor = -1;
  s.entries = 12;
  s.credits_minor = 34;
  s.debits_minor = 56;
  s.created = "2026-11-25T10:00:00+09:00";
  s.received_at = At(1'764'000'000'019);
  return s;
}

const std::string kStatementXml = "<Document>\0<BkToCstmrStmt/></Document>"s;

// A message of two statements, the second at its defaults.
StatementMessage SampleStatementMessage() {
  StatementMessage m;
  m.bank = "statement-bank";
  m.message_id = "MSG-1";
  m.xml = kStatementXml;
  m.received_at = At(1'764'000'000'020);
  m.statements = {SampleStatement(), BankStatement{}};
  return m;
}

Transfer SampleTransfer() {
  Transfer t;
  t.id = "trf_00000000000000000001";
  t.merchant = "transfer-merchant";
  t.bank = "transfer-bank";
  t.debit_account = "110-222-444444";
  t.amount = Money(50'000, Code("JPY"));
  t.recipient_bank = "020";
  t.recipient_account = "1002-333-444";
  t.recipient_name = "받는이";
  t.memo = "refund";
  t.status = TransferStatus::kRefused;
  t.request_date = std::chrono::year{2026} / 11 / 25;
  t.request_sequence = std::numeric_limits<std::uint32_t>::max();
  t.attempts = 4;
  t.in_doubt = true;
  t.response_code = "0001";
  t.last_error = "timeout";
  t.bank_reference = "bank-ref-1";
  t.created_at = At(1'764'000'000'020);
  t.updated_at = At(1'764'000'000'021);
  t.next_attempt_at = At(1'764'000'000'022);
  t.finished_at = At(1'764'000'000'023);
  return t;
}

// ---- comparisons: each names every field, so a field added to a struct stops this file compiling
// until the codec and the comparison learn of it ----------------------------------------------

std::int64_t Ms(Instant t) { return ToUnixMs(t); }
std::optional<std::int64_t> Ms(const std::optional<Instant>& t) {
  if (!t) return std::nullopt;
  return ToUnixMs(*t);
}

void ExpectSameMoney(const Money& want, const Money& got) {
  EXPECT_EQ(got.minor(), want.minor());
  EXPECT_EQ(got.currency().code(), want.currency().code());
  EXPECT_EQ(got.currency().exponent(), want.currency().exponent());
}

void ExpectSame(const Bank& want, const Bank& got) {
  // extra_channels is written by PutBankChannels (its own record), never by PutBank, whose
  // encoding is pinned.
  const auto& [code, name, created_at, protocol, signing_secret, endpoint, extra_channels] = want;
  EXPECT_EQ(got.extra_channels, 0u);
  EXPECT_EQ(extra_channels, 0u) << "PutBank does not carry channels";
  EXPECT_EQ(got.code, code);
  EXPECT_EQ(got.name, name);
  EXPECT_EQ(Ms(got.created_at), Ms(created_at));
  EXPECT_EQ(got.protocol, protocol);
  EXPECT_EQ(got.signing_secret, signing_secret);
  EXPECT_EQ(got.endpoint, endpoint);
}

void ExpectSame(const Merchant& want, const Merchant& got) {
  // category and division_direct are written by PutMerchantDivision (tag 35), never by the
  // merchant records, whose encoding is pinned.
  const auto& [id, name, active, created_at, category, division_direct] = want;
  EXPECT_EQ(category, MerchantCategory::kGeneral) << "the merchant records do not carry it";
  EXPECT_FALSE(division_direct) << "the merchant records do not carry it";
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.name, name);
  EXPECT_EQ(got.active, active);
  EXPECT_EQ(Ms(got.created_at), Ms(created_at));
}

void ExpectSame(const Contract& want, const Contract& got) {
  const auto& [merchant, bank, mother_account, holder_name, created_at, issuance, realtime_url,
               realtime_timeout_ms, fallback_to_pool] = want;
  EXPECT_EQ(got.merchant, merchant);
  EXPECT_EQ(got.bank, bank);
  EXPECT_EQ(got.mother_account, mother_account);
  EXPECT_EQ(got.holder_name, holder_name);
  EXPECT_EQ(Ms(got.created_at), Ms(created_at));
  EXPECT_EQ(got.issuance, issuance);
  EXPECT_EQ(got.realtime_url, realtime_url);
  EXPECT_EQ(got.realtime_timeout_ms, realtime_timeout_ms);
  EXPECT_EQ(got.fallback_to_pool, fallback_to_pool);
}

void ExpectSame(const ApiKey& want, const ApiKey& got) {
  const auto& [id, secret_hash, role, merchant, bank, label, created_at, revoked_at, master, expires_at] = want;
  EXPECT_EQ(got.master, master);
  EXPECT_EQ(Ms(got.expires_at), Ms(expires_at));
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.secret_hash, secret_hash);
  EXPECT_EQ(got.role, role);
  EXPECT_EQ(got.merchant, merchant);
  EXPECT_EQ(got.bank, bank);
  EXPECT_EQ(got.label, label);
  EXPECT_EQ(Ms(got.created_at), Ms(created_at));
  EXPECT_EQ(Ms(got.revoked_at), Ms(revoked_at));
}

void ExpectSame(const NumberRecord& want, const NumberRecord& got) {
  const auto& [bank, number, merchant, region, state, generation, assignment_id, release_at,
               event_seq] = want;
  EXPECT_EQ(got.bank, bank);
  EXPECT_EQ(got.number, number);
  EXPECT_EQ(got.merchant, merchant);
  EXPECT_EQ(got.region, region);
  EXPECT_EQ(got.state, state);
  EXPECT_EQ(got.generation, generation);
  EXPECT_EQ(got.assignment_id, assignment_id);
  EXPECT_EQ(Ms(got.release_at), Ms(release_at));
  EXPECT_EQ(got.event_seq, event_seq);
}

void ExpectSameRule(const AmountRule& want, const AmountRule& got) {
  const auto& [kind, min_minor, max_minor, overpayment] = want;
  EXPECT_EQ(got.kind, kind);
  EXPECT_EQ(got.min_minor, min_minor);
  EXPECT_EQ(got.max_minor, max_minor);
  EXPECT_EQ(got.overpayment, overpayment);
}

void ExpectSameCustomer(const Customer& want, const Customer& got) {
  const auto& [name, phone, email] = want;
  EXPECT_EQ(got.name, name);
  EXPECT_EQ(got.phone, phone);
  EXPECT_EQ(got.email, email);
}

void ExpectSame(const Assignment& want, const Assignment& got) {
  const auto& [id, merchant, order_id, bank, region, number, generation, holder_name, amount, rule,
               paid_minor, status, customer, created_at, due_at, closed_at, request_fingerprint] =
      want;
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.merchant, merchant);
  EXPECT_EQ(got.order_id, order_id);
  EXPECT_EQ(got.bank, bank);
  EXPECT_EQ(got.region, region);
  EXPECT_EQ(got.number, number);
  EXPECT_EQ(got.generation, generation);
  EXPECT_EQ(got.holder_name, holder_name);
  ExpectSameMoney(amount, got.amount);
  ExpectSameRule(rule, got.rule);
  EXPECT_EQ(got.paid_minor, paid_minor);
  EXPECT_EQ(got.status, status);
  ExpectSameCustomer(customer, got.customer);
  EXPECT_EQ(Ms(got.created_at), Ms(created_at));
  EXPECT_EQ(Ms(got.due_at), Ms(due_at));
  EXPECT_EQ(Ms(got.closed_at), Ms(closed_at));
  EXPECT_EQ(got.request_fingerprint, request_fingerprint);
}

void ExpectSame(const Deposit& want, const Deposit& got) {
  const auto& [id, bank, transaction_id, number, generation, assignment_id, order_id, merchant,
               amount, payer_name, deposited_at, received_at, outcome, to_merchant_minor,
               parked_minor, status, cancelled_at, cancel_transaction_id, notice_fingerprint] =
      want;
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.bank, bank);
  EXPECT_EQ(got.transaction_id, transaction_id);
  EXPECT_EQ(got.number, number);
  EXPECT_EQ(got.generation, generation);
  EXPECT_EQ(got.assignment_id, assignment_id);
  EXPECT_EQ(got.order_id, order_id);
  EXPECT_EQ(got.merchant, merchant);
  ExpectSameMoney(amount, got.amount);
  EXPECT_EQ(got.payer_name, payer_name);
  EXPECT_EQ(Ms(got.deposited_at), Ms(deposited_at));
  EXPECT_EQ(Ms(got.received_at), Ms(received_at));
  EXPECT_EQ(got.outcome, outcome);
  EXPECT_EQ(got.to_merchant_minor, to_merchant_minor);
  EXPECT_EQ(got.parked_minor, parked_minor);
  EXPECT_EQ(got.status, status);
  EXPECT_EQ(Ms(got.cancelled_at), Ms(cancelled_at));
  EXPECT_EQ(got.cancel_transaction_id, cancel_transaction_id);
  EXPECT_EQ(got.notice_fingerprint, notice_fingerprint);
}

void ExpectSame(const LedgerEntry& want, const LedgerEntry& got) {
  const auto& [seq, at, kind, deposit_id, currency, lines, prev_hash, hash] = want;
  EXPECT_EQ(got.seq, seq);
  EXPECT_EQ(Ms(got.at), Ms(at));
  EXPECT_EQ(got.kind, kind);
  EXPECT_EQ(got.deposit_id, deposit_id);
  EXPECT_EQ(got.currency.code(), currency.code());
  EXPECT_EQ(got.currency.exponent(), currency.exponent());
  ASSERT_EQ(got.lines.size(), lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& [account, debit_minor, credit_minor] = lines[i];
    EXPECT_EQ(got.lines[i].account, account) << "line " << i;
    EXPECT_EQ(got.lines[i].debit_minor, debit_minor) << "line " << i;
    EXPECT_EQ(got.lines[i].credit_minor, credit_minor) << "line " << i;
  }
  EXPECT_EQ(got.prev_hash, prev_hash);
  EXPECT_EQ(got.hash, hash);
}

void ExpectSame(const IdempotencyRecord& want, const IdempotencyRecord& got) {
  const auto& [caller, key, fingerprint, status, body, created_at] = want;
  EXPECT_EQ(got.caller, caller);
  EXPECT_EQ(got.key, key);
  EXPECT_EQ(got.fingerprint, fingerprint);
  EXPECT_EQ(got.status, status);
  EXPECT_EQ(got.body, body);
  EXPECT_EQ(Ms(got.created_at), Ms(created_at));
}

void ExpectSame(const WebhookEndpoint& want, const WebhookEndpoint& got) {
  const auto& [id, merchant, url, event_types, enabled, disabled_reason, description,
               include_personal_data, secret, previous_secret, previous_secret_expires_at, created_at,
               deleted_at] = want;
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.merchant, merchant);
  EXPECT_EQ(got.url, url);
  EXPECT_EQ(got.event_types, event_types);
  EXPECT_EQ(got.enabled, enabled);
  EXPECT_EQ(got.disabled_reason, disabled_reason);
  EXPECT_EQ(got.description, description);
  EXPECT_EQ(got.include_personal_data, include_personal_data);
  EXPECT_EQ(got.secret, secret);
  EXPECT_EQ(got.previous_secret, previous_secret);
  EXPECT_EQ(Ms(got.previous_secret_expires_at), Ms(previous_secret_expires_at));
  EXPECT_EQ(Ms(got.created_at), Ms(created_at));
  EXPECT_EQ(Ms(got.deleted_at), Ms(deleted_at));
}

void ExpectSame(const Event& want, const Event& got) {
  const auto& [seq, id, merchant, type, bank, number, sequence, generation, assignment_id, order_id,
               created_at, payload] = want;
  EXPECT_EQ(got.seq, seq);
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.merchant, merchant);
  EXPECT_EQ(got.type, type);
  EXPECT_EQ(got.bank, bank);
  EXPECT_EQ(got.number, number);
  EXPECT_EQ(got.sequence, sequence);
  EXPECT_EQ(got.generation, generation);
  EXPECT_EQ(got.assignment_id, assignment_id);
  EXPECT_EQ(got.order_id, order_id);
  EXPECT_EQ(Ms(got.created_at), Ms(created_at));
  EXPECT_EQ(got.payload, payload);
}

void ExpectSame(const Delivery& want, const Delivery& got) {
  const auto& [event_seq, endpoint_id, merchant, status, attempts, last_attempt_at, next_attempt_at,
               last_status, last_error, delivered_at] = want;
  EXPECT_EQ(got.event_seq, event_seq);
  EXPECT_EQ(got.endpoint_id, endpoint_id);
  EXPECT_EQ(got.merchant, merchant);
  EXPECT_EQ(got.status, status);
  EXPECT_EQ(got.attempts, attempts);
  EXPECT_EQ(Ms(got.last_attempt_at), Ms(last_attempt_at));
  EXPECT_EQ(Ms(got.next_attempt_at), Ms(next_attempt_at));
  EXPECT_EQ(got.last_status, last_status);
  EXPECT_EQ(got.last_error, last_error);
  EXPECT_EQ(Ms(got.delivered_at), Ms(delivered_at));
}

void ExpectSame(const BankStatement& want, const BankStatement& got) {
  const auto& [bank, message_id, statement_id, account, currency, opening_minor, closing_minor,
               entries, credits_minor, debits_minor, created, received_at] = want;
  EXPECT_EQ(got.bank, bank);
  EXPECT_EQ(got.message_id, message_id);
  EXPECT_EQ(got.statement_id, statement_id);
  EXPECT_EQ(got.account, account);
  EXPECT_EQ(got.currency, currency);
  EXPECT_EQ(got.opening_minor, opening_minor);
  EXPECT_EQ(got.closing_minor, closing_minor);
  EXPECT_EQ(got.entries, entries);
  EXPECT_EQ(got.credits_minor, credits_minor);
  EXPECT_EQ(got.debits_minor, debits_minor);
  EXPECT_EQ(got.created, created);
  EXPECT_EQ(Ms(got.received_at), Ms(received_at));
}

void ExpectSame(const StatementMessage& want, const StatementMessage& got) {
  EXPECT_EQ(got.bank, want.bank);
  EXPECT_EQ(got.message_id, want.message_id);
  EXPECT_EQ(got.xml, want.xml);
  EXPECT_EQ(Ms(got.received_at), Ms(want.received_at));
  ASSERT_EQ(got.statements.size(), want.statements.size());
  for (std::size_t i = 0; i < want.statements.size(); ++i) ExpectSame(want.statements[i], got.statements[i]);
}

void ExpectSameDate(std::chrono::year_month_day want, std::chrono::year_month_day got) {
  EXPECT_EQ(static_cast<int>(got.year()), static_cast<int>(want.year()));
  EXPECT_EQ(static_cast<unsigned>(got.month()), static_cast<unsigned>(want.month()));
  EXPECT_EQ(static_cast<unsigned>(got.day()), static_cast<unsigned>(want.day()));
}

void ExpectSame(const Transfer& want, const Transfer& got) {
  const auto& [id, merchant, bank, debit_account, amount, recipient_bank, recipient_account,
               recipient_name, memo, status, request_date, request_sequence, attempts, in_doubt,
               response_code, last_error, bank_reference, created_at, updated_at, next_attempt_at,
               finished_at, purpose, division_payment] = want;
  EXPECT_EQ(got.purpose, purpose);
  EXPECT_EQ(got.division_payment, division_payment);
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.merchant, merchant);
  EXPECT_EQ(got.bank, bank);
  EXPECT_EQ(got.debit_account, debit_account);
  ExpectSameMoney(amount, got.amount);
  EXPECT_EQ(got.recipient_bank, recipient_bank);
  EXPECT_EQ(got.recipient_account, recipient_account);
  EXPECT_EQ(got.recipient_name, recipient_name);
  EXPECT_EQ(got.memo, memo);
  EXPECT_EQ(got.status, status);
  ExpectSameDate(request_date, got.request_date);
  EXPECT_EQ(got.request_sequence, request_sequence);
  EXPECT_EQ(got.attempts, attempts);
  EXPECT_EQ(got.in_doubt, in_doubt);
  EXPECT_EQ(got.response_code, response_code);
  EXPECT_EQ(got.last_error, last_error);
  EXPECT_EQ(got.bank_reference, bank_reference);
  EXPECT_EQ(Ms(got.created_at), Ms(created_at));
  EXPECT_EQ(Ms(got.updated_at), Ms(updated_at));
  EXPECT_EQ(Ms(got.next_attempt_at), Ms(next_attempt_at));
  EXPECT_EQ(Ms(got.finished_at), Ms(finished_at));
}

// ---- helpers ----------------------------------------------------------------------------------

// Replays `bytes` into a fresh recorder, expecting success.
RecordingWrites Replayed(std::string_view bytes) {
  RecordingWrites got;
  auto replayed = ReplayLogBatch(bytes, got);
  EXPECT_TRUE(replayed) << replayed.error().detail;
  return got;
}

// Encodes one call, replays it, and compares what the recorder kept with what was sent.
template <typename T>
void ExpectRoundTrip(const T& value, void (StoreWrites::*write)(const T&),
                     std::vector<T> RecordingWrites::*kept) {
  LogBatchEncoder encoder;
  (encoder.*write)(value);
  EXPECT_EQ(encoder.records(), 1u);
  RecordingWrites got = Replayed(encoder.bytes());
  ASSERT_EQ(got.calls.size(), 1u);
  ASSERT_EQ((got.*kept).size(), 1u);
  ExpectSame(value, (got.*kept)[0]);
}

// One call of every kind, sample values and defaults: the batch the order and damage tests use.
void WriteEveryKind(StoreWrites& w) {
  w.PutBank(SampleBank());
  w.InsertMerchant(SampleMerchant());
  w.UpdateMerchant(Merchant{});
  w.InsertContract(SampleContract());
  w.PutApiKey(SampleApiKey());
  w.PutNumber(SampleNumber());
  w.PutAssignment(SampleAssignment());
  w.PutDeposit(SampleDeposit());
  w.AppendLedgerEntry(SampleLedgerEntry());
  w.PutIdempotency(SampleIdempotency());
  w.PutWebhookEndpoint(SampleEndpoint());
  w.AppendEvent(SampleEvent());
  w.PutDelivery(SampleDelivery());
  w.PutStatement(SampleStatement(), kStatementXml);
  w.PutTransfer(SampleTransfer());
  w.FailPendingDeliveries("whe_failing", "endpoint deleted");
  w.DeleteIdempotencyBefore(At(1'764'000'000'024), 500);
  w.PutBank(Bank{});
  w.PutNumber(NumberRecord{});
}

const std::vector<std::string> kEveryKindCalls = {  // in WriteEveryKind's order
    "PutBank",
    "InsertMerchant",
    "UpdateMerchant",
    "InsertContract",
    "PutApiKey",
    "PutNumber",
    "PutAssignment",
    "PutDeposit",
    "AppendLedgerEntry",
    "PutIdempotency",
    "PutWebhookEndpoint",
    "AppendEvent",
    "PutDelivery",
    "PutStatement",
    "PutTransfer",
    "FailPendingDeliveries",
    "DeleteIdempotencyBefore",
    "PutBank",
    "PutNumber"};

// A string of the given byte values.
std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// Replays `bytes` expecting a refusal; returns its detail.
std::string Refusal(std::string_view bytes) {
  RecordingWrites sink;
  auto replayed = ReplayLogBatch(bytes, sink);
  EXPECT_FALSE(replayed);
  if (replayed) return {};
  EXPECT_EQ(replayed.error().code, ErrorCode::kInternal);
  EXPECT_FALSE(replayed.error().detail.empty());
  return replayed.error().detail;
}

// ---- round trips ----------------------------------------------------------------------------

// Proves the access records (tags 22-24: bank channels, pay-out policies, holder inquiries) come
// back exactly, defaults and an allow-list included, and are described without surprise.
TEST(LogRecordsTest, AccessRecordsRoundTrip) {
  LogBatchEncoder encoder;
  PayoutPolicy policy{"shop", 1000, 5000, {{"004", "11112222333"}, {"088", "9"}}, At(1'700'000'000'000)};
  HolderInquiryRecord inquiry{"hiq_1", "shop", "key_1", "004", "*******2333", HolderInquiryOutcome::kFound,
                              At(1'700'000'000'001), At(1'700'000'000'002)};
  encoder.PutBankChannels("004", 5);
  encoder.PutPayoutPolicy(policy);
  encoder.PutPayoutPolicy(PayoutPolicy{});
  encoder.PutHolderInquiry(inquiry);
  encoder.PutHolderInquiry(HolderInquiryRecord{});
  RecordingWrites got = Replayed(encoder.bytes());
  ASSERT_EQ(got.calls.size(), 5u);
  EXPECT_EQ(got.bank_channels, (std::vector<std::pair<std::string, std::uint32_t>>{{"004", 5}}));
  ASSERT_EQ(got.payout_policies.size(), 2u);
  EXPECT_EQ(got.payout_policies[0], policy);
  EXPECT_EQ(got.payout_policies[1], PayoutPolicy{});
  ASSERT_EQ(got.holder_inquiries.size(), 2u);
  EXPECT_EQ(got.holder_inquiries[0], inquiry);
  EXPECT_EQ(got.holder_inquiries[1], HolderInquiryRecord{});
  auto described = DescribeLogBatch(encoder.bytes());
  ASSERT_TRUE(described) << described.error().detail;
  EXPECT_NE(described->find(R"("record":"PutPayoutPolicy")"), std::string::npos);
  EXPECT_NE(described->find(R"("account_masked":"*******2333")"), std::string::npos);
}

// Proves every field of a PutBank write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutBankRoundTrips) {
  // Every field of a bank comes back exactly, set or at its default.
  ExpectRoundTrip(SampleBank(), &StoreWrites::PutBank, &RecordingWrites::banks);
  ExpectRoundTrip(Bank{}, &StoreWrites::PutBank, &RecordingWrites::banks);
}

// Proves every field of a InsertMerchant write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, InsertMerchantRoundTrips) {
  // Every field of an inserted merchant comes back exactly, set or at its default.
  ExpectRoundTrip(SampleMerchant(), &StoreWrites::InsertMerchant,
                  &RecordingWrites::inserted_merchants);
  ExpectRoundTrip(Merchant{}, &StoreWrites::InsertMerchant, &RecordingWrites::inserted_merchants);
}

// Proves every field of a UpdateMerchant write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, UpdateMerchantRoundTrips) {
  // Every field of an updated merchant comes back exactly, and as an update, not an insert.
  ExpectRoundTrip(SampleMerchant(), &StoreWrites::UpdateMerchant,
                  &RecordingWrites::updated_merchants);
  ExpectRoundTrip(Merchant{}, &StoreWrites::UpdateMerchant, &RecordingWrites::updated_merchants);
}

// Proves every field of a InsertContract write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, InsertContractRoundTrips) {
  // Every field of a contract comes back exactly, set or at its default.
  ExpectRoundTrip(SampleContract(), &StoreWrites::InsertContract, &RecordingWrites::contracts);
  ExpectRoundTrip(Contract{}, &StoreWrites::InsertContract, &RecordingWrites::contracts);
}

// Proves every field of a PutApiKey write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutApiKeyRoundTrips) {
  // Every field of an API key comes back exactly, revoked or not.
  ExpectRoundTrip(SampleApiKey(), &StoreWrites::PutApiKey, &RecordingWrites::api_keys);
  ExpectRoundTrip(ApiKey{}, &StoreWrites::PutApiKey, &RecordingWrites::api_keys);
}

// Proves every field of a PutNumber write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutNumberRoundTrips) {
  // Every field of a number comes back exactly, int64 extremes included.
  ExpectRoundTrip(SampleNumber(), &StoreWrites::PutNumber, &RecordingWrites::numbers);
  ExpectRoundTrip(NumberRecord{}, &StoreWrites::PutNumber, &RecordingWrites::numbers);
}

// Proves every field of a PutAssignment write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutAssignmentRoundTrips) {
  // Every field of an assignment comes back exactly: money, rule and customer included.
  ExpectRoundTrip(SampleAssignment(), &StoreWrites::PutAssignment, &RecordingWrites::assignments);
  ExpectRoundTrip(Assignment{}, &StoreWrites::PutAssignment, &RecordingWrites::assignments);
}

// Proves every field of a PutDeposit write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutDepositRoundTrips) {
  // Every field of a deposit comes back exactly, cancelled or not.
  ExpectRoundTrip(SampleDeposit(), &StoreWrites::PutDeposit, &RecordingWrites::deposits);
  ExpectRoundTrip(Deposit{}, &StoreWrites::PutDeposit, &RecordingWrites::deposits);
}

// Proves every field of a AppendLedgerEntry write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, AppendLedgerEntryRoundTrips) {
  // Every field of a ledger entry comes back exactly, its lines in order.
  ExpectRoundTrip(SampleLedgerEntry(), &StoreWrites::AppendLedgerEntry,
                  &RecordingWrites::ledger_entries);
  ExpectRoundTrip(LedgerEntry{}, &StoreWrites::AppendLedgerEntry, &RecordingWrites::ledger_entries);
}

// Proves every field of a PutIdempotency write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutIdempotencyRoundTrips) {
  // Every field of an idempotency record comes back exactly, NUL bytes in the body included.
  ExpectRoundTrip(SampleIdempotency(), &StoreWrites::PutIdempotency, &RecordingWrites::idempotency);
  ExpectRoundTrip(IdempotencyRecord{}, &StoreWrites::PutIdempotency, &RecordingWrites::idempotency);
}

// Proves every field of a PutWebhookEndpoint write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutWebhookEndpointRoundTrips) {
  // Every field of an endpoint comes back exactly, its event types in order.
  ExpectRoundTrip(SampleEndpoint(), &StoreWrites::PutWebhookEndpoint, &RecordingWrites::endpoints);
  ExpectRoundTrip(WebhookEndpoint{}, &StoreWrites::PutWebhookEndpoint, &RecordingWrites::endpoints);
}

// Proves an endpoint that takes no personal data is written under its own tag (30), as the
// fields of tag 11 that a log of an older build holds, and comes back with the option off; one
// that takes them (the default) is written exactly as before, under tag 11.
TEST(LogRecordsTest, AnEndpointWithoutPersonalDataHasItsOwnTag) {
  WebhookEndpoint lean = SampleEndpoint();
  lean.include_personal_data = false;
  ExpectRoundTrip(lean, &StoreWrites::PutWebhookEndpoint, &RecordingWrites::endpoints);
  LogBatchEncoder full_bytes;
  full_bytes.PutWebhookEndpoint(SampleEndpoint());
  LogBatchEncoder lean_bytes;
  lean_bytes.PutWebhookEndpoint(lean);
  ASSERT_EQ(full_bytes.bytes()[0], 11);
  EXPECT_EQ(lean_bytes.bytes(), std::string(1, '\x1e') + full_bytes.bytes().substr(1));
  EXPECT_EQ(static_cast<int>(LogRecordTag::kPutWebhookEndpointWithoutPersonalData), 30);
  EXPECT_TRUE(Replayed(full_bytes.bytes()).endpoints.at(0).include_personal_data);
  auto described = DescribeLogBatch(lean_bytes.bytes());
  ASSERT_TRUE(described);
  EXPECT_NE(described->find("\"include_personal_data\":false"), std::string::npos) << *described;
}

// Proves every field of a AppendEvent write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, AppendEventRoundTrips) {
  // Every field of an event comes back exactly, a payload longer than 127 bytes included.
  ExpectRoundTrip(SampleEvent(), &StoreWrites::AppendEvent, &RecordingWrites::events);
  ExpectRoundTrip(Event{}, &StoreWrites::AppendEvent, &RecordingWrites::events);
}

// Proves every field of a PutDelivery write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutDeliveryRoundTrips) {
  // Every field of a delivery comes back exactly, int extremes included.
  ExpectRoundTrip(SampleDelivery(), &StoreWrites::PutDelivery, &RecordingWrites::deliveries);
  ExpectRoundTrip(Delivery{}, &StoreWrites::PutDelivery, &RecordingWrites::deliveries);
}

// Proves every field of a PutStatement write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutStatementRoundTrips) {
  // Every field of a statement and its message's XML come back exactly.
  for (const auto& [statement, xml] :
       {std::pair{SampleStatement(), kStatementXml}, std::pair{BankStatement{}, ""s}}) {
    LogBatchEncoder encoder;
    encoder.PutStatement(statement, xml);
    RecordingWrites got = Replayed(encoder.bytes());
    ASSERT_EQ(got.statements.size(), 1u);
    ExpectSame(statement, got.statements[0].first);
    EXPECT_EQ(got.statements[0].second, xml);
  }
}

// Proves every field of a PutStatementMessage write (the message, its XML once, and each of its
// statements) comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutStatementMessageRoundTrips) {
  ExpectRoundTrip(SampleStatementMessage(), &StoreWrites::PutStatementMessage,
                  &RecordingWrites::statement_messages);
  ExpectRoundTrip(StatementMessage{}, &StoreWrites::PutStatementMessage,
                  &RecordingWrites::statement_messages);
}

// Proves the bytes of a PutStatementMessage record are the ones it was first written with (tag
// 18, then the message's fields, its XML once, and a count and each statement's fields), that
// a batch holding it with the older PutStatement records replays them all in order, and that it
// describes itself with its XML's length only.
TEST(LogRecordsTest, ThePutStatementMessageRecordIsPinned) {
  LogBatchEncoder encoder;
  encoder.PutStatementMessage(SampleStatementMessage());
  const std::string& bytes = encoder.bytes();
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes[0], 18);
  std::uint64_t fnv = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) fnv = (fnv ^ c) * 0x100000001b3ULL;
  EXPECT_EQ(bytes.size(), 175u);
  EXPECT_EQ(fnv, 0xef30b992f678ae88ULL);

  LogBatchEncoder mixed;
  mixed.PutStatement(SampleStatement(), kStatementXml);
  mixed.PutStatementMessage(SampleStatementMessage());
  mixed.PutStatement(BankStatement{}, "");
  RecordingWrites got = Replayed(mixed.bytes());
  EXPECT_EQ(got.calls, (std::vector<std::string>{"PutStatement", "PutStatementMessage", "PutStatement"}));
  ASSERT_EQ(got.statements.size(), 2u);
  ExpectSame(SampleStatement(), got.statements[0].first);
  EXPECT_EQ(got.statements[0].second, kStatementXml);

  auto described = DescribeLogBatch(bytes);
  ASSERT_TRUE(described) << described.error().detail;
  EXPECT_NE(described->find("\"record\":\"PutStatementMessage\""), std::string::npos) << *described;
  EXPECT_NE(described->find("\"xml_bytes\":" + std::to_string(kStatementXml.size())), std::string::npos);
  EXPECT_NE(described->find("\"statement_id\":\"STMT-1\""), std::string::npos);
  EXPECT_EQ(described->find(kStatementXml), std::string::npos);
}

// Proves a PutStatementMessage record cut anywhere is refused, whether the replay wants it or
// reads it only to check it, and a statement count beyond the bytes left is refused before
// anything is sized.
TEST(LogRecordsTest, ACutStatementMessageIsRefused) {
  LogBatchEncoder encoder;
  encoder.PutStatementMessage(SampleStatementMessage());
  const std::string& bytes = encoder.bytes();
  for (std::size_t size = 1; size < bytes.size(); ++size) {
    SCOPED_TRACE("cut at " + std::to_string(size));
    RecordingWrites got;
    EXPECT_FALSE(ReplayLogBatch(bytes.substr(0, size), got));
    EXPECT_TRUE(got.calls.empty());
    EXPECT_FALSE(ReplayLogBatch(bytes.substr(0, size), got, LogRecordBit(LogRecordTag::kPutNumber)));
  }
  RecordingWrites none;
  EXPECT_TRUE(ReplayLogBatch(bytes, none, LogRecordBit(LogRecordTag::kPutNumber)));
  EXPECT_TRUE(none.calls.empty());
  // An empty bank, message id and XML, an instant of 0, then a count of 2^32 with no bytes left.
  std::string detail = Refusal(Bytes({18, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10}));
  EXPECT_NE(detail.find("statements"), std::string::npos) << detail;
}

// Proves every field of a PutTransfer write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, PutTransferRoundTrips) {
  // Every field of a transfer comes back exactly, its request date included.
  ExpectRoundTrip(SampleTransfer(), &StoreWrites::PutTransfer, &RecordingWrites::transfers);
  ExpectRoundTrip(Transfer{}, &StoreWrites::PutTransfer, &RecordingWrites::transfers);
}

// Proves every field of a FailPendingDeliveries write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, FailPendingDeliveriesRoundTrips) {
  // The endpoint and the reason come back exactly, empty or not.
  LogBatchEncoder encoder;
  encoder.FailPendingDeliveries("whe_\0gone"s, "410 이후");
  encoder.FailPendingDeliveries("", "");
  RecordingWrites got = Replayed(encoder.bytes());
  ASSERT_EQ(got.failed_pending.size(), 2u);
  EXPECT_EQ(got.failed_pending[0].first, "whe_\0gone"s);
  EXPECT_EQ(got.failed_pending[0].second, "410 이후");
  EXPECT_EQ(got.failed_pending[1].first, "");
  EXPECT_EQ(got.failed_pending[1].second, "");
}

// Proves every field of a DeleteIdempotencyBefore write comes back exactly, and so do the defaults.
TEST(LogRecordsTest, DeleteIdempotencyBeforeRoundTrips) {
  // The cutoff and the limit come back exactly, at their extremes too.
  LogBatchEncoder encoder;
  encoder.DeleteIdempotencyBefore(At(1'764'000'000'025), 1000);
  encoder.DeleteIdempotencyBefore(At(kMinI64), kMinInt);
  encoder.DeleteIdempotencyBefore(At(kMaxI64), kMaxInt);
  encoder.DeleteIdempotencyBefore(Instant{}, 0);
  RecordingWrites got = Replayed(encoder.bytes());
  ASSERT_EQ(got.idempotency_deletes.size(), 4u);
  EXPECT_EQ(Ms(got.idempotency_deletes[0].first), 1'764'000'000'025);
  EXPECT_EQ(got.idempotency_deletes[0].second, 1000);
  EXPECT_EQ(Ms(got.idempotency_deletes[1].first), kMinI64);
  EXPECT_EQ(got.idempotency_deletes[1].second, kMinInt);
  EXPECT_EQ(Ms(got.idempotency_deletes[2].first), kMaxI64);
  EXPECT_EQ(got.idempotency_deletes[2].second, kMaxInt);
  EXPECT_EQ(Ms(got.idempotency_deletes[3].first), 0);
  EXPECT_EQ(got.idempotency_deletes[3].second, 0);
}

// Proves every value of every enum the records carry comes back as itself.
TEST(LogRecordsTest, EveryEnumeratorRoundTrips) {
  // Each value of each enum a record carries comes back as itself, the last ones included.
  LogBatchEncoder encoder;
  for (auto p : {BankProtocol::kJson, BankProtocol::kTelegram, BankProtocol::kIso20022}) {
    Bank b;
    b.protocol = p;
    encoder.PutBank(b);
  }
  for (auto i : {Issuance::kPool, Issuance::kRealtime}) {
    Contract c;
    c.issuance = i;
    encoder.InsertContract(c);
  }
  for (auto role : {Role::kAdmin, Role::kMerchant, Role::kBank}) {
    ApiKey k;
    k.role = role;
    encoder.PutApiKey(k);
  }
  for (auto s : {NumberState::kFree, NumberState::kAssigned, NumberState::kCooling}) {
    NumberRecord n;
    n.state = s;
    encoder.PutNumber(n);
  }
  int i = 0;
  for (auto status : {AssignmentStatus::kOpen, AssignmentStatus::kPaid, AssignmentStatus::kExpired,
                      AssignmentStatus::kCancelled}) {
    Assignment a;
    a.status = status;
    a.rule.kind = static_cast<AmountRuleKind>(i);
    a.rule.overpayment = static_cast<Overpayment>(i++ % 2);
    encoder.PutAssignment(a);
  }
  i = 0;
  for (auto outcome :
       {DepositOutcome::kMatched, DepositOutcome::kPartial, DepositOutcome::kOverpaid,
        DepositOutcome::kAmountMismatch, DepositOutcome::kUnknownNumber,
        DepositOutcome::kNotAssigned, DepositOutcome::kLate}) {
    Deposit d;
    d.outcome = outcome;
    d.status = static_cast<DepositStatus>(i++ % 2);
    encoder.PutDeposit(d);
  }
  for (auto kind : {EntryKind::kDeposit, EntryKind::kReversal}) {
    LedgerEntry e;
    e.kind = kind;
    encoder.AppendLedgerEntry(e);
  }
  for (auto type : kEventTypes) {
    Event e;
    e.type = type;
    encoder.AppendEvent(e);
  }
  for (auto s : {DeliveryStatus::kPending, DeliveryStatus::kDelivered, DeliveryStatus::kFailed}) {
    Delivery d;
    d.status = s;
    encoder.PutDelivery(d);
  }
  for (auto s : {TransferStatus::kPending, TransferStatus::kCompleted, TransferStatus::kRefused}) {
    Transfer t;
    t.status = s;
    encoder.PutTransfer(t);
  }
  RecordingWrites got = Replayed(encoder.bytes());
  ASSERT_EQ(got.calls.size(), encoder.records());
  EXPECT_EQ(got.banks[2].protocol, BankProtocol::kIso20022);
  EXPECT_EQ(got.contracts[1].issuance, Issuance::kRealtime);
  EXPECT_EQ(got.api_keys[2].role, Role::kBank);
  EXPECT_EQ(got.numbers[2].state, NumberState::kCooling);
  ASSERT_EQ(got.assignments.size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(got.assignments[k].status, static_cast<AssignmentStatus>(k));
    EXPECT_EQ(got.assignments[k].rule.kind, static_cast<AmountRuleKind>(k));
    EXPECT_EQ(got.assignments[k].rule.overpayment, static_cast<Overpayment>(k % 2));
  }
  ASSERT_EQ(got.deposits.size(), 7u);
  for (std::size_t k = 0; k < 7; ++k) {
    EXPECT_EQ(got.deposits[k].outcome, static_cast<DepositOutcome>(k));
    EXPECT_EQ(got.deposits[k].status, static_cast<DepositStatus>(k % 2));
  }
  EXPECT_EQ(got.ledger_entries[1].kind, EntryKind::kReversal);
  ASSERT_EQ(got.events.size(), kEventTypeCount);
  for (std::size_t k = 0; k < kEventTypeCount; ++k) EXPECT_EQ(got.events[k].type, kEventTypes[k]);
  EXPECT_EQ(got.deliveries[2].status, DeliveryStatus::kFailed);
  EXPECT_EQ(got.transfers[2].status, TransferStatus::kRefused);
}

// Proves a transfer's date comes back field by field, invalid and extreme dates included.
TEST(LogRecordsTest, DatesComeBackFieldByFieldEvenWhenNotValid) {
  // A request date comes back as stored, whether or not it is a real day (the default is 0/0/0).
  LogBatchEncoder encoder;
  std::vector<std::chrono::year_month_day> dates = {std::chrono::year{2024} / 2 / 29,
                                                    std::chrono::year{-32768} / 255 / 255,
                                                    std::chrono::year{32767} / 1 / 1,
                                                    std::chrono::year{2026} / 13 / 40,
                                                    {}};
  for (auto date : dates) {
    Transfer t;
    t.request_date = date;
    encoder.PutTransfer(t);
  }
  RecordingWrites got = Replayed(encoder.bytes());
  ASSERT_EQ(got.transfers.size(), dates.size());
  for (std::size_t i = 0; i < dates.size(); ++i)
    ExpectSameDate(dates[i], got.transfers[i].request_date);
}

// ---- batches --------------------------------------------------------------------------------

// Proves a batch of many records replays in call order and encodes again to the same bytes.
TEST(LogRecordsTest, ABatchReplaysInOrderAndReencodesToTheSameBytes) {
  // Records come back in call order with their values, and the calls replayed encode to the very
  // bytes they were read from.
  LogBatchEncoder encoder;
  WriteEveryKind(encoder);
  EXPECT_EQ(encoder.records(), kEveryKindCalls.size());
  RecordingWrites got = Replayed(encoder.bytes());
  EXPECT_EQ(got.calls, kEveryKindCalls);
  ASSERT_EQ(got.banks.size(), 2u);
  ExpectSame(SampleBank(), got.banks[0]);
  ExpectSame(Bank{}, got.banks[1]);
  ASSERT_EQ(got.numbers.size(), 2u);
  ExpectSame(SampleNumber(), got.numbers[0]);
  ExpectSame(NumberRecord{}, got.numbers[1]);
  ASSERT_EQ(got.deposits.size(), 1u);
  ExpectSame(SampleDeposit(), got.deposits[0]);
  ASSERT_EQ(got.transfers.size(), 1u);
  ExpectSame(SampleTransfer(), got.transfers[0]);

  LogBatchEncoder again;
  got.Forward(again);
  EXPECT_EQ(again.records(), encoder.records());
  EXPECT_EQ(again.bytes(), encoder.bytes());

  LogBatchEncoder direct;  // replayed straight into an encoder
  ASSERT_TRUE(ReplayLogBatch(encoder.bytes(), direct));
  EXPECT_EQ(direct.bytes(), encoder.bytes());
}

// Proves the bytes a batch of every kind of record encodes to are the ones this format has always
// had: a log left by one build (a crash) is replayed by the next, so a change here must come with
// a new frame magic and a way to read the old one.
TEST(LogRecordsTest, TheEncodingOfEveryKindIsPinned) {
  LogBatchEncoder encoder;
  WriteEveryKind(encoder);
  std::uint64_t fnv = 0xcbf29ce484222325ULL;  // FNV-1a, spelled out: stable everywhere
  for (unsigned char c : encoder.bytes()) fnv = (fnv ^ c) * 0x100000001b3ULL;
  // 2307 bytes and 0xb479f1b1e34e44a3 before issue 15 added five event types: the sample
  // endpoint lists every type, so it grew by five bytes; no record's encoding changed.
  EXPECT_EQ(encoder.bytes().size(), 2312u);
  EXPECT_EQ(fnv, 2106132724456266772ULL);
}

// Proves a batch describes itself as JSON for people: every record in order under its write's
// name, secrets redacted, a statement's XML only by its length; a malformed batch is refused.
TEST(LogRecordsTest, ABatchDescribesItselfWithoutItsSecrets) {
  LogBatchEncoder encoder;
  WriteEveryKind(encoder);
  auto described = DescribeLogBatch(encoder.bytes());
  ASSERT_TRUE(described) << described.error().detail;
  const std::string& text = *described;
  EXPECT_EQ(text.front(), '[');
  EXPECT_EQ(text.back(), ']');
  std::size_t at = 0;
  for (const std::string& call : kEveryKindCalls) {  // in call order
    at = text.find("{\"record\":\"" + call + "\"", at);
    ASSERT_NE(at, std::string::npos) << call;
    ++at;
  }
  EXPECT_NE(text.find("\"order_id\":\"" + SampleAssignment().order_id + "\""), std::string::npos);
  EXPECT_NE(text.find("\"lines\":[{\"account\":"), std::string::npos);
  EXPECT_NE(text.find("\"xml_bytes\":" + std::to_string(std::string(kStatementXml).size())),
            std::string::npos);
  for (const std::string& secret :
       {SampleBank().signing_secret, SampleApiKey().secret_hash, SampleEndpoint().secret,
        SampleEndpoint().previous_secret, std::string(kStatementXml)}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(text.find("[redacted]"), std::string::npos);

  EXPECT_FALSE(DescribeLogBatch(std::string(1, '\x7f')));  // an unknown tag
  EXPECT_EQ(DescribeLogBatch("").value(), "[]");
}

// Proves an empty batch is valid and calls nothing.
TEST(LogRecordsTest, AnEmptyBatchReplaysToNothing) {
  // No bytes is a batch of no records.
  RecordingWrites got = Replayed("");
  EXPECT_TRUE(got.calls.empty());
}

// Proves empty(), records() and clear() follow the batch, and clear() keeps the buffer.
TEST(LogRecordsTest, EmptyRecordsAndClearTrackTheBatch) {
  // The encoder counts its records, and clear() forgets them but keeps the buffer.
  LogBatchEncoder encoder;
  EXPECT_TRUE(encoder.empty());
  EXPECT_EQ(encoder.records(), 0u);
  EXPECT_TRUE(encoder.bytes().empty());

  encoder.PutBank(SampleBank());
  EXPECT_FALSE(encoder.empty());
  EXPECT_EQ(encoder.records(), 1u);
  encoder.FailPendingDeliveries("", "");
  EXPECT_EQ(encoder.records(), 2u);
  std::string first = encoder.bytes();

  std::size_t capacity = encoder.bytes().capacity();
  encoder.clear();
  EXPECT_TRUE(encoder.empty());
  EXPECT_EQ(encoder.records(), 0u);
  EXPECT_TRUE(encoder.bytes().empty());
  EXPECT_EQ(encoder.bytes().capacity(), capacity);

  encoder.PutBank(SampleBank());
  encoder.FailPendingDeliveries("", "");
  EXPECT_EQ(encoder.bytes(), first);  // nothing of the first batch lingers
}

// ---- damage ---------------------------------------------------------------------------------

// Proves a batch cut anywhere inside a record is refused (the log's frame catches a cut between
// records).
TEST(LogRecordsTest, EveryTruncationIsRefusedOrEndsOnARecordBoundary) {
  // Cut inside a record, a batch is refused and only the whole records before the cut reach the
  // target; cut between records, it is the shorter batch (framing batches is the log's job).
  RecordingWrites all;
  WriteEveryKind(all);
  std::vector<std::size_t> boundaries;  // the batch's size after 0, 1, 2... records
  for (std::size_t k = 0; k <= all.calls.size(); ++k) {
    LogBatchEncoder prefix;
    all.Forward(prefix, k);
    boundaries.push_back(prefix.bytes().size());
  }
  LogBatchEncoder encoder;
  all.Forward(encoder);
  const std::string& bytes = encoder.bytes();
  ASSERT_EQ(boundaries.back(), bytes.size());

  for (std::size_t size = 0; size < bytes.size(); ++size) {
    SCOPED_TRACE("cut at " + std::to_string(size));
    std::vector<char> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size));
    RecordingWrites got;
    auto replayed = ReplayLogBatch({cut.data(), cut.size()}, got);
    auto after = std::upper_bound(boundaries.begin(), boundaries.end(), size);
    auto whole = static_cast<std::size_t>(after - boundaries.begin()) - 1;
    bool on_boundary = boundaries[whole] == size;
    EXPECT_EQ(replayed.has_value(), on_boundary);
    if (!replayed) {
      EXPECT_EQ(replayed.error().code, ErrorCode::kInternal);
    }
    ASSERT_EQ(got.calls.size(), whole);
    EXPECT_TRUE(std::equal(got.calls.begin(), got.calls.end(), kEveryKindCalls.begin()));
  }
}

// Proves a replay that wants some kinds of record hands over only those, in order and whole, and
// reads the others as strictly: a batch cut anywhere inside a record it skips is refused all the
// same (a running snapshot's replay wants numbers and assignments only).
TEST(LogRecordsTest, AReplayOfSomeKindsChecksTheOthersAsStrictly) {
  LogBatchEncoder encoder;
  WriteEveryKind(encoder);
  const std::uint64_t wanted =
      LogRecordBit(LogRecordTag::kPutNumber) | LogRecordBit(LogRecordTag::kPutAssignment);
  RecordingWrites got;
  ASSERT_TRUE(ReplayLogBatch(encoder.bytes(), got, wanted));
  std::vector<std::string> expected;
  std::copy_if(
      kEveryKindCalls.begin(), kEveryKindCalls.end(), std::back_inserter(expected),
      [](const std::string& call) { return call == "PutNumber" || call == "PutAssignment"; });
  EXPECT_EQ(got.calls, expected);
  ASSERT_EQ(got.numbers.size(), 2u);
  ExpectSame(SampleNumber(), got.numbers[0]);

  RecordingWrites all;
  WriteEveryKind(all);
  std::vector<std::size_t> boundaries;
  for (std::size_t k = 0; k <= all.calls.size(); ++k) {
    LogBatchEncoder prefix;
    all.Forward(prefix, k);
    boundaries.push_back(prefix.bytes().size());
  }
  const std::string& bytes = encoder.bytes();
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    SCOPED_TRACE("cut at " + std::to_string(size));
    std::vector<char> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size));
    RecordingWrites some;
    auto replayed = ReplayLogBatch({cut.data(), cut.size()}, some, wanted);
    const bool on_boundary = std::binary_search(boundaries.begin(), boundaries.end(), size);
    EXPECT_EQ(replayed.has_value(), on_boundary);
  }
}

// Proves a record with a tag no write has is refused.
TEST(LogRecordsTest, UnknownTagsAreRefused) {
  // 0, the first value past the last tag, and 255 name no record, first or after a good one.
  for (int tag : {0, static_cast<int>(LogRecordTag::kPutStatementMessage) + 1, 255}) {
    SCOPED_TRACE(tag);
    std::string detail = Refusal(Bytes({tag}));
    EXPECT_NE(detail.find("unknown tag " + std::to_string(tag)), std::string::npos) << detail;
    EXPECT_NE(detail.find("record 0"), std::string::npos) << detail;
  }
  LogBatchEncoder encoder;
  encoder.PutBank(Bank{});
  RecordingWrites got;
  auto replayed = ReplayLogBatch(encoder.bytes() + Bytes({0x7f}), got);
  ASSERT_FALSE(replayed);
  EXPECT_NE(replayed.error().detail.find("record 1"), std::string::npos);
  EXPECT_NE(replayed.error().detail.find("byte 7"), std::string::npos) << replayed.error().detail;
  EXPECT_EQ(got.calls, std::vector<std::string>{"PutBank"});  // the caller rolls back
}

// Proves a stray byte after the last record is refused.
TEST(LogRecordsTest, ATrailingByteAfterARecordIsRefused) {
  // A stray byte after the last record is a record cut short or an unknown one, never ignored.
  LogBatchEncoder encoder;
  encoder.PutTransfer(SampleTransfer());
  for (int stray : {0x00, static_cast<int>(LogRecordTag::kPutBank), 0x80, 0xff}) {
    SCOPED_TRACE(stray);
    Refusal(encoder.bytes() + Bytes({stray}));
  }
}

// Proves an enum, bool, presence byte or int out of range is refused with its field and offset.
TEST(LogRecordsTest, ValuesOutOfRangeAreRefusedNamingTheFieldAndOffset) {
  // An enum past its last value, a bool or presence byte other than 0 or 1, an unknown currency,
  // an int or 32-bit value or date too wide: each is refused with the field and where it starts.
  LogBatchEncoder bank;
  bank.PutBank(Bank{});  // tag, code, name, created_at, protocol, signing_secret, endpoint
  ASSERT_EQ(bank.bytes(), Bytes({1, 0, 0, 0, 0, 0, 0}));
  std::string detail = Refusal(Bytes({1, 0, 0, 0, 3, 0, 0}));
  EXPECT_NE(detail.find("PutBank"), std::string::npos) << detail;
  EXPECT_NE(detail.find("protocol at byte 4: enum value 3 out of range"), std::string::npos)
      << detail;

  LogBatchEncoder merchant;
  merchant.InsertMerchant(Merchant{});  // tag, id, name, active, created_at
  ASSERT_EQ(merchant.bytes(), Bytes({2, 0, 0, 1, 0}));
  detail = Refusal(Bytes({2, 0, 0, 2, 0}));
  EXPECT_NE(detail.find("active at byte 3"), std::string::npos) << detail;

  LogBatchEncoder key;
  key.PutApiKey(ApiKey{});  // ..., created_at, revoked_at's presence byte last
  std::string bad_presence = key.bytes();
  bad_presence.back() = 2;
  detail = Refusal(bad_presence);
  EXPECT_NE(detail.find("revoked_at"), std::string::npos) << detail;

  LogBatchEncoder entry;
  entry.AppendLedgerEntry(LedgerEntry{});  // tag, seq, at, kind, deposit_id, currency, ...
  ASSERT_EQ(entry.bytes(), Bytes({9, 0, 0, 0, 0, 3, 'K', 'R', 'W', 0, 0, 0}));
  detail = Refusal(Bytes({9, 0, 0, 0, 0, 3, 'X', 'R', 'W', 0, 0, 0}));
  EXPECT_NE(detail.find("currency at byte 5: unknown currency \"XRW\""), std::string::npos)
      << detail;
  Refusal(Bytes({9, 0, 0, 0, 0, 2, 'K', 'R', 0, 0, 0}));
  detail = Refusal(Bytes({9, 0, 0, 4, 0, 3, 'K', 'R', 'W', 0, 0, 0}));  // kinds 0..3
  EXPECT_NE(detail.find("kind at byte 3"), std::string::npos) << detail;

  WebhookEndpoint endpoint;
  endpoint.event_types = {kEventTypes.back()};
  LogBatchEncoder hooks;
  hooks.PutWebhookEndpoint(endpoint);  // tag, id, merchant, url, count, type, ...
  std::string bad_type = hooks.bytes();
  ASSERT_EQ(bad_type[5], static_cast<char>(kEventTypeCount - 1));
  bad_type[5] = static_cast<char>(kEventTypeCount);
  detail = Refusal(bad_type);
  EXPECT_NE(detail.find("event_types at byte 5"), std::string::npos) << detail;

  // DeleteIdempotencyBefore: tag, cutoff, limit. A limit of 2^31 (zigzag 2^32) is past int.
  detail = Refusal(Bytes({17, 0, 0x80, 0x80, 0x80, 0x80, 0x10}));
  EXPECT_NE(detail.find("limit at byte 2: an int out of range"), std::string::npos) << detail;

  LogBatchEncoder transfer;
  transfer.PutTransfer(Transfer{});
  std::string wide = transfer.bytes();
  // Transfer{}: tag, id, merchant, bank, debit_account, amount (minor, "KRW"), four strings,
  // status, then the date's year, month and day at bytes 15, 16, 17 and request_sequence at 18.
  ASSERT_EQ(wide.substr(15, 4), Bytes({0, 0, 0, 0}));
  detail = Refusal(wide.substr(0, 16) + Bytes({0x80, 0x02}) + wide.substr(17));  // month 256
  EXPECT_NE(detail.find("request_date at byte 15: a date out of range"), std::string::npos)
      << detail;
  detail = Refusal(wide.substr(0, 18) + Bytes({0x80, 0x80, 0x80, 0x80, 0x10}) + wide.substr(19));
  EXPECT_NE(detail.find("request_sequence at byte 18"), std::string::npos) << detail;
}

// Proves a length or count larger than the bytes left is refused before anything is allocated.
TEST(LogRecordsTest, LengthsAndCountsBeyondTheBytesLeftAreRefused) {
  // A string or vector claiming more than is left is refused before anything is allocated.
  LogBatchEncoder bank;
  Bank b;
  b.code = "abc";
  bank.PutBank(b);
  std::string long_code = bank.bytes();
  long_code[1] = 0x7f;
  std::string detail = Refusal(long_code);
  EXPECT_NE(detail.find("code at byte 1: a length of 127 with"), std::string::npos) << detail;

  // A length of 2^64 - 1.
  std::string huge = Bytes({1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
  detail = Refusal(huge);
  EXPECT_NE(detail.find("a length of 18446744073709551615"), std::string::npos) << detail;

  // A webhook endpoint claiming 2^62 event types.
  std::string many = Bytes({11, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40});
  detail = Refusal(many);
  EXPECT_NE(detail.find("event_types at byte 4: a count of"), std::string::npos) << detail;

  // A ledger entry claiming more lines than could fit (each takes at least 3 bytes).
  detail = Refusal(Bytes({9, 0, 0, 0, 0, 3, 'K', 'R', 'W', 3, 0, 0, 0, 0, 0, 0}));
  EXPECT_NE(detail.find("lines at byte 9: a count of 3"), std::string::npos) << detail;
}

// Proves an integer over 64 bits, over 10 bytes or longer than needed is refused.
TEST(LogRecordsTest, Leb128OverSixtyFourBitsOrLongerThanNeededIsRefused) {
  // Ten bytes carry 64 bits and no more; a value has one encoding, its shortest.
  auto limit = [](std::string cutoff) { return Bytes({17}) + cutoff + Bytes({0}); };
  // The largest: 2^64 - 1 in ten bytes, zigzag for INT64_MIN.
  RecordingWrites got =
      Replayed(limit(Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})));
  ASSERT_EQ(got.idempotency_deletes.size(), 1u);
  EXPECT_EQ(Ms(got.idempotency_deletes[0].first), kMinI64);

  std::string detail =
      Refusal(limit(Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})));
  EXPECT_NE(detail.find("cutoff at byte 1: a LEB128 over 64 bits"), std::string::npos) << detail;
  detail =
      Refusal(limit(Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x01})));
  EXPECT_NE(detail.find("over 64 bits"), std::string::npos) << detail;  // eleven bytes
  detail = Refusal(limit(Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})));
  EXPECT_NE(detail.find("over 64 bits"), std::string::npos) << detail;
  detail = Refusal(limit(Bytes({0x80, 0x00})));
  EXPECT_NE(detail.find("cutoff at byte 1: a LEB128 longer than needed"), std::string::npos)
      << detail;
  Refusal(limit(Bytes({0x81, 0x80, 0x00})));
  Refusal(Bytes({17, 0x80}));  // cut inside the number
}

// Replays `input` from a buffer of exactly its size (so a sanitizer sees any read past it) into
// an encoder: accepted input must be exactly what the encoder writes back, refused input must
// come with a detail. Returns whether it was accepted.
bool ExpectCanonicalOrRefused(const std::string& input) {
  std::vector<char> exact(input.begin(), input.end());
  LogBatchEncoder sink;
  auto replayed = ReplayLogBatch({exact.data(), exact.size()}, sink);
  if (replayed) {
    EXPECT_EQ(sink.bytes(), input);
  } else {
    EXPECT_EQ(replayed.error().code, ErrorCode::kInternal);
    EXPECT_FALSE(replayed.error().detail.empty());
  }
  return replayed.has_value();
}

// Proves random bytes never crash the reader, and whatever it accepts encodes back the same.
TEST(LogRecordsTest, RandomBytesNeverCrashAndWhatIsAcceptedIsCanonical) {
  // Ten thousand random buffers (half starting with a real tag, to get past the first byte) are
  // each refused cleanly or accepted as the exact encoding of what they decode to.
  std::mt19937_64 random(20261125);
  constexpr int kLastTag = static_cast<int>(LogRecordTag::kDeleteIdempotencyBefore);
  for (int round = 0; round < 10'000; ++round) {
    std::string input(random() % 80, '\0');
    for (char& c : input) c = static_cast<char>(random() % 256);
    if (!input.empty() && round % 2 == 0) input[0] = static_cast<char>(1 + random() % kLastTag);
    ExpectCanonicalOrRefused(input);
    if (HasFailure()) FAIL() << "round " << round;
  }
}

// Proves damaged copies of a real batch never crash the reader, and whatever it accepts encodes
// back the same.
TEST(LogRecordsTest, DamagedBatchesNeverCrashAndWhatIsAcceptedIsCanonical) {
  // Ten thousand copies of a real batch with bytes changed, inserted or removed are each refused
  // cleanly or accepted as the exact encoding of what they decode to.
  LogBatchEncoder encoder;
  WriteEveryKind(encoder);
  std::mt19937_64 random(4);
  int accepted = 0;
  for (int round = 0; round < 10'000; ++round) {
    std::string input = encoder.bytes();
    for (int change = 0, changes = 1 + static_cast<int>(random() % 3); change < changes; ++change) {
      std::size_t at = random() % input.size();
      auto byte = static_cast<char>(random() % 256);
      switch (random() % 3) {
        case 0:
          input[at] = byte;
          break;
        case 1:
          input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), byte);
          break;
        default:
          input.erase(at, 1 + random() % 4);
          break;
      }
      if (input.empty()) input.push_back(byte);
    }
    accepted += ExpectCanonicalOrRefused(input) ? 1 : 0;
    if (HasFailure()) FAIL() << "round " << round;
  }
  EXPECT_GT(accepted, 0);  // some damage lands inside strings and is still a valid batch
}

}  // namespace
}  // namespace varelay

namespace varelay {
namespace {

Master SampleMaster() {
  Master m;
  m.id = "mst_1";
  m.status = MasterStatus::kSuspended;
  m.login_digest = "ld";
  m.sealed_login = "sl";
  m.sealed_holder_name = "sh";
  m.sealed_birth_date = "sb";
  m.password_hash = "$argon2id$x";
  m.password_generation = 3;
  m.bank = "004";
  m.sealed_account = "sa";
  m.account_digest = "ad";
  m.consent_id = "c1";
  m.consent_ceiling_minor = 500'000;
  m.endpoint_url = "https://app.example/hook";
  m.endpoint_id = "whe_1";
  m.created_at = At(1'700'000'000'000);
  m.updated_at = At(1'700'000'000'001);
  return m;
}

DivisionAccount SampleDivisionAccount() {
  DivisionAccount a;
  a.id = "dva_1";
  a.master = "mst_1";
  a.number = "9400000000000004";
  a.label = "Minji";
  a.sealed_holder_name = "sh";
  a.sealed_phone = "sp";
  a.status = DivisionAccountStatus::kClosed;
  a.locked = true;
  a.consecutive_failures = 5;
  a.password_hash = "$argon2id$y";
  a.password_generation = 2;
  a.limits = {1000, std::nullopt, 30000};
  a.rules = {{"shop", "games"}, {MerchantCategory::kAlcohol, MerchantCategory::kOther}};
  a.valid_from = At(1);
  a.approval_threshold_minor = 500;
  a.approval_timeout_ms = 60'000;
  a.created_at = At(2);
  a.updated_at = At(3);
  a.closed_at = At(4);
  return a;
}

DivisionPayment SampleDivisionPayment() {
  DivisionPayment p;
  p.id = "dvp_1";
  p.merchant = "shop";
  p.order_id = "o-1";
  p.amount = Money(12'000, Currency::Krw());
  p.return_url = "https://shop.example/r";
  p.page_token_digest = "ptd";
  p.sealed_result_key = "srk";
  p.request_fingerprint = "fp";
  p.status = DivisionPaymentStatus::kRefunded;
  p.decline_reason = DeclineReason::kConsentMissing;
  p.bank_response_code = "0202";
  p.account = "dva_1";
  p.master = "mst_1";
  p.authorised_at = At(5);
  p.approval = "apr_1";
  p.debit_transfer = "trf_1";
  p.refunded_minor = 12'000;
  p.refund_pending_minor = 0;
  p.created_at = At(6);
  p.updated_at = At(7);
  p.expires_at = At(8);
  p.finished_at = At(9);
  return p;
}

DivisionApproval SampleDivisionApproval() {
  return {"apr_1", "mst_1", "dva_1", "dvp_1", "shop", 12'000, ApprovalStatus::kTimedOut, At(10), At(11), At(12)};
}

// Proves the division records (tags 35 to 41) come back exactly, defaults too, that a pay-out
// and a non-master key keep their old tags, and pins their encoding.
TEST(LogRecordsTest, DivisionRecordsRoundTripAndArePinned) {
  LogBatchEncoder encoder;
  Merchant merchant{"shop", "ignored", true, At(0), MerchantCategory::kGambling, true};
  encoder.PutMerchantDivision(merchant);
  encoder.PutMaster(SampleMaster());
  encoder.PutMaster(Master{});
  encoder.PutDivisionAccount(SampleDivisionAccount());
  encoder.PutDivisionAccount(DivisionAccount{});
  encoder.PutDivisionPayment(SampleDivisionPayment());
  encoder.PutDivisionPayment(DivisionPayment{});
  encoder.PutDivisionApproval(SampleDivisionApproval());
  ApiKey key;
  key.id = "key_m";
  key.secret_hash = "h";
  key.role = Role::kMaster;
  key.label = "session";
  key.created_at = At(13);
  key.master = "mst_1";
  key.expires_at = At(14);
  encoder.PutApiKey(key);
  Transfer debit;
  debit.id = "trf_1";
  debit.purpose = TransferPurpose::kDivisionRefund;
  debit.division_payment = "dvp_1";
  encoder.PutTransfer(debit);
  const std::string bytes = encoder.bytes();
  EXPECT_EQ(static_cast<int>(bytes[0]), 35);

  RecordingWrites got = Replayed(bytes);
  ASSERT_EQ(got.merchant_divisions.size(), 1u);
  EXPECT_EQ(got.merchant_divisions[0].id, "shop");
  EXPECT_EQ(got.merchant_divisions[0].category, MerchantCategory::kGambling);
  EXPECT_TRUE(got.merchant_divisions[0].division_direct);
  ASSERT_EQ(got.masters.size(), 2u);
  EXPECT_EQ(got.masters[0].consent_ceiling_minor, 500'000);
  EXPECT_EQ(got.masters[0].endpoint_id, "whe_1");
  EXPECT_EQ(got.masters[0].status, MasterStatus::kSuspended);
  ASSERT_EQ(got.division_accounts.size(), 2u);
  const DivisionAccount& a = got.division_accounts[0];
  EXPECT_EQ(a.limits, (DivisionLimits{1000, std::nullopt, 30000}));
  EXPECT_EQ(a.rules, SampleDivisionAccount().rules);
  EXPECT_EQ(a.closed_at, At(4));
  EXPECT_TRUE(a.locked);
  EXPECT_EQ(got.division_accounts[1].limits, DivisionLimits{});
  ASSERT_EQ(got.division_payments.size(), 2u);
  EXPECT_EQ(got.division_payments[0].decline_reason, DeclineReason::kConsentMissing);
  EXPECT_EQ(got.division_payments[0].amount.minor(), 12'000);
  EXPECT_EQ(got.division_payments[0].finished_at, At(9));
  EXPECT_EQ(got.division_payments[1].decline_reason, std::nullopt);
  ASSERT_EQ(got.division_approvals.size(), 1u);
  EXPECT_EQ(got.division_approvals[0].status, ApprovalStatus::kTimedOut);
  ASSERT_EQ(got.api_keys.size(), 1u);
  EXPECT_EQ(got.api_keys[0].role, Role::kMaster);
  EXPECT_EQ(got.api_keys[0].master, "mst_1");
  EXPECT_EQ(got.api_keys[0].expires_at, At(14));
  ASSERT_EQ(got.transfers.size(), 1u);
  EXPECT_EQ(got.transfers[0].purpose, TransferPurpose::kDivisionRefund);
  EXPECT_EQ(got.transfers[0].division_payment, "dvp_1");

  LogBatchEncoder again;
  got.Forward(again);
  EXPECT_EQ(again.bytes(), bytes);  // canonical

  // A pay-out and a merchant's key are written under their old tags, byte for byte.
  LogBatchEncoder old;
  old.PutTransfer(Transfer{});
  EXPECT_EQ(static_cast<int>(old.bytes()[0]), 15);
  ApiKey merchant_key;
  merchant_key.role = Role::kMerchant;
  LogBatchEncoder old_key;
  old_key.PutApiKey(merchant_key);
  EXPECT_EQ(static_cast<int>(old_key.bytes()[0]), 5);

  auto described = DescribeLogBatch(bytes);
  ASSERT_TRUE(described) << described.error().detail;
  EXPECT_EQ(described->find("$argon2id$"), std::string::npos) << *described;
  EXPECT_EQ(described->find("srk"), std::string::npos);
  EXPECT_NE(described->find(R"("record":"PutDivisionPayment")"), std::string::npos);

  std::uint64_t fnv = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) fnv = (fnv ^ c) * 0x100000001b3ULL;
  EXPECT_EQ(bytes.size(), 470u);
  EXPECT_EQ(fnv, 6919487497050716859ULL);
}

}  // namespace
}  // namespace varelay
