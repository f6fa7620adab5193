// ISO 20022 bank-to-customer cash management: reads camt.054 (debit/credit notification) and
// camt.053 (account statement), versions 02 to 08, into values the relay can act on, and says
// what the relay does with each transaction. Pure functions over a byte string: no I/O, no clock,
// no global state; safe to call from any thread.
//
// Every failure refuses the whole message (nothing is half-read): a connector answers the bank with
// an error, or an import stops, and nothing is booked from a message the reader did not fully
// understand.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "domain/money.h"
#include "domain/time.h"

namespace varelay::iso20022 {

// Bounds on one message; beyond them it is refused. Parsing holds the whole document in memory
// besides the caller's copy: measured at 3 to 5 bytes per input byte for real bank XML (a 16 MiB
// camt.054 peaks near 80 MB) and about 17 for hostile input made of millions of empty elements
// (16 MiB of "<a/>" peaks near 280 MB). An HTTP endpoint should lower `max_message_bytes`.
inline constexpr std::size_t kMaxMessageBytes = 16 * 1024 * 1024;  // kBodyTooLarge beyond
inline constexpr std::size_t kMaxTransactions = 100'000;           // kBodyTooLarge beyond
inline constexpr int kMaxElementDepth = 64;                       // kMalformedRequest beyond

// Where this bank puts the virtual account number the payer used.
enum class VirtualAccountSource {
  kCreditorAccount,    // TxDtls/RltdPties/CdtrAcct/Id (IBAN or Othr/Id): the usual place
  kNotifiedAccount,    // Ntfctn/Acct/Id (or Stmt/Acct/Id): one notification per virtual account
  kCreditorReference,  // TxDtls/RmtInf/Strd/CdtrRefInf/Ref (the first one)
};

struct ReadOptions {
  VirtualAccountSource virtual_account_source = VirtualAccountSource::kCreditorAccount;
  // The bank's offset from UTC, applied to date-times written without one ("2019-04-24T21:28:58",
  // allowed by ISO 20022). Unset: such times get no `instant`. Korea: std::chrono::hours(9). A bank
  // in a zone with daylight saving must write offsets; a fixed offset here would be wrong half the year.
  std::optional<std::chrono::minutes> local_utc_offset = std::nullopt;
  // Refused beyond this many bytes (kBodyTooLarge); at most kMaxMessageBytes is honoured.
  std::size_t max_message_bytes = kMaxMessageBytes;
};

enum class CreditDebit { kCredit, kDebit };  // CRDT: money in; DBIT: money out

enum class EntryStatus {
  kBooked,       // BOOK
  kPending,      // PDNG
  kInformation,  // INFO
  kOther,        // any other code (FUTR, a proprietary code); `status_code` has it
};

// A date or date-time as the bank wrote it.
struct BankTime {
  std::string text;                // as written: "2019-04-24" or "2009-10-30T21:01:45+02:00"
  std::chrono::sys_days date;      // the calendar date as written (bank-local)
  bool has_time = false;           // false for an ISO date (Dt), true for a date-time (DtTm)
  std::optional<Instant> instant;  // a date-time with an offset, or with ReadOptions::local_utc_offset
};

// BkTxCd: Domn/Cd, Domn/Fmly/Cd, Domn/Fmly/SubFmlyCd and Prtry/Cd; empty when absent.
struct BankTransactionCode {
  std::string domain;       // "PMNT"
  std::string family;       // "RCDT" received credit transfer, "ICDT" issued, "RDDT", ...
  std::string sub_family;   // "ESCT", "DMCT", "RRTN" (return), ...
  std::string proprietary;  // bank-specific, e.g. "NTRF+705TransactionCodeText"
};

// Which reference `dedupe_reference` was built from.
enum class ReferenceSource {
  kEntry,            // Ntry/AcctSvcrRef (a single-transaction entry)
  kTransaction,      // TxDtls/Refs/AcctSvcrRef
  kTransactionId,    // TxDtls/Refs/TxId
  kEndToEndId,       // TxDtls/Refs/EndToEndId (set by the payer; "NOTPROVIDED" is never used)
  kEntryPosition,    // Ntry/AcctSvcrRef + ":<transaction number>" in a batch without own references
  kMessagePosition,  // GrpHdr/MsgId + ":<entry>.<transaction>": the bank gave no reference at all
};

// One transaction: an entry (Ntry) without details, or one TxDtls of an entry. Fields the message
// does not carry are empty strings. Text is trimmed of surrounding XML white space.
struct Transaction {
  int entry_number = 0;        // 1-based position of the Ntry in the message (across accounts)
  int transaction_number = 0;  // 1-based position of the TxDtls in its entry (1 without TxDtls)
  // Exact, never negative; the direction is `credit_debit`. The TxDtls's own amount when it has
  // one (TxDtls/Amt, else AmtDtls/TxAmt/Amt), else the entry's (only for a single transaction).
  Money amount{0, Currency::Krw()};
  CreditDebit credit_debit = CreditDebit::kCredit;  // the entry's Ntry/CdtDbtInd
  // TxDtls/CdtDbtInd (04 and later) contradicts the entry's: the message is inconsistent.
  bool credit_debit_conflict = false;
  bool reversal = false;  // Ntry/RvslInd = true
  EntryStatus status = EntryStatus::kOther;
  std::string status_code;  // as written: "BOOK" (from <Sts>BOOK</Sts> or <Sts><Cd>BOOK</Cd></Sts>)
  std::optional<BankTime> booking_date;  // Ntry/BookgDt (Dt or DtTm)
  std::optional<BankTime> value_date;    // Ntry/ValDt

