#include "engine/relay.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "domain/assert.h"
#include "domain/digest.h"
#include "domain/division/division_rules.h"
#include "domain/identifiers.h"
#include "engine/ledger_audit.h"
#include "engine/snapshot_file.h"

namespace varelay {

// A telegram bank is reached at HOST:PORT, a JSON bank at an http(s) base URL (the API layer
// checked the form); an ISO 20022 bank only sends.
Result<void> CheckBankEndpoint(BankProtocol protocol, std::string_view endpoint) {
  if (endpoint.empty()) return {};
  bool url = endpoint.starts_with("http://") || endpoint.starts_with("https://");
  if (protocol == BankProtocol::kIso20022) {
    return Fail(ErrorCode::kInvalidField, "an iso20022 bank takes no requests from the relay", "endpoint");
  }
  if (protocol == BankProtocol::kTelegram && url) {
    return Fail(ErrorCode::kInvalidField, "a telegram bank's endpoint is HOST:PORT", "endpoint");
  }
  if (protocol == BankProtocol::kJson && !url) {
    return Fail(ErrorCode::kInvalidField, "a json bank's endpoint is an http:// or https:// URL", "endpoint");
  }
  return {};
}

namespace {

// What a pay-out key may do; everything else (checkout, the merchant's records) is refused before
// any rule sees the caller, so no rule can mistake it for another role.
bool PayoutKeyMay(const Command& command) {
  return std::holds_alternative<CreateTransfer>(command) || std::holds_alternative<GetTransfer>(command) ||
         std::holds_alternative<ListTransfers>(command) || std::holds_alternative<StartHolderInquiry>(command) ||
         std::holds_alternative<ListBanks>(command) || std::holds_alternative<GetPayoutPolicy>(command);
}

Result<void> Require(const Caller& caller, Role role) {
  if (caller.role != role) {
    return Fail(ErrorCode::kForbidden, "this operation needs a " + std::string(RoleName(role)) + " key");
  }
  return {};
}

// Expired idempotency records are deleted in slices of at most kIdempotencySweepLimit, one per
// batch at most, so no batch grows long. The clean-up looks every kIdempotencySweepEvery whether
// the oldest record has expired, and while it has, deletes a slice every kIdempotencySweepSlice:
// up to 200,000 records a second, some thirty times the relay's peak rate of requests, so it
// keeps up with any rate the relay can sustain (it deleted 2,000 a minute, 33 a second, and
// the table grew without end under load).
constexpr Millis kIdempotencySweepEvery{std::chrono::seconds(1)};
constexpr Millis kIdempotencySweepSlice{std::chrono::milliseconds(10)};
constexpr int kIdempotencySweepLimit = 2000;

}  // namespace

std::string_view PrecheckRefusalName(PrecheckRefusal r) {
  switch (r) {
    case PrecheckRefusal::kUnknownNumber: return "unknown_number";
    case PrecheckRefusal::kNotAssigned: return "not_assigned";
    case PrecheckRefusal::kExpired: return "expired";
    case PrecheckRefusal::kAmountMismatch: return "amount_mismatch";
    case PrecheckRefusal::kMerchantInactive: return "merchant_inactive";
  }
  return "unknown_number";
}

Relay::Relay(Store& store, RelayOptions options)
    : store_(store),
      options_(options),
      ids_(options.id_seed),
      ledger_hash_(kGenesisHash),
      payouts_(store),
      inquiries_(store, {options.holder_inquiries_per_minute, options.holder_inquiry_expiry,
                         options.max_open_holder_inquiries}),
      division_(store, *this) {}

std::string Relay::PoolKey(std::string_view merchant, std::string_view bank,
                           std::string_view region) {
  std::string key(merchant);
  key += '/';
  key += bank;
  key += '/';
  key += region;
  return key;
}

// ---- recovery -------------------------------------------------------------------------------

Relay::~Relay() {
  if (indexing_.joinable()) indexing_.join();
}

Result<RecoveryReport> Relay::Recover(const std::string& snapshot_path,
                                      const std::string& running_snapshot_path) {
  RecoveryReport report;
  // Read (and cleared below) whether or not snapshots are on now: a token left from when they
  // were must not vouch for its file after this start has changed the state.
  auto stored = store_.SnapshotToken();
  if (!stored) return std::unexpected(stored.error());
  const std::string token = std::move(*stored);
  if (!token.empty() && snapshot_path.empty()) {
    report.snapshot_skipped = "snapshots are off";
  } else if (!token.empty()) {
    if (auto read = ReadSnapshot(snapshot_path, token); read) {
      report.from_snapshot = true;
    } else {
      report.snapshot_skipped = read.error().detail;
      ForgetNumbers();
    }
  }
  std::error_code ec;
  if (!report.from_snapshot && !running_snapshot_path.empty() &&
      std::filesystem::exists(running_snapshot_path, ec)) {
    if (auto read = ReadRunningSnapshot(running_snapshot_path, report); read) {
      report.from_running_snapshot = true;
    } else {
      report.running_snapshot_skipped = read.error().detail;
      ForgetNumbers();
    }
  }
  const bool numbers_read = report.from_snapshot || report.from_running_snapshot;
  auto loaded = store_.Load(*this, numbers_read ? LoadParts::kAllButNumbers : LoadParts::kAll);
  FinishIndexing();
  if (!loaded) return std::unexpected(loaded.error());
  QueueLoadedTimers();
  division_.FinishLoading();
  if (!token.empty()) {
    // The state moves on from here: the store stops naming the snapshot before anything changes.
    if (auto cleared = store_.SetSnapshotToken(""); !cleared) return std::unexpected(cleared.error());
  }
  if (!snapshot_path.empty()) {
    (void)RemoveSnapshotFile(snapshot_path);  // unnamed by the store, a leftover is never read
  }
  if (!running_snapshot_path.empty()) {
    // Read, it stays (what a kill left of the next one goes); else it goes.
    if (report.from_running_snapshot) {
      RemoveUnfinishedSnapshot(running_snapshot_path);
    } else if (auto removed = RemoveSnapshotFile(running_snapshot_path); !removed) {
      return std::unexpected(removed.error());
    }
  }
  report.numbers = static_cast<std::int64_t>(numbers_.size());
  report.live_assignments = static_cast<std::int64_t>(live_.size());
  return report;
}

void Relay::StartIndexing() {
  if (!indexing_.joinable()) indexing_ = std::thread([this] { numbers_.BuildIndex(); });
}

void Relay::FinishIndexing() {
  if (indexing_.joinable()) {
    indexing_.join();
  } else if (!indexed_) {
    numbers_.BuildIndex();  // numbers are added unindexed while recovering
  }
  indexed_ = true;
}

void Relay::ForgetNumbers() {
  if (indexing_.joinable()) indexing_.join();
  numbers_ = NumberTable();
  pools_.clear();
  live_.clear();
  loading_expiries_.clear();
  loading_releases_.clear();
  expiries_.clear();
  releases_.clear();
  loading_pool_ = nullptr;
  indexed_ = false;
}

void Relay::OnBank(Bank bank) { banks_.emplace(bank.code, std::move(bank)); }
void Relay::OnMerchant(Merchant merchant) { merchants_.emplace(merchant.id, std::move(merchant)); }
void Relay::OnContract(Contract c) {
  auto key = std::make_pair(c.merchant, c.bank);
  contracts_.emplace(std::move(key), std::move(c));
}
void Relay::OnApiKey(ApiKey key) {
  if (!key.revoked_at) key_by_hash_[key.secret_hash] = key.id;
  if (!key.revoked_at && key.expires_at) session_expiries_.emplace(*key.expires_at, key.id);
  keys_.emplace(key.id, std::move(key));
}

void Relay::OnNumber(const NumberRow& number) {
  // Rows come ordered by bank and number, so runs of one pool's numbers are the rule.
  Pool* pool = loading_pool_;
  if (!pool || pool->merchant != number.merchant || pool->bank != number.bank ||
      pool->region != number.region) {
    auto& owned = pools_[PoolKey(number.merchant, number.bank, number.region)];
    if (!owned) {
      owned = std::make_unique<Pool>(Pool{std::string(number.merchant), std::string(number.bank),
                                          std::string(number.region), {}, 0, 0});
    }
    pool = loading_pool_ = owned.get();
  }
  VARELAY_INVARIANT(NumberTable::CanHold(number.number) &&
                        decltype(NumberSlot::assignment_id)::Fits(number.assignment_id),
                    "a stored number and its assignment id fit a slot");
  NumberSlot& slot = numbers_.AddUnindexed(*pool, number.number);
  slot.state = number.state;
  slot.generation = number.generation;
  slot.assignment_id.Assign(number.assignment_id);
  slot.release_at = number.release_at;
  slot.event_seq = number.event_seq;
  if (slot.state == NumberState::kFree) pool->free.push_back(&slot);  // in number order
  CountLoadedNumber(slot);
}

void Relay::CountLoadedNumber(NumberSlot& slot) {
  if (slot.state == NumberState::kAssigned) ++slot.pool->assigned;
  if (slot.state == NumberState::kCooling) {
    ++slot.pool->cooling;
    loading_releases_.emplace_back(slot.release_at.value_or(Instant{}), &slot);
  }
}

void Relay::OnLiveAssignment(Assignment assignment) {
  // From the store, on its reader thread while the numbers are still coming in (LoadSink), or from
  // the snapshot: touches only live_ and loading_expiries_, which nothing else touches meanwhile.
  if (assignment.status == AssignmentStatus::kOpen) {
    loading_expiries_.emplace_back(assignment.due_at, assignment.id);
  }
  live_.emplace(assignment.id, std::move(assignment));
}

void Relay::QueueLoadedTimers() {
  // Sorted first, then each appended at the end: a million inserts into the middle of a tree, a
  // cache miss per level, took seconds.
  auto by_time = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::sort(loading_expiries_.begin(), loading_expiries_.end(), by_time);
  for (auto& [due, id] : loading_expiries_) expiries_.emplace_hint(expiries_.end(), due, std::move(id));
  loading_expiries_ = {};
  std::sort(loading_releases_.begin(), loading_releases_.end(), by_time);
  for (auto [at, slot] : loading_releases_) releases_.emplace_hint(releases_.end(), at, slot);
  loading_releases_ = {};
}

void Relay::OnLedgerHead(std::int64_t seq, std::string hash) {
  ledger_seq_ = seq;
  ledger_hash_ = std::move(hash);
}

// ---- authentication -------------------------------------------------------------------------

Result<Caller> Relay::Authenticate(std::string_view bearer) const {
  if (bearer.empty()) return Fail(ErrorCode::kUnauthorized, "an API key is required: Authorization: Bearer <key>");
  // Keys are high-entropy random strings, so their SHA-256 is a safe lookup handle.
  auto it = key_by_hash_.find(Sha256Hex(bearer));
  if (it == key_by_hash_.end()) return Fail(ErrorCode::kUnauthorized, "the API key is unknown or revoked");
  const ApiKey& key = keys_.at(it->second);
  return Caller{key.id, key.role, key.merchant, key.bank, std::nullopt, key.master};
}

Result<void> Relay::CheckCaller(const Caller& caller) const {
  bool known = caller.role == Role::kBank     ? banks_.contains(caller.bank)
               : caller.role == Role::kMerchant ? merchants_.contains(caller.merchant)
                                                : false;
  if (!known) return Fail(ErrorCode::kUnauthorized, "the connector's institution is not set up");
  return {};
}

Result<void> Relay::CheckSignature(const Caller& caller, const std::optional<RequestSignature>& signature,
                                   Instant now) const {
  if (caller.role != Role::kBank) return {};
  const Bank& bank = banks_.at(caller.bank);
  if (bank.signing_secret.empty()) return {};
  if (!signature) {
    return Fail(ErrorCode::kSignatureMissing, "bank " + bank.code + " must sign its requests (Varelay-Timestamp, Varelay-Signature)");
  }
  std::int64_t timestamp_s = 0;
  const auto& ts = signature->timestamp;
  auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), timestamp_s);
  if (ec != std::errc() || end != ts.data() + ts.size() || ts.empty() || ts.size() > 12) {
    return Fail(ErrorCode::kSignatureInvalid, "Varelay-Timestamp must be Unix seconds");
  }
  auto skew = now - FromUnixMs(timestamp_s * 1000);
  if (skew > kSignatureTolerance || skew < -kSignatureTolerance) {
    return Fail(ErrorCode::kSignatureStale, "Varelay-Timestamp is more than 5 minutes from the relay's clock");
  }
  if (!ConstantTimeEquals(signature->signature, "v1=" + HmacSha256Hex(bank.signing_secret, signature->content))) {
    return Fail(ErrorCode::kSignatureInvalid, "Varelay-Signature does not match the request");
  }
  return {};
}

