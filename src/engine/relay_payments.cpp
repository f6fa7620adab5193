// Issuance, the bank's pre-check and deposit notices, and the dispute look-ups.
#include <algorithm>
#include <type_traits>

#include "domain/assert.h"
#include "domain/bank_channels.h"
#include "domain/digest.h"
#include "domain/identifiers.h"
#include "engine/relay.h"

namespace varelay {
namespace {

// The issuing payload's meaningful fields, so a reused order id can be told apart from a replay.
std::string Fingerprint(const CreateAssignment& c) {
  std::string text = c.order_id + '|' + std::to_string(c.amount.minor()) + '|' +
                     std::string(c.amount.currency().code()) + '|' + c.bank + '|' + c.region + '|' +
                     c.customer.name + '|' + c.customer.phone + '|' + c.customer.email + '|' +
                     (c.due_at ? std::to_string(ToUnixMs(*c.due_at)) : "") + '|' +
                     (c.expires_in_s ? std::to_string(*c.expires_in_s) : "") + '|' +
                     std::string(AmountRuleKindName(c.rule.kind)) + '|' +
                     std::to_string(c.rule.min_minor) + '|' + std::to_string(c.rule.max_minor) +
                     '|' + std::string(OverpaymentName(c.rule.overpayment));
  return Sha256Hex(text);
}

std::string Fingerprint(const DepositNotice& n) {
  return Sha256Hex(n.number + '|' + std::to_string(n.amount.minor()) + '|' +
                   std::string(n.amount.currency().code()) + '|' + n.payer_name + '|' +
                   std::to_string(ToUnixMs(n.deposited_at)));
}

constexpr int kMaxPage = 500;

}  // namespace

Relay::Pool* Relay::ChoosePool(const std::string& merchant, const std::string& bank,
                               const std::string& region) {
  if (!region.empty()) {
    auto it = pools_.find(PoolKey(merchant, bank, region));
    return it == pools_.end() || it->second->free.empty() ? nullptr : it->second.get();
  }
  // Any region: the pool with the most free numbers, so regions drain evenly.
  Pool* best = nullptr;
  std::string prefix = merchant + '/' + bank + '/';
  for (auto it = pools_.lower_bound(prefix); it != pools_.end() && it->first.starts_with(prefix); ++it) {
    if (!best || it->second->free.size() > best->free.size()) best = it->second.get();
  }
  return best && !best->free.empty() ? best : nullptr;
}

Result<NumberSlot*> Relay::TakeNumber(const CreateAssignment& c, const std::string& merchant) {
  if (c.bank_number) return AdoptBankNumber(merchant, c.bank, c.region.empty() ? "realtime" : c.region, *c.bank_number);
  Pool* pool = ChoosePool(merchant, c.bank, c.region);
  if (!pool) {
    return Fail(ErrorCode::kPoolExhausted, "no free number at bank " + c.bank +
                                               (c.region.empty() ? "" : " in region " + c.region));
  }
  NumberSlot* slot = pool->free.front();
  pool->free.pop_front();
  return slot;
}

Result<NumberSlot*> Relay::AdoptBankNumber(const std::string& merchant, const std::string& bank,
                                           const std::string& region, const std::string& number) {
  if (NumberSlot* known = FindSlot(bank, number)) {
    // A number the bank issued before (a recycled one): usable only when it is this merchant's and free.
    if (known->merchant() != merchant || known->state != NumberState::kFree) {
      return Fail(ErrorCode::kBankNumberInUse, "bank " + bank + " issued number " + number + ", which is in use");
    }
    auto& free = known->pool->free;
    free.erase(std::find(free.begin(), free.end(), known));
    return known;
  }
  auto& pool = pools_[PoolKey(merchant, bank, region)];
  if (!pool) pool = std::make_unique<Pool>(Pool{merchant, bank, region, {}, 0, 0});
  if (!IsVirtualAccountNumber(number)) {
    return Fail(ErrorCode::kBankUnavailable, "bank " + bank + " issued a malformed number");
  }
  return &numbers_.Add(*pool, number);
}

Result<Assignment> Relay::LoadAssignment(const std::string& id) {
  if (auto it = live_.find(id); it != live_.end()) return it->second;
  auto stored = store_.FindAssignment(id);
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return Fail(ErrorCode::kNotFound, "no such assignment");
  return **stored;
}

Result<Outcome> Relay::Do(const Caller& caller, const CreateAssignment& c, Instant now) {
  if (caller.role != Role::kMerchant) return Fail(ErrorCode::kForbidden, "only a merchant key issues numbers");
  const Merchant& merchant = merchants_.at(caller.merchant);
  if (!merchant.active) return Fail(ErrorCode::kForbidden, "the merchant is inactive");
  if (!banks_.contains(c.bank)) return Fail(ErrorCode::kUnknownBank, "bank " + c.bank + " is not set up", "bank");
  auto contract = contracts_.find({caller.merchant, c.bank});
  if (contract == contracts_.end()) {
    return Fail(ErrorCode::kNoContract, "the merchant has no contract with bank " + c.bank, "bank");
  }
  Instant due = c.bank_due_at ? *c.bank_due_at
                : c.due_at    ? *c.due_at
                              : now + (c.expires_in_s ? Millis(*c.expires_in_s * 1000) : options_.default_due);
  if (due <= now) return Fail(ErrorCode::kInvalidField, "the due time has passed", "due_at");
  if (due > now + options_.max_due) return Fail(ErrorCode::kInvalidField, "the due time is more than 30 days ahead", "due_at");

  auto fingerprint = Fingerprint(c);
  auto existing = store_.FindAssignmentByOrder(caller.merchant, c.order_id);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    if ((*existing)->request_fingerprint != fingerprint) {
      return Fail(ErrorCode::kOrderIdConflict, "order " + c.order_id + " was issued with another payload", "order_id");
    }
    auto current = LoadAssignment((*existing)->id);
    if (!current) return std::unexpected(current.error());
    return AssignmentView{std::move(*current), false};
  }

