// The stop snapshot: at a clean stop the engine writes its numbers and live assignments to one
// sequential file, and the next start reads them from it instead of from ten million rows of the
// store. The store holds a token naming the snapshot; it is cleared before anything changes
// again, so a snapshot is only ever read against the state it was taken from. Without a valid
// one (first start, crash, any doubt) the start reads the store, as it always could.
//
// The running snapshot: the same body, written while the relay runs (by a forked copy, engine.cpp)
// at a command-log batch named in its header instead of a token. A start after a kill reads it
// and replays the number and assignment writes the log holds after that batch (LogReplay).
#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <vector>

#include "domain/assert.h"
#include "engine/relay.h"
#include "engine/snapshot_file.h"
#include "engine/snapshot_records.h"

namespace varelay {
namespace {

constexpr std::string_view kMagic = "varelay-stop-snapshot";
constexpr std::string_view kRunningMagic = "varelay-running-snapshot";
constexpr std::uint64_t kRunningSnapshotPace = 4ULL << 20;
constexpr std::uint64_t kFormatVersion = 1;
constexpr int kTokenChars = 32;
constexpr std::size_t kMaxField = 64 * 1024;  // any stored text; a longer one means a bad file
// The fewest bytes each record takes, so a count can be checked against the bytes left before
// anything is sized by it: a pool is three lengths; a number a pool id, a state, a number of at
// least one digit, an id length, two integers and a flag; an assignment eleven strings, a
// three-letter currency and eleven integers and enums.
constexpr std::uint64_t kMinPoolBytes = 3;
constexpr std::uint64_t kMinNumberBytes = 8;
constexpr std::uint64_t kMinAssignmentBytes = 11 + 4 + 11;

std::unexpected<Error> Malformed(const std::string& path, std::string_view where) {
  return Fail(ErrorCode::kInvalidField, path + " is malformed (" + std::string(where) + ")");
}

void WriteInstant(SnapshotWriter& w, const std::optional<Instant>& t) {
  w.U64(t ? 1 : 0);
  if (t) w.I64(ToUnixMs(*t));
}

std::optional<Instant> ReadInstant(SnapshotReader& r) {
  const std::uint64_t present = r.U64();
  if (present > 1) r.MarkBad();
  if (present != 1) return std::nullopt;
  return FromUnixMs(r.I64());
}

template <typename Enum>
Enum ReadEnum(SnapshotReader& r, Enum last) {
  std::uint64_t value = r.U64();
  if (value > static_cast<std::uint64_t>(last)) {
    r.MarkBad();
    return Enum{};
  }
  return static_cast<Enum>(value);
}

}  // namespace

void WriteSnapshotHeader(SnapshotWriter& w, std::string_view token) {
  w.Bytes(kMagic);
  w.U64(kFormatVersion);
  w.Bytes(token);
}

void WriteSnapshotNumber(SnapshotWriter& w, std::uint64_t pool_id, NumberState state,
                         std::string_view number, std::string_view assignment_id,
                         std::int64_t generation, std::int64_t event_seq,
                         const std::optional<Instant>& release_at) {
  w.U64(pool_id);
  w.U64(static_cast<std::uint64_t>(state));
  w.Bytes(number);
  w.Bytes(assignment_id);
  w.I64(generation);
  w.I64(event_seq);
  WriteInstant(w, release_at);
}

void WriteSnapshotAssignment(SnapshotWriter& w, const Assignment& a) {
  for (const std::string* text :
       {&a.id, &a.merchant, &a.order_id, &a.bank, &a.region, &a.number, &a.holder_name,
        &a.customer.name, &a.customer.phone, &a.customer.email, &a.request_fingerprint}) {
    w.Bytes(*text);
  }
  w.I64(a.generation);
  w.I64(a.amount.minor());
  w.Bytes(a.amount.currency().code());
  w.U64(static_cast<std::uint64_t>(a.rule.kind));
  w.I64(a.rule.min_minor);
  w.I64(a.rule.max_minor);
  w.U64(static_cast<std::uint64_t>(a.rule.overpayment));
  w.I64(a.paid_minor);
  w.U64(static_cast<std::uint64_t>(a.status));
  w.I64(ToUnixMs(a.created_at));
  w.I64(ToUnixMs(a.due_at));
  WriteInstant(w, a.closed_at);
}

namespace {

// Fails the reader's run (ok() false) on anything malformed.
std::optional<Assignment> ReadAssignment(SnapshotReader& r) {
  Assignment a;
  for (std::string* text :
       {&a.id, &a.merchant, &a.order_id, &a.bank, &a.region, &a.number, &a.holder_name,
        &a.customer.name, &a.customer.phone, &a.customer.email, &a.request_fingerprint}) {
    *text = r.Bytes(kMaxField);
  }
  a.generation = r.I64();
  std::int64_t minor = r.I64();
  auto currency = Currency::FromCode(r.Bytes(8));
  a.rule.kind = ReadEnum(r, AmountRuleKind::kAccumulate);
  a.rule.min_minor = r.I64();
  a.rule.max_minor = r.I64();
  a.rule.overpayment = ReadEnum(r, Overpayment::kPark);
  a.paid_minor = r.I64();
  a.status = ReadEnum(r, AssignmentStatus::kCancelled);
  a.created_at = FromUnixMs(r.I64());
  a.due_at = FromUnixMs(r.I64());
  a.closed_at = ReadInstant(r);
  if (!r.ok() || !currency) return std::nullopt;
  a.amount = Money(minor, *currency);
  return a;
}

}  // namespace

Result<SnapshotFigures> Relay::WriteSnapshot(const std::string& path) {
  VARELAY_INVARIANT(touched_.empty(), "a snapshot is written between commands");
  auto writer = SnapshotWriter::Create(path);
  if (!writer) return std::unexpected(writer.error());
  SnapshotWriter& w = *writer;
  const std::string token = RandomSecret(kTokenChars);
  WriteSnapshotHeader(w, token);
  WriteSnapshotBody(w);
  auto bytes = w.Finish();
  if (!bytes) return std::unexpected(bytes.error());
  // Only now does the store vouch for the file: a stop cut short before this leaves no token.
  if (auto r = store_.SetSnapshotToken(token); !r) return std::unexpected(r.error());
  return SnapshotFigures{static_cast<std::int64_t>(numbers_.size()),
                         static_cast<std::int64_t>(live_.size()), *bytes};
}

Result<SnapshotFigures> Relay::WriteRunningSnapshot(const std::string& path,
                                                    std::uint64_t position) const {
  VARELAY_INVARIANT(touched_.empty(), "a snapshot is written between batches");
  auto writer = SnapshotWriter::Create(path);
  if (!writer) return std::unexpected(writer.error());
  SnapshotWriter& w = *writer;
  // Written beside a server that flushes its log for every answer: a little at a time.
  w.PaceWriteback(kRunningSnapshotPace);
  w.Bytes(kRunningMagic);
  w.U64(kFormatVersion);
  w.U64(position);
  WriteSnapshotBody(w);
  auto bytes = w.Finish();
  if (!bytes) return std::unexpected(bytes.error());
  return SnapshotFigures{static_cast<std::int64_t>(numbers_.size()),
                         static_cast<std::int64_t>(live_.size()), *bytes};
}

void Relay::WriteSnapshotBody(SnapshotWriter& w) const {
  std::unordered_map<const Pool*, std::uint64_t> pool_ids;
  w.U64(pools_.size());
  for (const auto& [key, pool] : pools_) {
    pool_ids.emplace(pool.get(), pool_ids.size());
    w.Bytes(pool->merchant);
    w.Bytes(pool->bank);
    w.Bytes(pool->region);
  }
  w.U64(numbers_.size());
  const Pool* last_pool = nullptr;  // runs of one pool's numbers are the rule
  std::uint64_t last_pool_id = 0;
  numbers_.ForEach([&](const NumberSlot& slot) {
    if (slot.pool != last_pool) {
      last_pool = slot.pool;
      last_pool_id = pool_ids.at(slot.pool);
    }
    WriteSnapshotNumber(w, last_pool_id, slot.state, slot.number.view(), slot.assignment_id.view(),
                        slot.generation, slot.event_seq, slot.release_at);
  });
  // Free lists in their order (first out first), by slot index.
  for (const auto& [key, pool] : pools_) {
    w.U64(pool->free.size());
    for (const NumberSlot* slot : pool->free) w.U64(slot->index);
  }
  // In the map's own order: the reader sorts the due times itself (QueueLoadedTimers).
  w.U64(live_.size());
  for (const auto& [id, assignment] : live_) WriteSnapshotAssignment(w, assignment);
}

Result<void> Relay::ReadSnapshot(const std::string& path, std::string_view token) {
  auto opened = SnapshotReader::Open(path);
  if (!opened) return std::unexpected(opened.error());
  SnapshotReader& r = *opened;
  if (r.Bytes(kMagic.size()) != kMagic || r.U64() != kFormatVersion) {
    return Malformed(path, "not a snapshot of this format");
  }
  if (r.Bytes(kTokenChars) != token) {
    return Fail(ErrorCode::kInvalidField, path + " is not the snapshot the store names");
  }
  return ReadSnapshotBody(r, path);
}

Result<void> Relay::ReadSnapshotBody(SnapshotReader& r, const std::string& path) {
  // Every count is checked against the bytes left, so a bad count cannot ask for memory the file
  // could not fill.
  const std::uint64_t pool_count = r.U64();
  if (!r.ok() || pool_count > r.remaining() / kMinPoolBytes) return Malformed(path, "pool count");
  std::vector<Pool*> pools;
  pools.reserve(pool_count);
  for (std::uint64_t i = 0; i < pool_count; ++i) {
    std::string merchant(r.Bytes(kMaxField)), bank(r.Bytes(kMaxField)), region(r.Bytes(kMaxField));
    if (!r.ok()) return Malformed(path, "pools");
    auto& owned = pools_[PoolKey(merchant, bank, region)];
    if (owned) return Malformed(path, "a pool twice");
    owned = std::make_unique<Pool>(
        Pool{std::move(merchant), std::move(bank), std::move(region), {}, 0, 0});
    pools.push_back(owned.get());
  }
  const std::uint64_t number_count = r.U64();
  if (!r.ok() || number_count > r.remaining() / kMinNumberBytes || number_count >= UINT32_MAX - 1) {
    return Malformed(path, "number count");
  }
  for (std::uint64_t n = 0; n < number_count; ++n) {
    const std::uint64_t pool_id = r.U64();
    const auto state = ReadEnum(r, NumberState::kCooling);
    const std::string_view number = r.Bytes(16);
    const std::string_view assignment_id = r.Bytes(31);
    const std::int64_t generation = r.I64();
    const std::int64_t event_seq = r.I64();
    const auto release_at = ReadInstant(r);
    if (!r.ok() || pool_id >= pools.size() || number.empty()) return Malformed(path, "numbers");
    Pool& pool = *pools[pool_id];
    NumberSlot& slot = numbers_.AddUnindexed(pool, number);
    slot.state = state;
    slot.generation = generation;
    slot.assignment_id.Assign(assignment_id);
    slot.release_at = release_at;
    slot.event_seq = event_seq;
    CountLoadedNumber(slot);  // free lists follow, in their order
  }
  // Indexed on a helper thread while the assignments are read (they need no look-up by number).
  StartIndexing();
  for (Pool* pool : pools) {
    const std::uint64_t free_count = r.U64();
    if (!r.ok() || free_count > number_count) return Malformed(path, "free list");
    for (std::uint64_t i = 0; i < free_count; ++i) {
      const std::uint64_t index = r.U64();
      if (!r.ok() || index >= number_count) return Malformed(path, "free list");
      pool->free.push_back(&numbers_.At(static_cast<std::uint32_t>(index)));
    }
  }
  const std::uint64_t live_count = r.U64();
  if (!r.ok() || live_count > r.remaining() / kMinAssignmentBytes)
    return Malformed(path, "assignment count");
  live_.reserve(live_count);
  for (std::uint64_t i = 0; i < live_count; ++i) {
    auto assignment = ReadAssignment(r);
    if (!assignment) return Malformed(path, "assignments");
    OnLiveAssignment(std::move(*assignment));
  }
  if (!r.AtEnd()) return Malformed(path, "bytes after the end");
  return {};
}

// The log's writes of numbers and assignments, replayed over a running snapshot's. Every other
// write is in the tables already (the store applied its log to them when it opened), and is read
// from there. A number's row is what it was when its command ended; an assignment's, likewise.
class Relay::LogReplay final : public IgnoredWrites {
 public:
  explicit LogReplay(Relay& relay) : relay_(relay) {}

