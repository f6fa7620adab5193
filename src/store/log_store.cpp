#include "store/log_store.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/file_io.h"
#include "store/log_records.h"

namespace varelay {
namespace {

static_assert(std::endian::native == std::endian::little, "the log's integers are little-endian");

// A frame: magic, payload length (u32), lsn (u64), checksum (u64) of lsn, length and payload,
// then the payload (a batch's records).
constexpr std::uint32_t kMagic = 0x31474c56;  // "VLG1"
constexpr std::size_t kHeaderBytes = 24;
constexpr std::uint64_t kMaxPayload = 0xffffffffULL;  // what the length field holds
// What a running snapshot holds, and so all a replay over one needs (Store::ReplayLogAfter).
constexpr std::uint64_t kSnapshotRecords =
    LogRecordBit(LogRecordTag::kPutNumber) | LogRecordBit(LogRecordTag::kPutAssignment);
// At open, logged batches are applied in transactions of about this many bytes.
constexpr std::uint64_t kReplayTransactionBytes = 64ULL << 20;

std::uint64_t Mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::uint64_t FrameChecksum(std::uint64_t lsn, std::string_view payload) {
  constexpr std::uint64_t kStep = 0x9e3779b97f4a7c15ULL;
  std::uint64_t h = Mix(lsn ^ (payload.size() * kStep));
  std::size_t i = 0;
  for (; i + 8 <= payload.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, payload.data() + i, 8);
    h = std::rotl(h ^ Mix(word), 27) * kStep;
  }
  std::uint64_t tail = payload.size() - i;
  std::uint64_t word = 0;
  std::memcpy(&word, payload.data() + i, tail);
  return Mix(std::rotl(h ^ Mix(word ^ (tail << 56)), 27) * kStep);
}

void AppendFrame(std::string& out, std::uint64_t lsn, std::string_view payload) {
  const auto length = static_cast<std::uint32_t>(payload.size());
  const std::uint64_t checksum = FrameChecksum(lsn, payload);
  const std::size_t at = out.size();
  out.resize(at + kHeaderBytes);
  std::memcpy(out.data() + at, &kMagic, 4);
  std::memcpy(out.data() + at + 4, &length, 4);
  std::memcpy(out.data() + at + 8, &lsn, 8);
  std::memcpy(out.data() + at + 16, &checksum, 8);
  out.append(payload);
}

std::unexpected<Error> SystemError(const std::string& what) {
  return Fail(ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

Result<void> WriteAt(int fd, std::string_view bytes, std::uint64_t offset,
                     const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return SystemError("cannot write to the command log " + path);
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

// One file of the log: the batches from `first_lsn` on, named by it.
struct Segment {
  Segment(std::string file, int descriptor, std::uint64_t first_lsn)
      : path(std::move(file)), fd(descriptor), last_lsn(first_lsn - 1) {}
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }

  std::string path;
  int fd;                  // -1 for a segment kept from before the open (never written again)
  std::uint64_t last_lsn;  // the engine thread's while it is the current segment
  std::uint64_t bytes = 0;
};

std::string SegmentPath(const std::string& dir, std::uint64_t first_lsn) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.log", static_cast<unsigned long long>(first_lsn));
  return dir + "/" + name;
}

// Writes zeros over [from, to) of `fd` and flushes it.
Result<void> WriteZeros(int fd, std::uint64_t from, std::uint64_t to, const std::string& path) {
  const std::string zeros(std::size_t{1} << 20, '\0');
  for (std::uint64_t at = from; at < to; at += zeros.size()) {
    auto piece = std::string_view(zeros).substr(0, std::min<std::uint64_t>(zeros.size(), to - at));
    if (auto r = WriteAt(fd, piece, at, path); !r) return r;
  }
  if (::fdatasync(fd) != 0) return SystemError("cannot flush " + path);
  return {};
}

// A file of `bytes` zeros, flushed: a segment is written over in place, so flushing a batch
// changes no file size or block map (ext4 then flushes the data alone, no journal commit).
Result<int> ZeroFile(const std::string& path, std::uint64_t bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return SystemError("cannot create " + path);
  if (auto r = WriteZeros(fd, 0, bytes, path); !r) {
    ::close(fd);
    return std::unexpected(r.error());
  }
  return fd;
}

// Writes zeros over `path` from `offset` to its end, and flushes it.
Result<void> ZeroTail(const std::string& path, std::uint64_t offset) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return SystemError("cannot open " + path);
  struct stat info {};
  Result<void> result = ::fstat(fd, &info) == 0
                            ? WriteZeros(fd, offset, static_cast<std::uint64_t>(info.st_size), path)
                            : SystemError("cannot read the size of " + path);
  ::close(fd);
  return result;
}

// A zeroed file waiting to become the next segment, under a name of its own.
struct Spare {
  int fd;
  std::string path;
};

Result<Spare> MakeSpare(const std::string& dir, std::uint64_t bytes) {
  static std::atomic<std::uint64_t> made{0};
  std::string path = dir + "/spare-" + std::to_string(made.fetch_add(1)) + ".tmp";
  auto fd = ZeroFile(path, bytes);
  if (!fd) return std::unexpected(fd.error());
  return Spare{*fd, std::move(path)};
}

// Makes `spare` (or, when there is none, a new zeroed file) the segment that begins with
// `first_lsn`: renamed into place, the folder flushed.
Result<std::shared_ptr<Segment>> StartSegment(const std::string& dir, std::uint64_t first_lsn,
                                              std::optional<Spare> spare, std::uint64_t bytes) {
  if (!spare) {
    auto made = MakeSpare(dir, bytes);
    if (!made) return std::unexpected(made.error());
    spare = std::move(*made);
  }
  std::string path = SegmentPath(dir, first_lsn);
  auto segment = std::make_shared<Segment>(path, spare->fd, first_lsn);
  if (::rename(spare->path.c_str(), path.c_str()) != 0) {
    return SystemError("cannot start the command log segment " + path);
  }
  if (auto r = SyncFolder(dir); !r) return std::unexpected(r.error());
  return segment;
}

// The log's segment files, each with the batch it begins with.
using SegmentList = std::vector<std::pair<std::uint64_t, std::string>>;

// The log's segment files in order.
Result<SegmentList> ListSegments(const std::string& dir) {
  SegmentList found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 24 || !name.ends_with(".log")) continue;
    if (!std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    found.emplace_back(std::stoull(name.substr(0, 20)), entry.path().string());
  }
  if (ec)
    return Fail(ErrorCode::kInternal,
                "cannot list the command log folder " + dir + ": " + ec.message());
  std::sort(found.begin(), found.end());
  return found;
}

