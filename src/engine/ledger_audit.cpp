#include "engine/ledger_audit.h"

#include <algorithm>

namespace varelay {
namespace {

constexpr int kPage = 5000;  // entries read at a time

// Reads the chain (up to `up_to` when given) and checks it; then that it ends at
// `expected_head` (when given) and that every deposit is posted exactly once.
Result<LedgerVerdict> Audit(Store& store, const std::optional<std::string>& expected_head,
                            std::optional<std::int64_t> up_to) {
  ChainVerifier verifier;
  std::int64_t after = 0;
  while (!up_to || after < *up_to) {
    const int limit = up_to ? static_cast<int>(std::min<std::int64_t>(kPage, *up_to - after)) : kPage;
    auto page = store.ReadLedger(after, limit);
    if (!page) return std::unexpected(page.error());
    if (page->empty()) break;
    for (const auto& entry : *page) verifier.Add(entry);
    after = page->back().seq;
  }
  LedgerVerdict verdict{verifier.ok(), verifier.entries(), verifier.first_bad_seq(), verifier.reason()};
  if (!verdict.ok) return verdict;
  if (expected_head && verifier.last_hash() != *expected_head) {
    verdict.ok = false;
    verdict.reason = "the stored chain does not end at the relay's head";
    return verdict;
  }
  auto misposted = store.FindMispostedDeposits(10);
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
  return Audit(store, expected_head, std::nullopt);
}

Result<LedgerVerdict> AuditLedgerTo(Store& tables, const LedgerHead& head) {
  return Audit(tables, head.hash, head.seq);
}

}  // namespace varelay
