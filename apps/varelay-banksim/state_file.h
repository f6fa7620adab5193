// The optional state file (--state FILE): every change of the bank appended as one JSON line per
// record and fsynced before the change is answered, so a restart (also after SIGKILL) keeps
// accounts, bookings and the notice outbox. At start the file is replayed and then rewritten as a
// compact snapshot (written beside it and renamed over it, so a crash leaves either file whole).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bank.h"
#include "domain/error.h"

namespace varelay::banksim {

// One record as a JSON object on one line (no newline), and back. Decoding fails on anything
// that is not a record this version writes.
std::string EncodeRecord(const BankRecord& record);
Result<BankRecord> DecodeRecord(std::string_view line);

class StateFile final : public BankJournal {
 public:
  // Reads every record of `path` (a missing file is an empty state). A last line cut short by a
  // crash is ignored; any other bad line is an error naming its line number.
  static Result<std::vector<BankRecord>> Load(const std::string& path);
  // Writes `snapshot` as the new content of `path` and opens it for appending.
  static Result<std::unique_ptr<StateFile>> Rewrite(const std::string& path,
                                                    const std::vector<BankRecord>& snapshot);
  ~StateFile() override;

  // Appends and fsyncs. A bank that cannot persist must not answer: a write failure stops the
  // process (fail-stop, as varelayd does on a failed commit).
  void Append(std::span<const BankRecord> records) override;

 private:
  StateFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

}  // namespace varelay::banksim