  const Contract& terms = contract->second;
  if (terms.issuance == Issuance::kRealtime && !c.bank_number && !c.bank_failure) {
    return NeedsBankNumber{terms.realtime_url, terms.realtime_timeout_ms, caller.merchant, c.bank,
                           terms.mother_account, c.order_id, c.amount, due, banks_.at(c.bank).signing_secret};
  }
  if (c.bank_failure && !terms.fallback_to_pool) {
    return Fail(ErrorCode::kBankUnavailable, "bank " + c.bank + " issued no number: " + *c.bank_failure);
  }
  auto taken = TakeNumber(c, caller.merchant);
  if (!taken) return std::unexpected(taken.error());
  NumberSlot* slot = *taken;
  Pool* pool = slot->pool;
  ++pool->assigned;

  Assignment a;
  a.id = ids_.NewTimeOrderedId("asg_", ToUnixMs(now));
  a.merchant = caller.merchant;
  a.order_id = c.order_id;
  a.bank = c.bank;
  a.region = pool->region;
  a.number = slot->number.str();
  a.generation = slot->generation + 1;
  a.holder_name = contract->second.holder_name;
  a.amount = c.amount;
  a.rule = c.rule;
  a.customer = c.customer;
  a.created_at = now;
  a.due_at = due;
  a.request_fingerprint = std::move(fingerprint);

  slot->state = NumberState::kAssigned;
  slot->generation = a.generation;
  slot->assignment_id.Assign(a.id);
  slot->release_at.reset();
  Touch(*slot);
  store_.PutAssignment(a);
  expiries_.emplace(a.due_at, a.id);
  std::string id = a.id;
  auto [it, inserted] = live_.insert_or_assign(std::move(id), std::move(a));
  Emit(EventType::kAssignmentCreated, *slot, &it->second, nullptr, now);
  return AssignmentView{it->second, true};
}