// Rows written by batches not yet in the tables, by the key a look-up finds them by: this batch's
// (staged, the engine thread's alone) and committed ones (shared with the applier, which forgets
// them once their batch is in the tables; the caller holds the store's overlay lock for those).
template <typename T>
class Overlay {
 public:
  void Stage(std::string key, T value) {
    staged_.insert_or_assign(std::move(key), std::move(value));
  }

  std::optional<T> Find(const std::string& key) const {
    if (auto it = staged_.find(key); it != staged_.end()) return it->second;
    if (auto it = committed_.find(key); it != committed_.end()) return it->second.value;
    return std::nullopt;
  }

  template <typename F>
  void ForEach(F f) const {
    for (const auto& [key, value] : staged_) f(value);
    for (const auto& [key, entry] : committed_) f(entry.value);
  }

  void CommitStaged(std::uint64_t lsn) {
    for (auto& [key, value] : staged_) {
      order_.emplace_back(lsn, key);
      committed_.insert_or_assign(key, Entry{lsn, std::move(value)});
    }
    staged_.clear();
  }

  void Rollback() { staged_.clear(); }

  // Drops the rows of batches up to `applied`, unless a later batch wrote the row again.
  void ForgetApplied(std::uint64_t applied) {
    while (!order_.empty() && order_.front().first <= applied) {
      auto it = committed_.find(order_.front().second);
      if (it != committed_.end() && it->second.lsn <= applied) committed_.erase(it);
      order_.pop_front();
    }
  }

 private:
  struct Entry {
    std::uint64_t lsn;
    T value;
  };
  std::unordered_map<std::string, T> staged_;
  std::unordered_map<std::string, Entry> committed_;
  std::deque<std::pair<std::uint64_t, std::string>> order_;  // committed keys, by batch
};

std::string Key(std::string_view a, std::string_view b) {
  std::string key;
  key.reserve(a.size() + b.size() + 1);
  key.append(a).push_back('\n');
  key.append(b);
  return key;
}

[[noreturn]] void ApplyFailed(std::uint64_t lsn, const Error& error) {
  // The batch is durable in the log and was acknowledged; the tables cannot take it. Stopping is
  // the only safe continuation: the next start applies it from the log again.
  std::fprintf(stderr, "varelayd: FATAL: cannot apply command log batch %llu to the tables: %s\n",
               static_cast<unsigned long long>(lsn), error.detail.c_str());
  std::abort();
}

// Puts thread `tid` (0: the calling one) under SCHED_IDLE or back to SCHED_OTHER.
bool SetIdle(pid_t tid, bool idle) {
  sched_param none{};
  return ::sched_setscheduler(tid, idle ? SCHED_IDLE : SCHED_OTHER, &none) == 0;
}

// Calls `each(lsn, payload)` for every whole batch of the segments after `position`, in order.
// Zeros end a segment (segments are zeroed before use). A batch cut short or failing its checksum
// at the very end of the last segment was interrupted by a crash and never acknowledged: reading
// stops there. The same anywhere else, or a gap in the batch numbers, is damage the relay must not
// guess around: kInternal, naming the segment and the byte. So is a failure of `each`.
// `tail`, when given, learns where the whole batches of the last segment end and whether anything
// but zeros follows them there.
struct LogTail {
  std::uint64_t end = 0;
  bool torn = false;
};

