#include "webhook_receiver.h"

#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>

#include "domain/digest.h"
#include "domain/webhook.h"

namespace varelay::bench {
namespace {

constexpr std::string_view kPathPrefix = "/hooks/";
// Standard Webhooks verifiers refuse a timestamp further than this from their own clock.
constexpr std::int64_t kTimestampToleranceS = 300;

// The event's type and data.order_id (empty when null or absent); nullopt when unreadable.
std::optional<std::pair<std::string, std::string>> TypeAndOrder(std::string_view body) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto* type = value.as_object().if_contains("type");
  const auto* data = value.as_object().if_contains("data");
  if (!type || !type->is_string() || !data || !data->is_object()) return std::nullopt;
  const auto* order = data->as_object().if_contains("order_id");
  std::string order_id = order && order->is_string() ? std::string(order->get_string()) : "";
  return std::pair{std::string(type->get_string()), std::move(order_id)};
}

}  // namespace

void DepositTracker::Acknowledged(const std::string& order_id, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  if (arrived_early_.erase(order_id) > 0) {
    round_.latency_us.push_back(0);
    ++round_.before_ack;
    return;
  }
  acknowledged_.emplace(order_id, at);
}

void DepositTracker::WebhookArrived(const std::string& order_id, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  auto it = acknowledged_.find(order_id);
  if (it == acknowledged_.end()) {
    // The relay may deliver before the bank client has read its answer: both follow the commit.
    arrived_early_.insert(order_id);
    return;
  }
  round_.latency_us.push_back(MicrosBetween(it->second, at));
  acknowledged_.erase(it);
}

std::uint64_t DepositTracker::Missing() const {
  std::lock_guard lock(mutex_);
  return acknowledged_.size();
}

DepositTracker::Round DepositTracker::TakeRound() {
  std::lock_guard lock(mutex_);
  Round round = std::move(round_);
  round.missing = acknowledged_.size();
  round_ = {};
  acknowledged_.clear();
  arrived_early_.clear();
  return round;
}

WebhookCounts WebhookCounts::operator-(const WebhookCounts& earlier) const {
  return {received - earlier.received, timed - earlier.timed, other - earlier.other,
          duplicates - earlier.duplicates, verification_failures - earlier.verification_failures};
}

WebhookReceiver::WebhookReceiver(DepositTracker& tracker, int threads)
    : tracker_(tracker),
      server_([this](const ServerRequest& request) { return Handle(request); }, threads) {}

std::string WebhookReceiver::EndpointUrl(std::size_t merchant_index) const {
  return server_.url() + std::string(kPathPrefix) + std::to_string(merchant_index);
}

void WebhookReceiver::SetSecret(std::size_t merchant_index, std::string secret) {
  std::lock_guard lock(mutex_);
  if (secrets_.size() <= merchant_index) secrets_.resize(merchant_index + 1);
  secrets_[merchant_index] = std::move(secret);
}

WebhookCounts WebhookReceiver::Counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void WebhookReceiver::BeginRound() {
  std::lock_guard lock(mutex_);
  seen_ids_.clear();
}

int WebhookReceiver::Handle(const ServerRequest& request) {
  auto arrived = Clock::now();
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  bool verified = VerifyWebhook(SecretFor(request.target()), request, now_s);
  auto event = verified ? TypeAndOrder(request.body()) : std::nullopt;
  {
    std::lock_guard lock(mutex_);
    ++counts_.received;
    if (!event) {
      ++counts_.verification_failures;
      return 400;  // a merchant acts on nothing it cannot verify
    }
    if (!seen_ids_.emplace(request["webhook-id"]).second) {
      ++counts_.duplicates;
      return 204;
    }
    ++(event->first == kTimedEventType ? counts_.timed : counts_.other);
  }
  if (event->first == kTimedEventType) tracker_.WebhookArrived(event->second, arrived);
  return 204;
}

std::string WebhookReceiver::SecretFor(std::string_view target) const {
  if (!target.starts_with(kPathPrefix)) return {};
  auto digits = target.substr(kPathPrefix.size());
  std::size_t merchant_index = 0;
  auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), merchant_index);
  if (parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size()) return {};
  std::lock_guard lock(mutex_);
  return merchant_index < secrets_.size() ? secrets_[merchant_index] : std::string();
}

// SignWebhook is the relay's own signer, but it is checked against the specification's test
// vector (domain/webhook_test.cpp), so verifying with it checks the relay against the standard.
bool VerifyWebhook(std::string_view secret, const ServerRequest& request, std::int64_t now_s) {
  std::string_view id = request["webhook-id"], timestamp = request["webhook-timestamp"];
  std::int64_t timestamp_s = 0;
  auto ts = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), timestamp_s);
  if (id.empty() || timestamp.empty() || ts.ec != std::errc() ||
      ts.ptr != timestamp.data() + timestamp.size()) {
    return false;
  }
  if (std::abs(now_s - timestamp_s) > kTimestampToleranceS) return false;
  auto expected = SignWebhook(secret, id, timestamp_s, request.body());
  if (expected.empty()) return false;
  std::string_view signatures = request["webhook-signature"];
  while (!signatures.empty()) {
    auto space = signatures.find(' ');
    if (ConstantTimeEquals(signatures.substr(0, space), expected)) return true;
    signatures = space == std::string_view::npos ? "" : signatures.substr(space + 1);
  }
  return false;
}

}  // namespace varelay::bench
