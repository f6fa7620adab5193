#include "relay_link.h"

#include <boost/json.hpp>
#include <mutex>
#include <vector>

#include "client/http_client.h"
#include "domain/digest.h"

namespace varelay::banksim {
namespace json = boost::json;
namespace {

// At most this many idle connections are kept for reuse; more callers at once open their own.
constexpr std::size_t kMaxIdleConnections = 8;

std::string StringMember(const json::object& object, std::string_view key) {
  auto* value = object.if_contains(key);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

class JsonRelayLink final : public RelayLink {
 public:
  explicit JsonRelayLink(std::unique_ptr<RelayHttp> http) : http_(std::move(http)) {}

  LinkResult<PrecheckVerdict> Precheck(const PrecheckQuery& query) override {
    json::object body{{"number", query.number},
                      {"amount", query.amount.minor()},
                      {"currency", std::string(query.amount.currency().code())}};
    if (!query.payer_name.empty()) body["payer_name"] = query.payer_name;
    auto answer = Post("/v1/bank/precheck", json::serialize(body));
    if (!answer) return std::unexpected(answer.error());
    PrecheckVerdict verdict;
    auto* accept = answer->if_contains("accept");
    if (!accept || !accept->is_bool()) {
      return std::unexpected(
          LinkFailure{200, "bad_answer", "the pre-check answer has no boolean 'accept'"});
    }
    verdict.accept = accept->as_bool();
    verdict.holder_name = StringMember(*answer, "holder_name");
    verdict.due_at = StringMember(*answer, "due_at");
    verdict.reason = StringMember(*answer, "reason");
    return verdict;
  }

  LinkResult<NoticeReceipt> NotifyDeposit(const DepositMessage& message) override {
    json::object body{{"transaction_id", message.transaction_id},
                      {"number", message.number},
                      {"amount", message.amount.minor()},
                      {"currency", std::string(message.amount.currency().code())},
                      {"deposited_at", message.deposited_at}};
    if (!message.payer_name.empty()) body["payer_name"] = message.payer_name;
    return Receipt(Post("/v1/bank/deposits", json::serialize(body)), message.transaction_id);
  }

  LinkResult<NoticeReceipt> NotifyCancellation(const CancellationMessage& message) override {
    json::object body{{"transaction_id", message.transaction_id},
                      {"original_transaction_id", message.original_transaction_id},
                      {"cancelled_at", message.cancelled_at}};
    return Receipt(Post("/v1/bank/cancellations", json::serialize(body)), message.transaction_id);
  }

  std::string Describe() const override {
    return "json " + http_->options().relay_url +
           (http_->options().signing_secret.empty() ? " (unsigned)" : " (signed)");
  }

 private:
  static LinkResult<NoticeReceipt> Receipt(LinkResult<json::object> answer,
                                           const std::string& transaction_id) {
    if (!answer) {
      // The relay has this transaction id for another notice: re-sending cannot help.
      if (answer.error().http_status == 409 && answer.error().code == "transaction_id_conflict")
        answer.error().final = true;
      return std::unexpected(answer.error());
    }
    auto* deposit = answer->if_contains("deposit");
    auto* duplicate = answer->if_contains("duplicate");
    if (!deposit || !deposit->is_object() || !duplicate || !duplicate->is_bool()) {
      return std::unexpected(
          LinkFailure{200, "bad_answer", "the receipt has no 'deposit' object or 'duplicate'"});
    }
    const auto& d = deposit->as_object();
    NoticeReceipt receipt{StringMember(d, "id"), StringMember(d, "outcome"),
                          StringMember(d, "status"), duplicate->as_bool()};
    receipt.relay_transaction_id = transaction_id;
    return receipt;
  }

  // One POST; the parsed JSON object of a 200 answer, or why there was none.
  LinkResult<json::object> Post(std::string_view target, const std::string& body) {
    auto reply = http_->Post(target, body);
    if (!reply) return std::unexpected(reply.error());
    std::error_code ec;
    auto parsed = json::parse(*reply, ec);
    if (ec || !parsed.is_object())
      return std::unexpected(LinkFailure{200, "bad_answer", "the answer is not a JSON object"});
    return std::move(parsed.as_object());
  }

  std::unique_ptr<RelayHttp> http_;
};

}  // namespace

std::string LinkFailure::Summary() const {
  if (!answer.empty()) return answer + (code.empty() ? "" : " " + code);
  if (http_status == 0) return "no answer: " + detail;
  return std::to_string(http_status) + (code.empty() ? "" : " " + code);
}

// ---- RelayHttp ------------------------------------------------------------------------------

struct RelayHttp::Pool {
  std::mutex mutex;
  std::vector<std::unique_ptr<client::HttpClient>> idle;
};

RelayHttp::RelayHttp(JsonLinkOptions options, std::unique_ptr<Pool> pool)
    : options_(std::move(options)), pool_(std::move(pool)) {}

RelayHttp::~RelayHttp() = default;

Result<std::unique_ptr<RelayHttp>> RelayHttp::Create(JsonLinkOptions options) {
  // Validate the URL once, up front, so a typo fails at start rather than on the first payment.
  auto probe = client::HttpClient::Create(options.relay_url, options.timeout);
  if (!probe) return std::unexpected(probe.error());
  if (!options.now)
    options.now = [] {
      return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
    };
  return std::unique_ptr<RelayHttp>(new RelayHttp(std::move(options), std::make_unique<Pool>()));
}

LinkResult<std::string> RelayHttp::Post(std::string_view target, const std::string& body,
                                        std::string_view content_type) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (content_type != "application/json")
    headers.emplace_back("Content-Type", std::string(content_type));
  if (!options_.signing_secret.empty()) {
    std::int64_t ts = ToUnixMs(options_.now()) / 1000;
    headers.emplace_back("Varelay-Timestamp", std::to_string(ts));
    headers.emplace_back("Varelay-Signature",
                         SignRequest(options_.signing_secret, ts, "POST", target, body));
  }
  std::unique_ptr<client::HttpClient> client;
  {
    std::lock_guard lock(pool_->mutex);
    if (!pool_->idle.empty()) {
      client = std::move(pool_->idle.back());
      pool_->idle.pop_back();
    }
  }
  if (!client) {
    auto created = client::HttpClient::Create(options_.relay_url, options_.timeout);
    if (!created) return std::unexpected(LinkFailure{0, "bad_url", created.error().detail});
    client = std::move(*created);
  }
  auto reply = client->Send("POST", target, options_.api_key, body, headers);
  if (!reply) return std::unexpected(LinkFailure{0, "no_answer", reply.error().detail});
  {
    std::lock_guard lock(pool_->mutex);
    if (pool_->idle.size() < kMaxIdleConnections) pool_->idle.push_back(std::move(client));
  }
  if (reply->status != 200) {
    LinkFailure failure{reply->status, "", reply->body.substr(0, 300)};
    std::error_code ec;
    auto parsed = json::parse(reply->body, ec);
    if (!ec && parsed.is_object()) {
      failure.code = StringMember(parsed.as_object(), "code");
      if (auto detail = StringMember(parsed.as_object(), "detail"); !detail.empty())
        failure.detail = detail;
    }
    return std::unexpected(std::move(failure));
  }
  return std::move(reply->body);
}

std::string SignRequest(std::string_view secret, std::int64_t timestamp_s, std::string_view method,
                        std::string_view target, std::string_view body) {
  std::string content = std::to_string(timestamp_s);
  content += '.';
  content += method;
  content += '.';
  content += target;
  content += '.';
  content += body;
  return "v1=" + HmacSha256Hex(secret, content);
}

Result<std::unique_ptr<RelayLink>> MakeJsonRelayLink(JsonLinkOptions options) {
  auto http = RelayHttp::Create(std::move(options));
  if (!http) return std::unexpected(http.error());
  return std::unique_ptr<RelayLink>(new JsonRelayLink(std::move(*http)));
}

}  // namespace varelay::banksim
