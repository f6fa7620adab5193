#include "engine/division_book.h"

#include <algorithm>

#include "domain/bank_codes.h"
#include "domain/json_writer.h"
#include "domain/payout_limits.h"
#include "engine/random.h"

namespace varelay {
namespace {

// Tries at drawing a number not issued before: with 10^13 numbers, a second try is already rare.
constexpr int kNumberDraws = 16;
constexpr std::size_t kMaxApprovalsListed = 100;

// A digit from the CSPRNG (numbers are not secrets, but nobody should guess the next one).
int RandomDigit() {
  for (;;) {
    auto byte = static_cast<unsigned char>(RandomBytes(1)[0]);
    if (byte < 250) return byte % 10;  // 250 = 25 * 10: no digit favoured
  }
}

Result<void> CheckTerms(const DivisionAccountTermsInput& t) {
  const DivisionLimits& l = t.limits;
  for (const auto& [limit, field] : {std::pair{l.per_payment_minor, "limits.per_payment"},
                                     std::pair{l.daily_minor, "limits.daily"}, std::pair{l.monthly_minor, "limits.monthly"}}) {
    if (limit && (*limit <= 0 || *limit > kMaxDivisionLimitMinor)) {
      return Fail(ErrorCode::kInvalidField, "a limit is a positive number of won", field);
    }
  }
  if (t.rules.allowed_merchants.size() > kMaxAllowedMerchants) {
    return Fail(ErrorCode::kInvalidField, "at most 100 merchants on an allow-list", "rules.allowed_merchants");
  }
  if (t.valid_from && t.valid_until && *t.valid_until <= *t.valid_from) {
    return Fail(ErrorCode::kInvalidField, "valid_until must be after valid_from", "valid_until");
  }
  if (t.approval_threshold_minor && (*t.approval_threshold_minor < 0 || *t.approval_threshold_minor > kMaxDivisionLimitMinor)) {
    return Fail(ErrorCode::kInvalidField, "the co-approval threshold is a number of won", "approval_threshold");
  }
  if (t.approval_timeout_ms < kMinApprovalTimeout.count() || t.approval_timeout_ms > kMaxApprovalTimeout.count()) {
    return Fail(ErrorCode::kInvalidField, "the approval timeout is 1 to 60 minutes", "approval_timeout");
  }
  return {};
}

DivisionAccountTermsInput TermsOf(const DivisionAccount& a) {
  return {a.limits, a.rules, a.valid_from, a.valid_until, a.approval_threshold_minor, a.approval_timeout_ms};
}

void WritePayment(JsonWriter& w, const DivisionPayment& p) {
  w.Key("payment").BeginObject();
  w.Key("id").String(p.id);
  w.Key("merchant").String(p.merchant);
  w.Key("order_id").String(p.order_id);
  w.Key("amount").Int(p.amount.minor());
  w.Key("currency").String(p.amount.currency().code());
  w.Key("status").String(DivisionPaymentStatusName(p.status));
  w.Key("decline_reason");
  if (p.decline_reason) {
    w.String(DeclineReasonName(*p.decline_reason));
  } else {
    w.Null();
  }
  w.Key("refunded").Int(p.refunded_minor);
  w.Key("created_at").String(FormatRfc3339(p.created_at));
  w.EndObject();
}

std::string RenderEvent(const Event& e, const DivisionPayment* p, const DivisionAccount* a) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String(EventTypeName(e.type));
  w.Key("timestamp").String(FormatRfc3339(e.created_at));
  w.Key("data").BeginObject();
  w.Key("event_id").String(e.id);
  if (p) WritePayment(w, *p);
  if (a) {
    // To its master only: the account's id and label, never its holder's personal data.
    w.Key("division_account").BeginObject();
    w.Key("id").String(a->id);
    w.Key("label").String(a->label);
    w.Key("locked").Bool(a->locked);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return w.Take();
}

// The decline a refused debit's bank code stands for (either protocol's codes, domain/bank_codes.h).
DeclineReason DeclineForBankCode(std::string_view code) {
  return ParseDeclineReason(DivisionDeclineFor(code)).value_or(DeclineReason::kBankRefused);
}

}  // namespace

// ---- recovery -------------------------------------------------------------------------------

void DivisionBook::OnMaster(Master m) {
  master_by_login_[m.login_digest] = m.id;
  master_by_account_[m.account_digest] = m.id;
  auto id = m.id;
  masters_.insert_or_assign(std::move(id), std::move(m));
}

void DivisionBook::OnAccount(DivisionAccount a) {
  account_by_number_[a.number] = a.id;
  auto& listed = accounts_by_master_[a.master];
  if (std::find(listed.begin(), listed.end(), a.id) == listed.end()) listed.push_back(a.id);
  auto id = a.id;
  accounts_.insert_or_assign(std::move(id), std::move(a));
}

void DivisionBook::OnPayment(DivisionPayment p) {
  payment_by_order_[{p.merchant, p.order_id}] = p.id;
  if (!p.account.empty()) {
    auto& listed = payments_by_account_[p.account];
    if (std::find(listed.begin(), listed.end(), p.id) == listed.end()) listed.push_back(p.id);
  }
  auto id = p.id;
  payments_.insert_or_assign(std::move(id), std::move(p));
}

void DivisionBook::OnApproval(DivisionApproval a) {
  auto& listed = approvals_by_master_[a.master];
  if (std::find(listed.begin(), listed.end(), a.id) == listed.end()) listed.push_back(a.id);
  auto id = a.id;
  approvals_.insert_or_assign(std::move(id), std::move(a));
}

void DivisionBook::FinishLoading() {
  spending_.clear();
  for (const auto& [id, p] : payments_) {
    if (HoldsLimits(p.status) && p.authorised_at) {
      spending_[p.account].Recount(*p.authorised_at, p.amount.minor() - p.refunded_minor);
    }
    if (p.status == DivisionPaymentStatus::kAwaitingCredentials) payment_expiries_.emplace(p.expires_at, id);
  }
  for (const auto& [id, a] : approvals_) {
    if (a.status == ApprovalStatus::kPending) approval_deadlines_.emplace(a.deadline, id);
  }
}

// ---- dispatch -------------------------------------------------------------------------------

Result<DivisionOutcome> DivisionBook::Apply(const DivisionActor& actor, const DivisionCommand& command, Instant now) {
  return std::visit([&](const auto& c) { return Do(actor, c, now); }, command);
}

Result<Master*> DivisionBook::OwnMaster(const DivisionActor& actor) {
  auto it = masters_.find(actor.id);
  if (actor.kind != DivisionActor::Kind::kMaster || it == masters_.end()) {
    return Fail(ErrorCode::kForbidden, "this needs a master's session or token");
  }
  return &it->second;
}

Result<DivisionAccount*> DivisionBook::OwnAccount(const DivisionActor& actor, const std::string& id) {
  auto it = accounts_.find(id);
  if (actor.kind != DivisionActor::Kind::kMaster || it == accounts_.end() || it->second.master != actor.id) {
    return Fail(ErrorCode::kNotFound, "no division account " + id);
  }
  return &it->second;
}

DivisionAccount* DivisionBook::AccountByNumber(const std::string& number) {
  if (!IsDivisionNumber(number)) return nullptr;
  auto it = account_by_number_.find(number);
  return it == account_by_number_.end() ? nullptr : &accounts_.at(it->second);
}

DivisionAccountView DivisionBook::ViewOf(const DivisionAccount& account, Instant now) const {
  DivisionAccountView view{account, 0, 0};
  view.account.password_hash.clear();
  if (auto it = spending_.find(account.id); it != spending_.end()) {
    view.spent_today_minor = it->second.DayAt(now);
    view.spent_this_month_minor = it->second.MonthAt(now);
  }
  return view;
}

void DivisionBook::Save(DivisionPayment& p, Instant now) {
  p.updated_at = now;
  store_.PutDivisionPayment(p);
}

void DivisionBook::Save(DivisionAccount& a, Instant now) {
  a.updated_at = now;
  store_.PutDivisionAccount(a);
}

// ---- masters --------------------------------------------------------------------------------

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor&, const EnrolMaster& c, Instant now) {
  if (c.login_digest.empty() || c.account_digest.empty() || c.password_hash.empty()) {
    return Fail(ErrorCode::kMissingField, "an enrolment needs its login, account and password");
  }
  if (master_by_login_.contains(c.login_digest)) {
    return Fail(ErrorCode::kInvalidField, "this login is already enrolled", "login");
  }
  if (master_by_account_.contains(c.account_digest)) {
    return Fail(ErrorCode::kInvalidField, "this account already has a master", "account_number");
  }
  if (!host_.KnowsBank(c.bank)) return Fail(ErrorCode::kUnknownBank, "no bank " + c.bank, "bank_code");
  Master m;
  m.id = host_.NewId("mst_", now);
  m.login_digest = c.login_digest;
  m.sealed_login = c.sealed_login;
  m.sealed_holder_name = c.sealed_holder_name;
  m.sealed_birth_date = c.sealed_birth_date;
  m.password_hash = c.password_hash;
  m.bank = c.bank;
  m.sealed_account = c.sealed_account;
  m.account_digest = c.account_digest;
  m.consent_id = c.consent_id;
  m.consent_ceiling_minor = c.consent_ceiling_minor;
  m.created_at = m.updated_at = now;
  store_.PutMaster(m);
  OnMaster(m);
  m.password_hash.clear();
  return MasterView{std::move(m), {}};
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor&, const GetMasterLogin& c, Instant) {
  auto it = master_by_login_.find(c.login_digest);
  if (it == master_by_login_.end()) return Fail(ErrorCode::kNotFound, "no master with this login");
  const Master& m = masters_.at(it->second);
  return MasterLogin{m.id, m.status, m.password_hash, m.password_generation};
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor&, const CreateMasterSession& c, Instant now) {
  auto it = masters_.find(c.master);
  if (it == masters_.end()) return Fail(ErrorCode::kNotFound, "no master " + c.master);
  if (it->second.status != MasterStatus::kActive) return Fail(ErrorCode::kForbidden, "the master is suspended");
  if (it->second.password_generation != c.password_generation) {
    return Fail(ErrorCode::kInvalidField, "the password changed while it was checked; log in again", "password");
  }
  if (c.ttl_ms <= 0 || c.ttl_ms > kMasterSessionTtlMs) {
    return Fail(ErrorCode::kInvalidField, "a session lasts at most 12 hours", "ttl");
  }
  auto issued = host_.IssueMasterKey(c.master, "session", now + Millis(c.ttl_ms), "vms_", now);
  return MasterKeyIssued{std::move(issued.key), std::move(issued.token)};
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const RevokeMasterSession&, Instant now) {
  auto master = OwnMaster(actor);
  if (!master) return std::unexpected(master.error());
  host_.RevokeKey(actor.key_id, now);
  MasterView view{**master, {}};
  view.master.password_hash.clear();
  return view;
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const CreateMasterToken& c, Instant now) {
  auto master = OwnMaster(actor);
  if (!master) return std::unexpected(master.error());
  auto issued = host_.IssueMasterKey((*master)->id, c.label, std::nullopt, "vmt_", now);
  return MasterKeyIssued{std::move(issued.key), std::move(issued.token)};
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const GetMaster&, Instant) {
  auto master = OwnMaster(actor);
  if (!master) return std::unexpected(master.error());
  MasterView view{**master, {}};
  view.master.password_hash.clear();
  return view;
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const SetMasterEndpoint& c, Instant now) {
  auto found = OwnMaster(actor);
  if (!found) return std::unexpected(found.error());
  Master& m = **found;
  const bool creating = m.endpoint_id.empty() && !c.url.empty();
  auto [id, secret] = host_.PutOwnEndpoint(m.id, m.endpoint_id, c.url, now);
  m.endpoint_id = id;
  m.endpoint_url = c.url;
  m.updated_at = now;
  store_.PutMaster(m);
  MasterView view{m, creating ? secret : std::string{}};
  view.master.password_hash.clear();
  return view;
}