  void PutNumber(const NumberRecord& n) override {
    if (!error_.empty()) return;
    if (!NumberTable::CanHold(n.number) ||
        !decltype(NumberSlot::assignment_id)::Fits(n.assignment_id)) {
      error_ = "the log holds a number that fits no slot (" + n.bank + "/" + n.number + ")";
      return;
    }
    auto& owned = relay_.pools_[PoolKey(n.merchant, n.bank, n.region)];
    if (!owned) owned = std::make_unique<Pool>(Pool{n.merchant, n.bank, n.region, {}, 0, 0});
    NumberSlot* slot = relay_.numbers_.Find(n.bank, n.number);
    // Gone free now (new, or from assigned or cooling): the engine put it at the back of its pool.
    // A free number written again (an event about it) stayed where it was.
    const bool freed =
        n.state == NumberState::kFree && !(slot && slot->state == NumberState::kFree);
    if (!slot) {
      slot = &relay_.numbers_.Add(*owned, n.number);
      changes_.push_back(Change{slot, nullptr, NumberState::kFree});
      slot->touched = true;
    } else if (!slot->touched) {
      changes_.push_back(Change{slot, slot->pool, slot->state});
      slot->touched = true;
    }
    if (slot->assignment_id.view() != n.assignment_id && !slot->assignment_id.view().empty()) {
      maybe_dead_.emplace_back(slot->assignment_id.view());  // the number moved on from it
    }
    slot->pool = owned.get();
    slot->state = n.state;
    slot->generation = n.generation;
    slot->assignment_id.Assign(n.assignment_id);
    slot->release_at = n.release_at;
    slot->event_seq = n.event_seq;
    if (freed) last_freed_[slot] = ++writes_;
  }