bool Relay::EnsureAdminKey(const std::string& token, Instant now) {
  for (const auto& [id, key] : keys_) {
    if (key.role == Role::kAdmin && !key.revoked_at) return false;
  }
  ApiKey key;
  key.id = ids_.NewId("key_", 16);
  // A generated bootstrap token names its id ("vrk_<16>_<secret>"); one an operator chose keeps a
  // drawn id.
  if (token.size() > 21 && token.starts_with("vrk_") && token[20] == '_' &&
      std::all_of(token.begin() + 4, token.begin() + 20, [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
      }) &&
      !keys_.contains("key_" + token.substr(4, 16))) {
    key.id = "key_" + token.substr(4, 16);
  }
  key.secret_hash = Sha256Hex(token);
  key.role = Role::kAdmin;
  key.label = "bootstrap";
  key.created_at = now;
  store_.PutApiKey(key);
  key_by_hash_[key.secret_hash] = key.id;
  keys_.emplace(key.id, std::move(key));
  return true;
}

// ---- dispatch -------------------------------------------------------------------------------

Result<Outcome> Relay::Apply(const Caller& caller, const Command& command, Instant now) {
  if (caller.role == Role::kNone) return Fail(ErrorCode::kUnauthorized, "the command names no caller");
  if (caller.role == Role::kMerchantPayouts && !PayoutKeyMay(command)) {
    return Fail(ErrorCode::kForbidden, "a merchant_payouts key makes transfers and holder inquiries only");
  }
  if (caller.role == Role::kMaster) {
    // A master's key reaches its division accounts only, and a session only until it expires.
    auto key = keys_.find(caller.key_id);
    if (key == keys_.end() || key->second.revoked_at || (key->second.expires_at && *key->second.expires_at <= now)) {
      return Fail(ErrorCode::kUnauthorized, "the session has expired or was ended");
    }
    if (!std::holds_alternative<DivisionCommand>(command)) {
      return Fail(ErrorCode::kForbidden, "a master's key reaches its division accounts only");
    }
  }
  last_now_ = std::max(last_now_, now);
  auto result = std::visit([&](const auto& c) { return Do(caller, c, now); }, command);
  WriteTouchedNumbers();
  return result;
}