Result<Outcome> Relay::Do(const Caller& caller, const GetAssignment& c, Instant) {
  if (caller.role != Role::kMerchant && caller.role != Role::kAdmin) {
    return Fail(ErrorCode::kForbidden, "banks do not read assignments");
  }
  auto a = LoadAssignment(c.id);
  if (!a) return std::unexpected(a.error());
  if (caller.role == Role::kMerchant && a->merchant != caller.merchant) {
    return Fail(ErrorCode::kNotFound, "no such assignment");
  }
  return AssignmentView{std::move(*a), false};
}

Result<Outcome> Relay::Do(const Caller& caller, const GetOrder& c, Instant) {
  if (caller.role != Role::kMerchant) return Fail(ErrorCode::kForbidden, "orders belong to merchant keys");
  auto stored = store_.FindAssignmentByOrder(caller.merchant, c.order_id);
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return Fail(ErrorCode::kNotFound, "no assignment for that order");
  auto a = LoadAssignment((*stored)->id);
  if (!a) return std::unexpected(a.error());
  return AssignmentView{std::move(*a), false};
}

Result<Outcome> Relay::Do(const Caller& caller, const CancelAssignment& c, Instant now) {
  if (caller.role != Role::kMerchant) return Fail(ErrorCode::kForbidden, "only a merchant key cancels");
  auto it = live_.find(c.id);
  if (it == live_.end() || it->second.merchant != caller.merchant) {
    auto stored = LoadAssignment(c.id);
    if (!stored) return std::unexpected(stored.error());
    if (stored->merchant != caller.merchant) return Fail(ErrorCode::kNotFound, "no such assignment");
    return Fail(ErrorCode::kAssignmentNotCancellable,
                "the assignment is " + std::string(AssignmentStatusName(stored->status)));
  }
  Assignment& a = it->second;
  if (a.status != AssignmentStatus::kOpen) {
    return Fail(ErrorCode::kAssignmentNotCancellable, "the assignment is " + std::string(AssignmentStatusName(a.status)));
  }
  if (a.paid_minor > 0) {
    return Fail(ErrorCode::kAssignmentNotCancellable, "money has been received for this assignment");
  }
  Close(a, AssignmentStatus::kCancelled, now);
  return AssignmentView{a, false};
}

Result<Outcome> Relay::Do(const Caller& caller, const FindDeposits& c, Instant) {
  DepositQuery q = c.query;
  if (caller.role == Role::kMerchant) q.merchant = caller.merchant;
  if (caller.role == Role::kBank) q.bank = caller.bank;
  const int limit = std::clamp(q.limit, 1, kMaxPage);
  q.limit = limit + 1;  // one more, to know whether another page follows
  auto rows = store_.QueryDeposits(q);
  if (!rows) return std::unexpected(rows.error());
  DepositPage page;
  page.items = std::move(*rows);
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_after = page.items.back().id;
  }
  return page;
}

Result<Outcome> Relay::Do(const Caller& caller, const FindLedgerEntries& c, Instant) {
  if (caller.role == Role::kBank) return Fail(ErrorCode::kForbidden, "banks do not read the ledger");
  LedgerQuery q = c.query;
  if (caller.role == Role::kMerchant) q.merchant = caller.merchant;
  const int limit = std::clamp(q.limit, 1, kMaxPage);
  q.limit = limit + 1;  // one more, to know whether another page follows
  auto rows = store_.QueryLedger(q);
  if (!rows) return std::unexpected(rows.error());
  LedgerPage page;
  page.items = std::move(*rows);
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_after = page.items.back().seq;
  }
  return page;
}

// ---- bank side ------------------------------------------------------------------------------