// ---- division accounts ----------------------------------------------------------------------

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const IssueDivisionAccount& c, Instant now) {
  auto master = OwnMaster(actor);
  if (!master) return std::unexpected(master.error());
  if ((*master)->status != MasterStatus::kActive) return Fail(ErrorCode::kForbidden, "the master is suspended");
  if (auto ok = CheckTerms(c.terms); !ok) return std::unexpected(ok.error());
  if (c.password_hash.empty()) return Fail(ErrorCode::kMissingField, "a division account needs a password", "password");
  if (accounts_by_master_[actor.id].size() >= kMaxDivisionAccountsPerMaster) {
    return Fail(ErrorCode::kInvalidField, "a master has at most 100 division accounts");
  }
  std::string number;
  for (int i = 0; i < kNumberDraws && (number.empty() || account_by_number_.contains(number)); ++i) {
    number = IssueDivisionNumber(RandomDigit);
  }
  if (account_by_number_.contains(number)) return Fail(ErrorCode::kOverloaded, "no free division number was drawn; retry");
  DivisionAccount a;
  a.id = host_.NewId("dva_", now);
  a.master = actor.id;
  a.number = number;
  a.label = c.label;
  a.sealed_holder_name = c.sealed_holder_name;
  a.sealed_phone = c.sealed_phone;
  a.password_hash = c.password_hash;
  a.limits = c.terms.limits;
  a.rules = c.terms.rules;
  a.valid_from = c.terms.valid_from;
  a.valid_until = c.terms.valid_until;
  a.approval_threshold_minor = c.terms.approval_threshold_minor;
  a.approval_timeout_ms = c.terms.approval_timeout_ms;
  a.created_at = now;
  Save(a, now);
  OnAccount(a);
  return ViewOf(a, now);
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const ListDivisionAccounts&, Instant now) {
  auto master = OwnMaster(actor);
  if (!master) return std::unexpected(master.error());
  DivisionAccountList list;
  for (const auto& id : accounts_by_master_[actor.id]) list.items.push_back(ViewOf(accounts_.at(id), now));
  return list;
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const GetDivisionAccount& c, Instant now) {
  auto account = OwnAccount(actor, c.id);
  if (!account) return std::unexpected(account.error());
  return ViewOf(**account, now);
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const UpdateDivisionAccount& c, Instant now) {
  auto found = OwnAccount(actor, c.id);
  if (!found) return std::unexpected(found.error());
  DivisionAccount& a = **found;
  if (a.status == DivisionAccountStatus::kClosed) return Fail(ErrorCode::kInvalidField, "the account is closed", "status");
  DivisionAccountTermsInput t = TermsOf(a);
  if (c.limits) t.limits = *c.limits;
  if (c.rules) t.rules = *c.rules;
  if (c.valid_from) t.valid_from = *c.valid_from;
  if (c.valid_until) t.valid_until = *c.valid_until;
  if (c.approval_threshold_minor) t.approval_threshold_minor = *c.approval_threshold_minor;
  if (c.approval_timeout_ms) t.approval_timeout_ms = *c.approval_timeout_ms;
  if (auto ok = CheckTerms(t); !ok) return std::unexpected(ok.error());
  if (c.label) a.label = *c.label;
  a.limits = t.limits;
  a.rules = t.rules;
  a.valid_from = t.valid_from;
  a.valid_until = t.valid_until;
  a.approval_threshold_minor = t.approval_threshold_minor;
  a.approval_timeout_ms = t.approval_timeout_ms;
  Save(a, now);
  return ViewOf(a, now);
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const ChangeDivisionAccount& c, Instant now) {
  auto found = OwnAccount(actor, c.id);
  if (!found) return std::unexpected(found.error());
  DivisionAccount& a = **found;
  if (a.status == DivisionAccountStatus::kClosed) return Fail(ErrorCode::kInvalidField, "the account is closed", "status");
  switch (c.action) {
    case DivisionAccountAction::kFreeze:
      a.status = DivisionAccountStatus::kFrozen;
      break;
    case DivisionAccountAction::kUnfreeze:
      a.status = DivisionAccountStatus::kActive;
      break;
    case DivisionAccountAction::kUnlock:
      a.locked = false;
      a.consecutive_failures = 0;
      break;
    case DivisionAccountAction::kClose:
      a.status = DivisionAccountStatus::kClosed;
      a.closed_at = now;
      break;
  }
  Save(a, now);
  return ViewOf(a, now);
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const ResetDivisionPassword& c, Instant now) {
  auto found = OwnAccount(actor, c.id);
  if (!found) return std::unexpected(found.error());
  DivisionAccount& a = **found;
  if (a.status == DivisionAccountStatus::kClosed) return Fail(ErrorCode::kInvalidField, "the account is closed", "status");
  if (c.password_hash.empty()) return Fail(ErrorCode::kMissingField, "a new password is needed", "password");
  a.password_hash = c.password_hash;
  ++a.password_generation;  // a verdict on the old password is refused from now on
  a.locked = false;
  a.consecutive_failures = 0;
  Save(a, now);
  return ViewOf(a, now);
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const GetDivisionStatement& c, Instant) {
  auto master = OwnMaster(actor);
  if (!master) return std::unexpected(master.error());
  std::vector<std::string> accounts;
  if (c.account.empty()) {
    accounts = accounts_by_master_[actor.id];
  } else if (auto own = OwnAccount(actor, c.account); own) {
    accounts.push_back(c.account);
  } else {
    return std::unexpected(own.error());
  }
  DivisionStatement statement;
  for (const auto& account : accounts) {
    for (const auto& id : payments_by_account_[account]) {
      const DivisionPayment& p = payments_.at(id);
      const Instant at = p.authorised_at.value_or(p.created_at);
      if (at >= c.from && at < c.to) statement.items.push_back(p);
    }
  }
  std::sort(statement.items.begin(), statement.items.end(), [](const auto& x, const auto& y) {
    return x.authorised_at.value_or(x.created_at) < y.authorised_at.value_or(y.created_at);
  });
  const auto limit = static_cast<std::size_t>(std::clamp(c.limit, 1, kMaxStatementItems));
  if (statement.items.size() > limit) statement.items.resize(limit);
  for (auto& p : statement.items) p.sealed_result_key.clear();
  return statement;
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const ListDivisionApprovals&, Instant) {
  auto master = OwnMaster(actor);
  if (!master) return std::unexpected(master.error());
  DivisionApprovalList list;
  const auto& ids = approvals_by_master_[actor.id];
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) list.items.push_back(approvals_.at(*it));
  std::stable_partition(list.items.begin(), list.items.end(),
                        [](const auto& a) { return a.status == ApprovalStatus::kPending; });
  if (list.items.size() > kMaxApprovalsListed) list.items.resize(kMaxApprovalsListed);
  return list;
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const DecideDivisionApproval& c, Instant now) {
  auto it = approvals_.find(c.id);
  if (actor.kind != DivisionActor::Kind::kMaster || it == approvals_.end() || it->second.master != actor.id) {
    return Fail(ErrorCode::kNotFound, "no approval " + c.id);
  }
  DivisionApproval& approval = it->second;
  if (approval.status != ApprovalStatus::kPending) {
    return Fail(ErrorCode::kInvalidField, "the approval was already " + std::string(ApprovalStatusName(approval.status)),
                "status");
  }
  approval.status = c.approve ? ApprovalStatus::kApproved : ApprovalStatus::kDeclined;
  approval.decided_at = now;
  store_.PutDivisionApproval(approval);
  DivisionPayment& payment = payments_.at(approval.payment);
  if (!c.approve) {
    Decline(payment, DeclineReason::kApprovalDeclined, now);
    return approval;
  }
  // The account may have been frozen, closed, locked or have run out of validity while the
  // master thought it over: step 1 again, so an approval never debits an account not usable now.
  const auto account = accounts_.find(payment.account);
  const DivisionTerms terms = account != accounts_.end() ? account->second.Terms() : DivisionTerms{};
  if (auto unusable = CheckAccountUsable(account != accounts_.end() ? &terms : nullptr, now)) {
    Decline(payment, *unusable, now);
  } else {
    StartDebit(payment, now);
  }
  return approval;
}

