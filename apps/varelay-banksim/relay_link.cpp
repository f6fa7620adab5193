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
  explicit JsonRelayLink(JsonLinkOptions options) : options_(std::move(options)) {}

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
    return Receipt(Post("/v1/bank/deposits", json::serialize(body)));
  }

  LinkResult<NoticeReceipt> NotifyCancellation(const CancellationMessage& message) override {
    json::object body{{"transaction_id", message.transaction_id},
                      {"original_transaction_id", message.original_transaction_id},
                      {"cancelled_at", message.cancelled_at}};
    return Receipt(Post("/v1/bank/cancellations", json::serialize(body)));
  }

  std::string Describe() const override {
    return "json " + options_.relay_url +
           (options_.signing_secret.empty() ? " (unsigned)" : " (signed)");
  }

 private:
  static LinkResult<NoticeReceipt> Receipt(LinkResult<json::object> answer) {
    if (!answer) return std::unexpected(answer.error());
    auto* deposit = answer->if_contains("deposit");
    auto* duplicate = answer->if_contains("duplicate");
    if (!deposit || !deposit->is_object() || !duplicate || !duplicate->is_bool()) {
      return std::unexpected(
          LinkFailure{200, "bad_answer", "the receipt has no 'deposit' object or 'duplicate'"});
    }
    const auto& d = deposit->as_object();
    return NoticeReceipt{StringMember(d, "id"), StringMember(d, "outcome"),
                         StringMember(d, "status"), duplicate->as_bool()};
  }

  // One POST; the parsed JSON object of a 200 answer, or why there was none.
  LinkResult<json::object> Post(std::string_view target, const std::string& body) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!options_.signing_secret.empty()) {
      std::int64_t ts = ToUnixMs(options_.now()) / 1000;
      headers.emplace_back("Varelay-Timestamp", std::to_string(ts));
      headers.emplace_back("Varelay-Signature",
                           SignRequest(options_.signing_secret, ts, "POST", target, body));
    }
    auto client = Checkout();
    if (!client) return std::unexpected(LinkFailure{0, "bad_url", client.error().detail});
    auto reply = (*client)->Send("POST", target, options_.api_key, body, headers);
    if (!reply) return std::unexpected(LinkFailure{0, "no_answer", reply.error().detail});
    Return(std::move(*client));
    std::error_code ec;
    auto parsed = json::parse(reply->body, ec);
    if (reply->status != 200) {
      LinkFailure failure{reply->status, "", reply->body.substr(0, 300)};
      if (!ec && parsed.is_object()) {
        failure.code = StringMember(parsed.as_object(), "code");
        if (auto detail = StringMember(parsed.as_object(), "detail"); !detail.empty())
          failure.detail = detail;
      }
      return std::unexpected(std::move(failure));
    }
    if (ec || !parsed.is_object())
      return std::unexpected(LinkFailure{200, "bad_answer", "the answer is not a JSON object"});
    return std::move(parsed.as_object());
  }

  Result<std::unique_ptr<client::HttpClient>> Checkout() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto client = std::move(idle_.back());
        idle_.pop_back();
        return client;
      }
    }
    return client::HttpClient::Create(options_.relay_url, options_.timeout);
  }

  void Return(std::unique_ptr<client::HttpClient> client) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(client));
  }

  JsonLinkOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<client::HttpClient>> idle_;
};

}  // namespace

std::string LinkFailure::Summary() const {
  if (http_status == 0) return "no answer: " + detail;
  return std::to_string(http_status) + (code.empty() ? "" : " " + code);
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
  // Validate the URL once, up front, so a typo fails at start rather than on the first payment.
  auto probe = client::HttpClient::Create(options.relay_url, options.timeout);
  if (!probe) return std::unexpected(probe.error());
  if (!options.now)
    options.now = [] {
      return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
    };
  return std::unique_ptr<RelayLink>(new JsonRelayLink(std::move(options)));
}

}  // namespace varelay::banksim
