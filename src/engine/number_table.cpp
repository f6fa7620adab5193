#include "engine/number_table.h"

#include <bit>
#include <cstring>
#include <functional>

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
  return NumberRecord{pool->bank,  number.str(), pool->merchant,      pool->region, state,
                      generation,  assignment_id.str(), release_at, event_seq};
}

void NumberTable::Reserve(std::size_t count) {
  std::size_t capacity = std::bit_ceil(std::max<std::size_t>(16, count + count / 2));
  if (capacity > index_.size()) Rehash(capacity);
  chunks_.reserve((count + kChunk - 1) / kChunk);
}

std::size_t NumberTable::Hash(std::string_view bank, std::string_view number) {
  std::size_t h = std::hash<std::string_view>{}(number);
  return h ^ (std::hash<std::string_view>{}(bank) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

std::size_t NumberTable::Probe(std::string_view bank, std::string_view number) const {
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = Hash(bank, number) & mask;; i = (i + 1) & mask) {
    std::uint32_t entry = index_[i];
    if (entry == kEmpty) return i;
    const NumberSlot& slot = At(entry - 1);
    if (slot.number == number && slot.pool->bank == bank) return i;
  }
}

NumberSlot* NumberTable::Find(std::string_view bank, std::string_view number) {
  if (index_.empty()) return nullptr;
  std::uint32_t entry = index_[Probe(bank, number)];
  return entry == kEmpty ? nullptr : &At(entry - 1);
}

const NumberSlot* NumberTable::Find(std::string_view bank, std::string_view number) const {
  return const_cast<NumberTable*>(this)->Find(bank, number);
}

NumberSlot& NumberTable::Add(NumberPool& pool, std::string_view number) {
  VARELAY_INVARIANT(CanHold(number), "a number the table can hold");
  VARELAY_INVARIANT(count_ < UINT32_MAX - 1, "fewer than 2^32 numbers");
  if ((count_ + 1) * 10 > index_.size() * 7) Rehash(std::max<std::size_t>(16, index_.size() * 2));
  std::size_t at = Probe(pool.bank, number);
  VARELAY_INVARIANT(index_[at] == kEmpty, "a number is added once");
  if (count_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<NumberSlot[]>(kChunk));
  auto i = static_cast<std::uint32_t>(count_++);
  NumberSlot& slot = At(i);
  slot.pool = &pool;
  slot.number.Assign(number);
  index_[at] = i + 1;
  return slot;
}

void NumberTable::Rehash(std::size_t capacity) {
  index_.assign(capacity, kEmpty);
  const std::size_t mask = capacity - 1;
  for (std::size_t n = 0; n < count_; ++n) {
    const NumberSlot& slot = At(static_cast<std::uint32_t>(n));
    std::size_t i = Hash(slot.pool->bank, slot.number.view()) & mask;
    while (index_[i] != kEmpty) i = (i + 1) & mask;
    index_[i] = static_cast<std::uint32_t>(n + 1);
  }
}

}  // namespace varelay
