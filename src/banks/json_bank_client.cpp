#include "banks/json_bank_client.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <cstdio>

#include "banks/telegram/field.h"
#include "domain/bank_codes.h"
#include "domain/digest.h"

namespace varelay::banks {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string Date8(std::chrono::year_month_day d) {
  char out[16];
  std::snprintf(out, sizeof out, "%04d%02u%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return out;
}

std::string TranId(std::uint32_t number, std::string_view institution_code) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%09u", number);
  return std::string(institution_code) + "U" + digits;
}

// The answer's JSON object, or nullptr when there is none to read.
std::optional<json::object> Parse(const notify::WebhookResponse& r, std::string& why) {
  if (r.status == 0) {
    why = r.error.empty() ? "no answer" : r.error;
    return std::nullopt;
  }
  if (r.status != 200) {
    why = "the bank answered HTTP " + std::to_string(r.status);
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto value = json::parse(r.body, ec);
  if (ec || !value.is_object()) {
    why = "the bank's answer is not a JSON object";
    return std::nullopt;
  }
  return std::move(value.as_object());
}

std::string Text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool Succeeded(const json::object& o) { return Text(o, "rsp_code") == kJsonRspOk && Text(o, "bank_rsp_code") == kJsonBankOk; }

// A refusal code: present, not success, not "try later".
bool Definitive(std::string_view code) { return !code.empty() && code != kJsonBankOk && code != kJsonSystemError; }

}  // namespace

std::string TransferTranId(const Transfer& t, std::string_view institution_code) {
  return TranId(t.request_sequence, institution_code);
}

std::string QueryTranId(std::uint32_t query_sequence, std::string_view institution_code) {
  return TranId(query_sequence, institution_code);
}

std::string JsonWithdrawBody(const Transfer& t, std::string_view bank_tran_id) {
  json::object o{{"bank_tran_id", bank_tran_id},
                 {"bank_tran_date", Date8(t.request_date)},
                 {"tran_dtime", telegram::FormatKstDateTime(t.created_at)},
                 {"withdraw_bank_code", t.bank},
                 {"withdraw_account", t.debit_account},
                 {"tran_amt", std::to_string(t.amount.minor())},
                 {"recv_bank_code", t.recipient_bank},
                 {"recv_account", t.recipient_account},
                 {"recv_name", t.recipient_name},
                 {"print_content", t.memo},
                 {"transfer_id", t.id}};
  return json::serialize(o);
}

std::string JsonResultBody(const Transfer& t, std::string_view bank_tran_id, std::string_view original_tran_id) {
  json::object o{{"bank_tran_id", bank_tran_id},
                 {"org_bank_tran_id", original_tran_id},
                 {"org_bank_tran_date", Date8(t.request_date)},
                 {"org_tran_amt", std::to_string(t.amount.minor())},
                 {"withdraw_account", t.debit_account}};
  return json::serialize(o);
}

std::string JsonConsentBody(const ConsentRequest& r, std::string_view bank_tran_id) {
  json::object o{{"bank_tran_id", bank_tran_id},   {"bank_code", r.bank},
                 {"account", r.account},           {"holder_id", r.holder_id},
                 {"holder_name", r.holder_name},   {"action", r.cancel ? "cancel" : "register"}};
  return json::serialize(o);
}

std::string JsonRealNameBody(std::string_view bank, std::string_view account, std::string_view holder_id,
                             std::string_view bank_tran_id) {
  json::object o{{"bank_tran_id", bank_tran_id},
                 {"bank_code_std", bank},
                 {"account_num", account},
                 {"account_holder_info_type", holder_id.size() == 10 ? "6" : " "},
                 {"account_holder_info", holder_id}};
  return json::serialize(o);
}

Result<std::string> ReadJsonRealNameAnswer(const notify::WebhookResponse& response) {
  std::string why;
  auto o = Parse(response, why);
  if (!o) return Fail(ErrorCode::kBankUnavailable, why);
  std::string code = Text(*o, "bank_rsp_code");
  if (code == kJsonNoSuchAccount) return Fail(ErrorCode::kNotFound, "the bank has no such account");
  std::string name = Text(*o, "account_holder_name");
  if (!Succeeded(*o) || name.empty()) {
    return Fail(ErrorCode::kBankUnavailable, "the bank answered " + Text(*o, "rsp_code") + "/" + code);
  }
  return name;
}

TransferAnswer ReadJsonWithdrawAnswer(const notify::WebhookResponse& response) {
  std::string why;
  auto o = Parse(response, why);
  if (!o) return {TransferVerdict::kUnknown, {}, {}, why};
  std::string code = Text(*o, "bank_rsp_code");
  if (Succeeded(*o)) return {TransferVerdict::kCompleted, code, Text(*o, "bank_tran_id"), {}};
  if (!Definitive(code)) {
    return {TransferVerdict::kUnknown, {}, {}, "the bank answered " + Text(*o, "rsp_code") + "/" + code};
  }
  return {TransferVerdict::kRefused, code, Text(*o, "bank_tran_id"), BankRefusalText(code)};
}

TransferAnswer ReadJsonResultAnswer(const notify::WebhookResponse& response) {
  std::string why;
  auto o = Parse(response, why);
  if (!o) return {TransferVerdict::kUnknown, {}, {}, why};
  std::string code = Text(*o, "bank_rsp_code");
  if (code == kJsonNoSuchTransfer) return {TransferVerdict::kNotReceived, {}, {}, "the bank never received it"};
  if (!Succeeded(*o)) return {TransferVerdict::kUnknown, {}, {}, "the bank answered the result inquiry with " + code};
  std::string original = Text(*o, "org_bank_rsp_code");
  std::string reference = Text(*o, "org_bank_tran_id");
  if (original == kJsonBankOk) return {TransferVerdict::kCompleted, original, reference, {}};
  if (!Definitive(original)) return {TransferVerdict::kUnknown, {}, {}, "the bank has no outcome for it yet"};
  return {TransferVerdict::kRefused, original, reference, BankRefusalText(original)};
}

ConsentAnswer ReadJsonConsentAnswer(const notify::WebhookResponse& response) {
  std::string why;
  auto o = Parse(response, why);
  if (!o) return {ConsentOutcome::kUnavailable, {}, 0, {}, why};
  std::string code = Text(*o, "bank_rsp_code");
  if (Succeeded(*o)) {
    const auto* ceiling = o->if_contains("ceiling");
    std::int64_t won = 0;
    if (ceiling && ceiling->is_int64()) won = ceiling->get_int64();
    if (ceiling && ceiling->is_string()) won = std::atoll(ceiling->get_string().c_str());
    if (won < 0) return {ConsentOutcome::kUnavailable, {}, 0, code, "the bank's ceiling is negative"};
    return {ConsentOutcome::kRegistered, Text(*o, "consent_id"), won, code, {}};
  }
  if (!Definitive(code)) {
    return {ConsentOutcome::kUnavailable, {}, 0, code, "the bank answered " + Text(*o, "rsp_code") + "/" + code};
  }
  return {ConsentOutcome::kRefused, {}, 0, code, BankRefusalText(code)};
}

std::vector<std::pair<std::string, std::string>> SignatureHeaders(std::string_view secret, std::string_view url,
                                                                  std::string_view body, std::int64_t unix_seconds) {
  if (secret.empty()) return {};
  auto parsed = boost::urls::parse_uri(url);
  std::string target = parsed ? std::string(parsed->encoded_target()) : "/";
  if (target.empty()) target = "/";
  std::string ts = std::to_string(unix_seconds);
  std::string content = ts + ".POST." + target + "." + std::string(body);
  return {{"Varelay-Timestamp", ts}, {"Varelay-Signature", "v1=" + HmacSha256Hex(secret, content)}};
}

JsonBankClient::JsonBankClient(asio::io_context& io, std::chrono::milliseconds timeout) {
  notify::ClientOptions options;
  options.policy.trusted = true;  // the operator configured these URLs, not a merchant
  options.connect_timeout = timeout;
  options.total_timeout = timeout;
  options.max_response_bytes = 16 * 1024;
  // No kept-alive connections: a request that moves money is never retried on a stale one.
  options.max_idle_per_origin = 0;
  options.max_idle_total = 0;
  client_ = std::make_unique<notify::WebhookClient>(io, std::move(options));
}

JsonBankClient::~JsonBankClient() = default;

asio::awaitable<notify::WebhookResponse> JsonBankClient::Post(std::string base_url, std::string_view path,
                                                              std::string body, std::string secret) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  std::string url = base_url + std::string(path);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  notify::WebhookRequest request{url, SignatureHeaders(secret, url, body, now.count()), std::move(body)};
  auto* client = client_.get();
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(notify::WebhookResponse)>(
      [client](auto handler, notify::WebhookRequest r) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        client->Send(std::move(r), [shared](notify::WebhookResponse out) { std::move (*shared)(std::move(out)); });
      },
      asio::use_awaitable, std::move(request));
}

}  // namespace varelay::banks
