// The command log's records: a batch's store writes as bytes, and the bytes back into the same
// writes. A batch is a run of records, one per write call, in call order; each record is a tag
// byte (LogRecordTag) then the call's arguments, every field of every struct in declaration
// order: unsigned LEB128 for unsigned values, sizes, enums and bools; zigzag LEB128 for signed
// integers; length-prefixed bytes for strings; Unix milliseconds (zigzag) for instants; a presence
// byte (0 or 1) before an optional's value; a count before a vector's elements; a currency as
// its code; a calendar date as year, month and day. The encoding is canonical: every batch has
// exactly one encoding, and decoding accepts nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "store/store.h"

namespace varelay {

// The first byte of a record: which write it is. The values are on disk: never renumber one,
// append new ones. 0 is never a tag.
enum class LogRecordTag : std::uint8_t {
  kPutBank = 1,
  kInsertMerchant = 2,
  kUpdateMerchant = 3,
  kInsertContract = 4,
  kPutApiKey = 5,
  kPutNumber = 6,
  kPutAssignment = 7,
  kPutDeposit = 8,
  kAppendLedgerEntry = 9,
  kPutIdempotency = 10,
  kPutWebhookEndpoint = 11,
  kAppendEvent = 12,
  kPutDelivery = 13,
  kPutStatement = 14,
  kPutTransfer = 15,
  kFailPendingDeliveries = 16,
  kDeleteIdempotencyBefore = 17,
  // bank, message_id, xml, received_at, then the count and fields of each BankStatement.
  kPutStatementMessage = 18,
  // 19..21: other writes to come. 22..29: access (bank channels, pay-out limits, holder inquiries).
  kPutBankChannels = 22,
  kPutPayoutPolicy = 23,
  kPutHolderInquiry = 24,
  // PutWebhookEndpoint of an endpoint whose include_personal_data is false: the fields of
  // kPutWebhookEndpoint, which reads as true (the option came later; an endpoint with it on is
  // still written under 11, byte for byte as before).
  kPutWebhookEndpointWithoutPersonalData = 30,
  // 35..59: division accounts (docs/division-accounts.md).
  kPutMerchantDivision = 35,  // merchant id, category, division_direct
  kPutMaster = 36,
  kPutDivisionAccount = 37,
  kPutDivisionPayment = 38,
  kPutDivisionApproval = 39,
  // PutApiKey of a master's key (role kMaster): id, secret_hash, label, created_at, revoked_at,
  // master, expires_at (kPutApiKey never carries that role).
  kPutMasterKey = 40,
  // PutTransfer of a division transfer: the fields of kPutTransfer, then purpose and
  // division_payment (a pay-out is still written under 15, byte for byte as before).
  kPutDivisionTransfer = 41,
};

// Records a batch's writes as bytes, in call order: one record per call. Writes nothing
// anywhere; the caller takes bytes() and stores them.
class LogBatchEncoder final : public StoreWrites {
 public:
  void PutBank(const Bank& bank) override;
  void InsertMerchant(const Merchant& merchant) override;
  void UpdateMerchant(const Merchant& merchant) override;
  void InsertContract(const Contract& contract) override;
  void PutApiKey(const ApiKey& key) override;
  void PutNumber(const NumberRecord& number) override;
  void PutAssignment(const Assignment& assignment) override;
  void PutDeposit(const Deposit& deposit) override;
  void AppendLedgerEntry(const LedgerEntry& entry) override;
  void PutIdempotency(const IdempotencyRecord& record) override;
  void PutWebhookEndpoint(const WebhookEndpoint& endpoint) override;
  void AppendEvent(const Event& event) override;
  void PutDelivery(const Delivery& delivery) override;
  void PutStatementMessage(const StatementMessage& message) override;
  void PutStatement(const BankStatement& statement, const std::string& xml) override;
  void PutTransfer(const Transfer& transfer) override;
  void FailPendingDeliveries(const std::string& endpoint_id, const std::string& reason) override;
  void DeleteIdempotencyBefore(Instant cutoff, int limit) override;
  void PutBankChannels(const std::string& bank, std::uint32_t extra_channels) override;
  void PutPayoutPolicy(const PayoutPolicy& policy) override;
  void PutHolderInquiry(const HolderInquiryRecord& record) override;
  void PutMerchantDivision(const Merchant& merchant) override;
  void PutMaster(const Master& master) override;
  void PutDivisionAccount(const DivisionAccount& account) override;
  void PutDivisionPayment(const DivisionPayment& payment) override;
  void PutDivisionApproval(const DivisionApproval& approval) override;

  // The records written since the last clear(), back to back.
  const std::string& bytes() const { return bytes_; }
  bool empty() const { return records_ == 0; }
  // Forgets the records, keeping the buffer's capacity for the next batch.
  void clear() {
    bytes_.clear();
    records_ = 0;
  }
  // How many calls were recorded since clear().
  std::size_t records() const { return records_; }

 private:
  // Appends `tag`, counts the record, and returns the buffer for its fields.
  std::string& StartRecord(LogRecordTag tag);

  std::string bytes_;
  std::size_t records_ = 0;
};

// Decodes the records of one batch (what LogBatchEncoder::bytes() held) and calls the matching
// write of `target` for each, in order; an empty `bytes` is an empty batch. Each record is
// decoded whole before `target` hears of it. Fails with kInternal, naming the record, the field
// and the byte offset, on anything malformed: an unknown tag, data cut short, an enum, bool,
// presence byte or int out of range, an unknown currency, a length beyond the bytes left, a
// non-minimal or over-64-bit LEB128, trailing bytes. On a failure the records before the bad one
// have already been passed to `target` (the caller rolls back). Never reads outside `bytes`;
// every length and count is checked against the bytes left before anything is allocated.
Result<void> ReplayLogBatch(std::string_view bytes, StoreWrites& target);

// A record's bit in a set of tags (ReplayLogBatch's `wanted`).
constexpr std::uint64_t LogRecordBit(LogRecordTag tag) {
  return std::uint64_t{1} << static_cast<unsigned>(tag);
}
// As above, but hands `target` only the records whose tags are in `wanted` (LogRecordBit of
// each); the others are read and checked as strictly, into nothing (no text is copied for them).
Result<void> ReplayLogBatch(std::string_view bytes, StoreWrites& target, std::uint64_t wanted);

// One batch (LogBatchEncoder::bytes()) as one line of JSON, for people: an array of records in
// order, each an object with its write's name under "record" and every field under its name
// (instants as RFC 3339, money as minor units and currency, enums as their codes). Secrets
// (signing secrets, webhook secrets, key hashes) are written as "[redacted]" and a statement's
// XML only by its length. Fails as ReplayLogBatch does.
Result<std::string> DescribeLogBatch(std::string_view bytes);

}  // namespace varelay