// ---- payments -------------------------------------------------------------------------------

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const CreateDivisionPayment& c, Instant now) {
  if (actor.kind != DivisionActor::Kind::kMerchant) return Fail(ErrorCode::kForbidden, "payments are asked for with a merchant key");
  const Merchant* merchant = host_.FindMerchant(actor.id);
  if (!merchant || !merchant->active) return Fail(ErrorCode::kForbidden, "merchant " + actor.id + " is not active");
  if (c.amount.currency() != Currency::Krw()) return Fail(ErrorCode::kUnknownCurrency, "division payments are in KRW", "currency");
  if (c.amount.minor() <= 0 || c.amount.minor() > kMaxDivisionLimitMinor) {
    return Fail(ErrorCode::kInvalidAmount, "the amount is a positive number of won", "amount");
  }
  if (c.order_id.empty()) return Fail(ErrorCode::kMissingField, "an order id is needed", "order_id");
  if (auto it = payment_by_order_.find({actor.id, c.order_id}); it != payment_by_order_.end()) {
    DivisionPayment existing = payments_.at(it->second);
    if (existing.request_fingerprint != c.request_fingerprint) {
      return Fail(ErrorCode::kOrderIdConflict, "order " + c.order_id + " already has a division payment", "order_id");
    }
    return DivisionPaymentView{std::move(existing), false, {}};
  }
  if (!host_.MotherAccountOf(actor.id, "")) {
    return Fail(ErrorCode::kNoContract, "merchant " + actor.id + " has no contract: no mother account to be paid into");
  }
  DivisionPayment p;
  p.id = host_.NewId("dvp_", now);
  p.merchant = actor.id;
  p.order_id = c.order_id;
  p.amount = c.amount;
  p.return_url = c.return_url;
  p.page_token_digest = c.page_token_digest;
  p.sealed_result_key = c.sealed_result_key;
  p.request_fingerprint = c.request_fingerprint;
  p.created_at = now;
  p.expires_at = now + kDivisionPaymentTtl;
  Save(p, now);
  payment_expiries_.emplace(p.expires_at, p.id);
  OnPayment(p);
  return DivisionPaymentView{std::move(p), true, {}};
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const GetDivisionPayment& c, Instant) {
  auto it = payments_.find(c.id);
  const bool own = it != payments_.end() &&
                   ((actor.kind == DivisionActor::Kind::kMerchant && it->second.merchant == actor.id) ||
                    (actor.kind == DivisionActor::Kind::kMaster && it->second.master == actor.id) ||
                    actor.kind == DivisionActor::Kind::kAdmin);
  if (!own) return Fail(ErrorCode::kNotFound, "no division payment " + c.id);
  return DivisionPaymentView{it->second, false, {}};
}