Result<void> Relay::CheckChannel(const Caller& caller, bool precheck) const {
  auto bank = banks_.find(caller.bank);
  if (bank == banks_.end()) return Fail(ErrorCode::kUnauthorized, "bank " + caller.bank + " is not set up");
  // ISO 20022 has no pre-check message: an iso20022 bank pre-checks over JSON. A pre-check books
  // nothing, so it cannot book a credit twice.
  const bool iso_precheck = precheck && caller.channel == BankProtocol::kJson &&
                            AcceptsChannel(bank->second, BankProtocol::kIso20022);
  if (!iso_precheck && (!caller.channel || !AcceptsChannel(bank->second, *caller.channel))) {
    const std::string came = caller.channel ? std::string(BankProtocolName(*caller.channel)) : "an unnamed channel";
    return Fail(ErrorCode::kChannelNotAllowed, "bank " + caller.bank + " reports by " +
                                                   std::string(BankProtocolName(bank->second.protocol)) +
                                                   ", not by " + came + " (an admin may allow it: PATCH /v1/banks/" +
                                                   caller.bank + " extra_channels)");
  }
  return {};
}

Result<std::optional<Deposit>> Relay::FindCredit(const std::string& bank, const std::string& transaction_id,
                                                 bool by_cancellation) {
  auto find = [&](const std::string& id) {
    return by_cancellation ? store_.FindDepositByCancellation(bank, id) : store_.FindDeposit(bank, id);
  };
  auto found = find(transaction_id);
  if (!found || *found) return found;
  // A bank on one channel names its credits one way: the other form is never looked for.
  auto it = banks_.find(bank);
  if (it == banks_.end() || !HasSeveralChannels(it->second)) return found;
  return find(OtherChannelForm(transaction_id));
}

Result<Outcome> Relay::Do(const Caller& caller, const Precheck& c, Instant now) {
  if (caller.role != Role::kBank) return Fail(ErrorCode::kForbidden, "only a bank key pre-checks deposits");
  if (auto r = CheckChannel(caller, true); !r) return std::unexpected(r.error());
  PrecheckAnswer answer;
  auto refuse = [&](PrecheckRefusal why) {
    answer.refusal = why;
    return Result<Outcome>(answer);
  };
  NumberSlot* slot = FindSlot(caller.bank, c.number);
  if (!slot) return refuse(PrecheckRefusal::kUnknownNumber);
  if (slot->state == NumberState::kCooling) {
    const auto& tombstone = LiveAssignment(*slot);
    return refuse(tombstone.status == AssignmentStatus::kExpired ? PrecheckRefusal::kExpired
                                                                 : PrecheckRefusal::kNotAssigned);
  }
  if (slot->state != NumberState::kAssigned) return refuse(PrecheckRefusal::kNotAssigned);
  const Assignment& a = LiveAssignment(*slot);
  if (!merchants_.at(a.merchant).active) return refuse(PrecheckRefusal::kMerchantInactive);
  if (now >= a.due_at) return refuse(PrecheckRefusal::kExpired);
  if (c.amount.currency() != a.amount.currency() ||
      !AcceptsAmount({a.rule, a.amount.minor(), a.paid_minor}, c.amount.minor())) {
    return refuse(PrecheckRefusal::kAmountMismatch);
  }
  answer.holder_name = a.holder_name;
  answer.due_at = a.due_at;
  return answer;
}

void Relay::AppendLedger(Instant at, EntryKind kind, const Deposit& deposit,
                         std::vector<LedgerLine> lines) {
  auto entry = ChainEntry(ledger_seq_ + 1, ledger_hash_, at, kind, deposit.id,
                          deposit.amount.currency(), std::move(lines));
  store_.AppendLedgerEntry(entry);
  ledger_seq_ = entry.seq;
  ledger_hash_ = std::move(entry.hash);
}

