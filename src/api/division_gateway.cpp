#include "api/division_gateway.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <unordered_map>

#include "api/problem.h"
#include "domain/digest.h"
#include "domain/masking.h"
#include "domain/payout_limits.h"
#include "engine/async_submit.h"
#include "engine/random.h"

namespace varelay::api {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

using H = DivisionHandler;

HttpResponse Refuse(ErrorCode code, std::string detail, std::string field = {}) {
  return ProblemResponse(Error{code, std::move(detail), std::move(field)});
}

HttpResponse Json(int status, const json::value& body) {
  return HttpResponse{status, "application/json", json::serialize(body), {}};
}

json::value Time(const std::optional<Instant>& t) {
  return t ? json::value(FormatRfc3339(*t)) : json::value(nullptr);
}
json::value Won(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

// Waits, on the caller's executor, for a callback another thread (the hasher's pool, the
// registrar's thread) calls once with a T. Not a coroutine itself: g++ 12 copies a coroutine's
// by-value argument bytewise into its frame and destroys it twice.
template <typename T, typename Start>
asio::awaitable<T> Await(Start start) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(T)>(
      [start = std::move(start)](auto handler) mutable {
        auto work = asio::make_work_guard(asio::get_associated_executor(handler));
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start([shared, work](T value) mutable {
          auto ex = work.get_executor();
          asio::post(ex, [shared, value = std::move(value)]() mutable {
            std::move (*shared)(std::move(value));
          });
          work.reset();
        });
      },
      asio::use_awaitable);
}

// The engine's generic refusals named as the division routes document them.
Error Named(H handler, Error e) {
  const bool state = e.code == ErrorCode::kInvalidField && e.field == "status";
  switch (handler) {
    case H::kAuthorize:
      if (state) e.code = ErrorCode::kPaymentNotAuthorizable;
      break;
    case H::kRefund:
      if (state) e.code = ErrorCode::kPaymentNotRefundable;
      if (e.code == ErrorCode::kInvalidAmount) e.code = ErrorCode::kRefundExceedsPayment;
      break;
    case H::kApprove:
    case H::kDecline:
      if (e.code == ErrorCode::kInvalidField) e.code = ErrorCode::kApprovalNotPending;
      break;
    case H::kEnrol:
      if (e.code == ErrorCode::kInvalidField && e.field == "login") e.code = ErrorCode::kLoginTaken;
      if (e.code == ErrorCode::kInvalidField && e.field == "account_number")
        e.code = ErrorCode::kMasterExists;
      break;
    case H::kUpdateAccount:
    case H::kFreeze:
    case H::kUnfreeze:
    case H::kUnlock:
    case H::kClose:
    case H::kSetPassword:
      if (state) e.code = ErrorCode::kDivisionAccountClosed;
      break;
    default:
      break;
  }
  return e;
}

json::value PaymentJson(const DivisionPayment& p) {
  json::object o{{"id", p.id},
                 {"merchant_id", p.merchant},
                 {"order_id", p.order_id},
                 {"amount", p.amount.minor()},
                 {"currency", "KRW"},
                 {"status", DivisionPaymentStatusName(p.status)},
                 {"refunded", p.refunded_minor},
                 {"return_url", p.return_url},
                 {"created_at", FormatRfc3339(p.created_at)},
                 {"expires_at", FormatRfc3339(p.expires_at)}};
  o["decline_reason"] = p.decline_reason && p.status == DivisionPaymentStatus::kDeclined
                            ? json::value(DeclineReasonName(*p.decline_reason))
                            : json::value(nullptr);
  if (!p.bank_response_code.empty()) o["bank_response_code"] = p.bank_response_code;
  if (p.authorised_at) o["authorized_at"] = FormatRfc3339(*p.authorised_at);
  if (p.finished_at) o["completed_at"] = FormatRfc3339(*p.finished_at);
  return o;
}

const char* kDecoyPassword = "a password nobody has, hashed once to time unknown logins";

}  // namespace

std::string LookupDigest(std::string_view key, std::string_view kind, std::string_view text) {
  return HmacSha256Hex(key, std::string(kind) + ":" + std::string(text));
}