void Relay::Touch(NumberSlot& slot) {
  if (slot.touched) return;
  slot.touched = true;
  touched_.push_back(&slot);
}

void Relay::MarkFreed(NumberSlot& slot) {
  Touch(slot);
  slot.freed = true;
  freed_.push_back(&slot);
}

void Relay::WriteTouchedNumbers() {
  // The numbers that went back to a pool come last, in the order they went (not the order they
  // were first touched: an expiry touches its number before the timer run frees one that cooled
  // earlier): a start that replays the log over a running snapshot puts each number it sees go
  // free at the back of its pool, in the order it sees them.
  for (NumberSlot* slot : touched_) {
    if (!slot->freed) store_.PutNumber(slot->Record());
  }
  for (NumberSlot* slot : freed_) {
    store_.PutNumber(slot->Record());
    slot->freed = false;
  }
  for (NumberSlot* slot : touched_) slot->touched = false;
  touched_.clear();
  freed_.clear();
}

// ---- set-up ---------------------------------------------------------------------------------

Result<Outcome> Relay::Do(const Caller& caller, const CreateBank& c, Instant now) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  if (banks_.contains(c.code)) return Fail(ErrorCode::kBankExists, "bank " + c.code + " already exists", "code");
  if (auto fits = CheckBankEndpoint(c.protocol, c.endpoint); !fits) return std::unexpected(fits.error());
  Bank bank{c.code, c.name, now, c.protocol, {}, c.endpoint, 0};
  store_.PutBank(bank);
  banks_.emplace(bank.code, bank);
  return bank;
}

