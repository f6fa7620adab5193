// The simulated bank's core: accounts with balances, virtual account numbers issued in front of
// mother accounts, bookings, the outbox of notices to the relay, withdrawals and the material for
// end-of-day statements. Pure state and rules: no I/O, no clock (time is passed in), no locks (the
// Teller serialises access). Every change is handed to a BankJournal as whole records, so a state
// file can replay it.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/money.h"
#include "domain/time.h"

namespace varelay::banksim {

// ---- limits (bounds on everything a caller can make the bank hold) -------------------------
inline constexpr std::size_t kMaxAccounts = 100'000;
inline constexpr std::size_t kMaxVirtualAccounts = 1'000'000;
inline constexpr std::size_t kMaxBlockSize = 10'000;
inline constexpr std::size_t kMaxBookings = 1'000'000;
inline constexpr std::size_t kMaxNotices = 1'000'000;
inline constexpr std::size_t kMaxWithdrawals = 1'000'000;
// Balances stay within 17 digits, so sums of them never overflow 64 bits.
inline constexpr std::int64_t kMaxBalanceMinor = 99'999'999'999'999'999;
// Virtual account numbers the bank issues are this many digits: prefix + zero-filled serial.
inline constexpr std::size_t kIssuedNumberDigits = 14;

// Statements and the telegram summary follow the Korean business day: UTC+9, no daylight saving.
inline constexpr std::chrono::hours kBusinessDayOffset{9};
std::chrono::sys_days BusinessDay(Instant t);

// Telegram sequence numbers are 6 digits, unique per KST day across every telegram the bank
// sends (pre-check inquiries and notices), from 1 (docs/telegrams.md: unique per institution +
// bank + KST day).
inline constexpr std::uint32_t kMaxTelegramSequence = 999'999;

// How a message is known in a telegram header: its sequence number of the KST day and its send
// date-time (whole seconds). A notice gets one when it is queued and keeps it on every re-send:
// the relay's duplicate key for telegrams is send date + sequence + virtual number, so a re-send
// must carry the same. Assigned whatever the protocol, so a state file can change protocol.
struct TelegramRef {
  std::uint32_t sequence = 0;  // 1..kMaxTelegramSequence; 0: none (a record from an older file)
  Instant sent_at{};