// Token buckets per client address (DivisionGateway's kPublic* limits). Any I/O thread.
class AddressLimiter {
 public:
  // nullopt: let through (a token taken); else how long until the next token.
  std::optional<std::chrono::milliseconds> Take(const std::string& address) {
    using namespace std::chrono;
    const auto now = steady_clock::now();
    const double per_ms = kPublicPerMinute / 60'000.0;
    std::lock_guard lock(mutex_);
    if (buckets_.size() >= kMaxAddressesTracked && !buckets_.contains(address)) {
      std::erase_if(buckets_,
                    [&](const auto& b) { return Tokens(b.second, now, per_ms) >= kPublicBurst; });
      if (buckets_.size() >= kMaxAddressesTracked) buckets_.clear();  // a flood from everywhere
    }
    auto [it, fresh] = buckets_.try_emplace(address, Bucket{double(kPublicBurst), now});
    Bucket& b = it->second;
    b.tokens = Tokens(b, now, per_ms);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return std::nullopt;
    }
    return milliseconds(static_cast<long>((1 - b.tokens) / per_ms) + 1);
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  static double Tokens(const Bucket& b, std::chrono::steady_clock::time_point now, double per_ms) {
    const auto ms = std::chrono::duration<double, std::milli>(now - b.at).count();
    return std::min<double>(kPublicBurst, b.tokens + ms * per_ms);
  }
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

struct DivisionGateway::Impl {
  Engine& engine;
  const crypto::Sealer& sealer;
  crypto::PasswordHasher& hasher;
  banks::ConsentRegistrar* consent;
  DivisionGatewayOptions options;
  // Hashed on first use, verified against for an unknown login; sign-ins on several I/O threads.
  std::mutex decoy_mutex;
  std::string decoy_hash;         // guarded by decoy_mutex
  AddressLimiter public_limiter;  // enrolments and sign-ins per client address

  // --- engine and pool steps ---
  // Takes the command (and the renderer) by reference, and callers pass named variables: g++ 12
  // destroys twice a temporary made inside a co_await expression (a conversion to an argument
  // included), which freed memory twice.
  using Renderer = std::function<RenderedResponse(const Result<Outcome>&)>;
  asio::awaitable<EngineReply> Submit(DivisionCommand& command, const DivisionRequest& r,
                                      const Renderer* render = nullptr) {
    Submission s;
    s.command = Command(std::move(command));
    if (r.bearer.empty()) {
      s.internal =
          true;  // the relay itself: a login, an enrolment, a page token it checks by digest
    } else {
      s.bearer = r.bearer;
    }
    if (render && r.idempotency) {
      s.idempotency = r.idempotency;
      s.render = *render;
    }
    co_return co_await AsyncSubmit(engine, std::move(s), asio::use_awaitable);
  }

  // The lambdas handed to Await are named and moved in, never prvalues inside the co_await: g++ 12
  // relocated such a closure bytewise and destroyed it twice (a std::string's buffer, a
  // shared_ptr's count).
  asio::awaitable<Result<std::string>> Hash(const std::string& password) {
    auto held = std::make_shared<const std::string>(password);
    auto start = [this, held](auto done) { hasher.Hash(*held, std::move(done)); };
    co_return co_await Await<Result<std::string>>(std::move(start));
  }
  asio::awaitable<Result<bool>> Verify(const std::string& hash, const std::string& password) {
    auto held = std::make_shared<const std::pair<std::string, std::string>>(hash, password);
    auto start = [this, held](auto done) {
      hasher.Verify(held->first, held->second, std::move(done));
    };
    co_return co_await Await<Result<bool>>(std::move(start));
  }
  asio::awaitable<banks::ConsentAnswer> Register(const banks::ConsentRequest& request) {
    auto held = std::make_shared<const banks::ConsentRequest>(request);
    auto start = [this, held](auto done) { consent->Register(*held, std::move(done)); };
    co_return co_await Await<banks::ConsentAnswer>(std::move(start));
  }

  std::string Open(const std::string& sealed) const {
    if (sealed.empty()) return {};
    auto opened = sealer.Open(sealed);
    return opened ? *opened : std::string();
  }

  // --- answers ---
  HttpResponse Problem(H handler, const Error& e) const {
    return ProblemResponse(Named(handler, e));
  }

  json::value MasterJson(const Master& m) const {
    json::object o{
        {"id", m.id},
        {"status", MasterStatusName(m.status)},
        {"login", Open(m.sealed_login)},
        {"bank_code", m.bank},
        {"account", Open(m.sealed_account)},
        {"holder_name", Open(m.sealed_holder_name)},
        {"birth_date", Open(m.sealed_birth_date)},
        {"consent", {{"consent_id", m.consent_id}, {"ceiling", m.consent_ceiling_minor}}},
        {"created_at", FormatRfc3339(m.created_at)}};
    o["endpoint_url"] = m.endpoint_url.empty() ? json::value(nullptr) : json::value(m.endpoint_url);
    return o;
  }