template <typename Each>
Result<void> ReadBatches(const SegmentList& segments, std::uint64_t position, Each each,
                         LogTail* tail = nullptr) {
  std::uint64_t last = position;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const bool final_segment = i + 1 == segments.size();
    // Every batch of a segment whose successor begins by position + 1 is one already had.
    if (!final_segment && segments[i + 1].first <= position + 1) continue;
    // Mapped, not copied: reading 16 MiB segments into growing strings spent most of a replay
    // faulting in and copying memory.
    auto mapped = MappedFile::Open(segments[i].second);
    if (!mapped) return std::unexpected(mapped.error());
    std::string_view rest = mapped->bytes();
    std::uint64_t offset = 0;
    auto damaged = [&](const std::string& why) {
      return Fail(ErrorCode::kInternal, "the command log segment " + segments[i].second +
                                            " is damaged at byte " + std::to_string(offset) + ": " +
                                            why);
    };
    while (!rest.empty()) {
      std::uint32_t magic = 0, length = 0;
      std::uint64_t lsn = 0, checksum = 0;
      bool whole = rest.size() >= kHeaderBytes;
      if (whole) {
        std::memcpy(&magic, rest.data(), 4);
        std::memcpy(&length, rest.data() + 4, 4);
        std::memcpy(&lsn, rest.data() + 8, 8);
        std::memcpy(&checksum, rest.data() + 16, 8);
        whole = magic == kMagic && rest.size() - kHeaderBytes >= length &&
                FrameChecksum(lsn, rest.substr(kHeaderBytes, length)) == checksum;
      }
      if (!whole) {
        if (std::all_of(rest.begin(), rest.end(), [](char c) { return c == 0; })) break;
        if (final_segment) {
          if (tail) tail->torn = true;
          break;
        }
        return damaged("a batch is cut short or fails its checksum");
      }
      if (lsn > last) {
        if (lsn != last + 1) {
          return damaged("batch " + std::to_string(lsn) + " follows batch " + std::to_string(last));
        }
        if (auto r = each(lsn, rest.substr(kHeaderBytes, length)); !r) {
          return damaged("batch " + std::to_string(lsn) + ": " + r.error().detail);
        }
        last = lsn;
      }
      rest.remove_prefix(kHeaderBytes + length);
      offset += kHeaderBytes + length;
    }
    if (final_segment && tail) tail->end = offset;
  }
  return {};
}

