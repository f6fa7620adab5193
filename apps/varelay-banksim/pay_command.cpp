#include "pay_command.h"

#include <boost/json.hpp>

#include "client/http_client.h"

namespace varelay::banksim {
namespace json = boost::json;

int RunPayCommand(const PayCommand& command, std::ostream& out, std::ostream& err) {
  auto client = client::HttpClient::Create(command.sim, std::chrono::seconds(60));
  if (!client) {
    err << "varelay-banksim pay: --sim: " << client.error().detail << "\n";
    return 2;
  }
  json::object body{
      {"from_account", command.from}, {"to_number", command.to}, {"amount", command.amount}};
  if (!command.payer.empty()) body["payer_name"] = command.payer;
  auto reply = (*client)->Send("POST", "/payments", "", json::serialize(body));
  if (!reply) {
    err << "varelay-banksim pay: " << reply.error().detail << "\n";
    return 2;
  }
  std::error_code ec;
  auto parsed = json::parse(reply->body, ec);
  if (ec || !parsed.is_object()) {
    err << "varelay-banksim pay: HTTP " << reply->status << ": " << reply->body << "\n";
    return 2;
  }
  const auto& o = parsed.as_object();
  auto str = [&](std::string_view key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  if (reply->status != 200) {
    err << "varelay-banksim pay: HTTP " << reply->status << " " << str("code") << ": "
        << str("detail") << "\n";
    return 2;
  }
  if (str("status") == "accepted") {
    out << "accepted " << str("transaction_id") << ": " << command.amount << " KRW from "
        << command.from << " to " << command.to << " (" << str("holder_name") << ")" << std::endl;
    return 0;
  }
  out << "refused " << str("reason") << ": " << str("detail") << std::endl;
  return 1;
}

}  // namespace varelay::banksim
