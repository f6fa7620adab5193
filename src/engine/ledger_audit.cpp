#include "engine/ledger_audit.h"

#include <algorithm>

namespace varelay {
namespace {

constexpr int kPage = 5000;  // entries read at a time

// Rests after a page that took `took`, as `pacing` asks.
void Rest(const AuditPacing& pacing, std::chrono::nanoseconds took) {
  if (pacing.duty_percent >= 100 || pacing.duty_percent <= 0 || !pacing.rest) return;
  pacing.rest(took * (100 - pacing.duty_percent) / pacing.duty_percent);
}

// The first kMaxNamed deposits (and entries) the posting check finds wrong, range by range.
Result<std::vector<std::string>> MispostedDeposits(Store& store, const AuditPacing& pacing) {
  constexpr std::size_t kMaxNamed = 10;  // named in the verdict's reason
  std::vector<std::string> found;
  std::optional<PostingCursor> cursor = PostingCursor{};
  while (cursor && found.size() < kMaxNamed) {
    const auto started = std::chrono::steady_clock::now();
    auto range = store.CheckPostings(*cursor, kPage);
    if (!range) return std::unexpected(range.error());
    for (auto& name : range->misposted)
      if (found.size() < kMaxNamed) found.push_back(std::move(name));
    cursor = range->next;
    Rest(pacing, std::chrono::steady_clock::now() - started);
  }
  return found;
}

// Reads the chain (up to `up_to` when given) and checks it; then that it ends at
// `expected_head` (when given) and that every deposit is posted exactly once.
Result<LedgerVerdict> Audit(Store& store, const std::optional<std::string>& expected_head,
                            std::optional<std::int64_t> up_to, const AuditPacing& pacing) {
  ChainVerifier verifier;
  std::int64_t after = 0;
  while (!up_to || after < *up_to) {
    const auto started = std::chrono::steady_clock::now();
    const int limit = up_to ? static_cast<int>(std::min<std::int64_t>(kPage, *up_to - after)) : kPage;
    auto page = store.ReadLedger(after, limit);
    if (!page) return std::unexpected(page.error());
    if (page->empty()) break;
    for (const auto& entry : *page) verifier.Add(entry);
    after = page->back().seq;
    Rest(pacing, std::chrono::steady_clock::now() - started);
  }
  LedgerVerdict verdict{verifier.ok(), verifier.entries(), verifier.first_bad_seq(), verifier.reason()};
  if (!verdict.ok) return verdict;
  if (expected_head && verifier.last_hash() != *expected_head) {
    verdict.ok = false;
    verdict.reason = "the stored chain does not end at the relay's head";
    return verdict;
  }
  auto misposted = MispostedDeposits(store, pacing);
  if (!misposted) return std::unexpected(misposted.error());
  if (!misposted->empty()) {
    verdict.ok = false;
    verdict.reason = "deposits not posted exactly once: " + (*misposted)[0];
    for (std::size_t i = 1; i < misposted->size(); ++i) verdict.reason += ", " + (*misposted)[i];
  }
  return verdict;
}

}  // namespace

Result<LedgerVerdict> AuditLedger(Store& store, const std::optional<std::string>& expected_head) {
  return Audit(store, expected_head, std::nullopt, {});
}

Result<LedgerVerdict> AuditLedgerTo(Store& tables, const LedgerHead& head, const AuditPacing& pacing) {
  return Audit(tables, head.hash, head.seq, pacing);
}

}  // namespace varelay
