// The relay's own requests to a JSON (Open Banking-style) bank (docs/telegrams.md, "JSON banks"):
// withdrawals (`POST {base}/v2.0/transfer/withdraw`), result inquiries (`.../transfer/result`) and
// withdrawal-consent registrations (`.../transfer/withdraw-consent`), each signed with the bank's
// signing secret as banks sign their requests to the relay. Builders and answer readers are pure;
// JsonBankClient posts one request and hands back the HTTP answer, within a time limit.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "banks/consent.h"
#include "banks/outbound_telegrams.h"
#include "domain/transfer.h"
#include "notify/webhook_client.h"

namespace varelay::banks {

inline constexpr std::string_view kJsonWithdrawPath = "/v2.0/transfer/withdraw";
inline constexpr std::string_view kJsonResultPath = "/v2.0/transfer/result";
inline constexpr std::string_view kJsonConsentPath = "/v2.0/transfer/withdraw-consent";
inline constexpr std::string_view kJsonRealNamePath = "/v2.0/inquiry/real_name";

// The transfer's bank_tran_id: the 10-character institution code, `U`, and its sequence of the
// day zero-filled to 9 digits. Fixed by the transfer's date and sequence, so a re-send repeats it
// and the bank books it once. Queries (nothing booked) use QueryTranId with a query sequence
// (900000 and up), which no transfer takes.
std::string TransferTranId(const Transfer& transfer, std::string_view institution_code);
std::string QueryTranId(std::uint32_t query_sequence, std::string_view institution_code);

std::string JsonWithdrawBody(const Transfer& transfer, std::string_view bank_tran_id);
std::string JsonResultBody(const Transfer& transfer, std::string_view bank_tran_id,
                           std::string_view original_tran_id);
std::string JsonConsentBody(const ConsentRequest& request, std::string_view bank_tran_id);
// An account-holder inquiry (Open Banking `inquiry/real_name`), for a JSON bank what 0600/400 is
// for a telegram bank.
std::string JsonRealNameBody(std::string_view bank, std::string_view account, std::string_view holder_id,
                             std::string_view bank_tran_id);

// What the bank's HTTP answer says. A status other than 200, no answer or a body that is not the
// expected JSON settles nothing (kUnknown / kUnavailable).
TransferAnswer ReadJsonWithdrawAnswer(const notify::WebhookResponse& response);
TransferAnswer ReadJsonResultAnswer(const notify::WebhookResponse& response);
ConsentAnswer ReadJsonConsentAnswer(const notify::WebhookResponse& response);
// The holder name, or kNotFound (bank_rsp_code 101), or kBankUnavailable (anything else), as
// ReadHolderAnswer does for telegrams.
Result<std::string> ReadJsonRealNameAnswer(const notify::WebhookResponse& response);

// The headers that sign `body` posted to `url` (Varelay-Timestamp, Varelay-Signature: v1= HMAC-SHA256
// of "<ts>.POST.<target>.<body>"), none when `secret` is empty.
std::vector<std::pair<std::string, std::string>> SignatureHeaders(std::string_view secret, std::string_view url,
                                                                  std::string_view body, std::int64_t unix_seconds);

class JsonBankClient {
 public:
  // `io` must run while requests are in flight. Each request gets `timeout` for everything.
  JsonBankClient(boost::asio::io_context& io, std::chrono::milliseconds timeout);
  ~JsonBankClient();

  // Posts `body` to `base_url` + `path`, signed when `secret` is set.
  boost::asio::awaitable<notify::WebhookResponse> Post(std::string base_url, std::string_view path, std::string body,
                                                       std::string secret);

 private:
  std::unique_ptr<notify::WebhookClient> client_;
};

}  // namespace varelay::banks