class LogStore final : public Store {
 public:
  LogStore(std::unique_ptr<Store> tables, std::unique_ptr<Store> reader, LogStoreOptions options,
           std::shared_ptr<Segment> current, std::vector<std::shared_ptr<Segment>> kept,
           std::uint64_t last_lsn, std::uint64_t replayed)
      : tables_(std::move(tables)),
        reader_(std::move(reader)),
        options_(std::move(options)),
        last_lsn_(last_lsn),
        current_(std::move(current)),
        applied_lsn_(last_lsn),
        keep_after_(options_.keep_for_snapshot ? 0 : UINT64_MAX),
        old_segments_(std::move(kept)),
        replayed_(replayed),
        can_idle_(options_.idle_below_bytes > 0 && CanLeaveIdle(options_.apply_nice)) {
    applier_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "vr-log-apply");
      // Below the threads that answer requests: on a busy machine a long transaction here
      // would otherwise hold a core they wait for (Linux sets a thread's nice value by its id).
      (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), options_.apply_nice);
      {
        std::lock_guard lock(mutex_);
        applier_tid_ = ::gettid();
        applier_idle_ = can_idle_ && SetIdle(0, true);
      }
      ApplyLoop();
    });
  }

  ~LogStore() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      RaiseApplier();  // what is left is applied now, however busy the machine
    }
    work_.notify_all();
    applier_.join();
    if (spare_) {
      ::close(spare_->fd);
      ::unlink(spare_->path.c_str());
    }
    // Every committed batch is in the tables; once they are on the disk the log is not needed,
    // but for what a running snapshot may need.
    if (applied_lsn_ == last_lsn_ && tables_->Sync()) {
      old_segments_.push_back(current_);
      std::lock_guard lock(mutex_);
      DeleteUnneededSegments();
    }
  }

  bool KeepsLog() const override { return options_.keep_for_snapshot; }

  void KeepLogAfter(std::uint64_t position) override {
    std::lock_guard lock(mutex_);
    keep_after_ = position;
    DeleteUnneededSegments();
  }

  std::uint64_t LoggedBytes() const override { return logged_bytes_; }
  std::uint64_t BatchBytes() const override { return batch_.bytes().size(); }

  Result<std::uint64_t> ReplayLogAfter(std::uint64_t position, StoreWrites& target) override {
    const std::uint64_t last = last_lsn_;
    const std::string wanted =
        "batches " + std::to_string(position + 1) + " to " + std::to_string(last);
    if (position > last) {
      return Fail(ErrorCode::kNotFound, "it is at batch " + std::to_string(position) +
                                            ", past the log's last batch " + std::to_string(last));
    }
    if (position == last) return 0;
    auto segments = ListSegments(options_.dir);
    if (!segments) return std::unexpected(segments.error());
    if (segments->empty() || segments->front().first > position + 1) {
      return Fail(ErrorCode::kNotFound, "the log no longer holds " + wanted);
    }
    std::uint64_t replayed_to = position;
    auto read = ReadBatches(*segments, position, [&](std::uint64_t lsn, std::string_view payload) {
      if (auto r = ReplayLogBatch(payload, target, kSnapshotRecords); !r) return r;
      replayed_to = lsn;
      return Result<void>{};
    });
    if (!read) return std::unexpected(read.error());
    if (replayed_to != last) {
      return Fail(ErrorCode::kNotFound, "the log holds batches only up to " +
                                            std::to_string(replayed_to) + " of " + wanted);
    }
    return last - position;
  }

  StoreStats Stats() const override {
    StoreStats stats = tables_->Stats();
    stats.log_batches_applied = batches_applied_.load(std::memory_order_relaxed);
    stats.log_apply_rounds = apply_rounds_.load(std::memory_order_relaxed);
    stats.log_unapplied_bytes = unapplied_gauge_.load(std::memory_order_relaxed);
    stats.log_batches_replayed = replayed_;
    return stats;
  }

  Result<void> Load(LoadSink& sink, LoadParts parts) override {
    WaitApplied();
    std::lock_guard lock(tables_mutex_);
    return tables_->Load(sink, parts);
  }
  Result<std::string> SnapshotToken() override {
    WaitApplied();
    std::lock_guard lock(tables_mutex_);
    return tables_->SnapshotToken();
  }
  Result<void> SetSnapshotToken(const std::string& token) override {
    WaitApplied();
    std::lock_guard lock(tables_mutex_);
    return tables_->SetSnapshotToken(token);
  }

  void Begin() override { batch_.clear(); }

  Result<void> Commit() override {
    if (batch_.empty()) return {};  // nothing written: nothing to log
    if (const std::size_t size = batch_.bytes().size(); size > kMaxPayload) {
      // Far beyond any batch the request limits allow (1,024 commands of at most 4 MiB each).
      Rollback();
      return Fail(ErrorCode::kInternal,
                  "a batch of " + std::to_string(size) + " bytes is too large for the command log");
    }
    const std::uint64_t lsn = last_lsn_ + 1;
    std::string frame;
    frame.reserve(kHeaderBytes + batch_.bytes().size());
    AppendFrame(frame, lsn, batch_.bytes());
    batch_.clear();
    if (auto r = Append(lsn, frame); !r) {
      Rollback();
      return r;
    }
    last_lsn_ = lsn;
    logged_bytes_ += frame.size();
    {
      std::lock_guard lock(overlay_mutex_);
      ForEachOverlay([&](auto& overlay) { overlay.CommitStaged(lsn); });
    }
    {
      std::unique_lock lock(mutex_);
      unapplied_bytes_ += frame.size();
      unapplied_gauge_.store(unapplied_bytes_, std::memory_order_relaxed);
      if (unapplied_bytes_ >= options_.idle_below_bytes) RaiseApplier();
      const bool first_of_round = queue_.empty();
      queue_.push_back(Logged{lsn, std::move(frame)});
      // The applier sleeps until a round's first batch, then gathers until the round is due: it
      // needs waking for that first batch or a full round, not for every batch (a wake-up per
      // batch cost a context switch each, most of them at light load).
      if (first_of_round || unapplied_bytes_ >= options_.gather_bytes ||
          unapplied_bytes_ > options_.max_unapplied_bytes) {
        work_.notify_one();
      }
      // The applier bounds how far the tables may fall behind, and with it the overlays' memory.
      applied_.wait(lock, [&] { return unapplied_bytes_ <= options_.max_unapplied_bytes; });
    }
    return {};
  }

  Result<void> Sync() override {
    std::shared_ptr<Segment> segment;
    {
      std::lock_guard lock(segment_mutex_);
      segment = current_;
    }
    if (::fdatasync(segment->fd) != 0)
      return SystemError("cannot flush the command log " + segment->path);
    return {};
  }

  void Rollback() override {
    batch_.clear();
    ForEachOverlay([](auto& overlay) { overlay.Rollback(); });
  }

  // ---- writes: recorded for the log, and staged where a look-up needs them ----------------------

  void PutBank(const Bank& bank) override { batch_.PutBank(bank); }
  void InsertMerchant(const Merchant& merchant) override { batch_.InsertMerchant(merchant); }
  void UpdateMerchant(const Merchant& merchant) override { batch_.UpdateMerchant(merchant); }
  void InsertContract(const Contract& contract) override { batch_.InsertContract(contract); }
  void PutApiKey(const ApiKey& key) override { batch_.PutApiKey(key); }
  void PutNumber(const NumberRecord& number) override { batch_.PutNumber(number); }
  void PutAssignment(const Assignment& a) override {
    batch_.PutAssignment(a);
    orders_.Stage(Key(a.merchant, a.order_id), a.id);
    assignments_.Stage(a.id, a);
  }
  void PutDeposit(const Deposit& d) override {
    batch_.PutDeposit(d);
    if (!d.cancel_transaction_id.empty()) {
      cancellations_.Stage(Key(d.bank, d.cancel_transaction_id), d.transaction_id);
    }
    deposits_.Stage(Key(d.bank, d.transaction_id), d);
  }
  void AppendLedgerEntry(const LedgerEntry& entry) override { batch_.AppendLedgerEntry(entry); }
  void PutIdempotency(const IdempotencyRecord& r) override {
    batch_.PutIdempotency(r);
    idempotency_.Stage(Key(r.caller, r.key), r);
  }
  void PutWebhookEndpoint(const WebhookEndpoint& endpoint) override {
    batch_.PutWebhookEndpoint(endpoint);
  }
  void AppendEvent(const Event& event) override {
    batch_.AppendEvent(event);
    events_.Stage(event.id, event);
  }
  void PutDelivery(const Delivery& delivery) override { batch_.PutDelivery(delivery); }
  void PutStatementMessage(const StatementMessage& m) override {
    batch_.PutStatementMessage(m);
    for (const BankStatement& s : m.statements) {
      statements_.Stage(Key(Key(s.bank, s.message_id), s.statement_id), s);
    }
  }
  void PutStatement(const BankStatement& s, const std::string& xml) override {
    batch_.PutStatement(s, xml);
    statements_.Stage(Key(Key(s.bank, s.message_id), s.statement_id), s);
  }
  void PutTransfer(const Transfer& t) override {
    batch_.PutTransfer(t);
    transfers_.Stage(t.id, t);
  }
  void FailPendingDeliveries(const std::string& endpoint_id, const std::string& reason) override {
    batch_.FailPendingDeliveries(endpoint_id, reason);
  }
  // Rows not yet applied are seconds old, never older than a retention period: nothing to hide.
  void DeleteIdempotencyBefore(Instant cutoff, int limit) override {
    batch_.DeleteIdempotencyBefore(cutoff, limit);
  }
  // Read back only at start-up (banks, policies) or by list queries that wait for the tables.
  void PutBankChannels(const std::string& bank, std::uint32_t extra_channels) override {
    batch_.PutBankChannels(bank, extra_channels);
  }
  void PutPayoutPolicy(const PayoutPolicy& policy) override { batch_.PutPayoutPolicy(policy); }
  void PutHolderInquiry(const HolderInquiryRecord& record) override { batch_.PutHolderInquiry(record); }
  // Division accounts: the engine keeps every one in memory; read back only at start-up.
  void PutMerchantDivision(const Merchant& merchant) override { batch_.PutMerchantDivision(merchant); }
  void PutMaster(const Master& master) override { batch_.PutMaster(master); }
  void PutDivisionAccount(const DivisionAccount& account) override { batch_.PutDivisionAccount(account); }
  void PutDivisionPayment(const DivisionPayment& payment) override { batch_.PutDivisionPayment(payment); }
  void PutDivisionApproval(const DivisionApproval& approval) override { batch_.PutDivisionApproval(approval); }

  // ---- look-ups: the overlays first (newest), then the tables -----------------------------------
  // In that order: a row the applier forgets between the two was in the tables before it did.

  Result<std::optional<IdempotencyRecord>> FindIdempotency(const std::string& caller,
                                                           const std::string& key) override {
    if (auto found = Overlaid(idempotency_, Key(caller, key))) return found;
    return reader_->FindIdempotency(caller, key);
  }
  Result<std::optional<Instant>> OldestIdempotency() override { return reader_->OldestIdempotency(); }
  Result<std::optional<Deposit>> FindDeposit(const std::string& bank,
                                             const std::string& transaction_id) override {
    if (auto found = Overlaid(deposits_, Key(bank, transaction_id))) return found;
    return reader_->FindDeposit(bank, transaction_id);
  }
  Result<std::optional<Deposit>> FindDepositByCancellation(
      const std::string& bank, const std::string& cancel_transaction_id) override {
    if (auto original = Overlaid(cancellations_, Key(bank, cancel_transaction_id))) {
      return FindDeposit(bank, *original);
    }
    return reader_->FindDepositByCancellation(bank, cancel_transaction_id);
  }
  Result<std::optional<Assignment>> FindAssignment(const std::string& id) override {
    if (auto found = Overlaid(assignments_, id)) return found;
    return reader_->FindAssignment(id);
  }
  Result<std::optional<Assignment>> FindAssignmentByOrder(const std::string& merchant,
                                                          const std::string& order_id) override {
    if (auto id = Overlaid(orders_, Key(merchant, order_id))) return FindAssignment(*id);
    return reader_->FindAssignmentByOrder(merchant, order_id);
  }
  Result<std::optional<Event>> FindEvent(const std::string& id) override {
    if (auto found = Overlaid(events_, id)) return found;
    return reader_->FindEvent(id);
  }
  Result<std::optional<Transfer>> FindTransfer(const std::string& id) override {
    if (auto found = Overlaid(transfers_, id)) return found;
    return reader_->FindTransfer(id);
  }
  Result<std::optional<BankStatement>> FindStatement(const std::string& bank,
                                                     const std::string& message_id,
                                                     const std::string& statement_id) override {
    if (auto found = Overlaid(statements_, Key(Key(bank, message_id), statement_id))) return found;
    return reader_->FindStatement(bank, message_id, statement_id);
  }
  Result<std::uint32_t> LastTransferSequence(const std::string& bank,
                                             std::chrono::year_month_day day) override {
    std::uint32_t last = 0;
    {
      std::lock_guard lock(overlay_mutex_);
      transfers_.ForEach([&](const Transfer& t) {
        if (t.bank == bank && t.request_date == day) last = std::max(last, t.request_sequence);
      });
    }
    auto stored = reader_->LastTransferSequence(bank, day);
    if (!stored) return stored;
    return std::max(last, *stored);
  }

  // ---- queries: once the tables hold every committed batch (not the rows of the batch asking) --

  std::uint64_t CommittedPosition() override { return last_lsn_; }
  std::uint64_t AppliedPosition() override {
    std::lock_guard lock(mutex_);
    return applied_lsn_;
  }
  void SetReadFloor(std::uint64_t lsn) override { read_floor_ = lsn; }
  void HurryApply() override {
    {
      std::lock_guard lock(mutex_);
      hurry_to_ = std::max(hurry_to_, last_lsn_);
      RaiseApplier();  // a query waits for this round (it goes idle again after)
    }
    work_.notify_one();
  }
  void SetAppliedListener(std::function<void(std::uint64_t applied)> listener) override {
    std::lock_guard lock(listener_mutex_);  // so no call is under way once this returns
    applied_listener_ = std::move(listener);
  }

  Result<std::vector<Deposit>> QueryDeposits(const DepositQuery& query) override {
    WaitApplied();
    return reader_->QueryDeposits(query);
  }
  Result<std::vector<LedgerEntry>> QueryLedger(const LedgerQuery& query) override {
    WaitApplied();
    return reader_->QueryLedger(query);
  }
  Result<std::vector<LedgerEntry>> ReadLedger(std::int64_t after_seq, int limit) override {
    WaitApplied();
    return reader_->ReadLedger(after_seq, limit);
  }
  Result<PostingRange> CheckPostings(PostingCursor from, int count) override {
    WaitApplied();
    return reader_->CheckPostings(from, count);
  }
  Result<std::vector<BankStatement>> QueryStatements(const std::string& bank, int limit) override {
    WaitApplied();
    return reader_->QueryStatements(bank, limit);
  }
  Result<std::vector<Event>> QueryEvents(const EventQuery& query) override {
    WaitApplied();
    return reader_->QueryEvents(query);
  }
  Result<std::vector<std::pair<Delivery, Event>>> QueryPendingDeliveries(
      std::int64_t after_event_seq, int limit) override {
    WaitApplied();
    return reader_->QueryPendingDeliveries(after_event_seq, limit);
  }
  Result<std::vector<Delivery>> FindDeliveries(
      const std::vector<std::int64_t>& event_seqs) override {
    WaitApplied();
    return reader_->FindDeliveries(event_seqs);
  }
  Result<std::vector<Transfer>> QueryTransfers(const TransferQuery& query) override {
    WaitApplied();
    return reader_->QueryTransfers(query);
  }
  Result<std::vector<HolderInquiryRecord>> QueryHolderInquiries(const HolderInquiryQuery& query) override {
    WaitApplied();
    return reader_->QueryHolderInquiries(query);
  }
  Result<std::int64_t> CountDeposits() override {
    WaitApplied();
    return reader_->CountDeposits();
  }

 private:
  struct Logged {
    std::uint64_t lsn;
    std::string frame;
  };

  template <typename F>
  void ForEachOverlay(F f) {
    f(idempotency_);
    f(deposits_);
    f(cancellations_);
    f(assignments_);
    f(orders_);
    f(events_);
    f(transfers_);
    f(statements_);
  }

  template <typename T>
  std::optional<T> Overlaid(const Overlay<T>& overlay, const std::string& key) {
    std::lock_guard lock(overlay_mutex_);
    return overlay.Find(key);
  }

  // Appends a frame to the current segment, first starting a new one when it is full.
  Result<void> Append(std::uint64_t lsn, std::string_view frame) {
    if (current_->bytes > 0 && current_->bytes + frame.size() > options_.segment_bytes) {
      // The old segment is flushed here, so a Sync that still finds it current, or the new one,
      // covers every batch in it.
      if (::fdatasync(current_->fd) != 0)
        return SystemError("cannot flush the command log " + current_->path);
      std::optional<Spare> spare;
      {
        std::lock_guard lock(mutex_);
        spare = std::exchange(spare_, std::nullopt);
        spare_wanted_ = true;
      }
      work_.notify_one();  // the applier prepares the next spare
      auto next = StartSegment(options_.dir, lsn, spare, options_.segment_bytes);
      if (!next) return std::unexpected(next.error());
      std::shared_ptr<Segment> full;
      {
        std::lock_guard lock(segment_mutex_);
        full = std::exchange(current_, std::move(*next));
      }
      std::lock_guard lock(mutex_);
      old_segments_.push_back(std::move(full));
    }
    if (auto r = WriteAt(current_->fd, frame, current_->bytes, current_->path); !r) return r;
    current_->bytes += frame.size();
    current_->last_lsn = lsn;
    return {};
  }

  void WaitForTables(std::uint64_t position) override {
    std::unique_lock lock(mutex_);
    if (applied_lsn_ >= position) return;
    RaiseApplier();  // someone waits for it
    ++waiting_readers_;
    work_.notify_one();
    applied_.wait(lock, [&] { return applied_lsn_ >= position; });
    --waiting_readers_;
  }

  // Returns once the tables hold every batch committed so far (or up to the read floor).
  void WaitApplied() {
    const std::uint64_t wanted = read_floor_ > 0 ? std::min(read_floor_, last_lsn_) : last_lsn_;
    std::unique_lock lock(mutex_);
    if (applied_lsn_ >= wanted) return;
    RaiseApplier();  // this thread waits for it
    ++waiting_readers_;
    work_.notify_one();
    applied_.wait(lock, [&] { return applied_lsn_ >= wanted; });
    --waiting_readers_;
  }

  // A full segment goes once the tables hold its batches on the disk (the applier flushes them
  // after each round) and no running snapshot needs them, or, should the segments kept for one
  // come to more than max_kept_bytes, the oldest of them go all the same (the next start then
  // reads the tables). Under mutex_.
  void DeleteUnneededSegments() {
    std::size_t kept = old_segments_.size();
    std::erase_if(old_segments_, [&](const std::shared_ptr<Segment>& segment) {
      if (segment->last_lsn > applied_lsn_) return false;
      if (segment->last_lsn > keep_after_ &&
          kept * options_.segment_bytes <= options_.max_kept_bytes) {
        return false;
      }
      ::unlink(segment->path.c_str());
      --kept;
      return true;
    });
  }

  // The applier, if idle, becomes an ordinary thread (under mutex_).
  void RaiseApplier() {
    if (applier_idle_ && SetIdle(applier_tid_, false)) applier_idle_ = false;
  }

  void ApplyLoop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      work_.wait(lock, [&] { return stopping_ || !queue_.empty() || spare_wanted_; });
      if (spare_wanted_ && !stopping_) {
        // The next segment is zeroed here, off the acknowledgement path.
        spare_wanted_ = false;
        lock.unlock();
        auto made = MakeSpare(options_.dir, options_.segment_bytes);
        if (!made) {
          std::fprintf(stderr, "varelayd: cannot prepare the next command log segment: %s\n",
                       made.error().detail.c_str());
        }
        lock.lock();
        if (made) spare_ = std::move(*made);
        continue;
      }
      if (queue_.empty()) return;  // stopping, and everything applied
      auto in_a_hurry = [&] { return waiting_readers_ > 0 || hurry_to_ > applied_lsn_; };
      if (!stopping_ && !in_a_hurry() && unapplied_bytes_ < options_.gather_bytes) {
        // Light load: let a few batches gather, so they share the tables' pages in one transaction.
        work_.wait_for(lock, options_.gather, [&] {
          return stopping_ || in_a_hurry() || unapplied_bytes_ >= options_.gather_bytes ||
                 unapplied_bytes_ > options_.max_unapplied_bytes;
        });
      }
      std::deque<Logged> round = std::move(queue_);
      queue_.clear();
      lock.unlock();

      std::uint64_t bytes = 0;
      {
        std::lock_guard tables(tables_mutex_);
        tables_->Begin();
        for (const Logged& logged : round) {
          bytes += logged.frame.size();
          auto payload = std::string_view(logged.frame).substr(kHeaderBytes);
          if (auto r = ReplayLogBatch(payload, *tables_); !r) ApplyFailed(logged.lsn, r.error());
        }
        tables_->SetLogPosition(round.back().lsn);
        if (auto r = tables_->Commit(); !r) ApplyFailed(round.back().lsn, r.error());
        // Flushed now, a round at a time: left to the kernel, the tables' writes reach the disk
        // in bursts that the log's flush then queues behind (10-50 ms at half the peak rate).
        if (auto r = tables_->Sync(); !r) ApplyFailed(round.back().lsn, r.error());
      }
      {
        std::lock_guard overlays(overlay_mutex_);
        ForEachOverlay([&](auto& overlay) { overlay.ForgetApplied(round.back().lsn); });
      }

      lock.lock();
      applied_lsn_ = round.back().lsn;
      unapplied_bytes_ -= bytes;
      unapplied_gauge_.store(unapplied_bytes_, std::memory_order_relaxed);
      batches_applied_.fetch_add(round.size(), std::memory_order_relaxed);
      if (can_idle_ && !applier_idle_ && !stopping_ && waiting_readers_ == 0 &&
          unapplied_bytes_ < options_.idle_below_bytes / 4) {
        applier_idle_ = SetIdle(0, true);
      }
      apply_rounds_.fetch_add(1, std::memory_order_relaxed);
      DeleteUnneededSegments();
      applied_.notify_all();
      const std::uint64_t applied = applied_lsn_;
      lock.unlock();  // the listener takes its owner's lock: never while holding this one
      {
        std::lock_guard listening(listener_mutex_);
        if (applied_listener_) applied_listener_(applied);
      }
      lock.lock();
    }
  }

  std::unique_ptr<Store> tables_;  // the applier's (and at start-up the loader's) connection
  std::unique_ptr<Store> reader_;  // the engine thread's look-ups
  const LogStoreOptions options_;

  // The engine thread's.
  LogBatchEncoder batch_;
  std::uint64_t last_lsn_;  // the last batch committed (written to the log)
  std::uint64_t read_floor_ = 0;  // SetReadFloor
  std::uint64_t logged_bytes_ = 0;  // LoggedBytes

  std::mutex segment_mutex_;  // current_ as Sync reads it
  std::shared_ptr<Segment> current_;

  std::mutex overlay_mutex_;  // the overlays' committed rows
  Overlay<IdempotencyRecord> idempotency_;
  Overlay<Deposit> deposits_;
  Overlay<std::string> cancellations_;  // (bank, cancellation id) -> the deposit's transaction id
  Overlay<Assignment> assignments_;
  Overlay<std::string> orders_;  // (merchant, order id) -> assignment id
  Overlay<Event> events_;
  Overlay<Transfer> transfers_;
  Overlay<BankStatement> statements_;

  std::mutex tables_mutex_;
  std::mutex listener_mutex_;  // held while the listener is called
  std::function<void(std::uint64_t)> applied_listener_;
  std::mutex mutex_;                 // everything below
  std::condition_variable work_;     // the applier waits for batches
  std::condition_variable applied_;  // committers and readers wait for the applier
  std::deque<Logged> queue_;
  std::uint64_t unapplied_bytes_ = 0;
  std::uint64_t applied_lsn_;
  int waiting_readers_ = 0;
  std::uint64_t hurry_to_ = 0;  // HurryApply: the tables are wanted up to here without gathering
  pid_t applier_tid_ = 0;
  bool applier_idle_ = false;  // under SCHED_IDLE (LogStoreOptions::idle_below_bytes)
  bool stopping_ = false;
  std::uint64_t keep_after_;  // KeepLogAfter (UINT64_MAX: nothing is kept for a snapshot)
  std::vector<std::shared_ptr<Segment>> old_segments_;  // full segments not yet deleted, in order
  std::optional<Spare> spare_;                          // the next segment, zeroed
  bool spare_wanted_ = true;                            // the applier is to prepare one
  // For Stats, from any thread.
  std::atomic<std::uint64_t> batches_applied_{0}, apply_rounds_{0}, unapplied_gauge_{0};
  const std::uint64_t replayed_;  // batches applied from the log at open
  const bool can_idle_;           // the applier may go idle (LogStoreOptions::idle_below_bytes)
  std::thread applier_;
};