Result<DivisionPayment*> DivisionBook::PaymentForPage(const DivisionActor& actor, const std::string& id,
                                                     const std::string& page_token_digest) {
  auto it = payments_.find(id);
  if (it == payments_.end()) return Fail(ErrorCode::kNotFound, "no division payment " + id);
  DivisionPayment& p = it->second;
  bool allowed = false;
  if (actor.kind == DivisionActor::Kind::kRelay) {
    allowed = !page_token_digest.empty() && page_token_digest == p.page_token_digest;
  } else if (actor.kind == DivisionActor::Kind::kMerchant && p.merchant == actor.id) {
    const Merchant* merchant = host_.FindMerchant(actor.id);
    allowed = merchant && merchant->division_direct;
  }
  if (!allowed) return Fail(ErrorCode::kNotFound, "no division payment " + id);
  return &p;
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const GetDivisionPaymentPage& c, Instant) {
  auto p = PaymentForPage(actor, c.id, c.page_token_digest);
  if (!p) return std::unexpected(p.error());
  const Merchant* merchant = host_.FindMerchant((*p)->merchant);
  DivisionPaymentPage page{**p, merchant ? merchant->name : std::string{}};
  page.payment.sealed_result_key.clear();
  return page;
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const GetDivisionPaymentForAuthorization& c,
                                         Instant now) {
  auto p = PaymentForPage(actor, c.payment, c.page_token_digest);
  if (!p) return std::unexpected(p.error());
  if ((*p)->status != DivisionPaymentStatus::kAwaitingCredentials) {
    return Fail(ErrorCode::kInvalidField, "the payment is " + std::string(DivisionPaymentStatusName((*p)->status)), "status");
  }
  const DivisionAccount* account = AccountByNumber(c.number);
  DivisionCredentials credentials;
  if (!account) {
    credentials.decline = DeclineReason::kAccountNotFound;
    return credentials;
  }
  const DivisionTerms terms = account->Terms();
  credentials.decline = CheckAccountUsable(&terms, now);
  if (!credentials.decline) {
    credentials.password_hash = account->password_hash;
    credentials.password_generation = account->password_generation;
  }
  return credentials;
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const AuthorizeDivisionPayment& c, Instant now) {
  auto found = PaymentForPage(actor, c.payment, c.page_token_digest);
  if (!found) return std::unexpected(found.error());
  DivisionPayment& p = **found;
  if (p.status != DivisionPaymentStatus::kAwaitingCredentials) {
    return Fail(ErrorCode::kInvalidField, "the payment is " + std::string(DivisionPaymentStatusName(p.status)), "status");
  }
  DivisionAccount* account = AccountByNumber(c.number);
  const DivisionTerms terms = account ? account->Terms() : DivisionTerms{};
  const bool usable = account && !CheckAccountUsable(&terms, now);
  if (usable && account->password_generation != c.password_generation) {
    return Fail(ErrorCode::kInvalidField, "the account's password changed while it was checked; check it again",
                "password_generation");
  }
  const Merchant* merchant = host_.FindMerchant(p.merchant);
  const PaymentFacts facts{p.merchant, merchant ? merchant->category : MerchantCategory::kOther, p.amount.minor(), now};
  static const DivisionSpending kNothingHeld;
  const DivisionSpending& held = account ? spending_[account->id] : kNothingHeld;
  const Evaluation e = Evaluate(account ? &terms : nullptr, held, facts, c.password_ok);
  if (account && p.account != account->id) {
    // The account this try named (a try before may have named another): its limits, its statement.
    if (!p.account.empty()) std::erase(payments_by_account_[p.account], p.id);
    p.account = account->id;
    p.master = account->master;
    payments_by_account_[account->id].push_back(p.id);
  }
  if (e.decline == DeclineReason::kWrongPassword) {
    if (++account->consecutive_failures >= kDivisionLockAfterFailures) {
      account->locked = true;
      TellMaster(EventType::kDivisionAccountLocked, account->master, nullptr, account, now);
      Save(*account, now);
      Decline(p, DeclineReason::kAccountLocked, now);
      return DivisionPaymentView{p, false, {}};
    }
    Save(*account, now);
    p.decline_reason = DeclineReason::kWrongPassword;  // this try's; the payment stays open
    Save(p, now);
    return DivisionPaymentView{p, false, {}, kDivisionLockAfterFailures - account->consecutive_failures};
  }
  if (account && c.password_ok && usable && account->consecutive_failures != 0) {
    account->consecutive_failures = 0;
    Save(*account, now);
  }
  if (e.decline) {
    Decline(p, *e.decline, now);
  } else {
    Authorise(p, *account, e.needs_approval, now);
  }
  return DivisionPaymentView{p, false, {}};
}