Result<Outcome> Relay::Do(const Caller& caller, const CreateBankSigningSecret& c, Instant) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  auto it = banks_.find(c.bank);
  if (it == banks_.end()) return Fail(ErrorCode::kNotFound, "no bank " + c.bank);
  it->second.signing_secret = "bsk_" + RandomSecret(40);
  store_.PutBank(it->second);
  return BankSigningSecret{c.bank, it->second.signing_secret};
}

Result<Outcome> Relay::Do(const Caller& caller, const ListBanks&, Instant) {
  // Endpoints and protocols are the operator's business: merchants and banks see code and name.
  BankList list;
  list.full = caller.role == Role::kAdmin;
  for (const auto& [code, bank] : banks_) {
    Bank& shown = list.items.emplace_back(bank);
    if (list.full) continue;  // the secret itself is never rendered: only whether there is one
    shown.signing_secret.clear();
    shown.endpoint.clear();
  }
  return list;
}

Result<Outcome> Relay::Do(const Caller& caller, const CreateMerchant& c, Instant now) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  if (merchants_.contains(c.id)) {
    return Fail(ErrorCode::kMerchantExists, "merchant " + c.id + " already exists", "id");
  }
  Merchant merchant{c.id, c.name, true, now};
  store_.InsertMerchant(merchant);
  merchants_.emplace(merchant.id, merchant);
  return merchant;
}

