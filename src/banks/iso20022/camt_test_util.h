// Test helpers for the ISO 20022 reader: reading fixture files and building small messages.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "banks/iso20022/camt.h"

namespace varelay::iso20022::testing {

inline std::string ReadFileOrFail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline std::string Sample(std::string_view name) {
  return ReadFileOrFail(std::string(VARELAY_ISO20022_SAMPLES) + "/" + std::string(name));
}

inline std::string Fixture(std::string_view name) {
  return ReadFileOrFail(std::string(VARELAY_ISO20022_TESTDATA) + "/" + std::string(name));
}

inline std::string Replace(std::string text, std::string_view from, std::string_view to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "fixture lacks " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// A camt.054 message of the given version around `entries` (Ntry elements).
inline std::string Camt054(std::string_view entries, std::string_view version = "08") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001." +
         std::string(version) +
         "\"><BkToCstmrDbtCdtNtfctn>"
         "<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-11-25T19:00:05+09:00</CreDtTm></GrpHdr>"
         "<Ntfctn><Id>N-1</Id><Acct><Id><Othr><Id>1002345678901</Id></Othr></Id></Acct>" +
         std::string(entries) + "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>";
}

// A booked credit entry with one TxDtls crediting virtual account `number`.
inline std::string CreditEntry(std::string_view amount, std::string_view currency = "KRW",
                               std::string_view reference = "REF-1",
                               std::string_view number = "56211234567890") {
  return "<Ntry><Amt Ccy=\"" + std::string(currency) + "\">" + std::string(amount) +
         "</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><AcctSvcrRef>" +
         std::string(reference) +
         "</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><CdtrAcct><Id><Othr><Id>" +
         std::string(number) + "</Id></Othr></Id></CdtrAcct></RltdPties></TxDtls></NtryDtls></Ntry>";
}

// A TxDtls with its own amount, payer and creditor account, for batched entries.
inline std::string TxDetails(std::string_view amount, std::string_view number,
                             std::string_view reference, std::string_view currency = "KRW") {
  return "<TxDtls><Refs><AcctSvcrRef>" + std::string(reference) + "</AcctSvcrRef></Refs><Amt Ccy=\"" +
         std::string(currency) + "\">" + std::string(amount) +
         "</Amt><RltdPties><CdtrAcct><Id><Othr><Id>" + std::string(number) +
         "</Id></Othr></Id></CdtrAcct></RltdPties></TxDtls>";
}

inline std::string BatchEntry(std::string_view amount, std::string_view details,
                              std::string_view reference = "BATCH-1") {
  return "<Ntry><Amt Ccy=\"KRW\">" + std::string(amount) +
         "</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><AcctSvcrRef>" + std::string(reference) +
         "</AcctSvcrRef><NtryDtls>" + std::string(details) + "</NtryDtls></Ntry>";
}

inline Instant At(std::string_view rfc3339) { return *ParseRfc3339(rfc3339); }

}  // namespace varelay::iso20022::testing