void DivisionBook::Authorise(DivisionPayment& p, DivisionAccount& account, bool needs_approval, Instant now) {
  p.authorised_at = now;
  p.decline_reason.reset();
  spending_[account.id].Reserve(now, p.amount.minor());
  if (!needs_approval) {
    p.status = DivisionPaymentStatus::kDebiting;  // holds the limits from here (a decline releases them)
    StartDebit(p, now);
    return;
  }
  DivisionApproval approval;
  approval.id = host_.NewId("apr_", now);
  approval.master = account.master;
  approval.account = account.id;
  approval.payment = p.id;
  approval.merchant = p.merchant;
  approval.amount_minor = p.amount.minor();
  approval.created_at = now;
  approval.deadline = now + Millis(account.approval_timeout_ms);
  store_.PutDivisionApproval(approval);
  approval_deadlines_.emplace(approval.deadline, approval.id);
  OnApproval(approval);
  p.approval = approval.id;
  p.status = DivisionPaymentStatus::kAwaitingApproval;
  Save(p, now);
  TellMaster(EventType::kDivisionApprovalRequested, account.master, &p, &account, now);
}

void DivisionBook::StartDebit(DivisionPayment& p, Instant now) {
  const Master& master = masters_.at(p.master);
  if (master.consent_ceiling_minor > 0 && p.amount.minor() > master.consent_ceiling_minor) {
    Decline(p, DeclineReason::kOverConsentCeiling, now);  // the bank would refuse it: not sent
    return;
  }
  const Contract* mother = host_.MotherAccountOf(p.merchant, master.bank);
  if (!mother || master.consent_id.empty()) {
    Decline(p, mother ? DeclineReason::kConsentMissing : DeclineReason::kBankRefused, now);
    return;
  }
  Transfer draft;
  draft.merchant = p.merchant;
  draft.bank = master.bank;
  draft.debit_account = master.sealed_account;
  draft.amount = p.amount;
  draft.recipient_bank = mother->bank;
  draft.recipient_account = mother->mother_account;
  draft.recipient_name = mother->holder_name;
  draft.memo = mother->holder_name;
  draft.purpose = TransferPurpose::kDivisionDebit;
  draft.division_payment = p.id;
  auto opened = host_.OpenTransfer(std::move(draft), now);
  if (!opened) {
    Decline(p, DeclineReason::kBankRefused, now);
    return;
  }
  p.debit_transfer = opened->id;
  p.status = DivisionPaymentStatus::kDebiting;
  Save(p, now);
}