// Decides where a new deposit's money goes and applies it to the assignment it belongs to.
Result<Deposit> Relay::BookDeposit(const std::string& bank, const DepositNotice& n, Instant now) {
  Deposit d;
  d.id = ids_.NewTimeOrderedId("dep_", ToUnixMs(now));
  d.bank = bank;
  d.transaction_id = n.transaction_id;
  d.number = n.number;
  d.amount = n.amount;
  d.payer_name = n.payer_name;
  d.deposited_at = n.deposited_at;
  d.received_at = now;
  d.notice_fingerprint = Fingerprint(n);
  auto park = [&](DepositOutcome why) {
    d.outcome = why;
    d.parked_minor = d.amount.minor();
  };
  auto attribute = [&](const Assignment& a) {
    d.assignment_id = a.id;
    d.order_id = a.order_id;
    d.merchant = a.merchant;
    d.generation = a.generation;
  };

  NumberSlot* slot = FindSlot(bank, n.number);
  if (!slot) {
    park(DepositOutcome::kUnknownNumber);
    return d;
  }
  if (slot->state == NumberState::kAssigned) {
    Assignment& open = LiveAssignment(*slot);
    if (now >= open.due_at) Close(open, AssignmentStatus::kExpired, open.due_at);  // the sweeper's job, done now
  }
  if (slot->state == NumberState::kFree) {
    d.merchant = slot->merchant();  // the pool's owner can find it in a dispute look-up
    park(DepositOutcome::kNotAssigned);
    return d;
  }
  Assignment& a = LiveAssignment(*slot);
  attribute(a);
  if (slot->state == NumberState::kCooling) {
    park(DepositOutcome::kLate);
    return d;
  }
  if (n.amount.currency() != a.amount.currency()) {
    park(DepositOutcome::kAmountMismatch);
    return d;
  }
  Allocation split = Allocate({a.rule, a.amount.minor(), a.paid_minor}, n.amount.minor());
  d.outcome = split.outcome;
  d.to_merchant_minor = split.to_merchant_minor;
  d.parked_minor = split.to_suspense_minor;
  if (split.to_merchant_minor > 0) {
    a.paid_minor += split.to_merchant_minor;
    if (split.completes_order) {
      Close(a, AssignmentStatus::kPaid, now);
    } else {
      store_.PutAssignment(a);
    }
  }
  return d;
}

Result<Outcome> Relay::Do(const Caller& caller, const DepositNotice& c, Instant now) {
  if (caller.role != Role::kBank) return Fail(ErrorCode::kForbidden, "only a bank key reports deposits");
  if (auto r = CheckChannel(caller); !r) return std::unexpected(r.error());
  auto existing = FindCredit(caller.bank, c.transaction_id, false);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    const Deposit& d = **existing;
    // The same credit from another channel: its payer's name and time may be written otherwise
    // (a telegram's fixed-width EUC-KR field), the number and the amount may not.
    const bool other_channel = d.transaction_id != c.transaction_id;
    const bool same = other_channel ? d.number == c.number && d.amount == c.amount
                                    : d.notice_fingerprint == Fingerprint(c);
    if (!same) {
      return Fail(ErrorCode::kTransactionIdConflict,
                  "transaction " + c.transaction_id + " was reported with other content", "transaction_id");
    }
    return DepositAck{std::move(**existing), true};
  }
  // A bank's transaction ids are unique across its notices and its cancellations.
  auto cancelled_by = FindCredit(caller.bank, c.transaction_id, true);
  if (!cancelled_by) return std::unexpected(cancelled_by.error());
  if (*cancelled_by) {
    return Fail(ErrorCode::kTransactionIdConflict,
                "transaction " + c.transaction_id + " is a cancellation already", "transaction_id");
  }
  auto deposit = BookDeposit(caller.bank, c, now);
  if (!deposit) return std::unexpected(deposit.error());
  store_.PutDeposit(*deposit);
  AppendLedger(now, EntryKind::kDeposit, *deposit, DepositLines(*deposit));
  ++deposits_by_outcome_[static_cast<std::size_t>(deposit->outcome)];
  if (NumberSlot* slot = FindSlot(caller.bank, c.number)) {
    auto a = live_.find(deposit->assignment_id);
    Emit(DepositEventType(deposit->outcome), *slot, a == live_.end() ? nullptr : &a->second, &*deposit, now);
  }
  return DepositAck{std::move(*deposit), false};
}

