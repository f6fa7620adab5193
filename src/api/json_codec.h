// JSON in and out of the API. Decoding is strict: wrong types, missing or unknown fields, and bad
// values are all reported (every field, not just the first) so a client can fix a request at once.
#pragma once

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "engine/commands.h"

namespace varelay::api {

struct FieldError {
  std::string field;
  std::string reason;
};

// A refused request: the code of the first problem, and every field that was wrong.
struct RequestError {
  Error error;
  std::vector<FieldError> fields;
};

template <typename T>
using Decoded = std::expected<T, RequestError>;

// Parses a request body: valid UTF-8, well-formed JSON, an object, no duplicate member names.
Decoded<boost::json::object> ParseBody(std::string_view body);

// Decoders for each request body.
Decoded<CreateBank> DecodeCreateBank(const boost::json::object& body);
Decoded<UpdateBank> DecodeUpdateBank(std::string code, const boost::json::object& body);
Decoded<CreateTransfer> DecodeCreateTransfer(const boost::json::object& body);
Decoded<HolderInquiryRequest> DecodeHolderInquiry(const boost::json::object& body);
// PUT /v1/merchants/{id}/payout-limits: every field optional (absent: the default).
Decoded<SetPayoutPolicy> DecodeSetPayoutPolicy(std::string merchant, const boost::json::object& body);
Decoded<CreateMerchant> DecodeCreateMerchant(const boost::json::object& body);
Decoded<UpdateMerchant> DecodeUpdateMerchant(std::string id, const boost::json::object& body);
Decoded<CreateContract> DecodeCreateContract(std::string merchant, const boost::json::object& body);
Decoded<CreateApiKey> DecodeCreateApiKey(const boost::json::object& body);
Decoded<LoadNumbers> DecodeLoadNumbers(std::string merchant, std::string bank, std::string region,
                                       const boost::json::object& body);
Decoded<CreateAssignment> DecodeCreateAssignment(const boost::json::object& body);
Decoded<Precheck> DecodePrecheck(const boost::json::object& body);
Decoded<DepositNotice> DecodeDepositNotice(const boost::json::object& body);
Decoded<CancelDeposit> DecodeCancelDeposit(const boost::json::object& body);
// The URL is checked for shape here; the delivery policy (schemes, hosts, addresses) is the
// caller's to apply.
Decoded<CreateWebhookEndpoint> DecodeCreateWebhookEndpoint(const boost::json::object& body);
Decoded<UpdateWebhookEndpoint> DecodeUpdateWebhookEndpoint(std::string id, const boost::json::object& body);
Decoded<RotateWebhookSecret> DecodeRotateWebhookSecret(std::string id, const boost::json::object& body);
Decoded<ResendEvent> DecodeResendEvent(std::string id, const boost::json::object& body);

// Serialises an outcome as the response body.
std::string EncodeOutcome(const Outcome& outcome);

}  // namespace varelay::api