Result<Outcome> Relay::Do(const Caller& caller, const ListMerchants&, Instant) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  MerchantList list;
  for (const auto& [id, merchant] : merchants_) list.items.push_back(merchant);
  return list;
}

Result<Outcome> Relay::Do(const Caller& caller, const GetMerchant& c, Instant) {
  auto it = merchants_.find(c.id);
  bool visible = caller.role == Role::kAdmin || (caller.role == Role::kMerchant && caller.merchant == c.id);
  if (it == merchants_.end() || !visible) return Fail(ErrorCode::kNotFound, "no such merchant");
  return it->second;
}

Result<Outcome> Relay::Do(const Caller& caller, const UpdateMerchant& c, Instant) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  auto it = merchants_.find(c.id);
  if (it == merchants_.end()) return Fail(ErrorCode::kNotFound, "no such merchant");
  Merchant& merchant = it->second;
  if (c.name) merchant.name = *c.name;
  if (c.active) merchant.active = *c.active;
  if (c.name || c.active || (!c.category && !c.division_direct)) store_.UpdateMerchant(merchant);
  if (c.category || c.division_direct) {
    if (c.category) merchant.category = *c.category;
    if (c.division_direct) merchant.division_direct = *c.division_direct;
    store_.PutMerchantDivision(merchant);  // its own record: UpdateMerchant's encoding is pinned
  }
  return merchant;
}

Result<Outcome> Relay::Do(const Caller& caller, const CreateContract& c, Instant now) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  if (!merchants_.contains(c.merchant)) return Fail(ErrorCode::kNotFound, "no such merchant");
  if (!banks_.contains(c.bank)) return Fail(ErrorCode::kUnknownBank, "bank " + c.bank + " is not set up", "bank");
  auto key = std::make_pair(c.merchant, c.bank);
  if (contracts_.contains(key)) {
    return Fail(ErrorCode::kContractExists, "the merchant already has a contract with bank " + c.bank, "bank");
  }
  Contract contract{c.merchant, c.bank, c.mother_account, c.holder_name, now,
                    c.issuance, c.realtime_url, c.realtime_timeout_ms, c.fallback_to_pool};
  store_.InsertContract(contract);
  contracts_.emplace(key, contract);
  return contract;
}

Result<Outcome> Relay::Do(const Caller& caller, const ListContracts& c, Instant) {
  bool visible = caller.role == Role::kAdmin || (caller.role == Role::kMerchant && caller.merchant == c.merchant);
  if (!merchants_.contains(c.merchant) || !visible) return Fail(ErrorCode::kNotFound, "no such merchant");
  ContractList list;
  for (auto it = contracts_.lower_bound({c.merchant, ""});
       it != contracts_.end() && it->first.first == c.merchant; ++it) {
    list.items.push_back(it->second);
  }
  return list;
}

Result<Outcome> Relay::Do(const Caller& caller, const CreateApiKey& c, Instant now) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  if (IsMerchantRole(c.role) && !merchants_.contains(c.merchant)) {
    return Fail(ErrorCode::kUnknownMerchant, "merchant " + c.merchant + " is not set up", "merchant");
  }
  if (c.role == Role::kBank && !banks_.contains(c.bank)) {
    return Fail(ErrorCode::kUnknownBank, "bank " + c.bank + " is not set up", "bank");
  }
  IssuedApiKey issued;
  ApiKey& key = issued.key;
  key.id = ids_.NewId("key_", 16);
  // The token names its key, so an operator handed a leaked one knows which key to revoke; the
  // secret part alone carries the 200 bits.
  issued.token = "vrk_" + key.id.substr(4) + "_" + RandomSecret(40);
  key.secret_hash = Sha256Hex(issued.token);
  key.role = c.role;
  key.merchant = IsMerchantRole(c.role) ? c.merchant : "";
  key.bank = c.role == Role::kBank ? c.bank : "";
  key.label = c.label;
  key.created_at = now;
  store_.PutApiKey(key);
  key_by_hash_[key.secret_hash] = key.id;
  keys_.emplace(key.id, key);
  return issued;
}

Result<Outcome> Relay::Do(const Caller& caller, const ListApiKeys&, Instant) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  ApiKeyList list;
  for (const auto& [id, key] : keys_) list.items.push_back(key);
  return list;
}