Result<Outcome> Relay::Do(const Caller& caller, const CancelDeposit& c, Instant now) {
  if (caller.role != Role::kBank) return Fail(ErrorCode::kForbidden, "only a bank key cancels deposits");
  if (auto r = CheckChannel(caller); !r) return std::unexpected(r.error());
  auto conflict = [&] {
    return Fail(ErrorCode::kTransactionIdConflict,
                "transaction " + c.transaction_id + " was already used for something else", "transaction_id");
  };
  // The cancellation's own id: a repeat of the same cancellation is acknowledged again; the id
  // used for anything else is a conflict and changes nothing.
  auto earlier = FindCredit(caller.bank, c.transaction_id, true);
  if (!earlier) return std::unexpected(earlier.error());
  if (*earlier) {
    if (CreditReference((*earlier)->transaction_id) != CreditReference(c.original_transaction_id) ||
        ((*earlier)->cancel_transaction_id == c.transaction_id && (*earlier)->cancelled_at != c.cancelled_at)) {
      return conflict();
    }
    return DepositAck{std::move(**earlier), true};
  }
  auto notice = FindCredit(caller.bank, c.transaction_id, false);
  if (!notice) return std::unexpected(notice.error());
  if (*notice) return conflict();

  auto found = FindCredit(caller.bank, c.original_transaction_id, false);
  if (!found) return std::unexpected(found.error());
  if (!*found) return Fail(ErrorCode::kNotFound, "no deposit with transaction id " + c.original_transaction_id);
  Deposit d = std::move(**found);
  // Already reversed by another cancellation: the money goes back once.
  if (d.status == DepositStatus::kCancelled) return DepositAck{std::move(d), true};

  d.status = DepositStatus::kCancelled;
  d.cancelled_at = c.cancelled_at;  // the bank's time; the reversal entry carries ours
  d.cancel_transaction_id = c.transaction_id;
  std::optional<Assignment> reported;  // the assignment as it stands after the reversal
  if (auto it = live_.find(d.assignment_id); it != live_.end()) reported = it->second;
  if (d.to_merchant_minor > 0) {
    auto it = live_.find(d.assignment_id);
    if (it != live_.end()) {
      Assignment& a = it->second;
      a.paid_minor -= d.to_merchant_minor;
      VARELAY_INVARIANT(a.paid_minor >= 0, "a cancellation never takes back more than was paid");
      NumberSlot* slot = FindSlot(a.bank, a.number);
      // Paid by this deposit, still in quarantine and not yet due: the order is open again.
      if (a.status == AssignmentStatus::kPaid && now < a.due_at && slot &&
          slot->state == NumberState::kCooling && slot->assignment_id == a.id) {
        a.status = AssignmentStatus::kOpen;
        a.closed_at.reset();
        --slot->pool->cooling;
        ++slot->pool->assigned;
        slot->state = NumberState::kAssigned;
        slot->release_at.reset();
        Touch(*slot);
        expiries_.emplace(a.due_at, a.id);
      }
      store_.PutAssignment(a);
      reported = a;
    } else {
      auto stored = store_.FindAssignment(d.assignment_id);
      if (!stored) return std::unexpected(stored.error());
      if (*stored) {
        (*stored)->paid_minor -= d.to_merchant_minor;
        store_.PutAssignment(**stored);
        reported = **stored;
      }
    }
  } else if (!reported && !d.assignment_id.empty()) {
    auto stored = store_.FindAssignment(d.assignment_id);
    if (!stored) return std::unexpected(stored.error());
    if (*stored) reported = **stored;
  }
  store_.PutDeposit(d);
  AppendLedger(now, EntryKind::kReversal, d, ReversedLines(DepositLines(d)));
  if (NumberSlot* slot = FindSlot(d.bank, d.number)) {
    Emit(EventType::kDepositCancelled, *slot, reported ? &*reported : nullptr, &d, now);
  }
  return DepositAck{std::move(d), false};
}

