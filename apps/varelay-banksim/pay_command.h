// `varelay-banksim pay`: one payment through a running simulator's HTTP API (POST /payments), so a
// person can pay from a shell. Prints one line.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace varelay::banksim {

struct PayCommand {
  std::string sim = "http://127.0.0.1:8090";
  std::string from;
  std::string to;
  std::int64_t amount = 0;  // won
  std::string payer;
};

// Exit status: 0 accepted ("accepted <transaction_id>: ..." on `out`), 1 refused ("refused
// <reason>: <detail>" on `out`), 2 when the simulator could not be asked or refused the request
// itself (a line on `err`).
int RunPayCommand(const PayCommand& command, std::ostream& out, std::ostream& err);

}  // namespace varelay::banksim
