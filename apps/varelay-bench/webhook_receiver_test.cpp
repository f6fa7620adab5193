// Proves the bench's webhook receiver checks Standard Webhooks signatures as a merchant must
// (another secret, a changed body, a stale timestamp or a missing header fail; any of several
// entries may match), pairs deposits with their webhooks whichever comes first, and over real HTTP
// answers 204 to a good delivery, 400 to a forged one, and counts a repeat as a duplicate.
#include "webhook_receiver.h"

#include <gtest/gtest.h>

#include "client/http_client.h"
#include "domain/webhook.h"

namespace varelay::bench {
namespace {

constexpr std::int64_t kNowS = 1'795'674'460;
const std::string kSecret = EncodeWebhookSecret(std::string(32, 'k'));
const std::string kOtherSecret = EncodeWebhookSecret(std::string(32, 'o'));

ServerRequest Delivery(const std::string& id, std::int64_t timestamp_s, const std::string& body,
                       const std::string& signature) {
  ServerRequest request{boost::beast::http::verb::post, "/hooks/0", 11};
  request.set("webhook-id", id);
  request.set("webhook-timestamp", std::to_string(timestamp_s));
  request.set("webhook-signature", signature);
  request.body() = body;
  return request;
}

std::string DepositBody(const std::string& order_id) {
  return R"({"type":"deposit.matched","data":{"order_id":")" + order_id + R"("}})";
}

TEST(VerifyWebhook, AcceptsTheSignatureOfTheSecretAndRefusesEveryAlteration) {
  const std::string body = DepositBody("o-1");
  const std::string good = SignWebhook(kSecret, "evt_1", kNowS, body);
  EXPECT_TRUE(VerifyWebhook(kSecret, Delivery("evt_1", kNowS, body, good), kNowS));
  EXPECT_TRUE(
      VerifyWebhook(kSecret, Delivery("evt_1", kNowS, body, "v1,AAAA " + good), kNowS + 299));
  EXPECT_FALSE(VerifyWebhook(kOtherSecret, Delivery("evt_1", kNowS, body, good), kNowS));
  EXPECT_FALSE(VerifyWebhook(kSecret, Delivery("evt_1", kNowS, body + " ", good), kNowS));
  EXPECT_FALSE(VerifyWebhook(kSecret, Delivery("evt_2", kNowS, body, good), kNowS));
  EXPECT_FALSE(VerifyWebhook(kSecret, Delivery("evt_1", kNowS, body, good), kNowS + 301));
  EXPECT_FALSE(VerifyWebhook(kSecret, Delivery("evt_1", kNowS, body, ""), kNowS));
  EXPECT_FALSE(VerifyWebhook("", Delivery("evt_1", kNowS, body, good), kNowS));
  auto no_id = Delivery("evt_1", kNowS, body, good);
  no_id.erase("webhook-id");
  EXPECT_FALSE(VerifyWebhook(kSecret, no_id, kNowS));
}

TEST(DepositTracker, PairsAWebhookWithItsAcknowledgementInEitherOrder) {
  DepositTracker tracker;
  auto t0 = Clock::now();
  tracker.Acknowledged("o-1", t0);
  tracker.WebhookArrived("o-2", t0);  // before its acknowledgement was read
  tracker.Acknowledged("o-3", t0);
  EXPECT_EQ(tracker.Missing(), 2u);
  tracker.WebhookArrived("o-1", t0 + std::chrono::microseconds(1500));
  tracker.Acknowledged("o-2", t0 + std::chrono::microseconds(10));
  auto round = tracker.TakeRound();
  EXPECT_EQ(round.latency_us, (std::vector<std::uint32_t>{1500, 0}));
  EXPECT_EQ(round.before_ack, 1u);
  EXPECT_EQ(round.missing, 1u);  // o-3
  EXPECT_EQ(tracker.Missing(), 0u);
}

TEST(WebhookReceiver, AnswersVerifiedDeliveriesOverHttpAndCountsForgeriesAndRepeats) {
  DepositTracker tracker;
  WebhookReceiver receiver(tracker, 1);
  receiver.SetSecret(0, kSecret);
  const std::string url = receiver.EndpointUrl(0);
  auto http = client::HttpClient::Create(url.substr(0, url.find('/', 7)));
  ASSERT_TRUE(http.has_value());
  auto send = [&](const std::string& id, const std::string& body, const std::string& secret) {
    auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    auto reply = (*http)->Send("POST", "/hooks/0", "", body,
                               {{"webhook-id", id},
                                {"webhook-timestamp", std::to_string(now_s)},
                                {"webhook-signature", SignWebhook(secret, id, now_s, body)}});
    return reply ? reply->status : 0;
  };
  tracker.Acknowledged("o-1", Clock::now());
  EXPECT_EQ(send("evt_1", DepositBody("o-1"), kSecret), 204);
  EXPECT_EQ(send("evt_1", DepositBody("o-1"), kSecret), 204);
  EXPECT_EQ(send("evt_2", R"({"type":"assignment.created","data":{"order_id":"o-2"}})", kSecret),
            204);
  EXPECT_EQ(send("evt_3", DepositBody("o-3"), kOtherSecret), 400);

  auto counts = receiver.Counts();
  EXPECT_EQ(counts.received, 4u);
  EXPECT_EQ(counts.timed, 1u);
  EXPECT_EQ(counts.other, 1u);
  EXPECT_EQ(counts.duplicates, 1u);
  EXPECT_EQ(counts.verification_failures, 1u);
  auto round = tracker.TakeRound();
  EXPECT_EQ(round.latency_us.size(), 1u);
  EXPECT_EQ(round.missing, 0u);
}

}  // namespace
}  // namespace varelay::bench