  friend bool operator==(const TelegramRef&, const TelegramRef&) = default;
};

enum class AccountKind { kCustomer, kMother };
enum class IssueMode { kBatch, kRealTime };
enum class BookingKind { kDeposit, kCancellation, kWithdrawal };
enum class NoticeKind { kDeposit, kCancellation };
enum class NoticeState { kPending, kAnswered, kFailed };
enum class WithdrawalStatus { kCompleted, kRefused };

std::string_view Name(AccountKind kind);
std::string_view Name(IssueMode mode);
std::string_view Name(BookingKind kind);
std::string_view Name(NoticeKind kind);
std::string_view Name(NoticeState state);
std::string_view Name(WithdrawalStatus status);
std::optional<AccountKind> ParseAccountKind(std::string_view text);
std::optional<IssueMode> ParseIssueMode(std::string_view text);
std::optional<BookingKind> ParseBookingKind(std::string_view text);
std::optional<NoticeKind> ParseNoticeKind(std::string_view text);
std::optional<NoticeState> ParseNoticeState(std::string_view text);
std::optional<WithdrawalStatus> ParseWithdrawalStatus(std::string_view text);

struct Account {
  std::string number;
  std::string holder_name;
  AccountKind kind = AccountKind::kCustomer;
  // The balance brought forward when the account was opened: it counts as existing before any
  // booking, so every statement's opening balance plus its entries equals its closing balance.
  Money opening_balance{0, Currency::Krw()};
  Money balance{0, Currency::Krw()};
  // Mother accounts: virtual numbers that start with this prefix are in front of this account.
  std::string prefix;
  Instant opened_at{};
  // Withdrawal consent (a division account's master: a customer account opened with
  // consent_required, POST /sim/accounts). A debit from such an account needs a registered consent
  // (consent_id) and at most the ceiling (0: none); other accounts' debits need none.
  std::string holder_id;                // birth date YYMMDD; empty: not checked at registration
  std::int64_t consent_ceiling_won = 0;  // what the bank answers as the ceiling per debit
  std::string consent_id;               // empty: no consent registered
  bool consent_required = false;
};

struct VirtualAccount {
  std::string number;
  std::string mother_account;
  IssueMode mode = IssueMode::kBatch;
  Instant issued_at{};
};

struct Booking {
  std::string id;  // for deposits and cancellations also the transaction_id told to the relay
  BookingKind kind = BookingKind::kDeposit;
  std::string debit_account;   // empty: the money came from outside the bank
  std::string credit_account;  // empty: the money left the bank (a withdrawal)
  Money amount{0, Currency::Krw()};
  Instant booked_at{};
  std::string virtual_number;  // deposits and their cancellations
  std::string payer_name;
  std::string original_id;   // a cancellation: the deposit it reverses
  std::string cancelled_by;  // a deposit: its cancellation, once cancelled
  std::string reference;     // a withdrawal: the caller's reference
};

// One message in the outbox toward the relay, re-sent until answered or out of attempts.
struct Notice {
  std::uint64_t seq = 0;  // order of queueing, from 1
  NoticeKind kind = NoticeKind::kDeposit;
  std::string transaction_id;
  std::string number;
  Money amount{0, Currency::Krw()};  // as notified (differs from the booking under amount-off)
  Money booked_amount{0, Currency::Krw()};  // as booked
  std::string payer_name;
  std::string event_at;  // deposited_at or cancelled_at (RFC 3339), fixed when queued
  std::string original_transaction_id;  // a cancellation: the deposit's transaction id
  NoticeState state = NoticeState::kPending;
  int send_count = 0;       // attempts so far, including ones lost to an outage or a dropped answer
  std::string last_status;  // what the last attempt got: "200", "outage", "503 overloaded", ...
  Instant queued_at{};
  Instant next_send_at{};
  std::optional<Instant> answered_at;
  std::string relay_deposit_id;  // from the answer that was accepted (empty for telegrams)
  std::string relay_outcome;
  bool relay_duplicate = false;  // the accepted answer said the relay had it already
  int duplicates_sent = 0;       // extra copies sent after the answer (fault injection)
  TelegramRef telegram;          // header sequence and send time, fixed when queued
  // The relay's transaction id for this notice, from the accepted answer: the transaction id for
  // JSON and camt.054, "tg:<send date>:<sequence>:<number>" for telegrams.
  std::string relay_transaction_id;
};

struct Withdrawal {
  std::string reference;
  std::string account;
  std::string credit_account;  // the recipient, when it is one of this bank's accounts (completed only)
  Money amount{0, Currency::Krw()};
  WithdrawalStatus status = WithdrawalStatus::kCompleted;
  std::string reason;  // refused: insufficient_funds, consent_missing, over_consent_ceiling
  Money balance_after{0, Currency::Krw()};
  std::string booking_id;  // completed only
  Instant executed_at{};
};

// Identifier and number sources, persisted so a restart never reuses a transaction id.
struct Counters {
  std::string run_id;
  std::uint64_t next_seq = 1;
  std::map<std::string, std::uint64_t> next_serial;  // per virtual-number prefix
  // Telegram sequence numbers: the KST day ("YYYYMMDD") the counter below counts, empty before
  // the first; it restarts at 1 on a new day.
  std::string sequence_day;
  std::uint32_t next_sequence = 1;
};

using BankRecord = std::variant<Account, VirtualAccount, Booking, Notice, Withdrawal, Counters>;

// Receives every change as whole records (upserts), one call per operation, before the operation
// returns. A state file appends them; a restart replays them through Bank::Restore.
class BankJournal {
 public:
  virtual ~BankJournal() = default;
  virtual void Append(std::span<const BankRecord> records) = 0;
};

enum class BankErrc {
  kInvalidField,
  kNotFound,
  kAccountExists,
  kWrongAccountKind,
  kUnknownNumber,
  kNoMotherAccount,
  kInsufficientFunds,
  kBalanceLimit,
  kAlreadyCancelled,
  kReferenceConflict,
  kNumbersExhausted,
  kLimitReached,
  kHolderMismatch,
};

// The stable snake_case name of a code ("insufficient_funds").
std::string_view BankErrcName(BankErrc code);

struct BankError {
  BankErrc code;
  std::string detail;
};

template <typename T>
using BankResult = std::expected<T, BankError>;

struct BankOptions {
  std::string bank_code = "004";
  int max_sends = 10;            // attempts per notice before it is marked failed
  Millis resend_interval{1000};  // between attempts of one notice
};

struct IssueRequest {
  std::string mother_account;  // empty: the mother account owning `prefix`, or the only one
  std::string prefix;          // empty: the mother account's prefix, else "9" + bank code
  std::size_t count = 1;
};

struct PaymentOrder {
  std::string from_account;
  std::string to_number;
  Money amount{0, Currency::Krw()};
  std::string payer_name;
};

// Where a payment into a virtual number goes.
struct PaymentRoute {
  std::string mother_account;
  std::string holder_name;
};

// How the deposit notice of a booking is to be sent.
struct NoticePlan {
  Money notified_amount{0, Currency::Krw()};
  Instant first_send_at{};
};

enum class AttemptVerdict {
  kAnswered,    // the relay accepted the notice
  kUnanswered,  // no answer, an error answer, or an answer treated as lost: send again
  kRefused,     // a permanent refusal (409 transaction_id_conflict): failed at once
};

struct NoticeAttempt {
  NoticeAttempt(AttemptVerdict v, std::string s, std::string deposit_id = {},
                std::string outcome = {}, bool duplicate = false, std::string transaction_id = {})
      : verdict(v),
        status(std::move(s)),
        relay_deposit_id(std::move(deposit_id)),
        relay_outcome(std::move(outcome)),
        relay_duplicate(duplicate),
        relay_transaction_id(std::move(transaction_id)) {}