  json::value AccountJson(const DivisionAccountView& v) const {
    const DivisionAccount& a = v.account;
    auto phone = Open(a.sealed_phone);
    json::array categories;
    for (auto c : a.rules.denied_categories) categories.emplace_back(MerchantCategoryName(c));
    json::value allowed = nullptr;
    if (!a.rules.allowed_merchants.empty()) {
      json::array ids;
      for (const auto& m : a.rules.allowed_merchants) ids.emplace_back(m);
      allowed = std::move(ids);
    }
    json::object o{
        {"id", a.id},
        {"number", a.number},
        {"label", a.label},
        {"status", DivisionAccountStatusName(a.status)},
        {"locked", a.locked},
        {"dependant",
         {{"name", Open(a.sealed_holder_name)},
          {"phone", phone.empty() ? json::value(nullptr) : json::value(phone)}}},
        {"limits",
         {{"per_payment", Won(a.limits.per_payment_minor)},
          {"per_day", Won(a.limits.daily_minor)},
          {"per_month", Won(a.limits.monthly_minor)}}},
        {"merchants_allowed", std::move(allowed)},
        {"categories_denied", std::move(categories)},
        {"valid_from", Time(a.valid_from)},
        {"valid_until", Time(a.valid_until)},
        {"spent", {{"today", v.spent_today_minor}, {"this_month", v.spent_this_month_minor}}},
        {"created_at", FormatRfc3339(a.created_at)}};
    o["approval"] = a.approval_threshold_minor
                        ? json::value({{"threshold", *a.approval_threshold_minor},
                                       {"timeout_minutes", a.approval_timeout_ms / 60'000}})
                        : json::value(nullptr);
    if (a.closed_at) o["closed_at"] = FormatRfc3339(*a.closed_at);
    return o;
  }

  static json::value ApprovalJson(const DivisionApproval& a) {
    json::object o{{"id", a.id},
                   {"payment_id", a.payment},
                   {"account_id", a.account},
                   {"merchant", a.merchant},
                   {"amount", a.amount_minor},
                   {"status", ApprovalStatusName(a.status)},
                   {"created_at", FormatRfc3339(a.created_at)},
                   {"deadline_at", FormatRfc3339(a.deadline)}};
    if (a.decided_at) o["answered_at"] = FormatRfc3339(*a.decided_at);
    return o;
  }

  json::value PageJson(const DivisionPaymentPage& page) const {
    const DivisionPayment& p = page.payment;
    json::object o{{"id", p.id},
                   {"merchant_name", page.merchant_name},
                   {"order_id", p.order_id},
                   {"amount", p.amount.minor()},
                   {"currency", "KRW"},
                   {"status", DivisionPaymentStatusName(p.status)},
                   {"expires_at", FormatRfc3339(p.expires_at)}};
    o["decline_reason"] = p.decline_reason && p.status == DivisionPaymentStatus::kDeclined
                              ? json::value(DeclineReasonName(*p.decline_reason))
                              : json::value(nullptr);
    const bool ended = p.status == DivisionPaymentStatus::kApproved ||
                       p.status == DivisionPaymentStatus::kDeclined ||
                       p.status == DivisionPaymentStatus::kExpired;
    if (ended) {
      const auto ts = std::chrono::duration_cast<std::chrono::seconds>(
          p.finished_at.value_or(p.updated_at).time_since_epoch());
      o["redirect_url"] =
          ResultRedirectUrl(p.return_url, ResultKey(p.id), p.id,
                            DivisionPaymentStatusName(p.status), p.amount.minor(), ts.count());
    }
    return o;
  }

  // The key that signs a payment's redirect: derived, so the engine's copy (sealed) is never
  // needed.
  std::string ResultKey(std::string_view payment) const {
    return LookupDigest(options.digest_key, "result", payment);
  }

  // --- flows ---
  asio::awaitable<HttpResponse> Enrol(const DivisionRequest& r, const HolderAsker& ask_holder);
  asio::awaitable<HttpResponse> SignIn(const DivisionRequest& r);
  asio::awaitable<HttpResponse> Authorize(const DivisionRequest& r);
  asio::awaitable<HttpResponse> Issue(const DivisionRequest& r);
  asio::awaitable<HttpResponse> Update(const DivisionRequest& r);
  asio::awaitable<HttpResponse> SetPassword(const DivisionRequest& r);
  asio::awaitable<HttpResponse> Statement(const DivisionRequest& r);
  asio::awaitable<HttpResponse> CreatePayment(const DivisionRequest& r);
  asio::awaitable<HttpResponse> Refund(const DivisionRequest& r);
  asio::awaitable<HttpResponse> Simple(const DivisionRequest& r);
  HttpResponse Render(H handler, int status, const DivisionOutcome& outcome) const;
};

DivisionGateway::DivisionGateway(Engine& engine, const crypto::Sealer& sealer,
                                 crypto::PasswordHasher& hasher, banks::ConsentRegistrar* consent,
                                 DivisionGatewayOptions options)
    : impl_(std::unique_ptr<Impl>(
          new Impl{engine, sealer, hasher, consent, std::move(options), {}, {}, {}})) {}

DivisionGateway::~DivisionGateway() = default;

asio::awaitable<HttpResponse> DivisionGateway::Handle(DivisionRequest r,
                                                      const HolderAsker& ask_holder) {
  auto& impl = *impl_;
  if (r.route->handler == H::kEnrol || r.route->handler == H::kSignIn) {
    if (auto wait = impl.public_limiter.Take(r.peer)) {
      auto seconds = std::max<long>(1, (wait->count() + 999) / 1000);
      auto refused = Refuse(ErrorCode::kRateLimited,
                            "too many enrolments and sign-ins from this address: retry in " +
                                std::to_string(seconds) + " s");
      refused.headers.emplace_back("Retry-After", std::to_string(seconds));
      co_return refused;
    }
  }
  switch (r.route->handler) {
    case H::kEnrol:
      co_return co_await impl.Enrol(r, ask_holder);
    case H::kSignIn:
      co_return co_await impl.SignIn(r);
    case H::kAuthorize:
      co_return co_await impl.Authorize(r);
    case H::kIssueAccount:
      co_return co_await impl.Issue(r);
    case H::kUpdateAccount:
      co_return co_await impl.Update(r);
    case H::kSetPassword:
      co_return co_await impl.SetPassword(r);
    case H::kAccountStatement:
    case H::kMasterStatement:
      co_return co_await impl.Statement(r);
    case H::kCreatePayment:
      co_return co_await impl.CreatePayment(r);
    case H::kRefund:
      co_return co_await impl.Refund(r);
    default:
      co_return co_await impl.Simple(r);
  }
}

HttpResponse DivisionGateway::Impl::Render(H handler, int status,
                                           const DivisionOutcome& outcome) const {
  if (const auto* m = std::get_if<MasterView>(&outcome)) return Json(status, MasterJson(m->master));
  if (const auto* a = std::get_if<DivisionAccountView>(&outcome))
    return Json(status, AccountJson(*a));
  if (const auto* list = std::get_if<DivisionAccountList>(&outcome)) {
    json::array items;
    for (const auto& a : list->items) items.push_back(AccountJson(a));
    return Json(status, {{"items", std::move(items)}});
  }
  if (const auto* a = std::get_if<DivisionApproval>(&outcome))
    return Json(status, ApprovalJson(*a));
  if (const auto* list = std::get_if<DivisionApprovalList>(&outcome)) {
    json::array items;
    for (const auto& a : list->items) items.push_back(ApprovalJson(a));
    return Json(status, {{"items", std::move(items)}});
  }
  if (const auto* p = std::get_if<DivisionPaymentPage>(&outcome)) return Json(status, PageJson(*p));
  if (const auto* p = std::get_if<DivisionPaymentView>(&outcome)) {
    return Json(status, PaymentJson(p->payment));  // no account named: the merchant never learns it
  }
  if (const auto* k = std::get_if<MasterKeyIssued>(&outcome)) {
    if (handler == H::kCreateToken) {
      return Json(status, {{"id", k->key.id},
                           {"token", k->token},
                           {"label", k->key.label},
                           {"created_at", FormatRfc3339(k->key.created_at)}});
    }
    return Json(status, {{"token", k->token},
                         {"master_id", k->key.master},
                         {"expires_at", Time(k->key.expires_at)}});
  }
  return Refuse(ErrorCode::kInternal, "an answer the division routes do not render");
}

// Master reads and actions that take one engine step.
asio::awaitable<HttpResponse> DivisionGateway::Impl::Simple(const DivisionRequest& r) {
  const auto& p = r.params;
  DivisionCommand command;
  switch (r.route->handler) {
    case H::kSignOut:
      command = RevokeMasterSession{};
      break;
    case H::kGetMaster:
      command = GetMaster{};
      break;
    case H::kSetEndpoint: {
      const auto& url = std::get<MasterEndpointRequest>(r.body).url;
      if (url) {
        if (auto checked = notify::CheckEndpointUrl(options.url_policy, *url); !checked) {
          co_return Refuse(ErrorCode::kWebhookUrlRefused, checked.error().detail, "url");
        }
      }
      command = SetMasterEndpoint{url.value_or("")};
      break;
    }
    case H::kCreateToken:
      command = CreateMasterToken{std::get<MasterTokenRequest>(r.body).label};
      break;
    case H::kListAccounts:
      command = ListDivisionAccounts{};
      break;
    case H::kGetAccount:
      command = GetDivisionAccount{p[0]};
      break;
    case H::kFreeze:
      command = ChangeDivisionAccount{p[0], DivisionAccountAction::kFreeze};
      break;
    case H::kUnfreeze:
      command = ChangeDivisionAccount{p[0], DivisionAccountAction::kUnfreeze};
      break;
    case H::kUnlock:
      command = ChangeDivisionAccount{p[0], DivisionAccountAction::kUnlock};
      break;
    case H::kClose:
      command = ChangeDivisionAccount{p[0], DivisionAccountAction::kClose};
      break;
    case H::kListApprovals:
      command = ListDivisionApprovals{};
      break;
    case H::kApprove:
      command = DecideDivisionApproval{p[0], true};
      break;
    case H::kDecline:
      command = DecideDivisionApproval{p[0], false};
      break;
    case H::kGetPayment:
      command = GetDivisionPayment{p[0]};
      break;
    case H::kPaymentPage:
      command = GetDivisionPaymentPage{p[0], r.page_token.empty() ? "" : Sha256Hex(r.page_token)};
      break;
    default:
      co_return Refuse(ErrorCode::kInternal, "a division route without a flow");
  }
  auto reply = co_await Submit(command, r);
  if (!reply.result) co_return Problem(r.route->handler, reply.result.error());
  const auto* outcome = std::get_if<DivisionOutcome>(&*reply.result);
  if (!outcome) co_return Refuse(ErrorCode::kInternal, "the engine answered something else");
  if (r.route->success_status == 204) co_return HttpResponse{204, "", "", {}};
  co_return Render(r.route->handler, r.route->success_status, *outcome);
}

// Enrolment: the bank confirms the holder's name, then registers the withdrawal consent; only
// then is the master stored. Any refusal on the way stores nothing.
asio::awaitable<HttpResponse> DivisionGateway::Impl::Enrol(const DivisionRequest& r,
                                                           const HolderAsker& ask_holder) {
  const auto& in = std::get<EnrolMasterRequest>(r.body);
  const auto login_digest = LookupDigest(options.digest_key, "login", in.login);
  DivisionCommand taken_command = GetMasterLogin{login_digest};
  auto taken = co_await Submit(taken_command, r);
  if (taken.result)
    co_return Refuse(ErrorCode::kLoginTaken, "another master signs in with this login", "login");
  if (taken.result.error().code != ErrorCode::kNotFound)
    co_return ProblemResponse(taken.result.error());
  // Named, never temporaries inside a co_await: g++ 12 destroys some of those twice.
  Submission to_bank;
  to_bank.internal = true;
  to_bank.command = RouteToBank{in.bank};
  auto route = co_await AsyncSubmit(engine, std::move(to_bank), asio::use_awaitable);
  if (!route.result) {
    co_return ProblemResponse(
        route.result.error().code == ErrorCode::kNotFound
            ? Error{ErrorCode::kUnknownBank, "no bank " + in.bank, "bank_code"}
            : route.result.error());
  }
  const auto holder_id = HolderIdOf(in.birth_date);
  const BankRoute bank_route = std::get<BankRoute>(*route.result);
  const HolderInquiryRequest inquiry{in.bank, in.account, holder_id};
  auto holder = co_await ask_holder(bank_route, inquiry);
  if (!holder) co_return ProblemResponse(holder.error());
  if (!SameHolderName(*holder, in.holder_name)) {
    co_return Refuse(ErrorCode::kHolderMismatch,
                     "the bank names the holder of this account " + MaskName(*holder),
                     "holder_name");
  }
  if (!consent) co_return Refuse(ErrorCode::kBankUnavailable, "no consent registrar is configured");
  banks::ConsentRequest consent_request{in.bank, in.account, holder_id, in.holder_name, false};
  auto answer = co_await Register(consent_request);
  if (answer.outcome == banks::ConsentOutcome::kRefused) {
    co_return Refuse(ErrorCode::kConsentRefused,
                     "the bank refused the withdrawal consent (" + answer.response_code +
                         (answer.detail.empty() ? "" : ": " + answer.detail) + ")");
  }
  if (answer.outcome != banks::ConsentOutcome::kRegistered) {
    co_return Refuse(ErrorCode::kBankUnavailable,
                     "the bank did not answer the consent request: " + answer.detail);
  }
  auto hash = co_await Hash(in.password);
  if (!hash) co_return ProblemResponse(hash.error());
  EnrolMaster c{login_digest,
                sealer.Seal(in.login),
                sealer.Seal(in.holder_name),
                sealer.Seal(FormatDate(in.birth_date)),
                *hash,
                in.bank,
                sealer.Seal(in.account),
                LookupDigest(options.digest_key, "account", in.bank + ":" + in.account),
                answer.consent_id,
                answer.ceiling_won};
  DivisionCommand reply_command = std::move(c);
  auto reply = co_await Submit(reply_command, r);
  if (!reply.result) {
    // Stored nothing: the consent just registered is ended again (best effort).
    consent_request.cancel = true;
    (void)co_await Register(consent_request);
    co_return Problem(H::kEnrol, reply.result.error());
  }
  co_return Render(H::kEnrol, 201, std::get<DivisionOutcome>(*reply.result));
}

// Sign-in: an unknown login costs the same hash as a known one and gets the same answer.
asio::awaitable<HttpResponse> DivisionGateway::Impl::SignIn(const DivisionRequest& r) {
  const auto& in = std::get<SignInRequest>(r.body);
  auto refused = [] {
    return Refuse(ErrorCode::kInvalidCredentials, "the login or the password is wrong");
  };
  std::string decoy = [this] {
    std::lock_guard lock(decoy_mutex);
    return decoy_hash;
  }();
  if (decoy.empty()) {
    std::string decoy_password = kDecoyPassword;
    auto made = co_await Hash(decoy_password);
    if (made) {
      decoy = *made;
      std::lock_guard lock(decoy_mutex);
      decoy_hash = decoy;
    }
  }
  std::optional<MasterLogin> login;
  if (!in.login.empty()) {
    DivisionCommand found_command =
        GetMasterLogin{LookupDigest(options.digest_key, "login", in.login)};
    auto found = co_await Submit(found_command, r);
    if (found.result) {
      login = std::get<MasterLogin>(std::get<DivisionOutcome>(*found.result));
    } else if (found.result.error().code != ErrorCode::kNotFound) {
      co_return ProblemResponse(found.result.error());
    }
  }
  auto ok = co_await Verify(login ? login->password_hash : decoy, in.password);
  if (!ok) co_return ProblemResponse(ok.error());
  if (!login || !*ok) co_return refused();
  DivisionCommand session_command = CreateMasterSession{login->master, login->password_generation};
  auto session = co_await Submit(session_command, r);
  if (!session.result) {
    if (session.result.error().code == ErrorCode::kInvalidField)
      co_return refused();  // the password changed meanwhile
    co_return ProblemResponse(session.result.error());
  }
  co_return Render(H::kSignIn, 201, std::get<DivisionOutcome>(*session.result));
}

// Authorisation: the hash comes from the engine, the verdict is reached on the hasher's pool,
// and the engine runs every check with it in one step (refusing a stale password generation).
asio::awaitable<HttpResponse> DivisionGateway::Impl::Authorize(const DivisionRequest& r) {
  const auto& in = std::get<AuthorizeDivisionPaymentRequest>(r.body);
  const std::string payment = r.params[0];
  const std::string token_digest = r.page_token.empty() ? "" : Sha256Hex(r.page_token);
  for (int attempt = 0; attempt < 2; ++attempt) {  // once more if the password changed meanwhile
    DivisionCommand found_command =
        GetDivisionPaymentForAuthorization{payment, in.number, token_digest};
    auto found = co_await Submit(found_command, r);
    if (!found.result) co_return Problem(H::kAuthorize, found.result.error());
    const auto credentials =
        std::get<DivisionCredentials>(std::get<DivisionOutcome>(*found.result));
    bool password_ok = false;
    if (!credentials.decline) {
      auto verdict = co_await Verify(credentials.password_hash, in.password);
      if (!verdict) co_return ProblemResponse(verdict.error());
      password_ok = *verdict;
    }
    DivisionCommand authorize = AuthorizeDivisionPayment{
        payment, in.number, token_digest, password_ok, credentials.password_generation};
    auto reply = co_await Submit(authorize, r);
    if (!reply.result) {
      if (reply.result.error().field == "password_generation") continue;
      co_return Problem(H::kAuthorize, reply.result.error());
    }
    const auto& view = std::get<DivisionPaymentView>(std::get<DivisionOutcome>(*reply.result));
    if (view.payment.status == DivisionPaymentStatus::kAwaitingCredentials &&
        view.payment.decline_reason == DeclineReason::kWrongPassword) {
      auto refused = Refuse(ErrorCode::kWrongPassword, "the number and password do not match", "password");
      auto problem = json::parse(refused.body).as_object();
      problem["attempts_left"] = view.attempts_left;
      refused.body = json::serialize(problem);
      co_return refused;
    }
    DivisionCommand page_command = GetDivisionPaymentPage{payment, token_digest};
    auto page = co_await Submit(page_command, r);
    if (!page.result) co_return Problem(H::kAuthorize, page.result.error());
    co_return Render(H::kAuthorize, 200, std::get<DivisionOutcome>(*page.result));
  }
  co_return Refuse(ErrorCode::kPaymentNotAuthorizable,
                   "the account's password keeps changing; try again");
}

asio::awaitable<HttpResponse> DivisionGateway::Impl::Issue(const DivisionRequest& r) {
  const auto& in = std::get<IssueDivisionAccountRequest>(r.body);
  auto hash = co_await Hash(in.password);
  if (!hash) co_return ProblemResponse(hash.error());
  IssueDivisionAccount c;
  c.label = in.label.empty() ? in.dependant.name : in.label;
  c.sealed_holder_name = sealer.Seal(in.dependant.name);
  c.sealed_phone = in.dependant.phone ? sealer.Seal(*in.dependant.phone) : std::string();
  c.password_hash = *hash;
  const auto& t = in.terms;
  if (t.per_payment) c.terms.limits.per_payment_minor = *t.per_payment;
  if (t.per_day) c.terms.limits.daily_minor = *t.per_day;
  if (t.per_month) c.terms.limits.monthly_minor = *t.per_month;
  if (t.merchants_allowed && *t.merchants_allowed)
    c.terms.rules.allowed_merchants = **t.merchants_allowed;
  if (t.categories_denied) c.terms.rules.denied_categories = *t.categories_denied;
  if (t.valid_from) c.terms.valid_from = *t.valid_from;
  if (t.valid_until) c.terms.valid_until = *t.valid_until;
  if (t.approval && *t.approval) {
    c.terms.approval_threshold_minor = (*t.approval)->threshold_minor;
    c.terms.approval_timeout_ms = std::int64_t{(*t.approval)->timeout_minutes} * 60'000;
  }
  DivisionCommand reply_command = std::move(c);
  auto reply = co_await Submit(reply_command, r);
  if (!reply.result) co_return Problem(H::kIssueAccount, reply.result.error());
  co_return Render(H::kIssueAccount, 201, std::get<DivisionOutcome>(*reply.result));
}

// A change names only what changes; the engine replaces limits and merchant rules whole, so
// the account's current ones fill in what the request left out.
asio::awaitable<HttpResponse> DivisionGateway::Impl::Update(const DivisionRequest& r) {
  const auto& in = std::get<UpdateDivisionAccountRequest>(r.body);
  DivisionCommand current_command = GetDivisionAccount{r.params[0]};
  auto current = co_await Submit(current_command, r);
  if (!current.result) co_return Problem(H::kUpdateAccount, current.result.error());
  const DivisionAccount& a =
      std::get<DivisionAccountView>(std::get<DivisionOutcome>(*current.result)).account;
  const auto& t = in.terms;
  UpdateDivisionAccount c;
  c.id = a.id;
  c.label = in.label;
  if (t.per_payment || t.per_day || t.per_month) {
    DivisionLimits limits = a.limits;
    if (t.per_payment) limits.per_payment_minor = *t.per_payment;
    if (t.per_day) limits.daily_minor = *t.per_day;
    if (t.per_month) limits.monthly_minor = *t.per_month;
    c.limits = limits;
  }
  if (t.merchants_allowed || t.categories_denied) {
    DivisionMerchantRules rules = a.rules;
    if (t.merchants_allowed)
      rules.allowed_merchants = t.merchants_allowed->value_or(std::vector<std::string>{});
    if (t.categories_denied) rules.denied_categories = *t.categories_denied;
    c.rules = rules;
  }
  c.valid_from = t.valid_from;
  c.valid_until = t.valid_until;
  if (t.approval) {
    c.approval_threshold_minor =
        *t.approval ? std::optional<std::int64_t>((*t.approval)->threshold_minor) : std::nullopt;
    if (*t.approval) c.approval_timeout_ms = std::int64_t{(*t.approval)->timeout_minutes} * 60'000;
  }
  DivisionCommand reply_command = std::move(c);
  auto reply = co_await Submit(reply_command, r);
  if (!reply.result) co_return Problem(H::kUpdateAccount, reply.result.error());
  co_return Render(H::kUpdateAccount, 200, std::get<DivisionOutcome>(*reply.result));
}

// A new password is held to the rules with the dependant's phone, which only the API can open.
asio::awaitable<HttpResponse> DivisionGateway::Impl::SetPassword(const DivisionRequest& r) {
  const auto& in = std::get<DivisionPasswordRequest>(r.body);
  DivisionCommand current_command = GetDivisionAccount{r.params[0]};
  auto current = co_await Submit(current_command, r);
  if (!current.result) co_return Problem(H::kSetPassword, current.result.error());
  const DivisionAccount& a =
      std::get<DivisionAccountView>(std::get<DivisionOutcome>(*current.result)).account;
  if (auto weak = CheckNewPassword(in.password, Open(a.sealed_phone)))
    co_return ProblemResponse(weak->error, weak->fields);
  auto hash = co_await Hash(in.password);
  if (!hash) co_return ProblemResponse(hash.error());
  DivisionCommand reply_command = ResetDivisionPassword{a.id, *hash};
  auto reply = co_await Submit(reply_command, r);
  if (!reply.result) co_return Problem(H::kSetPassword, reply.result.error());
  co_return Render(H::kSetPassword, 200, std::get<DivisionOutcome>(*reply.result));
}

asio::awaitable<HttpResponse> DivisionGateway::Impl::Statement(const DivisionRequest& r) {
  const auto& period = std::get<StatementPeriod>(r.body);
  const auto today =
      SeoulDay(std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()));
  const auto to = period.to.value_or(today);
  const auto from =
      period.from.value_or(std::chrono::year_month_day{to.year(), to.month(), std::chrono::day(1)});
  if (std::chrono::sys_days(from) > std::chrono::sys_days(to)) {
    co_return Refuse(ErrorCode::kInvalidField, "from must not be after to", "from");
  }
  const std::string account = r.params.empty() ? "" : r.params[0];
  DivisionCommand accounts_command = ListDivisionAccounts{};
  auto accounts = co_await Submit(accounts_command, r);
  if (!accounts.result) co_return Problem(r.route->handler, accounts.result.error());
  std::map<std::string, const DivisionAccount*> by_id;
  for (const auto& v :
       std::get<DivisionAccountList>(std::get<DivisionOutcome>(*accounts.result)).items) {
    by_id[v.account.id] = &v.account;
  }
  if (!account.empty() && !by_id.contains(account))
    co_return Refuse(ErrorCode::kNotFound, "no division account " + account);
  DivisionCommand statement = GetDivisionStatement{
      account, SeoulDayStart(from), SeoulDayStart(std::chrono::sys_days(to) + std::chrono::days(1)),
      kMaxStatementItems};
  auto reply = co_await Submit(statement, r);
  if (!reply.result) co_return Problem(r.route->handler, reply.result.error());
  std::vector<StatementLine> lines;
  for (const auto& p :
       std::get<varelay::DivisionStatement>(std::get<DivisionOutcome>(*reply.result)).items) {
    StatementLine l;
    l.payment_id = p.id;
    l.account_id = p.account;
    if (auto it = by_id.find(p.account); it != by_id.end()) {
      l.number = it->second->number;
      l.dependant = Open(it->second->sealed_holder_name);
    }
    l.merchant = p.merchant;
    l.order_id = p.order_id;
    l.status = DivisionPaymentStatusName(p.status);
    if (p.decline_reason && p.status == DivisionPaymentStatus::kDeclined)
      l.decline_reason = DeclineReasonName(*p.decline_reason);
    l.amount_minor = p.amount.minor();
    l.refunded_minor = p.refunded_minor;
    l.authorized_at = p.authorised_at;
    lines.push_back(std::move(l));
  }
  if (r.wants_csv) co_return HttpResponse{200, "text/csv; charset=utf-8", StatementCsv(lines), {}};
  co_return HttpResponse{200, "application/json", StatementJson(lines, from, to), {}};
}

// A payment: the page token and the result key are drawn here and rendered into the answer the
// engine stores under the Idempotency-Key, so a replay gives the same ones.
asio::awaitable<HttpResponse> DivisionGateway::Impl::CreatePayment(const DivisionRequest& r) {
  const auto& in = std::get<CreateDivisionPaymentRequest>(r.body);
  const std::string page_token = "pg_" + RandomSecret(32);
  CreateDivisionPayment c;
  c.order_id = in.order_id;
  c.amount = Money(in.amount_minor, Currency::Krw());
  c.return_url = in.return_url;
  c.page_token_digest = Sha256Hex(page_token);
  c.request_fingerprint =
      Sha256Hex(in.order_id + "\n" + std::to_string(in.amount_minor) + "\n" + in.return_url);
  const Renderer render = [this, page_token](const Result<Outcome>& result) -> RenderedResponse {
    if (!result) return RenderProblem(Named(H::kCreatePayment, result.error()));
    const auto& view = std::get<DivisionPaymentView>(std::get<DivisionOutcome>(*result));
    json::object body = PaymentJson(view.payment).as_object();
    body["payment_page_url"] = "/pay/" + view.payment.id + "#t=" + page_token;
    body["result_key"] = ResultKey(view.payment.id);
    return RenderedResponse{view.created ? 201 : 200, json::serialize(body), false};
  };
  c.sealed_result_key =
      sealer.Seal(page_token);  // the engine keeps it opaque; the key itself is derived
  DivisionCommand reply_command = std::move(c);
  auto reply = co_await Submit(reply_command, r, &render);
  RenderedResponse out = reply.rendered ? *reply.rendered : render(reply.result);
  HttpResponse response{out.status,
                        out.status >= 400 ? "application/problem+json" : "application/json",
                        out.body,
                        {}};
  if (out.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  co_return response;
}

asio::awaitable<HttpResponse> DivisionGateway::Impl::Refund(const DivisionRequest& r) {
  const auto& in = std::get<DivisionRefundRequest>(r.body);
  const Renderer render = [reason = in.reason, amount = in.amount_minor](
                              const Result<Outcome>& result) -> RenderedResponse {
    if (!result) return RenderProblem(Named(H::kRefund, result.error()));
    const auto& view = std::get<DivisionPaymentView>(std::get<DivisionOutcome>(*result));
    json::object body{{"id", view.refund_transfer},
                      {"payment_id", view.payment.id},
                      {"amount", amount},
                      {"status", "pending"},
                      {"created_at", FormatRfc3339(view.payment.updated_at)}};
    if (!reason.empty()) body["reason"] = reason;
    return RenderedResponse{201, json::serialize(body), false};
  };
  DivisionCommand reply_command =
      RefundDivisionPayment{r.params[0], Money(in.amount_minor, Currency::Krw())};
  auto reply = co_await Submit(reply_command, r, &render);
  RenderedResponse out = reply.rendered ? *reply.rendered : render(reply.result);
  HttpResponse response{out.status,
                        out.status >= 400 ? "application/problem+json" : "application/json",
                        out.body,
                        {}};
  if (out.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  co_return response;
}

}  // namespace varelay::api