Result<Outcome> Relay::Do(const Caller& caller, const StoreStatements& c, Instant now) {
  if (caller.role != Role::kBank) return Fail(ErrorCode::kForbidden, "only a bank key sends statements");
  if (auto r = CheckChannel(caller); !r) return std::unexpected(r.error());
  if (c.statements.size() > kMaxStatementsPerMessage) {
    return Fail(ErrorCode::kBodyTooLarge,
                "at most " + std::to_string(kMaxStatementsPerMessage) + " statements per message");
  }
  StatementList list;
  StatementMessage fresh{caller.bank, {}, c.xml, now, {}};
  for (BankStatement s : c.statements) {
    s.bank = caller.bank;
    s.received_at = now;
    // A statement id twice in one message: the second is a duplicate of the first (a linear
    // search: at most kMaxStatementsPerMessage of them).
    std::optional<BankStatement> stored;
    if (auto it = std::find_if(fresh.statements.begin(), fresh.statements.end(),
                               [&](const BankStatement& f) {
                                 return f.statement_id == s.statement_id && f.message_id == s.message_id;
                               });
        it != fresh.statements.end()) {
      stored = *it;
    } else {
      auto found = store_.FindStatement(s.bank, s.message_id, s.statement_id);
      if (!found) return std::unexpected(found.error());
      stored = std::move(*found);
    }
    list.duplicate.push_back(stored.has_value());
    if (stored) {
      list.items.push_back(std::move(*stored));
      continue;
    }
    if (!fresh.statements.empty() && fresh.message_id != s.message_id) {
      store_.PutStatementMessage(fresh);  // a command of several messages (not from camt.053)
      fresh.statements.clear();
    }
    fresh.message_id = s.message_id;
    fresh.statements.push_back(s);
    list.items.push_back(std::move(s));
  }
  // One write for the message: its XML goes into the log once, however many statements it holds.
  if (!fresh.statements.empty()) store_.PutStatementMessage(fresh);
  return list;
}

Result<Outcome> Relay::Do(const Caller& caller, const ListStatements& c, Instant) {
  if (caller.role == Role::kMerchant) return Fail(ErrorCode::kForbidden, "statements are read by admin and bank keys");
  std::string bank = caller.role == Role::kBank ? caller.bank : c.bank;
  auto rows = store_.QueryStatements(bank, std::clamp(c.limit, 1, kMaxPage));
  if (!rows) return std::unexpected(rows.error());
  return StatementList{std::move(*rows), {}};
}

Result<Outcome> Relay::Do(const Caller& caller, const ImportNotices& c, Instant now) {
  if (caller.role != Role::kBank) return Fail(ErrorCode::kForbidden, "only a bank key reports deposits");
  if (auto r = CheckChannel(caller); !r) return std::unexpected(r.error());
  if (c.notices.size() > kMaxNoticesPerImport) {
    return Fail(ErrorCode::kBodyTooLarge, "at most " + std::to_string(kMaxNoticesPerImport) + " notices per message");
  }
  ImportReport report{c.source, {}, c.skipped};
  report.items.reserve(c.notices.size());
  for (const auto& notice : c.notices) {
    ImportedNotice item;
    auto result = std::visit([&](const auto& n) {
      item.transaction_id = n.transaction_id;
      item.cancellation = std::is_same_v<std::decay_t<decltype(n)>, CancelDeposit>;
      return Do(caller, n, now);
    }, notice);
    if (result) {
      item.ack = std::get<DepositAck>(std::move(*result));
    } else {
      item.refusal = result.error();
    }
    report.items.push_back(std::move(item));
  }
  return report;
}

}  // namespace varelay
