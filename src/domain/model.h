// The relay's records. Plain values: the engine owns the live copies, the store persists them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/amount_rule.h"
#include "domain/division/division_rules.h"
#include "domain/money.h"
#include "domain/time.h"

namespace varelay {

// How a bank talks to the relay; each bank speaks one.
enum class BankProtocol { kJson, kTelegram, kIso20022 };
std::string_view BankProtocolName(BankProtocol protocol);
std::optional<BankProtocol> ParseBankProtocol(std::string_view name);

struct Bank {
  std::string code;  // KFTC 3-digit
  std::string name;
  Instant created_at;
  BankProtocol protocol = BankProtocol::kJson;
  // When set, every JSON request by this bank's keys must be signed with it (docs/bank-protocol.md).
  std::string signing_secret;
  // Where the relay reaches the bank with its own requests (transfers, holder inquiries): an
  // https (or allowed http) base URL for a JSON bank, "HOST:PORT" for a telegram bank; empty: none.
  std::string endpoint{};
  // Channels (ChannelBit of each BankProtocol) the bank may also report on besides `protocol`,
  // allowed by an operator (domain/bank_channels.h); 0: its protocol only.
  std::uint32_t extra_channels = 0;
};

struct Merchant {
  std::string id;
  std::string name;
  bool active = true;
  Instant created_at;
  // Set by an operator (docs/division-accounts.md): what division accounts' deny-lists match, and
  // whether the merchant may authorise division payments with its own key (server to server).
  MerchantCategory category = MerchantCategory::kGeneral;
  bool division_direct = false;
};

// How a contract's numbers are handed out: from a pool the bank issued in advance (batch), or
// asked of the bank one at a time at checkout (real time).
enum class Issuance { kPool, kRealtime };
std::string_view IssuanceName(Issuance issuance);
std::optional<Issuance> ParseIssuance(std::string_view name);

// A merchant's account at one bank: the real account that every virtual number stands in front of.
struct Contract {
  std::string merchant;
  std::string bank;
  std::string mother_account;
  std::string holder_name;  // what a payer sees at the pre-check
  Instant created_at;
  Issuance issuance = Issuance::kPool;
  std::string realtime_url;                // kRealtime: the bank's endpoint that issues one number
  std::int64_t realtime_timeout_ms = 3000;  // how long checkout waits for the bank
  bool fallback_to_pool = true;             // the bank failing or slow: take a pooled number instead
};

// kNone is no role at all: a caller nobody vouched for, refused by every command. It is the
// default, so a command submitted without a caller fails closed. It is never stored (a log record
// decodes only the stored roles) and never parsed from a request.
// kMerchantPayouts is a merchant's pay-out key: transfers (and holder inquiries) only, while a
// kMerchant key does checkout and cannot move money out. A merchant key from before the two were
// told apart stays a checkout key.
// kMaster (after kNone: stored under its own log record, never the generic key record) is a
// division accounts' master's session or app token: it sees only that master's records.
enum class Role { kAdmin, kMerchant, kBank, kMerchantPayouts, kNone, kMaster };
// A key of a merchant, for checkout or for pay-outs: it sees only its merchant's records.
inline bool IsMerchantRole(Role role) { return role == Role::kMerchant || role == Role::kMerchantPayouts; }
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct ApiKey {
  std::string id;           // "key_" + 16 chars; public, part of the presented key
  std::string secret_hash;  // SHA-256 hex of the secret part; the secret itself is never stored
  Role role = Role::kAdmin;
  std::string merchant;  // role kMerchant
  std::string bank;      // role kBank
  std::string label;
  Instant created_at;
  std::optional<Instant> revoked_at;
  std::string master{};                  // role kMaster
  std::optional<Instant> expires_at{};   // a master's session: refused from then on
};

// free -> assigned -> (paid | expired | cancelled) -> cooling -> free
enum class NumberState : std::uint8_t { kFree, kAssigned, kCooling };
std::string_view NumberStateName(NumberState state);

struct NumberRecord {
  std::string bank;
  std::string number;
  std::string merchant;
  std::string region;
  NumberState state = NumberState::kFree;
  // Bumped on every assignment, so (number, generation) names one assignment forever.
  std::int64_t generation = 0;
  // The current (assigned) or last (cooling) assignment: the tombstone a late deposit goes to.
  std::string assignment_id;
  std::optional<Instant> release_at;  // kCooling: when the number returns to the pool
  // The sequence number of the last event about this number (0: none yet), across generations.
  std::int64_t event_seq = 0;
};

enum class AssignmentStatus { kOpen, kPaid, kExpired, kCancelled };
std::string_view AssignmentStatusName(AssignmentStatus status);

struct Customer {
  std::string name;
  std::string phone;
  std::string email;
  friend bool operator==(const Customer&, const Customer&) = default;
};

struct Assignment {
  std::string id;  // "asg_" + 20 chars
  std::string merchant;
  std::string order_id;
  std::string bank;
  std::string region;
  std::string number;
  std::int64_t generation = 0;
  std::string holder_name;
  Money amount{0, Currency::Krw()};
  AmountRule rule;
  std::int64_t paid_minor = 0;  // credited to the merchant so far, net of cancellations
  AssignmentStatus status = AssignmentStatus::kOpen;
  Customer customer;
  Instant created_at;
  Instant due_at;
  std::optional<Instant> closed_at;
  // SHA-256 of the issuing request's meaningful fields: a reused order id with another payload is
  // a conflict, with the same payload a replay.
  std::string request_fingerprint;
};

enum class DepositStatus { kBooked, kCancelled };
std::string_view DepositStatusName(DepositStatus status);

struct Deposit {
  std::string id;  // "dep_" + 20 chars
  std::string bank;
  std::string transaction_id;  // the bank's; unique per bank
  std::string number;
  std::int64_t generation = 0;  // 0 when no assignment was ever made on the number
  std::string assignment_id;    // empty when unattributed
  std::string order_id;
  std::string merchant;
  Money amount{0, Currency::Krw()};
  std::string payer_name;
  Instant deposited_at;  // as the bank reports it
  Instant received_at;   // when the relay booked it
  DepositOutcome outcome = DepositOutcome::kUnknownNumber;
  std::int64_t to_merchant_minor = 0;
  std::int64_t parked_minor = 0;  // held in suspense
  DepositStatus status = DepositStatus::kBooked;
  std::optional<Instant> cancelled_at;
  std::string cancel_transaction_id;
  // SHA-256 of the notice's content: the same transaction id with other content is a conflict.
  std::string notice_fingerprint;
};

// One account's end-of-day statement from a bank (camt.053), kept for reconciliation.
struct BankStatement {
  std::string bank;
  std::string message_id;    // the bank's GrpHdr/MsgId
  std::string statement_id;  // Stmt/Id
  std::string account;
  std::string currency;
  std::optional<std::int64_t> opening_minor;  // OPBD, signed
  std::optional<std::int64_t> closing_minor;  // CLBD, signed
  std::int64_t entries = 0;
  std::int64_t credits_minor = 0;
  std::int64_t debits_minor = 0;
  std::string created;  // the bank's creation time as written
  Instant received_at;
};

}  // namespace varelay