  // The key under which the relay must know this transaction (its `transaction_id`): always
  // matches ^[A-Za-z0-9._:-]{1,64}$ and is stable when the bank resends the same message. Built
  // from the first present of: Ntry/AcctSvcrRef (single-transaction entry only), TxDtls/Refs/
  // AcctSvcrRef, TxId, EndToEndId; in a batch with none of those, Ntry/AcctSvcrRef + ":<n>";
  // without any reference, GrpHdr/MsgId + ":<entry>.<transaction>". A reference shared by several
  // transactions of the same message gets ":<entry>.<transaction>" appended to each and
  // `reference_ambiguous` set. A reference that does not fit the pattern becomes "h:" + 40 hex
  // digits of its SHA-256 (the raw references below are kept for people).
  std::string dedupe_reference;
  ReferenceSource reference_source = ReferenceSource::kMessagePosition;
  bool reference_ambiguous = false;
  std::string entry_reference;        // Ntry/AcctSvcrRef
  std::string transaction_reference;  // TxDtls/Refs/AcctSvcrRef
  std::string transaction_id;         // TxDtls/Refs/TxId
  std::string end_to_end_id;          // TxDtls/Refs/EndToEndId, as written (may be "NOTPROVIDED")

  std::string payer_name;          // TxDtls/RltdPties/Dbtr/Nm (02-06) or Dbtr/Pty/Nm (08)
  std::string notification_id;     // Ntfctn/Id (Stmt/Id in a statement)
  std::string notified_account;    // Ntfctn/Acct/Id/IBAN or Othr/Id
  std::string creditor_account;    // TxDtls/RltdPties/CdtrAcct/Id/IBAN or Othr/Id
  std::string creditor_reference;  // TxDtls/RmtInf/Strd/CdtrRefInf/Ref, the first one
  std::string remittance;          // TxDtls/RmtInf/Ustrd, several joined with "\n"
  std::string virtual_account;     // copied from where ReadOptions::virtual_account_source says

