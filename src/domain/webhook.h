// Merchant notifications as values: event types, events, webhook endpoints, deliveries, and the
// Standard Webhooks v1 signature. The engine writes them; the notify layer delivers them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/time.h"

namespace varelay {

enum class EventType {
  kAssignmentCreated,
  kDepositMatched,
  kDepositPartial,
  kDepositUnmatched,
  kDepositLate,
  kDepositCancelled,
  kAssignmentExpired,
  kAssignmentCancelled,
  kTransferCompleted,  // a pay-out: the bank debited the mother account and credited the recipient
  kTransferRefused,    // the bank refused the pay-out; nothing moved
  // Division accounts (docs/division-accounts.md): to the merchant, and to the master's endpoint.
  kDivisionPaymentApproved,
  kDivisionPaymentDeclined,
  kDivisionPaymentRefunded,
  kDivisionAccountLocked,      // the master's: five wrong passwords in a row
  kDivisionApprovalRequested,  // the master's: a payment above the threshold waits for it
};
inline constexpr std::size_t kEventTypeCount = 15;
inline constexpr std::array<EventType, kEventTypeCount> kEventTypes = {
    EventType::kAssignmentCreated, EventType::kDepositMatched,   EventType::kDepositPartial,
    EventType::kDepositUnmatched,  EventType::kDepositLate,      EventType::kDepositCancelled,
    EventType::kAssignmentExpired, EventType::kAssignmentCancelled, EventType::kTransferCompleted,
    EventType::kTransferRefused,   EventType::kDivisionPaymentApproved, EventType::kDivisionPaymentDeclined,
    EventType::kDivisionPaymentRefunded, EventType::kDivisionAccountLocked, EventType::kDivisionApprovalRequested};

// "deposit.matched" and so on: the names merchants subscribe to.
std::string_view EventTypeName(EventType type);
std::optional<EventType> ParseEventType(std::string_view name);

// Something that happened to a merchant's number (or, for transfer events, to a pay-out: number
// empty, sequence 0), written in the same transaction as the change.
struct Event {
  std::int64_t seq = 0;  // global write order: the replay cursor's position
  std::string id;        // "evt_" + 20 chars; the webhook-id of every delivery
  std::string merchant;
  EventType type = EventType::kAssignmentCreated;
  std::string bank;
  std::string number;
  std::int64_t sequence = 0;    // 1, 2, 3... per (bank, number), across generations
  std::int64_t generation = 0;  // which use of the number
  std::string assignment_id;    // empty when the money could not be tied to an assignment
  std::string order_id;
  Instant created_at;
  std::string payload;  // the exact body every delivery sends: {"type","timestamp","data"}
};

// Where a merchant wants its events, and the secrets that sign them.
struct WebhookEndpoint {
  std::string id;  // "whe_" + 20 chars
  std::string merchant;
  std::string url;
  std::vector<EventType> event_types;  // empty: every type
  bool enabled = true;
  std::string disabled_reason;  // "gone" after a 410; empty otherwise
  std::string description;
  // false: events reach this endpoint without the customer given at issuance (WithoutPersonalData).
  bool include_personal_data = true;
  std::string secret;           // "whsec_" + base64 of 32 random bytes
  std::string previous_secret;  // still signing beside `secret` until previous_secret_expires_at
  std::optional<Instant> previous_secret_expires_at;
  Instant created_at;
  std::optional<Instant> deleted_at;

  bool Wants(EventType type) const;
  // The secrets that sign a delivery made at `now`: the current one, and the previous one while
  // its overlap lasts.
  std::vector<std::string_view> SigningSecrets(Instant now) const;
};

enum class DeliveryStatus { kPending, kDelivered, kFailed };
std::string_view DeliveryStatusName(DeliveryStatus status);
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name);

// One event on its way to one endpoint.
struct Delivery {
  std::int64_t event_seq = 0;
  std::string endpoint_id;
  std::string merchant;
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;
  std::optional<Instant> last_attempt_at;
  std::optional<Instant> next_attempt_at;  // pending only
  std::optional<int> last_status;          // the HTTP status of the last attempt, if one came
  std::string last_error;
  std::optional<Instant> delivered_at;
};

// The Standard Webhooks v1 signature "v1,<base64 HMAC-SHA256>" of `{id}.{timestamp_s}.{body}`,
// keyed by the base64-decoded part of a "whsec_..." secret. Empty when the secret is malformed.
std::string SignWebhook(std::string_view secret, std::string_view message_id, std::int64_t timestamp_s,
                        std::string_view body);

// `payload` (an event's body, as the relay wrote it) without data's "customer" member, for
// endpoints that take no personal data; unchanged when it has none.
std::string WithoutPersonalData(std::string_view payload);

// "whsec_" + base64 of `key` (the caller draws the bytes from a CSPRNG).
std::string EncodeWebhookSecret(std::string_view key);

}  // namespace varelay
