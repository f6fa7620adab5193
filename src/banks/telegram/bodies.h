// The 200-byte bodies of the telegram family (layouts with every offset: docs/telegrams.md).
// Text members are UTF-8 here and EUC-KR on the wire, cut to their width at a character boundary
// when encoded and trimmed of trailing spaces when decoded. Amounts are integer won. Times are UTC
// instants here and KST on the wire.
//
// Encoding has the same precondition as EncodeHeader: numbers fit their fields (amounts at most
// kMaxAmountMinor, never negative), digit members are digits; a breach stops the process.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/time.h"

namespace varelay::telegram {

inline constexpr std::size_t kBodyBytes = 200;

// Transaction kind (2 digits) of deposit notices and receivability inquiries. Other values exist
// (withdrawals, interest) and are carried through unchanged: the adapter decides what to do.
enum class TransactionKind : std::uint8_t { kInquiry = 10, kDeposit = 20, kCancellation = 51 };

// 0200/300 -> 0210/300, bank to relay: money arrived on a virtual account (kind 20) or a deposit
// was cancelled (kind 51; the header's original date and sequence name the deposit).
struct DepositNotice {
  static constexpr std::string_view kMessageCode = "0200";
  static constexpr std::string_view kBusinessCode = "300";

  std::string mother_account;                        // 15 text
  int record_count = 1;                              // 2 digits
  TransactionKind kind = TransactionKind::kDeposit;  // 2 digits
  std::string bank_code_legacy;                      // 2 digits
  std::int64_t amount_won = 0;                       // 13 digits
  std::int64_t balance_won = 0;                      // 13 digits
  std::string branch_giro_code;                      // 6 text
  std::string depositor_name;                        // 14 text
  std::string cheque_number;                         // 10 text
  std::int64_t cash_won = 0;                         // 13 digits
  std::int64_t other_bank_cheque_won = 0;            // 13 digits
  std::int64_t other_cheques_won = 0;                // 13 digits
  std::string virtual_account;                       // 16 text
  Instant transacted_at{};                           // 14, YYYYMMDDHHMMSS KST
  std::string passbook_serial;                       // 6 text
  std::string bank_code;                             // 3 digits
  std::string branch_code;                           // 7 text

  friend bool operator==(const DepositNotice&, const DepositNotice&) = default;
};

// 0900/100 -> 0910/100, bank to relay: may a payer deposit `amount_won` to this number? The answer
// fills `holder_name` (what the payer sees) and the header's response code.
struct ReceivabilityInquiry {
  static constexpr std::string_view kMessageCode = "0900";
  static constexpr std::string_view kBusinessCode = "100";

  std::string virtual_account;                            // 16 text
  std::string holder_name;                                // 30 text, blank in the request
  std::string bank_code_legacy;                           // 2 digits
  std::optional<std::chrono::year_month_day> start_date;  // 8, zeros or spaces when not given
  std::optional<Instant> end_at;                          // 14 KST, zeros or spaces when not given
  std::int64_t amount_won = 0;                            // 13 digits
  std::string registration_kind;                          // 2 text
  TransactionKind kind = TransactionKind::kInquiry;       // 2 digits
  std::string payer_name;                                 // 20 text
  std::string bank_code;                                  // 3 digits

  friend bool operator==(const ReceivabilityInquiry&, const ReceivabilityInquiry&) = default;
};

// 0600/400 -> 0610/400, relay to bank: in whose name is this account? (to verify a mother account)
struct HolderInquiry {
  static constexpr std::string_view kMessageCode = "0600";
  static constexpr std::string_view kBusinessCode = "400";

  std::string bank_code;       // 3 digits, the account's bank
  std::string account_number;  // 16 text
  std::string holder_id;       // 10 text: birth date YYMMDD (6) or business number (10)
  std::string holder_name;     // 30 text, blank in the request, filled by the bank's answer

  friend bool operator==(const HolderInquiry&, const HolderInquiry&) = default;
};

// 0100/100 -> 0110/100, relay to bank: move `amount_won` from a consenting debit account (a mother
// account, or a pay-out source) to the recipient. No password: consent is agreed out of band.
struct Withdrawal {
  static constexpr std::string_view kMessageCode = "0100";
  static constexpr std::string_view kBusinessCode = "100";