  BankTransactionCode bank_transaction_code;  // the TxDtls's own, else the entry's
  // A returned payment: TxDtls/RtrInf present or sub-family RRTN. Money coming back from a
  // payment the account holder made, not a deposit.
  bool returned = false;
  std::string return_reason;  // RtrInf/Rsn/Cd or Prtry ("AC01")
};

// A camt.054 message.
struct Notification {
  int version = 0;             // 2 to 8: the NN of camt.054.001.NN
  std::string message_id;      // GrpHdr/MsgId: the bank's key for the whole message
  BankTime created;            // GrpHdr/CreDtTm
  std::vector<Transaction> transactions;  // in document order, across all Ntfctn
};

// Reads a camt.054.001.02 to .08 message (root Document/BkToCstmrDbtCdtNtfctn, matched by
// namespace, default or prefixed). Refused, with the path of the offending element in
// Error::field where there is one:
// - kBodyTooLarge: more than options.max_message_bytes, or more than kMaxTransactions;
// - kInvalidUtf8: not UTF-8 (the only encoding accepted; a UTF-8 byte order mark is fine);
// - kMalformedRequest: not well-formed XML, a DOCTYPE (no DTDs, no entities), deeper than
//   kMaxElementDepth, another encoding declared;
// - kInvalidField: another root or namespace (camt.053, camt.054.001.09, pain.001, ...), a bad
//   indicator, status, boolean or date, a repeated element that may appear once;
// - kMissingField: a required element is absent (MsgId, CreDtTm, Acct, Amt, CdtDbtInd, Sts), or
//   a batched transaction has no amount of its own;
// - kInvalidAmount: an amount that is empty, signed, in exponent notation, has white space, more
//   fraction digits than its currency, exceeds kMaxAmountMinor, or transaction amounts that do not
//   add up to their entry's amount or are in another currency;
// - kUnknownCurrency: a currency the relay does not know.
Result<Notification> ReadCamt054(std::string_view xml, const ReadOptions& options = {});

// A balance of a statement.
struct Balance {
  std::string type;  // Tp/CdOrPrtry/Cd ("OPBD" opening, "CLBD" closing, "CLAV", ...) or Prtry
  Money amount{0, Currency::Krw()};  // signed: negative when CdtDbtInd is DBIT
  CreditDebit credit_debit = CreditDebit::kCredit;
  std::optional<BankTime> date;      // Dt/Dt or Dt/DtTm
};

// One Stmt: the statement of one account.
struct AccountStatement {
  std::string id;       // Stmt/Id
  std::string account;  // Stmt/Acct/Id/IBAN or Othr/Id
  std::vector<Balance> balances;
  std::vector<Transaction> transactions;  // entries in the same form as a notification's
};

// A camt.053 message.
struct Statement {
  int version = 0;  // 2 to 8
  std::string message_id;
  BankTime created;
  std::vector<AccountStatement> statements;  // one per Stmt, at least one
};

// Reads a camt.053.001.02 to .08 message (root Document/BkToCstmrStmt). Refused for the same
// reasons as ReadCamt054; a balance's Amt, CdtDbtInd and Tp are required as well.
Result<Statement> ReadCamt053(std::string_view xml, const ReadOptions& options = {});

enum class Action {
  kDeposit,       // a booked credit to a virtual account: a deposit notice
  kCancellation,  // a booked reversal: cancel the deposit known as `original_reference`
  kIgnore,        // not the relay's business (pending, a plain debit, a returned payment)
  kReview,        // booked money the relay cannot place on its own: a person must look
};

struct Classification {
  Action action = Action::kIgnore;
  // Stable snake_case, for logs and metrics:
  //   kDeposit: booked_credit; kCancellation: booked_reversal;
  //   kIgnore: not_booked, debit, returned_payment, zero_amount;
  //   kReview: credit_debit_conflict, no_virtual_account, ambiguous_reference, no_bank_reference,
  //            reversal_without_original_reference, reversal_without_own_reference.
  std::string_view reason;
  // kCancellation only: the dedupe_reference under which the reversed deposit was notified, taken
  // from the reversal's TxDtls/Refs/AcctSvcrRef (when it differs from the reversal's own
  // Ntry/AcctSvcrRef), else TxId, else EndToEndId, with the same "h:" rule as dedupe_reference.
  std::string original_reference;
};

// What the relay does with one transaction, in this order: not BOOK -> kIgnore not_booked;
// conflicting indicators -> kReview; a reversal (DBIT or CRDT) -> kCancellation; a debit -> kIgnore;
// a returned payment -> kIgnore; zero -> kIgnore; a reference shared in the message or made from
// the message position -> kReview; no virtual account -> kReview; else kDeposit.
Classification Classify(const Transaction& transaction);

// For logs: "CRDT" or "DBIT"; "deposit", "cancellation", "ignore" or "review".
std::string_view CreditDebitCode(CreditDebit value);
std::string_view ActionName(Action action);

}  // namespace varelay::iso20022