  void PutAssignment(const Assignment& a) override {
    relay_.live_.insert_or_assign(a.id, a);
    maybe_dead_.push_back(a.id);
  }

  // What the snapshot's reading counted and listed is brought up to date with the changed numbers.
  Result<void> Finish() {
    if (!error_.empty()) return Fail(ErrorCode::kInvalidField, error_);
    // Counts and release times: each changed number taken out as it was, put back as it is. A
    // release time left behind is skipped when it comes (RunTimers checks the number), as is an
    // entry twice.
    for (const Change& c : changes_) {
      if (c.state == NumberState::kAssigned) --c.pool->assigned;
      if (c.state == NumberState::kCooling) --c.pool->cooling;
      relay_.CountLoadedNumber(*c.slot);
    }
    // Free lists: a number the log did not free keeps its place; one it took out goes, and one it
    // freed that is still free goes to the back of its pool, in the order it was last freed, as
    // the engine had put it (the engine writes the numbers a command frees last, in the order it
    // freed them). Numbers leave a pool from its front but for a bank's own (AdoptBankNumber), so
    // each list is read from the front only until every number leaving it has been met: not
    // through ten million free numbers for a few thousand issued.
    std::unordered_map<Pool*, std::size_t> leaving;
    auto leaves = [&](NumberSlot* slot) {
      return slot->touched && (slot->state != NumberState::kFree || last_freed_.contains(slot));
    };
    for (const Change& c : changes_) {
      if (c.pool && c.state == NumberState::kFree && leaves(c.slot)) ++leaving[c.pool];
    }
    for (auto [pool, count] : leaving) {
      std::vector<NumberSlot*> staying;
      std::size_t read = 0;
      for (; count > 0; ++read) {
        NumberSlot* slot = pool->free[read];
        if (leaves(slot)) {
          --count;
        } else {
          staying.push_back(slot);
        }
      }
      pool->free.erase(pool->free.begin(), pool->free.begin() + static_cast<std::ptrdiff_t>(read));
      pool->free.insert(pool->free.begin(), staying.begin(), staying.end());
    }
    std::vector<std::pair<std::uint64_t, NumberSlot*>> freed;
    for (auto [slot, write] : last_freed_) {
      if (slot->state == NumberState::kFree) freed.emplace_back(write, slot);
    }
    std::sort(freed.begin(), freed.end());
    for (auto [write, slot] : freed) slot->pool->free.push_back(slot);
    for (const Change& c : changes_) c.slot->touched = false;
    // Live assignments: one the log wrote, or whose number moved on, stays only while its number
    // is still tied to it (open, or the tombstone of a cooling number); one the log wrote that is
    // open gets its due time (one left behind, or twice, is skipped when it comes).
    std::sort(maybe_dead_.begin(), maybe_dead_.end());
    maybe_dead_.erase(std::unique(maybe_dead_.begin(), maybe_dead_.end()), maybe_dead_.end());
    for (const std::string& id : maybe_dead_) {
      auto it = relay_.live_.find(id);
      if (it == relay_.live_.end()) continue;
      const NumberSlot* slot = relay_.numbers_.Find(it->second.bank, it->second.number);
      if (!slot || slot->state == NumberState::kFree || slot->assignment_id.view() != id) {
        relay_.live_.erase(it);
      } else if (it->second.status == AssignmentStatus::kOpen) {
        relay_.loading_expiries_.emplace_back(it->second.due_at, id);
      }
    }
    return {};
  }