Result<Outcome> Relay::Do(const Caller& caller, const RevokeApiKey& c, Instant now) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  auto it = keys_.find(c.id);
  if (it == keys_.end()) return Fail(ErrorCode::kNotFound, "no such API key");
  ApiKey& key = it->second;
  if (!key.revoked_at) {
    key.revoked_at = now;
    key_by_hash_.erase(key.secret_hash);
    store_.PutApiKey(key);
  }
  return key;
}

Result<Outcome> Relay::Do(const Caller& caller, const LoadNumbers& c, Instant) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  if (!merchants_.contains(c.merchant)) {
    return Fail(ErrorCode::kUnknownMerchant, "merchant " + c.merchant + " is not set up", "merchant");
  }
  if (!banks_.contains(c.bank)) return Fail(ErrorCode::kUnknownBank, "bank " + c.bank + " is not set up", "bank");
  if (!contracts_.contains({c.merchant, c.bank})) {
    return Fail(ErrorCode::kNoContract, "the merchant has no contract with bank " + c.bank, "bank");
  }
  VARELAY_INVARIANT(c.numbers.size() <= kMaxNumbersPerLoad, "the API bounds a load");
  LoadReport report;
  std::set<std::string_view> seen;
  std::vector<std::string_view> accepted;
  for (const auto& number : c.numbers) {
    if (!IsVirtualAccountNumber(number)) {
      report.skipped.push_back({number, "malformed"});
    } else if (IsReservedVirtualAccountNumber(number)) {
      // Division accounts' range (docs/division-accounts.md): a payer must never mistake one for the other.
      report.skipped.push_back({number, "reserved_number"});
    } else if (!seen.insert(number).second) {
      report.skipped.push_back({number, "duplicate_in_request"});
    } else if (numbers_.Find(c.bank, number)) {
      report.skipped.push_back({number, "duplicate"});
    } else {
      accepted.push_back(number);
    }
  }
  auto& pool = pools_[PoolKey(c.merchant, c.bank, c.region)];
  if (!pool) pool = std::make_unique<Pool>(Pool{c.merchant, c.bank, c.region, {}, 0, 0});
  for (auto number : accepted) {
    NumberSlot& slot = numbers_.Add(*pool, number);
    MarkFreed(slot);
    pool->free.push_back(&slot);
  }
  report.loaded = static_cast<std::int64_t>(accepted.size());
  return report;
}

Result<Outcome> Relay::Do(const Caller& caller, const ListPools&, Instant) {
  if (caller.role == Role::kBank) return Fail(ErrorCode::kForbidden, "banks do not list pools");
  PoolList list;
  for (const auto& [key, pool] : pools_) {
    if (caller.role == Role::kMerchant && pool->merchant != caller.merchant) continue;
    list.items.push_back({pool->merchant, pool->bank, pool->region,
                          static_cast<std::int64_t>(pool->free.size()), pool->assigned, pool->cooling});
  }
  return list;
}

Result<Outcome> Relay::Do(const Caller& caller, const VerifyLedger&, Instant) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  auto verdict = AuditLedger(store_, ledger_hash_);
  if (!verdict) return std::unexpected(verdict.error());
  return *verdict;
}

Result<LedgerHead> Relay::LedgerHeadFor(const Caller& caller) const {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  return LedgerHead{ledger_seq_, ledger_hash_};
}

// The gauges name every merchant and pool: an operator's view.
Result<Outcome> Relay::Do(const Caller& caller, const varelay::ReadGauges&, Instant) {
  if (auto r = Require(caller, Role::kAdmin); !r) return std::unexpected(r.error());
  return ReadGauges();
}

Gauges Relay::ReadGauges() const {
  Gauges gauges;
  for (const auto& [key, pool] : pools_) {
    gauges.pools.push_back({pool->merchant, pool->bank, pool->region,
                            static_cast<std::int64_t>(pool->free.size()), pool->assigned, pool->cooling});
  }
  gauges.deposits_by_outcome = deposits_by_outcome_;
  gauges.store = store_.Stats();
  return gauges;
}

// ---- timers ---------------------------------------------------------------------------------

void Relay::RunTimers(Instant now) {
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    auto [due, id] = *expiries_.begin();
    expiries_.erase(expiries_.begin());
    auto it = live_.find(id);
    // Entries are left behind when an assignment closes another way; skip those.
    if (it == live_.end() || it->second.status != AssignmentStatus::kOpen || it->second.due_at != due) continue;
    Close(it->second, AssignmentStatus::kExpired, due);
  }
  while (!releases_.empty() && releases_.begin()->first <= now) {
    auto [at, slot] = *releases_.begin();
    releases_.erase(releases_.begin());
    if (slot->state != NumberState::kCooling || slot->release_at != at) continue;
    ReleaseToPool(*slot);
  }
  inquiries_.Expire(now);
  division_.RunTimers(now);
  ForgetExpiredSessions(now);
  last_now_ = std::max(last_now_, now);
  if (now >= next_idempotency_sweep_) SweepIdempotency(now);
  WriteTouchedNumbers();
}

