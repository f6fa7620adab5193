// Bank messages that are not the JSON protocol, turned into engine commands: ISO 20022 camt.054
// notifications received over HTTP (and imported from files by the CLI, through the same route).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/json_codec.h"
#include "engine/commands.h"

namespace varelay::api {

// A camt.054 (versions 02 to 08) as one ImportNotices: booked credits to virtual accounts become
// deposit notices, booked reversals cancellations, everything else is listed as skipped with the
// reader's reason. `query` may say where the bank puts the virtual account number
// (`virtual_account=creditor_account|notified_account|creditor_reference`); date-times without an
// offset are Korean time (UTC+9). A message the reader refuses is refused whole.
Decoded<ImportNotices> DecodeCamt054(const std::vector<std::pair<std::string, std::string>>& query,
                                     std::string_view xml);

// A camt.053 (02 to 08) as one StoreStatements: per account statement its opening and closing
// balance, entry count and booked sums, and the XML itself for reconciliation.
Decoded<StoreStatements> DecodeCamt053(std::string_view xml);

}  // namespace varelay::api
