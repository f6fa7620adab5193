#include "teller.h"

#include <algorithm>
#include <iostream>

namespace varelay::banksim {
namespace {

// Notices attempted per round; a round never holds the lock while it talks to the relay.
constexpr std::size_t kRoundSize = 64;
// The sender looks again at least this often, so a clock step or a window's end is noticed.
constexpr std::chrono::milliseconds kMaxIdle{250};

std::string RefusalReason(BankErrc code) {
  return code == BankErrc::kNotFound ? "unknown_account" : std::string(BankErrcName(code));
}

}  // namespace

Teller::Teller(Bank& bank, RelayLink& link, FaultPlan faults, Clock now)
    : bank_(bank),
      link_(link),
      faults_(std::move(faults)),
      now_(std::move(now)),
      started_at_(now_()) {}

Teller::~Teller() { Stop(); }

Instant Teller::FirstSendAt(Instant now) const {
  if (!faults_.reorder) return now;
  // Under the reorder fault new notices wait for the end of the current window of one resend
  // interval (counted from the start), so all notices of a window are due together and go out
  // newest first.
  Millis interval = bank_.options().resend_interval;
  auto windows = (now - started_at_) / interval + 1;
  return started_at_ + windows * interval;
}

void Teller::Sleep(std::chrono::milliseconds delay) {
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
}

PaymentOutcome Teller::Pay(const PaymentOrder& order) {
  PaymentOutcome out;
  TelegramRef inquiry;
  {
    std::lock_guard lock(mutex_);
    auto route = bank_.PreparePayment(order);
    auto ref = route ? bank_.NextInquiryRef(now_()) : BankResult<TelegramRef>{};
    if (!route || !ref) {
      const BankError& error = route ? ref.error() : route.error();
      out.reason = RefusalReason(error.code);
      out.detail = error.detail;
      if (const Account* payer = bank_.FindAccount(order.from_account))
        out.payer_balance = payer->balance;
      return out;
    }
    inquiry = *ref;
  }
  Sleep(faults_.delay);
  auto verdict =
      link_.Precheck(PrecheckQuery{order.to_number, order.amount, order.payer_name, inquiry});
  std::lock_guard lock(mutex_);
  if (const Account* payer = bank_.FindAccount(order.from_account))
    out.payer_balance = payer->balance;
  if (!verdict) {
    out.reason = "precheck_failed";
    out.detail = verdict.error().Summary() +
                 (verdict.error().http_status ? ": " + verdict.error().detail : "");
    return out;
  }
  if (!verdict->accept) {
    out.reason = verdict->reason.empty() ? "refused" : verdict->reason;
    out.detail = "the relay refused the deposit at pre-check";
    return out;
  }
  Instant now = now_();
  Instant first_send = FirstSendAt(now) + faults_.late;
  auto booking =
      bank_.BookPayment(order, NoticePlan{NotifiedAmount(faults_, order.amount), first_send}, now);
  if (!booking) {
    out.reason = RefusalReason(booking.error().code);
    out.detail = booking.error().detail;
    return out;
  }
  out.status = PaymentStatus::kAccepted;
  out.booking = *booking;
  out.holder_name = verdict->holder_name;
  out.due_at = verdict->due_at;
  out.payer_balance = bank_.FindAccount(order.from_account)->balance;
  woken_ = true;
  wake_.notify_all();
  return out;
}

BankResult<Booking> Teller::Cancel(const std::string& transaction_id) {
  std::lock_guard lock(mutex_);
  Instant now = now_();
  auto cancellation = bank_.CancelDeposit(transaction_id, now, FirstSendAt(now));
  if (cancellation) {
    woken_ = true;
    wake_.notify_all();
  }
  return cancellation;
}

std::size_t Teller::ResendTelegrams(std::chrono::sys_days day, std::uint32_t from,
                                    std::uint32_t to) {
  std::lock_guard lock(mutex_);
  std::size_t released = bank_.ReleaseTelegrams(day, from, to, now_());
  if (released > 0) {
    woken_ = true;
    wake_.notify_all();
  }
  return released;
}

std::size_t Teller::SendDueNotices() {
  std::vector<Notice> due;
  {
    std::lock_guard lock(mutex_);
    // Under the reorder fault a cancellation may overtake its deposit (the relay answers 404 and
    // the bank re-sends); otherwise it waits for the deposit's notice to be settled.
    due = bank_.DueNotices(now_(), !faults_.reorder, kRoundSize);
  }
  if (faults_.reorder) std::reverse(due.begin(), due.end());
  std::size_t attempts = 0;
  for (const auto& notice : due) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    SendOne(notice);
    ++attempts;
  }
  return attempts;
}