void Relay::ForgetExpiredSessions(Instant now) {
  while (!session_expiries_.empty() && session_expiries_.begin()->first <= now) {
    auto id = std::move(session_expiries_.begin()->second);
    session_expiries_.erase(session_expiries_.begin());
    auto it = keys_.find(id);
    if (it == keys_.end()) continue;
    if (!it->second.revoked_at) key_by_hash_.erase(it->second.secret_hash);
    keys_.erase(it);
  }
}

void Relay::SweepIdempotency(Instant now) {
  const Instant cutoff = now - options_.idempotency_retention;
  auto oldest = store_.OldestIdempotency();
  const bool behind = !oldest || (*oldest && **oldest < cutoff);  // a failed read: sweep anyway
  if (behind) store_.DeleteIdempotencyBefore(cutoff, kIdempotencySweepLimit);
  next_idempotency_sweep_ = now + (behind ? kIdempotencySweepSlice : kIdempotencySweepEvery);
}

std::optional<Instant> Relay::NextTimer() const {
  std::optional<Instant> next = next_idempotency_sweep_;
  if (!expiries_.empty()) next = std::min(*next, expiries_.begin()->first);
  if (!releases_.empty()) next = std::min(*next, releases_.begin()->first);
  if (auto inquiry = inquiries_.NextExpiry()) next = std::min(*next, *inquiry);
  if (auto division = division_.NextTimer()) next = std::min(*next, *division);
  if (!session_expiries_.empty()) next = std::min(*next, session_expiries_.begin()->first);
  return next;
}

// ---- life cycle helpers ---------------------------------------------------------------------

Assignment& Relay::LiveAssignment(const NumberSlot& slot) {
  auto it = live_.find(slot.assignment_id.view());
  VARELAY_INVARIANT(it != live_.end(), "an assigned or cooling number's assignment is live");
  return it->second;
}

void Relay::Close(Assignment& assignment, AssignmentStatus status, Instant closed_at) {
  VARELAY_INVARIANT(assignment.status == AssignmentStatus::kOpen, "only an open assignment closes");
  assignment.status = status;
  assignment.closed_at = closed_at;
  store_.PutAssignment(assignment);
  NumberSlot* slot = FindSlot(assignment.bank, assignment.number);
  VARELAY_INVARIANT(slot && slot->state == NumberState::kAssigned &&
                        slot->assignment_id == assignment.id,
                    "an open assignment holds its number");
  StartCooling(*slot, closed_at);
  // A paid order's event is the deposit's own, raised by the caller.
  if (status == AssignmentStatus::kExpired) Emit(EventType::kAssignmentExpired, *slot, &assignment, nullptr, closed_at);
  if (status == AssignmentStatus::kCancelled) {
    Emit(EventType::kAssignmentCancelled, *slot, &assignment, nullptr, closed_at);
  }
}

void Relay::StartCooling(NumberSlot& slot, Instant from) {
  --slot.pool->assigned;
  ++slot.pool->cooling;
  slot.state = NumberState::kCooling;
  slot.release_at = from + options_.quarantine;
  Touch(slot);
  releases_.emplace(*slot.release_at, &slot);
}

void Relay::ReleaseToPool(NumberSlot& slot) {
  --slot.pool->cooling;
  live_.erase(live_.find(slot.assignment_id.view()));  // the tombstone is no longer needed
  slot.state = NumberState::kFree;
  slot.release_at.reset();
  MarkFreed(slot);
  slot.pool->free.push_back(&slot);
}

// ---- invariants -----------------------------------------------------------------------------