 private:
  // A number as the snapshot had it, before the log first changed it (the log added it: no pool,
  // and counted as nothing).
  struct Change {
    NumberSlot* slot;
    Pool* pool;
    NumberState state;
  };

  Relay& relay_;
  std::vector<Change> changes_;  // one per changed number (NumberSlot::touched marks them)
  std::unordered_map<NumberSlot*, std::uint64_t> last_freed_;  // -> the write that freed it last
  std::uint64_t writes_ = 0;
  std::vector<std::string> maybe_dead_;  // assignments that may no longer be live
  std::string error_;                    // the first write that could not be replayed
};

Result<void> Relay::ReadRunningSnapshot(const std::string& path, RecoveryReport& report) {
  auto opened = SnapshotReader::Open(path);
  if (!opened) return std::unexpected(opened.error());
  SnapshotReader& r = *opened;
  if (r.Bytes(kRunningMagic.size()) != kRunningMagic || r.U64() != kFormatVersion) {
    return Malformed(path, "not a running snapshot of this format");
  }
  const std::uint64_t position = r.U64();
  if (!r.ok()) return Malformed(path, "position");
  if (auto body = ReadSnapshotBody(r, path); !body) return body;
  FinishIndexing();  // the replay finds numbers by their key
  const auto replay_started = std::chrono::steady_clock::now();
  LogReplay replay(*this);
  auto replayed = store_.ReplayLogAfter(position, replay);
  if (!replayed) {
    return Fail(replayed.error().code,
                "taken at batch " + std::to_string(position) +
                    ", it cannot be brought up to date: " + replayed.error().detail);
  }
  if (auto finished = replay.Finish(); !finished) return finished;
  report.running_snapshot_position = position;
  report.replayed_batches = *replayed;
  report.replay_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - replay_started).count();
  return {};
}

}  // namespace varelay
