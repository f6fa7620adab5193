#include "engine/number_table.h"

#include <bit>
#include <cstring>
#include <functional>
#include <vector>

#include "domain/assert.h"

namespace varelay {

template <std::size_t N>
void InlineString<N>::Assign(std::string_view s) {
  VARELAY_INVARIANT(Fits(s), "an inline string holds what fits");
  std::memcpy(data_.data(), s.data(), s.size());
  size_ = static_cast<std::uint8_t>(s.size());
}

template class InlineString<16>;
template class InlineString<31>;

NumberRecord NumberSlot::Record() const {
  return NumberRecord{pool->bank, number.str(),        pool->merchant, pool->region, state,
                      generation, assignment_id.str(), release_at,     event_seq};
}

NumberSlot& NumberTable::Append(NumberPool& pool, std::string_view number) {
  VARELAY_INVARIANT(CanHold(number), "a number the table can hold");
  VARELAY_INVARIANT(count_ < UINT32_MAX - 1, "fewer than 2^32 numbers");
  if (count_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<NumberSlot[]>(kChunk));
  auto i = static_cast<std::uint32_t>(count_++);
  NumberSlot& slot = At(i);
  slot.pool = &pool;
  slot.number.Assign(number);
  slot.index = i;
  return slot;
}

NumberSlot& NumberTable::AddUnindexed(NumberPool& pool, std::string_view number) {
  indexed_ = false;
  return Append(pool, number);
}

void NumberTable::BuildIndex() {
  std::size_t capacity = std::max<std::size_t>(16, index_.size());
  while (count_ * 10 > capacity * 7) capacity *= 2;
  index_.assign(capacity, kEmpty);
  shift_ = 64 - std::countr_zero(capacity);
  // Every slot's hash, sorted by home position (the hash's top bits) with a radix sort, so the
  // index is filled front to back instead of at random: at millions of numbers that is the
  // difference between streaming through memory and a cache and TLB miss per number.
  struct Keyed {
    std::uint64_t hash;
    std::uint32_t slot;
  };
  // Uninitialised: every element is written before it is read, and zeroing hundreds of megabytes
  // first would be a pass of its own.
  auto keyed = std::make_unique_for_overwrite<Keyed[]>(count_);
  auto sorted = std::make_unique_for_overwrite<Keyed[]>(count_);
  for (std::size_t n = 0; n < count_; ++n) {
    const NumberSlot& slot = At(static_cast<std::uint32_t>(n));
    keyed[n] = {Hash(slot.pool->bank, slot.number.view()), static_cast<std::uint32_t>(n)};
  }
  constexpr int kRadixBits = 11;
  const int position_bits = 64 - shift_;
  for (int low = 0; low < position_bits; low += kRadixBits) {
    std::vector<std::size_t> starts((1u << kRadixBits) + 1, 0);
    auto digit = [&](const Keyed& k) {
      return ((k.hash >> shift_) >> low) & ((1u << kRadixBits) - 1);
    };
    for (std::size_t n = 0; n < count_; ++n) ++starts[digit(keyed[n]) + 1];
    for (std::size_t d = 1; d < starts.size(); ++d) starts[d] += starts[d - 1];
    for (std::size_t n = 0; n < count_; ++n) sorted[starts[digit(keyed[n])]++] = keyed[n];
    keyed.swap(sorted);
  }
  sorted.reset();
  // Linear probing, front to back: each at its home position or the first free one after it.
  // Those that would run past the end wrap around, through the ordinary probe.
  std::size_t next = 0;
  std::vector<Keyed> wrapped;
  for (std::size_t n = 0; n < count_; ++n) {
    const Keyed& k = keyed[n];
    std::size_t at = std::max<std::size_t>(k.hash >> shift_, next);
    if (at >= capacity) {
      wrapped.push_back(k);
      continue;
    }
    index_[at] = Entry(k.slot, k.hash);
    next = at + 1;
  }
  for (const auto& k : wrapped) {
    std::size_t at = k.hash >> shift_;
    while (index_[at] != kEmpty) at = (at + 1) & (capacity - 1);
    index_[at] = Entry(k.slot, k.hash);
  }
  indexed_ = true;
}

std::uint64_t NumberTable::Hash(std::string_view bank, std::string_view number) {
  std::uint64_t h = std::hash<std::string_view>{}(number);
  h ^= std::hash<std::string_view>{}(bank) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  // A final mix, so the low bits (the position) and the high bits (the tag) are both well spread.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

std::size_t NumberTable::Probe(std::string_view bank, std::string_view number,
                               std::uint64_t hash) const {
  const std::size_t mask = index_.size() - 1;
  const std::uint64_t tag = hash << 32;
  for (std::size_t i = hash >> shift_;; i = (i + 1) & mask) {
    std::uint64_t entry = index_[i];
    if (entry == kEmpty) return i;
    if ((entry & ~0xffffffffULL) != tag) continue;
    const NumberSlot& slot = At(SlotOf(entry));
    if (slot.number == number && slot.pool->bank == bank) return i;
  }
}

NumberSlot* NumberTable::Find(std::string_view bank, std::string_view number) {
  VARELAY_INVARIANT(indexed_, "numbers added unindexed are indexed before a look-up");
  if (index_.empty()) return nullptr;
  std::uint64_t entry = index_[Probe(bank, number, Hash(bank, number))];
  return entry == kEmpty ? nullptr : &At(SlotOf(entry));
}

const NumberSlot* NumberTable::Find(std::string_view bank, std::string_view number) const {
  return const_cast<NumberTable*>(this)->Find(bank, number);
}

NumberSlot& NumberTable::Add(NumberPool& pool, std::string_view number) {
  VARELAY_INVARIANT(indexed_, "numbers added unindexed are indexed before another is added");
  if ((count_ + 1) * 10 > index_.size() * 7) Rehash(std::max<std::size_t>(16, index_.size() * 2));
  const std::uint64_t hash = Hash(pool.bank, number);
  std::size_t at = Probe(pool.bank, number, hash);
  VARELAY_INVARIANT(index_[at] == kEmpty, "a number is added once");
  NumberSlot& slot = Append(pool, number);
  index_[at] = Entry(slot.index, hash);
  return slot;
}

void NumberTable::Rehash(std::size_t capacity) {
  index_.assign(capacity, kEmpty);
  shift_ = 64 - std::countr_zero(capacity);
  const std::size_t mask = capacity - 1;
  for (std::size_t n = 0; n < count_; ++n) {
    const NumberSlot& slot = At(static_cast<std::uint32_t>(n));
    const std::uint64_t hash = Hash(slot.pool->bank, slot.number.view());
    std::size_t i = hash >> shift_;
    while (index_[i] != kEmpty) i = (i + 1) & mask;
    index_[i] = Entry(static_cast<std::uint32_t>(n), hash);
  }
}

}  // namespace varelay