void DivisionBook::Decline(DivisionPayment& p, DeclineReason reason, Instant now) {
  if (HoldsLimits(p.status) && p.authorised_at) spending_[p.account].Release(*p.authorised_at, p.amount.minor());
  if (p.status == DivisionPaymentStatus::kAwaitingApproval) {
    DivisionApproval& approval = approvals_.at(p.approval);
    if (approval.status == ApprovalStatus::kPending) {
      approval.status = reason == DeclineReason::kApprovalTimedOut ? ApprovalStatus::kTimedOut : ApprovalStatus::kDeclined;
      approval.decided_at = now;
      store_.PutDivisionApproval(approval);
    }
  }
  p.status = DivisionPaymentStatus::kDeclined;
  p.decline_reason = reason;
  p.finished_at = now;
  Save(p, now);
  Tell(EventType::kDivisionPaymentDeclined, p, now);
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const RefundDivisionPayment& c, Instant now) {
  auto it = payments_.find(c.payment);
  if (actor.kind != DivisionActor::Kind::kMerchant || it == payments_.end() || it->second.merchant != actor.id) {
    return Fail(ErrorCode::kNotFound, "no division payment " + c.payment);
  }
  DivisionPayment& p = it->second;
  if (p.status != DivisionPaymentStatus::kApproved && p.status != DivisionPaymentStatus::kPartiallyRefunded) {
    return Fail(ErrorCode::kInvalidField, "only an approved payment is refunded; this one is " +
                                              std::string(DivisionPaymentStatusName(p.status)), "status");
  }
  if (c.amount.currency() != Currency::Krw()) return Fail(ErrorCode::kUnknownCurrency, "refunds are in KRW", "currency");
  const std::int64_t left = p.amount.minor() - p.refunded_minor - p.refund_pending_minor;
  if (c.amount.minor() <= 0 || c.amount.minor() > left) {
    return Fail(ErrorCode::kInvalidAmount, "a refund is at most what is left: " + std::to_string(left) + " won", "amount");
  }
  auto debit = store_.FindTransfer(p.debit_transfer);
  if (!debit) return std::unexpected(debit.error());
  if (!*debit) return Fail(ErrorCode::kInternal, "the payment's debit " + p.debit_transfer + " is missing");
  const Master& master = masters_.at(p.master);
  Transfer draft;
  draft.merchant = p.merchant;
  draft.bank = (*debit)->recipient_bank;  // the merchant's mother account the debit credited
  draft.debit_account = (*debit)->recipient_account;
  draft.amount = c.amount;
  draft.recipient_bank = master.bank;
  draft.recipient_account = master.sealed_account;
  draft.memo = (*debit)->recipient_name;
  draft.purpose = TransferPurpose::kDivisionRefund;
  draft.division_payment = p.id;
  auto opened = host_.OpenTransfer(std::move(draft), now);
  if (!opened) return std::unexpected(opened.error());
  p.refund_pending_minor += c.amount.minor();  // held, so concurrent refunds never pass the amount
  Save(p, now);
  return DivisionPaymentView{p, false, opened->id};
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor&, const SetMerchantDivision&, Instant) {
  return Fail(ErrorCode::kInternal, "merchants' division settings are the relay's");
}