  AttemptVerdict verdict;
  std::string status;
  std::string relay_deposit_id;
  std::string relay_outcome;
  bool relay_duplicate;
  std::string relay_transaction_id;
};

struct WithdrawalOrder {
  std::string account;
  Money amount{0, Currency::Krw()};
  std::string reference;
  std::string recipient_account;  // credited when it is one of this bank's accounts; else the money leaves
};

struct ConsentResult {
  std::string consent_id;
  std::int64_t ceiling_won = 0;  // 0: none
};

struct WithdrawalResult {
  Withdrawal withdrawal;
  bool replayed = false;  // the same reference and content was executed before
};

struct Holder {
  std::string number;
  std::string holder_name;
  std::string kind;            // customer, mother or virtual
  std::string mother_account;  // virtual numbers: the account behind
};

struct StatementLine {
  Booking booking;
  bool credit = true;  // money into the account
  Money balance_after{0, Currency::Krw()};
};

struct AccountStatement {
  Account account;
  std::chrono::sys_days day;
  Money opening{0, Currency::Krw()};
  Money closing{0, Currency::Krw()};
  std::vector<StatementLine> lines;
};

class Bank {
 public:
  // `run_id`: a few characters that make this bank's transaction ids unique across state files;
  // a restored Counters record replaces it.
  Bank(BankOptions options, std::string run_id, BankJournal* journal = nullptr);

  const BankOptions& options() const { return options_; }
  // Where changes go from now on (after a replay, so replayed records are not written again).
  void SetJournal(BankJournal* journal) { journal_ = journal; }
  const std::string& run_id() const { return counters_.run_id; }