// Applies the logged batches after `position` (the tables' own), in transactions of
// kReplayTransactionBytes or so. Returns the last batch the log holds (or `position`, when the log
// holds nothing newer).
Result<std::uint64_t> Replay(Store& tables, std::uint64_t position, const SegmentList& segments,
                             LogTail& tail) {
  std::uint64_t last = position;
  std::uint64_t in_transaction = 0;
  auto commit = [&]() -> Result<void> {
    if (in_transaction == 0) return {};
    tables.SetLogPosition(last);
    in_transaction = 0;
    return tables.Commit();
  };
  auto apply = [&](std::uint64_t lsn, std::string_view payload) -> Result<void> {
    if (in_transaction == 0) tables.Begin();
    if (auto r = ReplayLogBatch(payload, tables); !r) {
      tables.Rollback();
      in_transaction = 0;
      return Fail(ErrorCode::kInternal, "cannot be applied: " + r.error().detail);
    }
    last = lsn;
    in_transaction += payload.size();
    return in_transaction >= kReplayTransactionBytes ? commit() : Result<void>{};
  };
  auto read = ReadBatches(segments, position, apply, &tail);
  if (!read) {
    if (in_transaction > 0) tables.Rollback();
    return std::unexpected(read.error());
  }
  if (auto r = commit(); !r) return std::unexpected(r.error());
  if (last != position) {
    if (auto r = tables.Sync(); !r) return std::unexpected(r.error());
  }
  return last;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenLogStore(const std::string& db_path, LogStoreOptions options,
                                            SqliteOptions sqlite) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec)
    return Fail(ErrorCode::kInternal,
                "cannot create the command log folder " + options.dir + ": " + ec.message());
  sqlite.idle_checkpoints = true;  // the applier is the writer they fall back on
  auto tables = OpenSqliteStore(db_path, OpenMode::kReadWrite, sqlite);
  if (!tables) return std::unexpected(tables.error());
  auto segments = ListSegments(options.dir);
  if (!segments) return std::unexpected(segments.error());
  auto position = (*tables)->LogPosition();
  if (!position) return std::unexpected(position.error());
  LogTail tail;
  auto last = Replay(**tables, *position, *segments, tail);
  if (!last) return std::unexpected(last.error());
  // Every batch the log held is in the tables, on the disk: a new log begins, in a segment of its
  // own. The old segments go, unless a running snapshot may need their batches (KeepsLog): those
  // are kept, and deleted as the applier deletes full segments.
  std::vector<std::shared_ptr<Segment>> kept;
  for (std::size_t i = 0; i < segments->size(); ++i) {
    const auto& [first, path] = (*segments)[i];
    const bool holds_a_batch = first <= *last;
    if (options.keep_for_snapshot && holds_a_batch) {
      const bool final_segment = i + 1 == segments->size();
      auto segment = std::make_shared<Segment>(path, -1, first);
      segment->last_lsn = final_segment ? *last : (*segments)[i + 1].first - 1;
      if (final_segment && tail.torn) {
        // What a crash left after the last whole batch was never acknowledged. Zeroed, so that
        // this segment, no longer the last, still reads to its end.
        if (auto r = ZeroTail(path, tail.end); !r) return std::unexpected(r.error());
      }
      kept.push_back(std::move(segment));
    } else if (::unlink(path.c_str()) != 0) {
      return SystemError("cannot remove the applied command log segment " + path);
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(options.dir, ec)) {
    if (entry.path().extension() == ".tmp") std::filesystem::remove(entry.path(), ec);  // a spare
  }
  auto current = StartSegment(options.dir, *last + 1, std::nullopt, options.segment_bytes);
  if (!current) return std::unexpected(current.error());
  auto reader = OpenSqliteStore(db_path, OpenMode::kReadOnly);
  if (!reader) return std::unexpected(reader.error());
  return std::unique_ptr<Store>(
      std::make_unique<LogStore>(std::move(*tables), std::move(*reader), std::move(options),
                                 std::move(*current), std::move(kept), *last, *last - *position));
}

bool CanLeaveIdle(int nice) {
  bool can = false;
  std::thread probe([&] {
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) != 0) return;
    can = SetIdle(0, true) && SetIdle(0, false);
  });
  probe.join();
  return can;
}

Result<void> ForEachLoggedBatch(
    const std::string& dir, std::uint64_t position,
    const std::function<Result<void>(std::uint64_t batch, std::string_view records)>& each) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return {};
  auto segments = ListSegments(dir);
  if (!segments) return std::unexpected(segments.error());
  return ReadBatches(*segments, position, each);
}

Result<std::uint64_t> CountLoggedBatches(const std::string& dir, std::uint64_t position) {
  std::uint64_t count = 0;
  auto read =
      ForEachLoggedBatch(dir, position, [&](std::uint64_t, std::string_view) -> Result<void> {
        ++count;
        return {};
      });
  if (!read) return std::unexpected(read.error());
  return count;
}

}  // namespace varelay
