#include "bank.h"

#include <algorithm>
#include <utility>

#include "domain/identifiers.h"

namespace varelay::banksim {
namespace {

bool IsDigits(std::string_view s, std::size_t min_len, std::size_t max_len) {
  if (s.size() < min_len || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsName(std::string_view s, bool may_be_empty) {
  if (s.empty()) return may_be_empty;
  return IsValidUtf8(s) && IsCleanText(s, 100);
}

std::unexpected<BankError> Refuse(BankErrc code, std::string detail) {
  return std::unexpected<BankError>(BankError{code, std::move(detail)});
}

BankResult<void> CheckAmount(Money amount) {
  if (amount.currency() != Currency::Krw())
    return Refuse(BankErrc::kInvalidField, "the bank keeps KRW accounts only");
  if (amount.minor() < 1 || amount.minor() > kMaxAmountMinor) {
    return Refuse(BankErrc::kInvalidField, "amount must be 1 to 9999999999999");
  }
  return {};
}

std::string ZeroPad(std::uint64_t value, std::size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

// The effect of a booking on one account's balance, in minor units.
std::int64_t NetFor(const Booking& b, std::string_view account) {
  std::int64_t net = 0;
  if (b.credit_account == account) net += b.amount.minor();
  if (b.debit_account == account) net -= b.amount.minor();
  return net;
}

Money Krw(std::int64_t minor) { return Money(minor, Currency::Krw()); }

// "YYYYMMDD" of the Korean business day of `t`.
std::string KstDayText(Instant t) {
  std::chrono::year_month_day ymd{BusinessDay(t)};
  return ZeroPad(static_cast<std::uint64_t>(static_cast<int>(ymd.year())), 4) +
         ZeroPad(static_cast<unsigned>(ymd.month()), 2) +
         ZeroPad(static_cast<unsigned>(ymd.day()), 2);
}

Instant WholeSeconds(Instant t) {
  return std::chrono::time_point_cast<Millis>(std::chrono::floor<std::chrono::seconds>(t));
}

}  // namespace

std::chrono::sys_days BusinessDay(Instant t) {
  return std::chrono::floor<std::chrono::days>(t + kBusinessDayOffset);
}

// ---- names
// ---------------------------------------------------------------------------------------

std::string_view Name(AccountKind kind) {
  return kind == AccountKind::kMother ? "mother" : "customer";
}
std::string_view Name(IssueMode mode) {
  return mode == IssueMode::kRealTime ? "realtime" : "batch";
}
std::string_view Name(BookingKind kind) {
  switch (kind) {
    case BookingKind::kDeposit:
      return "deposit";
    case BookingKind::kCancellation:
      return "cancellation";
    case BookingKind::kWithdrawal:
      return "withdrawal";
  }
  return "?";
}
std::string_view Name(NoticeKind kind) {
  return kind == NoticeKind::kCancellation ? "cancellation" : "deposit";
}
std::string_view Name(NoticeState state) {
  switch (state) {
    case NoticeState::kPending:
      return "pending";
    case NoticeState::kAnswered:
      return "answered";
    case NoticeState::kFailed:
      return "failed";
  }
  return "?";
}
std::string_view Name(WithdrawalStatus status) {
  return status == WithdrawalStatus::kRefused ? "refused" : "completed";
}

std::optional<AccountKind> ParseAccountKind(std::string_view text) {
  if (text == "customer") return AccountKind::kCustomer;
  if (text == "mother") return AccountKind::kMother;
  return std::nullopt;
}
std::optional<IssueMode> ParseIssueMode(std::string_view text) {
  if (text == "batch") return IssueMode::kBatch;
  if (text == "realtime") return IssueMode::kRealTime;
  return std::nullopt;
}
std::optional<BookingKind> ParseBookingKind(std::string_view text) {
  if (text == "deposit") return BookingKind::kDeposit;
  if (text == "cancellation") return BookingKind::kCancellation;
  if (text == "withdrawal") return BookingKind::kWithdrawal;
  return std::nullopt;
}
std::optional<NoticeKind> ParseNoticeKind(std::string_view text) {
  if (text == "deposit") return NoticeKind::kDeposit;
  if (text == "cancellation") return NoticeKind::kCancellation;
  return std::nullopt;
}
std::optional<NoticeState> ParseNoticeState(std::string_view text) {
  if (text == "pending") return NoticeState::kPending;
  if (text == "answered") return NoticeState::kAnswered;
  if (text == "failed") return NoticeState::kFailed;
  return std::nullopt;
}
std::optional<WithdrawalStatus> ParseWithdrawalStatus(std::string_view text) {
  if (text == "completed") return WithdrawalStatus::kCompleted;
  if (text == "refused") return WithdrawalStatus::kRefused;
  return std::nullopt;
}

std::string_view BankErrcName(BankErrc code) {
  switch (code) {
    case BankErrc::kInvalidField:
      return "invalid_field";
    case BankErrc::kNotFound:
      return "not_found";
    case BankErrc::kAccountExists:
      return "account_exists";
    case BankErrc::kWrongAccountKind:
      return "wrong_account_kind";
    case BankErrc::kUnknownNumber:
      return "unknown_number";
    case BankErrc::kNoMotherAccount:
      return "no_mother_account";
    case BankErrc::kInsufficientFunds:
      return "insufficient_funds";
    case BankErrc::kBalanceLimit:
      return "balance_limit";
    case BankErrc::kAlreadyCancelled:
      return "already_cancelled";
    case BankErrc::kHolderMismatch:
      return "holder_mismatch";
    case BankErrc::kReferenceConflict:
      return "reference_conflict";
    case BankErrc::kNumbersExhausted:
      return "numbers_exhausted";
    case BankErrc::kLimitReached:
      return "limit_reached";
  }
  return "internal";
}

// ---- construction and the state file -----------------------------------------------------------

Bank::Bank(BankOptions options, std::string run_id, BankJournal* journal)
    : options_(std::move(options)), journal_(journal) {
  counters_.run_id = std::move(run_id);
}

void Bank::Restore(const BankRecord& record) {
  std::visit(
      [this](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, Account>) {
          accounts_.insert_or_assign(r.number, r);
        } else if constexpr (std::is_same_v<T, VirtualAccount>) {
          virtual_accounts_.insert_or_assign(r.number, r);
        } else if constexpr (std::is_same_v<T, Booking>) {
          if (auto it = booking_index_.find(r.id); it != booking_index_.end()) {
            bookings_[it->second] = r;
          } else {
            booking_index_.emplace(r.id, bookings_.size());
            bookings_.push_back(r);
          }
        } else if constexpr (std::is_same_v<T, Notice>) {
          notices_.insert_or_assign(r.seq, r);
        } else if constexpr (std::is_same_v<T, Withdrawal>) {
          withdrawals_.insert_or_assign(r.reference, r);
        } else {
          counters_ = r;
        }
      },
      record);
}

BankResult<void> Bank::FinishRestore() {
  pending_.clear();
  notice_by_transaction_.clear();
  // Notices written before telegram sequences existed get one of their queue day, numbered after
  // every sequence that day already has; the counters then continue from the latest day.
  std::map<std::string, std::uint32_t> next_by_day;
  if (!counters_.sequence_day.empty())
    next_by_day[counters_.sequence_day] = counters_.next_sequence;
  for (const auto& [seq, notice] : notices_) {
    if (notice.telegram.sequence == 0) continue;
    auto& next = next_by_day.try_emplace(KstDayText(notice.telegram.sent_at), 1).first->second;
    next = std::max(next, notice.telegram.sequence + 1);
  }
  for (auto& [seq, notice] : notices_) {
    if (notice.state == NoticeState::kPending) pending_.insert(seq);
    notice_by_transaction_[notice.transaction_id] = seq;
    if (notice.telegram.sequence != 0) continue;
    auto& next = next_by_day.try_emplace(KstDayText(notice.queued_at), 1).first->second;
    notice.telegram =
        TelegramRef{std::min(next, kMaxTelegramSequence), WholeSeconds(notice.queued_at)};
    ++next;
  }
  if (!next_by_day.empty() && next_by_day.rbegin()->first >= counters_.sequence_day) {
    counters_.sequence_day = next_by_day.rbegin()->first;
    counters_.next_sequence = next_by_day.rbegin()->second;
  }
  return CheckInvariants();
}

void Bank::ReleasePendingNotices(Instant now) {
  for (auto seq : pending_) {
    Notice& notice = notices_.at(seq);
    if (notice.next_send_at > now) notice.next_send_at = now;
  }
}

std::vector<BankRecord> Bank::Snapshot() const {
  std::vector<BankRecord> records;
  records.reserve(1 + accounts_.size() + virtual_accounts_.size() + bookings_.size() +
                  notices_.size() + withdrawals_.size());
  records.emplace_back(counters_);
  for (const auto& [number, account] : accounts_) records.emplace_back(account);
  for (const auto& [number, va] : virtual_accounts_) records.emplace_back(va);
  for (const auto& booking : bookings_) records.emplace_back(booking);
  for (const auto& [seq, notice] : notices_) records.emplace_back(notice);
  for (const auto& [reference, withdrawal] : withdrawals_) records.emplace_back(withdrawal);
  return records;
}

void Bank::Persist(std::vector<BankRecord> records) {
  if (journal_) journal_->Append(records);
}

BankResult<TelegramRef> Bank::NextTelegramRef(Instant now) {
  std::string day = KstDayText(now);
  if (day != counters_.sequence_day) {
    counters_.sequence_day = day;
    counters_.next_sequence = 1;
  }
  if (counters_.next_sequence > kMaxTelegramSequence)
    return Refuse(BankErrc::kLimitReached, "the bank has sent 999999 telegrams today (KST)");
  return TelegramRef{counters_.next_sequence++, WholeSeconds(now)};
}

BankResult<TelegramRef> Bank::NextInquiryRef(Instant now) {
  auto ref = NextTelegramRef(now);
  if (ref) Persist({counters_});
  return ref;
}

std::string Bank::NextTransactionId() {
  // bank code (3) + run id (4) + sequence (8): 15 characters, the width of a telegram's bank
  // reference field, unique across restarts because the sequence is persisted.
  return options_.bank_code + counters_.run_id + ZeroPad(counters_.next_seq++, 8);
}

// ---- accounts
// ------------------------------------------------------------------------------------

BankResult<Account> Bank::OpenAccount(Account account, Instant now) {
  if (!IsDigits(account.number, 6, 20))
    return Refuse(BankErrc::kInvalidField, "number must be 6 to 20 digits");
  if (!IsName(account.holder_name, false)) {
    return Refuse(BankErrc::kInvalidField,
                  "holder_name must be 1 to 100 characters without control characters");
  }
  if (account.opening_balance.currency() != Currency::Krw() ||
      account.opening_balance.minor() < 0 || account.opening_balance.minor() > kMaxBalanceMinor) {
    return Refuse(BankErrc::kInvalidField, "balance must be 0 to 99999999999999999 KRW");
  }
  if (!account.prefix.empty()) {
    if (account.kind != AccountKind::kMother) {
      return Refuse(BankErrc::kInvalidField, "only a mother account has a virtual-number prefix");
    }
    if (!IsDigits(account.prefix, 1, 12))
      return Refuse(BankErrc::kInvalidField, "prefix must be 1 to 12 digits");
    for (const auto& [number, other] : accounts_) {
      if (other.prefix == account.prefix) {
        return Refuse(BankErrc::kInvalidField,
                      "prefix " + account.prefix + " belongs to account " + number);
      }
    }
  }
  if (accounts_.contains(account.number)) {
    return Refuse(BankErrc::kAccountExists, "account " + account.number + " exists");
  }
  if (accounts_.size() >= kMaxAccounts)
    return Refuse(BankErrc::kLimitReached, "the bank holds 100000 accounts at most");
  account.balance = account.opening_balance;
  account.opened_at = now;
  accounts_.emplace(account.number, account);
  Persist({account});
  return account;
}

const Account* Bank::FindAccount(std::string_view number) const {
  auto it = accounts_.find(number);
  return it == accounts_.end() ? nullptr : &it->second;
}

std::vector<Account> Bank::Accounts() const {
  std::vector<Account> out;
  out.reserve(accounts_.size());
  for (const auto& [number, account] : accounts_) out.push_back(account);
  return out;
}

// ---- virtual accounts
// ----------------------------------------------------------------------------

const Account* Bank::MotherFor(std::string_view number) const {
  if (auto it = virtual_accounts_.find(number); it != virtual_accounts_.end()) {
    return FindAccount(it->second.mother_account);
  }
  const Account* best = nullptr;
  for (const auto& [n, account] : accounts_) {
    if (account.kind != AccountKind::kMother || account.prefix.empty()) continue;
    if (number.starts_with(account.prefix) &&
        (!best || account.prefix.size() > best->prefix.size())) {
      best = &account;
    }
  }
  return best;
}

std::optional<VirtualAccount> Bank::FindVirtualAccount(std::string_view number) const {
  auto it = virtual_accounts_.find(number);
  if (it == virtual_accounts_.end()) return std::nullopt;
  return it->second;
}

BankResult<const Account*> Bank::ResolveMother(const IssueRequest& request,
                                               std::string& prefix) const {
  const Account* mother = nullptr;
  if (!request.mother_account.empty()) {
    mother = FindAccount(request.mother_account);
    if (!mother) return Refuse(BankErrc::kNotFound, "no account " + request.mother_account);
    if (mother->kind != AccountKind::kMother) {
      return Refuse(BankErrc::kWrongAccountKind,
                    "account " + request.mother_account + " is not a mother account");
    }
  } else {
    if (!request.prefix.empty()) mother = MotherFor(request.prefix);
    if (!mother) {
      std::size_t mothers = 0;
      for (const auto& [number, account] : accounts_) {
        if (account.kind == AccountKind::kMother) {
          ++mothers;
          mother = &account;
        }
      }
      if (mothers != 1) {
        return Refuse(BankErrc::kNoMotherAccount, "name mother_account: the bank has " +
                                                      std::to_string(mothers) + " mother accounts");
      }
    }
  }
  prefix = !request.prefix.empty()   ? request.prefix
           : !mother->prefix.empty() ? mother->prefix
                                     : "9" + options_.bank_code;
  if (!IsDigits(prefix, 1, 12))
    return Refuse(BankErrc::kInvalidField, "prefix must be 1 to 12 digits");
  return mother;
}

BankResult<std::vector<VirtualAccount>> Bank::IssueBlock(const IssueRequest& request, Instant now) {
  return Issue(request, IssueMode::kBatch, now);
}

BankResult<VirtualAccount> Bank::IssueOne(const IssueRequest& request, Instant now) {
  IssueRequest one = request;
  one.count = 1;
  auto issued = Issue(one, IssueMode::kRealTime, now);
  if (!issued) return std::unexpected(issued.error());
  return issued->front();
}

BankResult<std::vector<VirtualAccount>> Bank::Issue(const IssueRequest& request, IssueMode mode,
                                                    Instant now) {
  if (request.count < 1 || request.count > kMaxBlockSize) {
    return Refuse(BankErrc::kInvalidField, "count must be 1 to 10000");
  }
  std::string prefix;
  auto mother = ResolveMother(request, prefix);
  if (!mother) return std::unexpected(mother.error());
  if (virtual_accounts_.size() + request.count > kMaxVirtualAccounts) {
    return Refuse(BankErrc::kLimitReached, "the bank issues 1000000 virtual accounts at most");
  }
  // Numbers are generated first and committed together, so a failure issues none.
  std::size_t width = kIssuedNumberDigits - prefix.size();
  std::uint64_t capacity = 1;
  for (std::size_t i = 0; i < width; ++i) capacity *= 10;
  std::uint64_t serial =
      counters_.next_serial.contains(prefix) ? counters_.next_serial.at(prefix) : 1;
  std::vector<VirtualAccount> issued;
  issued.reserve(request.count);
  while (issued.size() < request.count) {
    if (serial >= capacity)
      return Refuse(BankErrc::kNumbersExhausted, "prefix " + prefix + " has no numbers left");
    std::string number = prefix + ZeroPad(serial++, width);
    if (virtual_accounts_.contains(number)) continue;  // issued before under another prefix length
    issued.push_back(VirtualAccount{std::move(number), (*mother)->number, mode, now});
  }
  counters_.next_serial[prefix] = serial;
  std::vector<BankRecord> records{counters_};
  for (const auto& va : issued) {
    virtual_accounts_.emplace(va.number, va);
    records.emplace_back(va);
  }
  Persist(std::move(records));
  return issued;
}

// ---- payments
// ------------------------------------------------------------------------------------

BankResult<PaymentRoute> Bank::PreparePayment(const PaymentOrder& order) const {
  if (auto ok = CheckAmount(order.amount); !ok) return std::unexpected(ok.error());
  if (!IsVirtualAccountNumber(order.to_number))
    return Refuse(BankErrc::kInvalidField, "to_number must be 6 to 16 digits");
  if (!IsName(order.payer_name, true)) {
    return Refuse(BankErrc::kInvalidField,
                  "payer_name must be at most 100 characters without control characters");
  }
  const Account* payer = FindAccount(order.from_account);
  if (!payer) return Refuse(BankErrc::kNotFound, "no account " + order.from_account);
  if (payer->kind != AccountKind::kCustomer) {
    return Refuse(BankErrc::kWrongAccountKind,
                  "account " + order.from_account + " is not a customer account");
  }
  const Account* mother = MotherFor(order.to_number);
  if (!mother)
    return Refuse(BankErrc::kUnknownNumber,
                  "number " + order.to_number + " is not in front of any mother account");
  if (payer->balance.minor() < order.amount.minor()) {
    return Refuse(
        BankErrc::kInsufficientFunds,
        "account " + payer->number + " holds " + std::to_string(payer->balance.minor()) + " KRW");
  }
  if (mother->balance.minor() > kMaxBalanceMinor - order.amount.minor()) {
    return Refuse(BankErrc::kBalanceLimit, "the mother account would exceed its balance limit");
  }
  if (bookings_.size() >= kMaxBookings || notices_.size() >= kMaxNotices) {
    return Refuse(BankErrc::kLimitReached, "the bank's booking journal is full");
  }
  return PaymentRoute{mother->number, mother->holder_name};
}

void Bank::Post(const Booking& booking) {
  if (!booking.debit_account.empty()) {
    auto& account = accounts_.at(booking.debit_account);
    account.balance = Krw(account.balance.minor() - booking.amount.minor());
  }
  if (!booking.credit_account.empty()) {
    auto& account = accounts_.at(booking.credit_account);
    account.balance = Krw(account.balance.minor() + booking.amount.minor());
  }
  booking_index_.emplace(booking.id, bookings_.size());
  bookings_.push_back(booking);
}

void Bank::QueueNotice(Notice notice) {
  notice.seq = notices_.empty() ? 1 : notices_.rbegin()->first + 1;
  notice_by_transaction_[notice.transaction_id] = notice.seq;
  pending_.insert(notice.seq);
  notices_.emplace(notice.seq, std::move(notice));
}

BankResult<Booking> Bank::BookPayment(const PaymentOrder& order, const NoticePlan& plan,
                                      Instant now) {
  auto route = PreparePayment(order);
  if (!route) return std::unexpected(route.error());
  if (auto ok = CheckAmount(plan.notified_amount); !ok) return std::unexpected(ok.error());
  auto telegram = NextTelegramRef(now);
  if (!telegram) return std::unexpected(telegram.error());
  Booking booking;
  booking.id = NextTransactionId();
  booking.kind = BookingKind::kDeposit;
  booking.debit_account = order.from_account;
  booking.credit_account = route->mother_account;
  booking.amount = order.amount;
  booking.booked_at = now;
  booking.virtual_number = order.to_number;
  booking.payer_name = order.payer_name;
  Post(booking);

  Notice notice;
  notice.kind = NoticeKind::kDeposit;
  notice.transaction_id = booking.id;
  notice.number = order.to_number;
  notice.amount = plan.notified_amount;
  notice.booked_amount = order.amount;
  notice.payer_name = order.payer_name;
  notice.event_at = FormatRfc3339(now);
  notice.queued_at = now;
  notice.next_send_at = plan.first_send_at;
  notice.telegram = *telegram;
  QueueNotice(notice);
  Persist({counters_, accounts_.at(booking.debit_account), accounts_.at(booking.credit_account),
           booking, notices_.rbegin()->second});
  return booking;
}

BankResult<Booking> Bank::CancelDeposit(std::string_view transaction_id, Instant now,
                                        Instant first_send_at) {
  auto it = booking_index_.find(transaction_id);
  if (it == booking_index_.end() || bookings_[it->second].kind != BookingKind::kDeposit) {
    return Refuse(BankErrc::kNotFound, "no deposit " + std::string(transaction_id));
  }
  std::size_t index = it->second;
  const Booking deposit = bookings_[index];
  if (!deposit.cancelled_by.empty()) {
    return Refuse(BankErrc::kAlreadyCancelled,
                  "deposit " + deposit.id + " was cancelled by " + deposit.cancelled_by);
  }
  const Account& mother = accounts_.at(deposit.credit_account);
  const Account& payer = accounts_.at(deposit.debit_account);
  if (mother.balance.minor() < deposit.amount.minor()) {
    return Refuse(BankErrc::kInsufficientFunds,
                  "mother account " + mother.number + " no longer holds the deposit");
  }
  if (payer.balance.minor() > kMaxBalanceMinor - deposit.amount.minor()) {
    return Refuse(BankErrc::kBalanceLimit, "the payer's account would exceed its balance limit");
  }
  if (bookings_.size() >= kMaxBookings || notices_.size() >= kMaxNotices) {
    return Refuse(BankErrc::kLimitReached, "the bank's booking journal is full");
  }
  auto telegram = NextTelegramRef(now);
  if (!telegram) return std::unexpected(telegram.error());
  Booking cancellation;
  cancellation.id = NextTransactionId();
  cancellation.kind = BookingKind::kCancellation;
  cancellation.debit_account = deposit.credit_account;
  cancellation.credit_account = deposit.debit_account;
  cancellation.amount = deposit.amount;
  cancellation.booked_at = now;
  cancellation.virtual_number = deposit.virtual_number;
  cancellation.payer_name = deposit.payer_name;
  cancellation.original_id = deposit.id;
  bookings_[index].cancelled_by = cancellation.id;
  Post(cancellation);

  Notice notice;
  notice.kind = NoticeKind::kCancellation;
  notice.transaction_id = cancellation.id;
  notice.number = deposit.virtual_number;
  notice.amount = deposit.amount;
  notice.booked_amount = deposit.amount;
  notice.payer_name = deposit.payer_name;
  notice.event_at = FormatRfc3339(now);
  notice.original_transaction_id = deposit.id;
  notice.queued_at = now;
  notice.next_send_at = first_send_at;
  notice.telegram = *telegram;
  QueueNotice(notice);
  Persist({counters_, accounts_.at(cancellation.debit_account),
           accounts_.at(cancellation.credit_account), bookings_[index], cancellation,
           notices_.rbegin()->second});
  return cancellation;
}

const Booking* Bank::FindBooking(std::string_view id) const {
  auto it = booking_index_.find(id);
  return it == booking_index_.end() ? nullptr : &bookings_[it->second];
}

// ---- notices
// -------------------------------------------------------------------------------------

std::vector<Notice> Bank::Notices(std::uint64_t after, std::size_t limit,
                                  std::optional<NoticeState> state) const {
  std::vector<Notice> out;
  for (auto it = notices_.upper_bound(after); it != notices_.end() && out.size() < limit; ++it) {
    if (!state || it->second.state == *state) out.push_back(it->second);
  }
  return out;
}

std::size_t Bank::NoticeCount(NoticeState state) const {
  if (state == NoticeState::kPending) return pending_.size();
  return static_cast<std::size_t>(
      std::count_if(notices_.begin(), notices_.end(),
                    [state](const auto& entry) { return entry.second.state == state; }));
}

const Notice* Bank::FindNotice(std::uint64_t seq) const {
  auto it = notices_.find(seq);
  return it == notices_.end() ? nullptr : &it->second;
}

const Notice* Bank::FindNoticeFor(std::string_view transaction_id) const {
  auto it = notice_by_transaction_.find(transaction_id);
  return it == notice_by_transaction_.end() ? nullptr : FindNotice(it->second);
}

bool Bank::IsSendable(const Notice& notice, bool hold_cancellations) const {
  if (notice.state != NoticeState::kPending) return false;
  if (!hold_cancellations || notice.kind != NoticeKind::kCancellation) return true;
  auto original = notice_by_transaction_.find(notice.original_transaction_id);
  return original == notice_by_transaction_.end() || !pending_.contains(original->second);
}

std::vector<Notice> Bank::DueNotices(Instant now, bool hold_cancellations,
                                     std::size_t limit) const {
  std::vector<Notice> due;
  for (auto seq : pending_) {
    if (due.size() >= limit) break;
    const Notice& notice = notices_.at(seq);
    if (notice.next_send_at <= now && IsSendable(notice, hold_cancellations)) due.push_back(notice);
  }
  return due;
}

std::optional<Instant> Bank::NextDueAt(bool hold_cancellations) const {
  std::optional<Instant> next;
  for (auto seq : pending_) {
    const Notice& notice = notices_.at(seq);
    if (!IsSendable(notice, hold_cancellations)) continue;
    if (!next || notice.next_send_at < *next) next = notice.next_send_at;
  }
  return next;
}

void Bank::RecordAttempt(std::uint64_t seq, const NoticeAttempt& attempt, Instant now) {
  auto it = notices_.find(seq);
  if (it == notices_.end() || it->second.state != NoticeState::kPending) return;
  Notice& notice = it->second;
  ++notice.send_count;
  notice.last_status = attempt.status;
  switch (attempt.verdict) {
    case AttemptVerdict::kAnswered:
      notice.state = NoticeState::kAnswered;
      notice.answered_at = now;
      notice.relay_deposit_id = attempt.relay_deposit_id;
      notice.relay_outcome = attempt.relay_outcome;
      notice.relay_duplicate = attempt.relay_duplicate;
      notice.relay_transaction_id = attempt.relay_transaction_id;
      break;
    case AttemptVerdict::kRefused:
      notice.state = NoticeState::kFailed;
      break;
    case AttemptVerdict::kUnanswered:
      if (notice.send_count >= options_.max_sends) {
        notice.state = NoticeState::kFailed;
      } else {
        notice.next_send_at = now + options_.resend_interval;
      }
      break;
  }
  if (notice.state != NoticeState::kPending) pending_.erase(seq);
  Persist({notice});
}

std::size_t Bank::ReleaseTelegrams(std::chrono::sys_days day, std::uint32_t from, std::uint32_t to,
                                   Instant now) {
  std::size_t released = 0;
  for (auto seq : pending_) {
    Notice& notice = notices_.at(seq);
    if (notice.telegram.sequence < from || notice.telegram.sequence > to ||
        BusinessDay(notice.telegram.sent_at) != day) {
      continue;
    }
    if (notice.next_send_at > now) notice.next_send_at = now;
    ++released;
  }
  return released;
}

void Bank::RecordDuplicateSent(std::uint64_t seq, std::string status) {
  auto it = notices_.find(seq);
  if (it == notices_.end()) return;
  ++it->second.send_count;
  ++it->second.duplicates_sent;
  it->second.last_status = std::move(status);
  Persist({it->second});
}

// ---- withdrawals and inquiries
// -------------------------------------------------------------------

BankResult<WithdrawalResult> Bank::Withdraw(const WithdrawalOrder& order, Instant now) {
  if (!IsExternalId(order.reference)) {
    return Refuse(BankErrc::kInvalidField, "reference must be 1 to 64 of A-Z a-z 0-9 . _ : -");
  }
  if (auto ok = CheckAmount(order.amount); !ok) return std::unexpected(ok.error());
  if (auto it = withdrawals_.find(order.reference); it != withdrawals_.end()) {
    if (it->second.account != order.account || it->second.amount != order.amount) {
      return Refuse(BankErrc::kReferenceConflict,
                    "reference " + order.reference + " was used for another withdrawal");
    }
    return WithdrawalResult{it->second, true};
  }
  auto account_it = accounts_.find(order.account);
  if (account_it == accounts_.end())
    return Refuse(BankErrc::kNotFound, "no account " + order.account);
  if (withdrawals_.size() >= kMaxWithdrawals || bookings_.size() >= kMaxBookings) {
    return Refuse(BankErrc::kLimitReached, "the bank's booking journal is full");
  }
  Withdrawal w;
  w.reference = order.reference;
  w.account = order.account;
  w.amount = order.amount;
  w.executed_at = now;
  std::vector<BankRecord> records;
  const Account& debit = account_it->second;
  bool needs_consent = debit.consent_required;
  if (needs_consent && debit.consent_id.empty()) {
    w.reason = "consent_missing";
  } else if (needs_consent && debit.consent_ceiling_won > 0 && order.amount.minor() > debit.consent_ceiling_won) {
    w.reason = "over_consent_ceiling";
  } else if (debit.balance.minor() < order.amount.minor()) {
    w.reason = "insufficient_funds";
  }
  if (!w.reason.empty()) {
    w.status = WithdrawalStatus::kRefused;
  } else {
    Booking booking;
    booking.id = NextTransactionId();
    booking.kind = BookingKind::kWithdrawal;
    booking.debit_account = order.account;
    booking.credit_account = CreditableAccount(order);
    booking.amount = order.amount;
    booking.booked_at = now;
    booking.reference = order.reference;
    Post(booking);
    w.status = WithdrawalStatus::kCompleted;
    w.booking_id = booking.id;
    w.credit_account = booking.credit_account;
    records.emplace_back(counters_);
    records.emplace_back(account_it->second);
    if (!booking.credit_account.empty()) records.emplace_back(accounts_.at(booking.credit_account));
    records.emplace_back(booking);
  }
  w.balance_after = account_it->second.balance;
  withdrawals_.emplace(w.reference, w);
  records.emplace_back(w);
  Persist(std::move(records));
  return WithdrawalResult{w, false};
}

// The recipient of a withdrawal, when it is another of this bank's accounts with room for the
// money (a refund to a master lands on its balance); empty when the money leaves the bank.
std::string Bank::CreditableAccount(const WithdrawalOrder& order) const {
  auto it = accounts_.find(order.recipient_account);
  if (it == accounts_.end() || it->first == order.account) return {};
  if (it->second.balance.minor() > kMaxBalanceMinor - order.amount.minor()) return {};
  return it->first;
}

BankResult<Booking> Bank::Fund(std::string_view number, Money amount, Instant now) {
  if (auto ok = CheckAmount(amount); !ok) return std::unexpected(ok.error());
  auto it = accounts_.find(number);
  if (it == accounts_.end()) return Refuse(BankErrc::kNotFound, "no account " + std::string(number));
  if (it->second.balance.minor() > kMaxBalanceMinor - amount.minor()) {
    return Refuse(BankErrc::kBalanceLimit, "the account would exceed its balance limit");
  }
  if (bookings_.size() >= kMaxBookings) return Refuse(BankErrc::kLimitReached, "the bank's booking journal is full");
  Booking booking;
  booking.id = NextTransactionId();
  booking.kind = BookingKind::kDeposit;
  booking.credit_account = it->first;
  booking.amount = amount;
  booking.booked_at = now;
  booking.payer_name = "top-up";
  Post(booking);
  Persist({counters_, it->second, booking});
  return booking;
}

std::vector<Withdrawal> Bank::WithdrawalsFrom(std::string_view account) const {
  std::vector<Withdrawal> out;
  for (const auto& [reference, w] : withdrawals_) {
    if (w.account == account) out.push_back(w);
  }
  return out;
}

BankResult<ConsentResult> Bank::RegisterConsent(std::string_view number, std::string_view holder_id,
                                                std::string_view holder_name, bool cancel, Instant) {
  auto it = accounts_.find(number);
  if (it == accounts_.end()) return Refuse(BankErrc::kNotFound, "no account " + std::string(number));
  Account& account = it->second;
  if (account.kind != AccountKind::kCustomer) {
    return Refuse(BankErrc::kWrongAccountKind, "consent is registered for customer accounts");
  }
  if (account.holder_name != holder_name || (!account.holder_id.empty() && account.holder_id != holder_id)) {
    return Refuse(BankErrc::kHolderMismatch, "the holder does not match account " + account.number);
  }
  if (cancel) {
    account.consent_id.clear();
  } else if (account.consent_id.empty()) {
    account.consent_id = "CNS" + NextTransactionId();
  }
  Persist({counters_, account});
  return ConsentResult{account.consent_id, account.consent_ceiling_won};
}

const Withdrawal* Bank::FindWithdrawal(std::string_view reference) const {
  auto it = withdrawals_.find(reference);
  return it == withdrawals_.end() ? nullptr : &it->second;
}

BankResult<Holder> Bank::HolderOf(std::string_view number) const {
  if (const Account* account = FindAccount(number)) {
    return Holder{account->number, account->holder_name, std::string(Name(account->kind)), {}};
  }
  if (const Account* mother = IsVirtualAccountNumber(number) ? MotherFor(number) : nullptr) {
    return Holder{std::string(number), mother->holder_name, "virtual", mother->number};
  }
  return Refuse(BankErrc::kNotFound, "no account " + std::string(number));
}

// ---- statements
// ----------------------------------------------------------------------------------

std::vector<AccountStatement> Bank::Statements(std::chrono::sys_days day,
                                               std::string_view account) const {
  std::vector<AccountStatement> out;
  std::map<std::string, std::size_t, std::less<>> index;
  for (const auto& [number, a] : accounts_) {
    if (account.empty() ? a.kind != AccountKind::kMother : number != account) continue;
    index.emplace(number, out.size());
    out.push_back(AccountStatement{a, day, a.opening_balance, a.opening_balance, {}});
  }
  // One pass in booking order: bookings before the day move the opening balance, bookings on the
  // day become lines with a running balance.
  for (const auto& b : bookings_) {
    auto day_of = BusinessDay(b.booked_at);
    if (day_of > day) continue;
    for (const auto* party : {&b.debit_account, &b.credit_account}) {
      auto it = index.find(*party);
      if (it == index.end()) continue;
      AccountStatement& s = out[it->second];
      std::int64_t net = NetFor(b, *party);
      if (day_of < day) {
        s.opening = Krw(s.opening.minor() + net);
        s.closing = s.opening;
      } else {
        s.closing = Krw(s.closing.minor() + net);
        s.lines.push_back(StatementLine{b, net > 0, s.closing});
      }
      if (b.debit_account == b.credit_account) break;
    }
  }
  return out;
}

BankResult<void> Bank::CheckInvariants() const {
  std::map<std::string, std::int64_t, std::less<>> derived;
  for (const auto& [number, account] : accounts_) derived[number] = account.opening_balance.minor();
  for (const auto& b : bookings_) {
    for (const auto* party : {&b.debit_account, &b.credit_account}) {
      if (party->empty()) continue;
      if (!derived.contains(*party))
        return Refuse(BankErrc::kNotFound, "booking " + b.id + " names unknown account " + *party);
    }
    if (!b.debit_account.empty()) derived[b.debit_account] -= b.amount.minor();
    if (!b.credit_account.empty()) derived[b.credit_account] += b.amount.minor();
    if (b.kind == BookingKind::kDeposit && !b.cancelled_by.empty()) {
      const Booking* c = FindBooking(b.cancelled_by);
      if (!c || c->kind != BookingKind::kCancellation || c->original_id != b.id) {
        return Refuse(BankErrc::kNotFound,
                      "deposit " + b.id + " names a cancellation that does not reverse it");
      }
    }
  }
  for (const auto& [number, account] : accounts_) {
    if (derived[number] != account.balance.minor()) {
      return Refuse(BankErrc::kBalanceLimit,
                    "account " + number + " holds " + std::to_string(account.balance.minor()) +
                        " but its bookings add up to " + std::to_string(derived[number]));
    }
    if (account.balance.minor() < 0 || account.balance.minor() > kMaxBalanceMinor) {
      return Refuse(BankErrc::kBalanceLimit, "account " + number + " balance is out of range");
    }
  }
  for (const auto& [seq, notice] : notices_) {
    if ((notice.state == NoticeState::kPending) != pending_.contains(seq)) {
      return Refuse(BankErrc::kNotFound, "notice " + std::to_string(seq) + " is misfiled");
    }
  }
  return {};
}

}  // namespace varelay::banksim