  // ---- state file ------------------------------------------------------------------------------
  // Applies one replayed record (an upsert); the journal is not called.
  void Restore(const BankRecord& record);
  // Rebuilds the indexes after Restore calls; fails when balances do not add up. Notices from an
  // older state file without a telegram sequence get one here (sent at their queue time).
  BankResult<void> FinishRestore();
  // Makes every pending notice due at `now` at the latest: after a restart the bank re-sends what
  // is unanswered at once (a hold from a fault of the previous run is not kept). Not journaled;
  // the next attempt records the notice.
  void ReleasePendingNotices(Instant now);
  // Every record needed to rebuild this state, for compacting a state file.
  std::vector<BankRecord> Snapshot() const;

  // ---- accounts
  // ---------------------------------------------------------------------------------- Opens an
  // account. `number` 6..20 digits, `holder_name` 1..100 characters, balance >= 0; a prefix (1..12
  // digits) only on a mother account and owned by no other. Fails kAccountExists.
  BankResult<Account> OpenAccount(Account account, Instant now);
  const Account* FindAccount(std::string_view number) const;
  std::vector<Account> Accounts() const;

  // ---- virtual accounts
  // -------------------------------------------------------------------------- Issues `count`
  // (1..kMaxBlockSize) new numbers of kIssuedNumberDigits digits for one mother account (batch
  // mode).
  BankResult<std::vector<VirtualAccount>> IssueBlock(const IssueRequest& request, Instant now);
  // Issues one number on request (real-time mode).
  BankResult<VirtualAccount> IssueOne(const IssueRequest& request, Instant now);
  // The mother account behind a number: an issued number, else the longest owning prefix.
  const Account* MotherFor(std::string_view number) const;
  std::optional<VirtualAccount> FindVirtualAccount(std::string_view number) const;

  // ---- payments
  // ---------------------------------------------------------------------------------- Checks a
  // payment before the pre-check: the payer is a customer account with the funds, the number has a
  // mother account. Changes nothing.
  BankResult<PaymentRoute> PreparePayment(const PaymentOrder& order) const;
  // The telegram header identity of a pre-check inquiry sent at `now` (the day's next sequence
  // number). Fails kLimitReached when the day's sequence numbers are used up.
  BankResult<TelegramRef> NextInquiryRef(Instant now);
  // Books an accepted payment (debit the customer, credit the mother account) and queues its
  // deposit notice. Checks again what PreparePayment checked; a refusal changes nothing.
  BankResult<Booking> BookPayment(const PaymentOrder& order, const NoticePlan& plan, Instant now);
  // Reverses a deposit (debit the mother account, credit the payer) and queues a cancellation
  // notice first sent at `first_send_at`. Fails kNotFound, kAlreadyCancelled, kInsufficientFunds.
  BankResult<Booking> CancelDeposit(std::string_view transaction_id, Instant now,
                                    Instant first_send_at);
  const Booking* FindBooking(std::string_view id) const;

  // ---- notices
  // ----------------------------------------------------------------------------------- Notices
  // with seq > `after`, oldest first, at most `limit`, only those in `state` when given.
  std::vector<Notice> Notices(std::uint64_t after = 0, std::size_t limit = kMaxNotices,
                              std::optional<NoticeState> state = std::nullopt) const;
  std::size_t NoticeCount(NoticeState state) const;
  const Notice* FindNotice(std::uint64_t seq) const;
  const Notice* FindNoticeFor(std::string_view transaction_id) const;
  std::size_t PendingNotices() const { return pending_.size(); }
  // Pending notices whose time has come, oldest first, at most `limit`. A cancellation waits for
  // its deposit's notice to be settled (answered or failed) unless `hold_cancellations` is false.
  std::vector<Notice> DueNotices(Instant now, bool hold_cancellations, std::size_t limit) const;
  // The earliest time a pending notice becomes due (ignoring held cancellations); nullopt if none.
  std::optional<Instant> NextDueAt(bool hold_cancellations) const;
  // Records one attempt: send_count rises; answered, failed after options().max_sends attempts,
  // or due again after options().resend_interval.
  void RecordAttempt(std::uint64_t seq, const NoticeAttempt& attempt, Instant now);
  // Records an extra copy sent after the answer (the duplicate fault): send_count rises too.
  void RecordDuplicateSent(std::uint64_t seq, std::string status);
  // The relay asked for the telegrams numbered `from`..`to` of KST day `day` (0600/200): the
  // pending notices among them become due at `now` at the latest. Answered and failed ones are
  // settled and not sent again. Not journaled (the next attempt records the notice). Returns how
  // many were pending.
  std::size_t ReleaseTelegrams(std::chrono::sys_days day, std::uint32_t from, std::uint32_t to,
                               Instant now);

