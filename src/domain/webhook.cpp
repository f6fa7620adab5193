#include "domain/webhook.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace varelay {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Strict base64 with padding; nullopt on anything else.
std::optional<std::string> Unbase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  std::size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

}  // namespace

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kAssignmentCreated: return "assignment.created";
    case EventType::kDepositMatched: return "deposit.matched";
    case EventType::kDepositPartial: return "deposit.partial";
    case EventType::kDepositUnmatched: return "deposit.unmatched";
    case EventType::kDepositLate: return "deposit.late";
    case EventType::kDepositCancelled: return "deposit.cancelled";
    case EventType::kAssignmentExpired: return "assignment.expired";
    case EventType::kAssignmentCancelled: return "assignment.cancelled";
    case EventType::kTransferCompleted: return "transfer.completed";
    case EventType::kTransferRefused: return "transfer.refused";
    case EventType::kDivisionPaymentApproved: return "division_payment.approved";
    case EventType::kDivisionPaymentDeclined: return "division_payment.declined";
    case EventType::kDivisionPaymentRefunded: return "division_payment.refunded";
    case EventType::kDivisionAccountLocked: return "division_account.locked";
    case EventType::kDivisionApprovalRequested: return "division_approval.requested";
  }
  return "assignment.created";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (auto type : kEventTypes) {
    if (EventTypeName(type) == name) return type;
  }
  return std::nullopt;
}

bool WebhookEndpoint::Wants(EventType type) const {
  return event_types.empty() || std::find(event_types.begin(), event_types.end(), type) != event_types.end();
}

std::vector<std::string_view> WebhookEndpoint::SigningSecrets(Instant now) const {
  std::vector<std::string_view> secrets{secret};
  if (!previous_secret.empty() && previous_secret_expires_at && now < *previous_secret_expires_at) {
    secrets.push_back(previous_secret);
  }
  return secrets;
}

std::string_view DeliveryStatusName(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::kPending: return "pending";
    case DeliveryStatus::kDelivered: return "delivered";
    case DeliveryStatus::kFailed: return "failed";
  }
  return "pending";
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name) {
  for (auto s : {DeliveryStatus::kPending, DeliveryStatus::kDelivered, DeliveryStatus::kFailed}) {
    if (DeliveryStatusName(s) == name) return s;
  }
  return std::nullopt;
}

std::string SignWebhook(std::string_view secret, std::string_view message_id, std::int64_t timestamp_s,
                        std::string_view body) {
  if (!secret.starts_with(kSecretPrefix)) return {};
  auto key = Unbase64(secret.substr(kSecretPrefix.size()));
  if (!key || key->empty()) return {};
  std::string content(message_id);
  content += '.';
  content += std::to_string(timestamp_s);
  content += '.';
  content += body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
            reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_len)) {
    return {};
  }
  return "v1," + Base64(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::string WithoutPersonalData(std::string_view payload) {
  // Written by the relay's JsonWriter: a quote inside a string is escaped, so `,"customer":` cannot
  // occur inside one, and the only such member is data's.
  constexpr std::string_view kMember = ",\"customer\":";
  const auto start = payload.find(kMember);
  if (start == std::string_view::npos) return std::string(payload);
  std::size_t end = start + kMember.size();
  int depth = 0;
  bool in_string = false;
  for (; end < payload.size(); ++end) {
    const char c = payload[end];
    if (in_string) {
      if (c == '\\') ++end;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']' || c == ',') {
      if (depth == 0) break;  // the end of a scalar (null) or of the enclosing object
      if (c != ',' && --depth == 0) {
        ++end;
        break;
      }
    }
  }
  std::string out(payload.substr(0, start));
  out.append(payload.substr(end));
  return out;
}

std::string EncodeWebhookSecret(std::string_view key) { return std::string(kSecretPrefix) + Base64(key); }

}  // namespace varelay
