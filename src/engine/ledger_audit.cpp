#include "engine/ledger_audit.h"

namespace varelay {

Result<LedgerVerdict> AuditLedger(Store& store, const std::optional<std::string>& expected_head) {
  constexpr int kPage = 5000;
  ChainVerifier verifier;
  std::int64_t after = 0;
  for (;;) {
    auto page = store.ReadLedger(after, kPage);
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

}  // namespace varelay