  // ---- withdrawals, inquiries
  // -------------------------------------------------------------------- Debits an account when the
  // balance allows, otherwise records a refusal. Idempotent by reference: the same order again
  // gives the recorded result (replayed); another order under a used reference fails
  // kReferenceConflict. An unknown account fails kNotFound and records nothing.
  BankResult<WithdrawalResult> Withdraw(const WithdrawalOrder& order, Instant now);
  const Withdrawal* FindWithdrawal(std::string_view reference) const;
  // Money paid into `account` from outside the bank (a master tops up): a booking, no notice.
  // Fails kNotFound, kInvalidField (amount), kBalanceLimit.
  BankResult<Booking> Fund(std::string_view account, Money amount, Instant now);
  // Every withdrawal from `account` (completed and refused), in reference order.
  std::vector<Withdrawal> WithdrawalsFrom(std::string_view account) const;
  // Registers (or, `cancel`, ends) the withdrawal consent of a customer account. Fails kNotFound
  // (no such account), kHolderMismatch (name, or holder id when the account has one, differs),
  // kWrongAccountKind (a mother account). Registering again answers the same consent id.
  BankResult<ConsentResult> RegisterConsent(std::string_view account, std::string_view holder_id,
                                            std::string_view holder_name, bool cancel, Instant now);
  BankResult<Holder> HolderOf(std::string_view number) const;

  // ---- statements
  // -------------------------------------------------------------------------------- One statement
  // per mother account (or only `account` when not empty) for a business day.
  std::vector<AccountStatement> Statements(std::chrono::sys_days day,
                                           std::string_view account = {}) const;

  // Always-on checks: every balance equals its opening balance plus its bookings and is within
  // limits, no customer balance is negative, every cancelled deposit has exactly one cancellation.
  BankResult<void> CheckInvariants() const;

 private:
  std::string NextTransactionId();
  std::string CreditableAccount(const WithdrawalOrder& order) const;
  // The next sequence number of the KST day of `now`; rolls the counter over on a new day. Fails
  // kLimitReached past kMaxTelegramSequence. Persisted with counters_.
  BankResult<TelegramRef> NextTelegramRef(Instant now);
  bool IsSendable(const Notice& notice, bool hold_cancellations) const;
  void QueueNotice(Notice notice);
  void Persist(std::vector<BankRecord> records);
  void Post(const Booking& booking);  // applies a booking to balances (already checked)
  BankResult<const Account*> ResolveMother(const IssueRequest& request, std::string& prefix) const;
  BankResult<std::vector<VirtualAccount>> Issue(const IssueRequest& request, IssueMode mode,
                                                Instant now);

  BankOptions options_;
  BankJournal* journal_;
  Counters counters_;
  std::map<std::string, Account, std::less<>> accounts_;
  std::map<std::string, VirtualAccount, std::less<>> virtual_accounts_;
  std::vector<Booking> bookings_;
  std::map<std::string, std::size_t, std::less<>> booking_index_;
  std::map<std::uint64_t, Notice> notices_;
  std::set<std::uint64_t> pending_;
  std::map<std::string, std::uint64_t, std::less<>> notice_by_transaction_;
  std::map<std::string, Withdrawal, std::less<>> withdrawals_;
};

}  // namespace varelay::banksim
