// Proves webhook signatures match the Standard Webhooks test vector, secrets round-trip, event
// type names are stable, and JsonWriter emits valid, escaped JSON.
#include <gtest/gtest.h>

#include "domain/json_writer.h"
#include "domain/webhook.h"

namespace varelay {
namespace {

TEST(WebhookSignature, MatchesTheStandardWebhooksTestVector) {
  EXPECT_EQ(SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                        R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignature, MalformedSecretsSignNothing) {
  EXPECT_EQ(SignWebhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "{}"), "");
  EXPECT_EQ(SignWebhook("whsec_", "m", 1, "{}"), "");
  EXPECT_EQ(SignWebhook("whsec_abc", "m", 1, "{}"), "");
  EXPECT_EQ(SignWebhook("whsec_!!!!", "m", 1, "{}"), "");
}

TEST(WebhookSecret, EncodesKeyBytesThatSignAgain) {
  std::string key(32, '\0');
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<char>(i * 7);
  auto secret = EncodeWebhookSecret(key);
  EXPECT_TRUE(secret.starts_with("whsec_"));
  EXPECT_EQ(secret.size(), 6u + 44u);
  EXPECT_FALSE(SignWebhook(secret, "evt_1", 5, "{}").empty());
}

TEST(WebhookEndpoint, SignsWithThePreviousSecretOnlyDuringTheOverlap) {
  WebhookEndpoint e;
  e.secret = "whsec_new";
  e.previous_secret = "whsec_old";
  e.previous_secret_expires_at = FromUnixMs(1000);
  EXPECT_EQ(e.SigningSecrets(FromUnixMs(999)).size(), 2u);
  EXPECT_EQ(e.SigningSecrets(FromUnixMs(1000)).size(), 1u);
  e.event_types = {EventType::kDepositMatched};
  EXPECT_TRUE(e.Wants(EventType::kDepositMatched));
  EXPECT_FALSE(e.Wants(EventType::kAssignmentCreated));
}

TEST(EventType, NamesRoundTrip) {
  for (auto type : kEventTypes) EXPECT_EQ(ParseEventType(EventTypeName(type)), type);
  EXPECT_FALSE(ParseEventType("deposit.*").has_value());
}

TEST(JsonWriter, WritesNestedValuesWithEscapes) {
  JsonWriter w;
  w.BeginObject().Key("a").Int(-5).Key("s").String("q\"\\\n\x01한").Key("n").Null();
  w.Key("list").BeginArray().Bool(true).BeginObject().EndObject().EndArray().EndObject();
  EXPECT_EQ(w.text(), "{\"a\":-5,\"s\":\"q\\\"\\\\\\n\\u0001한\",\"n\":null,\"list\":[true,{}]}");
}

// Proves an endpoint that takes no personal data gets the payload without data's "customer"
// member, whatever the customer's strings hold, and everything else byte for byte.
TEST(WebhookPayload, WithoutPersonalDataDropsOnlyTheCustomer) {
  JsonWriter w;
  w.BeginObject().Key("type").String("deposit.matched").Key("data").BeginObject();
  w.Key("event_id").String("evt_1").Key("order_id").String("o,\"customer\":1");
  w.Key("customer").BeginObject().Key("name").String("Kim \"}\\ Minji").Key("email").String("a@b.c").EndObject();
  w.Key("assignment").BeginObject().Key("id").String("asg_1").EndObject();
  w.EndObject().EndObject();
  const std::string full = w.Take();
  EXPECT_EQ(WithoutPersonalData(full),
            R"({"type":"deposit.matched","data":{"event_id":"evt_1","order_id":"o,\"customer\":1",)"
            R"("assignment":{"id":"asg_1"}}})");
  EXPECT_EQ(WithoutPersonalData(R"({"data":{"event_id":"e","customer":null,"assignment":null}})"),
            R"({"data":{"event_id":"e","assignment":null}})");
  EXPECT_EQ(WithoutPersonalData(R"({"data":{"event_id":"e","customer":{}}})"), R"({"data":{"event_id":"e"}})");
  const std::string transfer = R"({"data":{"event_id":"e","transfer":{"id":"trf_1"}}})";
  EXPECT_EQ(WithoutPersonalData(transfer), transfer);
}

}  // namespace
}  // namespace varelay