Relay::NumberChecks Relay::CheckNumbers(std::size_t first, std::size_t last) const {
  NumberChecks checks;
  numbers_.ForEachIn(first, last, [&](const NumberSlot& slot) {
    if (!checks.breach.empty()) return;
    switch (slot.state) {
      case NumberState::kFree:
        ++checks.free_numbers;
        break;
      case NumberState::kAssigned: {
        ++checks.assigned[slot.pool];
        auto it = live_.find(slot.assignment_id.view());
        if (it == live_.end() || it->second.status != AssignmentStatus::kOpen ||
            it->second.bank != slot.pool->bank || it->second.number != slot.number.view() ||
            it->second.generation != slot.generation) {
          checks.breach = "assigned number " + slot.number.str() + " has no matching open assignment";
          break;
        }
        const Assignment& a = it->second;
        if (a.paid_minor < 0 || a.paid_minor > a.amount.minor()) {
          checks.breach = "paid amount out of range";
        }
        ++checks.tied;
        // Hashed here, while the assignment is in the cache (integers sort fast; a million strings
        // with long common prefixes do not).
        const std::uint64_t order_hash = std::hash<std::string_view>{}(a.merchant) * 31 +
                                         std::hash<std::string_view>{}(a.order_id);
        checks.open_orders.emplace_back(order_hash, &a);
        break;
      }
      case NumberState::kCooling: {
        ++checks.cooling[slot.pool];
        if (!slot.release_at) checks.breach = "a cooling number has no release time";
        // A late deposit is attributed to this tombstone, so it must be at hand.
        auto it = live_.find(slot.assignment_id.view());
        if (it == live_.end() || it->second.status == AssignmentStatus::kOpen ||
            it->second.bank != slot.pool->bank || it->second.number != slot.number.view()) {
          checks.breach = "cooling number " + slot.number.str() + " has no closed assignment behind it";
          break;
        }
        ++checks.tied;
        break;
      }
    }
  });
  return checks;
}

Result<void> Relay::CheckInvariants() const {
  auto broken = [](std::string what) { return Fail(ErrorCode::kInternal, "invariant broken: " + what); };
  if (!touched_.empty()) return broken("a changed number was not written");
  // Every listed number is free and listed once, and as many are listed as are free: then every
  // free number is listed. Marks by slot index, not a set: this runs over millions at start-up.
  std::vector<bool> listed(numbers_.size());
  std::size_t free_listed = 0;
  for (const auto& [key, pool] : pools_) {
    for (const NumberSlot* slot : pool->free) {
      if (slot->state != NumberState::kFree) return broken("a number in a free list is not free");
      if (slot->pool != pool.get()) return broken("a number is listed free in another pool");
      if (listed[slot->index]) return broken("a number is listed free twice");
      listed[slot->index] = true;
      ++free_listed;
    }
  }
  // The per-number checks, over both halves of the table at once when it is large (start-up
  // checks ten million numbers; commands in tests check a handful).
  NumberChecks front, back;
  const std::size_t count = numbers_.size();
  if (count >= kParallelChecksFrom) {
    std::thread helper([&] { back = CheckNumbers(count / 2, count); });
    front = CheckNumbers(0, count / 2);
    helper.join();
  } else {
    front = CheckNumbers(0, count);
  }
  const std::string& breach = front.breach.empty() ? back.breach : front.breach;
  if (!breach.empty()) return broken(breach);
  const std::size_t free_numbers = front.free_numbers + back.free_numbers;
  for (const auto& [pool, n] : back.assigned) front.assigned[pool] += n;
  for (const auto& [pool, n] : back.cooling) front.cooling[pool] += n;
  auto& assigned = front.assigned;
  auto& cooling = front.cooling;
  if (free_numbers != free_listed) return broken("a free number is missing from its pool");
  for (const auto& [key, pool] : pools_) {
    if (pool->assigned != assigned[pool.get()] || pool->cooling != cooling[pool.get()]) {
      return broken("pool counters disagree with its numbers");
    }
  }
  // Each assigned or cooling number has its own live assignment (its bank and number match, and
  // a number's bank and number are its alone); as many numbers as live assignments means none is
  // tied to no number, so the open ones met on the way are all of them.
  if (front.tied + back.tied != live_.size()) {
    return broken("a live assignment is tied to no number");
  }
  if (auto division = division_.CheckInvariants(last_now_); !division) return division;
  // One open assignment per (merchant, order id): sorted by the pair's hash, then pairs of equal
  // hash compared.
  auto& open_orders = front.open_orders;
  open_orders.insert(open_orders.end(), back.open_orders.begin(), back.open_orders.end());
  std::sort(open_orders.begin(), open_orders.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  for (std::size_t i = 0; i < open_orders.size(); ++i) {
    const auto& [hash, x] = open_orders[i];
    for (std::size_t j = i + 1; j < open_orders.size() && open_orders[j].first == hash; ++j) {
      const Assignment* y = open_orders[j].second;
      if (x->merchant == y->merchant && x->order_id == y->order_id) {
        return broken("two open assignments for one order");
      }
    }
  }
  return {};
}

}  // namespace varelay
