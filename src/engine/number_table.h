// Every pooled virtual account number, kept compactly: the relay holds millions of them.
//
// A number's merchant, bank and region are its pool's, so a slot keeps a pointer to the pool
// instead of three strings; the number and its assignment id live inline (numbers are at most 16
// digits, assignment ids 24 characters); slots sit in fixed-size chunks, so a slot's address
// never changes; and the look-up by (bank, number) is an open-addressing table (linear probing,
// home position from the hash's top bits) whose entries hold a slot index and 32 more bits of the
// hash, so a probe touches a slot only when those match. About 146 bytes of resident memory per
// number in all at 10^7 numbers, against about 370 for a hash map of records.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/model.h"

namespace varelay {

// A string of at most N bytes, stored in place.
template <std::size_t N>
class InlineString {
 public:
  static bool Fits(std::string_view s) { return s.size() <= N; }
  void Assign(std::string_view s);  // s must fit
  std::string_view view() const { return {data_.data(), size_}; }
  std::string str() const { return std::string(view()); }
  friend bool operator==(const InlineString& a, std::string_view b) { return a.view() == b; }

 private:
  std::array<char, N> data_{};
  std::uint8_t size_ = 0;
};

struct NumberSlot;

// The free numbers of one merchant at one bank in one region.
struct NumberPool {
  std::string merchant, bank, region;
  std::deque<NumberSlot*> free;  // FIFO: a returned number waits longest before reuse
  std::int64_t assigned = 0, cooling = 0;
};

struct NumberSlot {
  NumberPool* pool = nullptr;
  // Bumped on every assignment, so (number, generation) names one assignment forever.
  std::int64_t generation = 0;
  // The sequence number of the last event about this number (0: none yet), across generations.
  std::int64_t event_seq = 0;
  std::optional<Instant> release_at;  // kCooling: when the number returns to the pool
  InlineString<16> number;
  // The current (assigned) or last (cooling, free) assignment.
  InlineString<31> assignment_id;
  NumberState state = NumberState::kFree;
  bool touched = false;     // changed by the command being applied; its row not yet written
  bool freed = false;       // ... and went back to its pool's free list (Relay::MarkFreed)
  std::uint32_t index = 0;  // the order it was added in: 0, 1, 2...

  const std::string& bank() const { return pool->bank; }
  const std::string& merchant() const { return pool->merchant; }
  // The row the store keeps for this number.
  NumberRecord Record() const;
};

static_assert(sizeof(NumberSlot) <= 96, "a slot stays within 96 bytes");

class NumberTable {
 public:
  std::size_t size() const { return count_; }
  // The slot added `index`-th (NumberSlot::index); index < size().
  NumberSlot& At(std::uint32_t index) const { return chunks_[index / kChunk][index % kChunk]; }

  NumberSlot* Find(std::string_view bank, std::string_view number);
  const NumberSlot* Find(std::string_view bank, std::string_view number) const;
  // Adds a number to `pool` (whose bank it is at); it must not be in the table yet and must fit a
  // slot (CanHold).
  NumberSlot& Add(NumberPool& pool, std::string_view number);
  static bool CanHold(std::string_view number) {
    return decltype(NumberSlot::number)::Fits(number);
  }

  // For start-up: adds without indexing (numbers the store holds are unique), then BuildIndex
  // indexes them all at once, front to back. No Find or Add in between.
  NumberSlot& AddUnindexed(NumberPool& pool, std::string_view number);
  void BuildIndex();

  // Visits every slot, in the order they were added.
  template <typename Visit>
  void ForEach(Visit visit) const {
    ForEachIn(0, count_, visit);
  }
  // Visits the slots added [first, last)-th; last <= size().
  template <typename Visit>
  void ForEachIn(std::size_t first, std::size_t last, Visit visit) const {
    for (std::size_t i = first; i < last; ++i) visit(At(static_cast<std::uint32_t>(i)));
  }

 private:
  static constexpr std::size_t kChunk = 4096;  // slots per allocation
  // An index entry: (slot index + 1) in the low 32 bits, the key hash's low 32 bits above; 0 is
  // empty.
  static constexpr std::uint64_t kEmpty = 0;
  static std::uint64_t Entry(std::uint32_t slot, std::uint64_t hash) {
    return (hash << 32) | (slot + 1ULL);
  }
  static std::uint32_t SlotOf(std::uint64_t entry) { return static_cast<std::uint32_t>(entry) - 1; }

  // A new slot at the end, not indexed.
  NumberSlot& Append(NumberPool& pool, std::string_view number);
  static std::uint64_t Hash(std::string_view bank, std::string_view number);
  // The index entry where (bank, number), whose Hash is `hash`, is or would go.
  std::size_t Probe(std::string_view bank, std::string_view number, std::uint64_t hash) const;
  void Rehash(std::size_t capacity);

  std::vector<std::unique_ptr<NumberSlot[]>> chunks_;
  std::vector<std::uint64_t> index_;  // power-of-two size, at most 70 % full
  int shift_ = 64;                    // home position: hash >> shift_
  std::size_t count_ = 0;
  bool indexed_ = true;  // false between AddUnindexed and BuildIndex
};

}  // namespace varelay