  std::string debit_bank_code;          // 3 digits
  std::string debit_account;            // 16 text
  std::int64_t amount_won = 0;          // 13 digits
  std::string recipient_bank_code;      // 3 digits
  std::string recipient_account;        // 16 text
  std::string recipient_name;           // 20 text, as the relay knows it
  std::string passbook_memo;            // 14 text, what the debited account's passbook shows
  std::optional<Instant> processed_at;  // 14 KST, the answer's; zeros in the request

  friend bool operator==(const Withdrawal&, const Withdrawal&) = default;
};

// 0600/101 -> 0610/101, relay to bank: what became of an earlier transfer? The header's original
// date and original sequence name it; the body repeats its account and amount as a cross-check.
struct ResultInquiry {
  static constexpr std::string_view kMessageCode = "0600";
  static constexpr std::string_view kBusinessCode = "101";

  std::string bank_code;                 // 3 digits, the original debit account's bank
  std::string account_number;            // 16 text, the original debit account
  std::int64_t original_amount_won = 0;  // 13 digits
  // The answer's: the original transfer's response code ("0000" done, else the bank's reason);
  // blank in the request.
  std::string original_response_code;   // 4 text
  std::optional<Instant> processed_at;  // 14 KST, the answer's: when the original was done

  friend bool operator==(const ResultInquiry&, const ResultInquiry&) = default;
};

// 0600/200 -> 0610/200, relay to bank: re-send the telegrams of `business_code` numbered
// `from_sequence` to `to_sequence` (inclusive) on KST day `date`.
struct MissingSequenceRequest {
  static constexpr std::string_view kMessageCode = "0600";
  static constexpr std::string_view kBusinessCode = "200";

  std::chrono::year_month_day date{};                               // 8, YYYYMMDD
  std::uint32_t from_sequence = 0;                                  // 6 digits
  std::uint32_t to_sequence = 0;                                    // 6 digits
  std::string missing_business_code{DepositNotice::kBusinessCode};  // 3 digits

  friend bool operator==(const MissingSequenceRequest&, const MissingSequenceRequest&) = default;
};

// 0600/500 -> 0610/500, relay to bank (varelay's extension): register (or cancel) the account
// holder's consent that the relay may debit this account (withdrawal consent, Open Banking's
// 출금동의). The bank checks the account and the holder and answers its consent id and the most it
// lets one debit take (0: no ceiling).
enum class ConsentAction { kRegister, kCancel };  // `R`, `C`

struct ConsentRegistration {
  static constexpr std::string_view kMessageCode = "0600";
  static constexpr std::string_view kBusinessCode = "500";

  std::string bank_code;                           // 3 digits, the account's bank
  std::string account_number;                      // 16 text
  std::string holder_id;                           // 10 text: birth date YYMMDD
  std::string holder_name;                         // 30 text
  ConsentAction action = ConsentAction::kRegister;  // 1 text, R or C
  std::string consent_id;                          // 20 text, blank in the request, the bank's in the answer
  std::int64_t ceiling_won = 0;                    // 13 digits, the answer's: most per debit, 0 = none

  friend bool operator==(const ConsentRegistration&, const ConsentRegistration&) = default;
};

// Each returns exactly kBodyBytes bytes.
std::string EncodeBody(const DepositNotice& body);
std::string EncodeBody(const ReceivabilityInquiry& body);
std::string EncodeBody(const HolderInquiry& body);
std::string EncodeBody(const Withdrawal& body);
std::string EncodeBody(const ResultInquiry& body);
std::string EncodeBody(const MissingSequenceRequest& body);
std::string EncodeBody(const ConsentRegistration& body);

// Each parses exactly kBodyBytes bytes; a wrong field is kInvalidField naming it ("body.amount").
// Spare bytes are not checked.
Result<DepositNotice> DecodeDepositNotice(std::string_view bytes);
Result<ReceivabilityInquiry> DecodeReceivabilityInquiry(std::string_view bytes);
Result<HolderInquiry> DecodeHolderInquiry(std::string_view bytes);
Result<Withdrawal> DecodeWithdrawal(std::string_view bytes);
Result<ResultInquiry> DecodeResultInquiry(std::string_view bytes);
Result<MissingSequenceRequest> DecodeMissingSequenceRequest(std::string_view bytes);
Result<ConsentRegistration> DecodeConsentRegistration(std::string_view bytes);

}  // namespace varelay::telegram