void Teller::SendOne(const Notice& notice) {
  auto since_start = std::chrono::duration_cast<std::chrono::milliseconds>(now_() - started_at_);
  if (InOutage(faults_, since_start)) {
    // The line is down: the attempt counts, nothing reaches the relay.
    std::lock_guard lock(mutex_);
    bank_.RecordAttempt(notice.seq, NoticeAttempt{AttemptVerdict::kUnanswered, "outage"}, now_());
    return;
  }
  // What the messages repeat from the bookings and the cancelled deposit's notice.
  std::string mother_account;
  TelegramRef original_telegram;
  {
    std::lock_guard lock(mutex_);
    if (const Booking* booking = bank_.FindBooking(notice.transaction_id)) {
      mother_account =
          notice.kind == NoticeKind::kDeposit ? booking->credit_account : booking->debit_account;
    }
    if (const Notice* original = bank_.FindNoticeFor(notice.original_transaction_id))
      original_telegram = original->telegram;
  }
  auto send = [&](int attempt) -> LinkResult<NoticeReceipt> {
    Sleep(faults_.delay);
    if (notice.kind == NoticeKind::kDeposit) {
      return link_.NotifyDeposit(DepositMessage{notice.transaction_id, notice.number, notice.amount,
                                                notice.payer_name, notice.event_at, mother_account,
                                                notice.telegram, attempt});
    }
    return link_.NotifyCancellation(
        CancellationMessage{notice.transaction_id, notice.original_transaction_id, notice.event_at,
                            notice.number, notice.amount, notice.payer_name, mother_account,
                            notice.telegram, original_telegram, attempt});
  };
  int attempt = notice.send_count + 1;
  auto receipt = send(attempt);
  if (!receipt) {
    std::lock_guard lock(mutex_);
    bank_.RecordAttempt(notice.seq,
                        NoticeAttempt{receipt.error().final ? AttemptVerdict::kRefused
                                                            : AttemptVerdict::kUnanswered,
                                      receipt.error().Summary()},
                        now_());
    return;
  }
  if (Strikes(faults_, FaultKind::kDropAnswer, notice.seq, attempt)) {
    std::lock_guard lock(mutex_);
    bank_.RecordAttempt(
        notice.seq, NoticeAttempt{AttemptVerdict::kUnanswered, receipt->answer + " answer dropped"},
        now_());
    return;
  }
  {
    std::lock_guard lock(mutex_);
    bank_.RecordAttempt(
        notice.seq,
        NoticeAttempt{AttemptVerdict::kAnswered,
                      receipt->duplicate ? receipt->answer + " duplicate" : receipt->answer,
                      receipt->deposit_id, receipt->outcome, receipt->duplicate,
                      receipt->relay_transaction_id},
        now_());
  }
  if (Strikes(faults_, FaultKind::kDuplicate, notice.seq, 0)) {
    auto again = send(attempt + 1);
    std::string status = !again                   ? again.error().Summary()
                         : again->duplicate       ? again->answer + " duplicate"
                         : again->duplicate_known ? again->answer + " booked again"
                                                  : again->answer;
    std::lock_guard lock(mutex_);
    bank_.RecordDuplicateSent(notice.seq, "duplicate sent: " + status);
  }
  if (notice.kind == NoticeKind::kDeposit &&
      Strikes(faults_, FaultKind::kCancelAfter, notice.seq, 0)) {
    auto cancelled = Cancel(notice.transaction_id);
    if (!cancelled && cancelled.error().code != BankErrc::kAlreadyCancelled) {
      std::cerr << "varelay-banksim: cancel-after fault could not cancel " << notice.transaction_id
                << ": " << cancelled.error().detail << std::endl;
    }
  }
}

void Teller::Loop() {
  for (;;) {
    SendDueNotices();
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    auto next = bank_.NextDueAt(!faults_.reorder);
    auto wait = kMaxIdle;
    if (next) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now_());
      wait = std::clamp(until, std::chrono::milliseconds(0), kMaxIdle);
    }
    if (wait.count() > 0) wake_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
    woken_ = false;
    if (stopping_) return;
  }
}

void Teller::Start() {
  if (sender_.joinable()) return;
  sender_ = std::thread([this] { Loop(); });
}

void Teller::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (sender_.joinable()) sender_.join();
}

}  // namespace varelay::banksim