Result<DivisionOutcome> DivisionBook::Do(const DivisionActor& actor, const ListMasterEvents& c, Instant) {
  auto master = OwnMaster(actor);
  if (!master) return std::unexpected(master.error());
  auto events = store_.QueryEvents(EventQuery{actor.id, std::nullopt, c.after_seq, std::clamp(c.limit, 1, 500)});
  if (!events) return std::unexpected(events.error());
  return MasterEvents{std::move(*events)};
}

// ---- settlement -----------------------------------------------------------------------------

void DivisionBook::OnTransferSettled(const Transfer& t, Instant now) {
  auto it = payments_.find(t.division_payment);
  if (it == payments_.end()) return;  // cannot happen: the payment wrote the transfer
  if (t.purpose == TransferPurpose::kDivisionDebit) {
    SettleDebit(it->second, t, now);
  } else {
    SettleRefund(it->second, t, now);
  }
}

void DivisionBook::SettleDebit(DivisionPayment& p, const Transfer& t, Instant now) {
  if (p.status != DivisionPaymentStatus::kDebiting || p.debit_transfer != t.id) return;
  if (t.status == TransferStatus::kRefused) {
    p.bank_response_code = t.response_code;
    Decline(p, DeclineForBankCode(t.response_code), now);
    return;
  }
  p.status = DivisionPaymentStatus::kApproved;
  p.finished_at = now;
  Save(p, now);
  host_.AppendLedgerEntry(now, EntryKind::kDivisionPayment, p.id,
                          DivisionPaymentLines(p.master, p.account, p.merchant, p.amount.minor()));
  Tell(EventType::kDivisionPaymentApproved, p, now);
}

