#include "setup.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <stdexcept>

#include "client/http_client.h"
#include "relay_process.h"

namespace varelay::bench {
namespace json = boost::json;
using client::HttpClient;

namespace {

constexpr int kNumbersPerRequest = 50'000;  // the relay's limit for one pool load

std::unique_ptr<HttpClient> Connect(const std::string& url) {
  auto client = HttpClient::Create(url);
  if (!client) throw std::runtime_error("cannot use " + url + ": " + client.error().detail);
  return std::move(*client);
}

// POSTs and returns the body; throws unless the status is `expect`.
std::string Post(HttpClient& client, const std::string& target, const std::string& key,
                 const std::string& body, int expect,
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  auto reply = client.Send("POST", target, key, body, headers);
  if (!reply || reply->status != expect) {
    throw std::runtime_error("set-up " + target +
                             " failed: " + (reply ? reply->body : reply.error().detail));
  }
  return reply->body;
}

std::string Member(const std::string& body, const char* name) {
  return json::value_to<std::string>(json::parse(body).at(name));
}

// 13 digits, unique per (merchant, region, i); the bank tells pools with the same digits apart.
std::string PoolNumber(int merchant, int region, int i) {
  char number[32];
  std::snprintf(number, sizeof number, "%d%02d%02d%08d", 1 + merchant % 9, merchant / 9, region, i);
  return number;
}

void LoadPool(HttpClient& client, const Options& options, const std::string& target, int merchant,
              int region) {
  for (int start = 0; start < options.numbers; start += kNumbersPerRequest) {
    std::string body = "{\"numbers\":[";
    for (int i = start; i < std::min(options.numbers, start + kNumbersPerRequest); ++i) {
      body += (i > start ? ",\"" : "\"") + PoolNumber(merchant, region, i) + "\"";
    }
    body += "]}";
    Post(client, target, kAdminKey, body, 200);
  }
}

}  // namespace

Institutions Seed(const Options& options, const std::string& url) {
  auto client = Connect(url);
  Institutions seeded;
  for (int b = 0; b < options.banks; ++b) {
    char code[16];
    std::snprintf(code, sizeof code, "%03d", 100 + b);
    seeded.bank_codes.push_back(code);
    Post(*client, "/v1/banks", kAdminKey,
         std::string(R"({"code":")") + code + R"(","name":"Bench Bank"})", 201);
    auto key = Post(*client, "/v1/api-keys", kAdminKey,
                    std::string(R"({"role":"bank","bank":")") + code + "\"}", 201);
    seeded.bank_keys.push_back(Member(key, "key"));
  }
  for (int m = 0; m < options.merchants; ++m) {
    std::string id = "bench-" + std::to_string(m);
    Post(*client, "/v1/merchants", kAdminKey, R"({"id":")" + id + R"(","name":"Bench"})", 201);
    auto key = Post(*client, "/v1/api-keys", kAdminKey,
                    R"({"role":"merchant","merchant":")" + id + "\"}", 201);
    seeded.merchant_keys.push_back(Member(key, "key"));
    for (const auto& bank : seeded.bank_codes) {
      Post(*client, "/v1/merchants/" + id + "/contracts", kAdminKey,
           R"({"bank":")" + bank + R"(","mother_account":"1000000000","holder_name":"Bench"})",
           201);
      for (int r = 0; r < options.regions; ++r) {
        LoadPool(*client, options,
                 "/v1/pools/" + id + "/" + bank + "/r" + std::to_string(r) + "/numbers", m, r);
      }
    }
  }
  return seeded;
}

void RegisterWebhooks(const Institutions& institutions, const std::string& url,
                      WebhookReceiver& receiver) {
  auto client = Connect(url);
  for (std::size_t m = 0; m < institutions.merchant_keys.size(); ++m) {
    auto created = Post(*client, "/v1/webhook-endpoints", institutions.merchant_keys[m],
                        json::serialize(json::object{{"url", receiver.EndpointUrl(m)}}), 201,
                        {{"Idempotency-Key", "bench-endpoint-" + std::to_string(m)}});
    receiver.SetSecret(m, Member(created, "secret"));
  }
}

}  // namespace varelay::bench
