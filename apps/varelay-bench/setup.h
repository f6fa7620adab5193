// Sets the relay up through its API as an operator would: banks, merchants, contracts, pools of
// numbers, API keys, and one webhook endpoint per merchant at the bench's receiver.
#pragma once

#include <string>
#include <vector>

#include "options.h"
#include "webhook_receiver.h"

namespace varelay::bench {

struct Institutions {
  std::vector<std::string> merchant_keys;  // by merchant index
  std::vector<std::string> bank_codes;     // by bank index
  std::vector<std::string> bank_keys;
};

// Creates `options.banks` banks and `options.merchants` merchants with a contract at every bank
// and `options.numbers` numbers in each (merchant, bank, region) pool (50,000 per request, the
// relay's limit). Throws std::runtime_error when the relay refuses a step.
Institutions Seed(const Options& options, const std::string& url);

// Registers an endpoint for every event type per merchant at `receiver` and hands it the secret.
// Throws std::runtime_error when the relay refuses.
void RegisterWebhooks(const Institutions& institutions, const std::string& url,
                      WebhookReceiver& receiver);

}  // namespace varelay::bench