void DivisionBook::SettleRefund(DivisionPayment& p, const Transfer& t, Instant now) {
  const std::int64_t amount = t.amount.minor();
  p.refund_pending_minor = std::max<std::int64_t>(0, p.refund_pending_minor - amount);
  if (t.status == TransferStatus::kRefused) {
    Save(p, now);
    return;
  }
  p.refunded_minor += amount;
  if (p.authorised_at) spending_[p.account].Restore(*p.authorised_at, amount);
  p.status = p.refunded_minor >= p.amount.minor() ? DivisionPaymentStatus::kRefunded
                                                  : DivisionPaymentStatus::kPartiallyRefunded;
  Save(p, now);
  host_.AppendLedgerEntry(now, EntryKind::kDivisionRefund, p.id,
                          ReversedLines(DivisionPaymentLines(p.master, p.account, p.merchant, amount)));
  Tell(EventType::kDivisionPaymentRefunded, p, now);
}

// ---- events ---------------------------------------------------------------------------------

void DivisionBook::Tell(EventType type, const DivisionPayment& p, Instant now) {
  Event event;
  event.merchant = p.merchant;
  event.type = type;
  event.order_id = p.order_id;
  host_.PublishEvent(event, [&](const Event& e) { return RenderEvent(e, &p, nullptr); }, now);
  if (!p.master.empty()) TellMaster(type, p.master, &p, nullptr, now);
}

void DivisionBook::TellMaster(EventType type, const std::string& master, const DivisionPayment* p,
                              const DivisionAccount* a, Instant now) {
  // Kept as the master's events (readable by its pages) and sent to its endpoint when it has one.
  Event event;
  event.merchant = master;
  event.type = type;
  if (p) event.order_id = p->order_id;
  host_.PublishEvent(event, [&](const Event& e) { return RenderEvent(e, p, a); }, now);
}

// ---- timers ---------------------------------------------------------------------------------

void DivisionBook::RunTimers(Instant now) {
  while (!payment_expiries_.empty() && payment_expiries_.begin()->first <= now) {
    auto [at, id] = *payment_expiries_.begin();
    payment_expiries_.erase(payment_expiries_.begin());
    DivisionPayment& p = payments_.at(id);
    if (p.status != DivisionPaymentStatus::kAwaitingCredentials) continue;
    p.status = DivisionPaymentStatus::kExpired;
    p.finished_at = at;
    Save(p, now);
  }
  while (!approval_deadlines_.empty() && approval_deadlines_.begin()->first <= now) {
    auto [at, id] = *approval_deadlines_.begin();
    approval_deadlines_.erase(approval_deadlines_.begin());
    DivisionApproval& approval = approvals_.at(id);
    if (approval.status != ApprovalStatus::kPending) continue;
    DivisionPayment& p = payments_.at(approval.payment);
    Decline(p, DeclineReason::kApprovalTimedOut, now);
  }
}

std::optional<Instant> DivisionBook::NextTimer() const {
  std::optional<Instant> next;
  if (!payment_expiries_.empty()) next = payment_expiries_.begin()->first;
  if (!approval_deadlines_.empty()) {
    next = next ? std::min(*next, approval_deadlines_.begin()->first) : approval_deadlines_.begin()->first;
  }
  return next;
}

// ---- invariants -----------------------------------------------------------------------------

Result<void> DivisionBook::CheckInvariants(Instant now) const {
  auto broken = [](std::string what) { return Fail(ErrorCode::kInternal, "division invariant broken: " + what); };
  std::map<std::string, DivisionSpending> held;
  for (const auto& [id, p] : payments_) {
    if (p.refunded_minor + p.refund_pending_minor > p.amount.minor() || p.refunded_minor < 0) {
      return broken("payment " + id + " refunds more than it was paid");
    }
    if (p.status == DivisionPaymentStatus::kAwaitingApproval &&
        (!approvals_.contains(p.approval) || approvals_.at(p.approval).status != ApprovalStatus::kPending)) {
      return broken("payment " + id + " awaits an approval that is not pending");
    }
    if (p.status == DivisionPaymentStatus::kDebiting && p.debit_transfer.empty()) {
      return broken("payment " + id + " is debiting without a transfer");
    }
    if (HoldsLimits(p.status)) {
      if (!p.authorised_at || p.account.empty()) return broken("payment " + id + " holds limits unauthorised");
      held[p.account].Recount(*p.authorised_at, p.amount.minor() - p.refunded_minor);
    }
  }
  for (const auto& [id, a] : accounts_) {
    auto it = spending_.find(id);
    const DivisionSpending none;
    const DivisionSpending& counted = it == spending_.end() ? none : it->second;
    if (held[id].DayAt(now) != counted.DayAt(now) || held[id].MonthAt(now) != counted.MonthAt(now)) {
      return broken("account " + id + "'s limits do not add up to its payments");
    }
  }
  return {};
}

}  // namespace varelay
