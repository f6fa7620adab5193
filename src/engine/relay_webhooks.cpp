// Merchant notifications: events written with the change that caused them, endpoints, the
// outbox of pending deliveries, replay look-ups, and what the dispatcher reports back.
#include <algorithm>

#include "domain/json_writer.h"
#include "engine/random.h"
#include "engine/relay.h"

namespace varelay {
namespace {

constexpr int kMaxPage = 500;
constexpr int kSecretBytes = 32;

void WriteOptionalTime(JsonWriter& w, const std::optional<Instant>& t) {
  if (t) {
    w.String(FormatRfc3339(*t));
  } else {
    w.Null();
  }
}

void WriteAssignment(JsonWriter& w, const Assignment& a) {
  w.BeginObject();
  w.Key("id").String(a.id);
  w.Key("order_id").String(a.order_id);
  w.Key("amount").Int(a.amount.minor());
  w.Key("currency").String(a.amount.currency().code());
  w.Key("amount_paid").Int(a.paid_minor);
  w.Key("status").String(AssignmentStatusName(a.status));
  w.Key("due_at").String(FormatRfc3339(a.due_at));
  w.Key("closed_at");
  WriteOptionalTime(w, a.closed_at);
  w.EndObject();
}

// The customer as given at issuance: members given, the others absent (as GET shows them).
void WriteCustomer(JsonWriter& w, const Customer& c) {
  w.BeginObject();
  if (!c.name.empty()) w.Key("name").String(c.name);
  if (!c.phone.empty()) w.Key("phone").String(c.phone);
  if (!c.email.empty()) w.Key("email").String(c.email);
  w.EndObject();
}

void WriteDeposit(JsonWriter& w, const Deposit& d) {
  w.BeginObject();
  w.Key("id").String(d.id);
  w.Key("transaction_id").String(d.transaction_id);
  w.Key("amount").Int(d.amount.minor());
  w.Key("currency").String(d.amount.currency().code());
  w.Key("payer_name").String(d.payer_name);
  w.Key("outcome").String(DepositOutcomeName(d.outcome));
  w.Key("to_merchant_amount").Int(d.to_merchant_minor);
  w.Key("parked_amount").Int(d.parked_minor);
  w.Key("deposited_at").String(FormatRfc3339(d.deposited_at));
  w.Key("received_at").String(FormatRfc3339(d.received_at));
  w.Key("status").String(DepositStatusName(d.status));
  w.Key("cancelled_at");
  WriteOptionalTime(w, d.cancelled_at);
  w.EndObject();
}

// The message body, fixed at write time: signed and sent byte for byte on every attempt.
// Opens every message the same way: {"type", "timestamp", "data": {"event_id", ...; the caller
// writes the rest of `data` and closes both objects.
void BeginPayload(JsonWriter& w, const Event& e) {
  w.BeginObject();
  w.Key("type").String(EventTypeName(e.type));
  w.Key("timestamp").String(FormatRfc3339(e.created_at));
  w.Key("data").BeginObject();
  w.Key("event_id").String(e.id);
}

std::string RenderPayload(const Event& e, const Assignment* a, const Deposit* d) {
  JsonWriter w;
  BeginPayload(w, e);
  w.Key("sequence").Int(e.sequence);
  w.Key("merchant").String(e.merchant);
  w.Key("bank").String(e.bank);
  w.Key("number").String(e.number);
  w.Key("generation").Int(e.generation);
  w.Key("order_id");
  if (e.order_id.empty()) {
    w.Null();
  } else {
    w.String(e.order_id);
  }
  // Who the number was issued for, so the merchant knows who paid without a look-up; left out
  // for endpoints that take no personal data (WithoutPersonalData).
  w.Key("customer");
  if (a) {
    WriteCustomer(w, a->customer);
  } else {
    w.Null();
  }
  w.Key("assignment");
  if (a) {
    WriteAssignment(w, *a);
  } else {
    w.Null();
  }
  if (d) {
    w.Key("deposit");
    WriteDeposit(w, *d);
  }
  w.EndObject();
  w.EndObject();
  return w.Take();
}

std::string RenderTransferPayload(const Event& e, const Transfer& t) {
  JsonWriter w;
  BeginPayload(w, e);
  w.Key("merchant").String(e.merchant);
  w.Key("bank").String(e.bank);
  w.Key("transfer").BeginObject();
  w.Key("id").String(t.id);
  w.Key("amount").Int(t.amount.minor());
  w.Key("currency").String(t.amount.currency().code());
  w.Key("status").String(TransferStatusName(t.status));
  w.Key("recipient_bank").String(t.recipient_bank);
  w.Key("recipient_account").String(t.recipient_account);
  w.Key("response_code").String(t.response_code);
  w.Key("finished_at");
  WriteOptionalTime(w, t.finished_at);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return w.Take();
}

std::string NewWebhookSecret() {
  std::string key = RandomBytes(kSecretBytes);
  return EncodeWebhookSecret(key);
}

}  // namespace

EventType DepositEventType(DepositOutcome outcome) {
  switch (outcome) {
    case DepositOutcome::kMatched:
    case DepositOutcome::kOverpaid: return EventType::kDepositMatched;
    case DepositOutcome::kPartial: return EventType::kDepositPartial;
    case DepositOutcome::kLate: return EventType::kDepositLate;
    case DepositOutcome::kAmountMismatch:
    case DepositOutcome::kUnknownNumber:
    case DepositOutcome::kNotAssigned: break;
  }
  return EventType::kDepositUnmatched;
}

// ---- recovery -------------------------------------------------------------------------------

void Relay::OnWebhookEndpoint(WebhookEndpoint endpoint) {
  outbox_.endpoints.push_back(endpoint);
  endpoints_.emplace(endpoint.id, std::move(endpoint));
}

void Relay::OnEventHead(std::int64_t seq) { event_seq_ = seq; }

void Relay::OnPendingDelivery(Delivery delivery, Event event) {
  // Rows come in event order: consecutive deliveries of one event share its copy.
  auto& work = outbox_.deliveries;
  if (work.size() >= kMaxRecoveredDeliveries) {
    outbox_.more_pending = true;  // the dispatcher asks for the rest when it has room
    return;
  }
  std::shared_ptr<const Event> shared =
      !work.empty() && work.back().event->seq == event.seq ? work.back().event
                                                            : std::make_shared<const Event>(std::move(event));
  work.push_back({std::move(delivery), std::move(shared)});
}

OutboxChanges Relay::TakeOutbox() { return std::exchange(outbox_, {}); }

// ---- writing events -------------------------------------------------------------------------

void Relay::Emit(EventType type, NumberSlot& slot, const Assignment* a, const Deposit* d, Instant now) {
  const std::string& merchant = slot.merchant();
  if (merchant.empty()) return;
  ++slot.event_seq;
  Touch(slot);

  Event event;
  event.merchant = merchant;
  event.type = type;
  event.bank = slot.bank();
  event.number = slot.number.str();
  event.sequence = slot.event_seq;
  event.generation = a ? a->generation : d ? d->generation : slot.generation;
  if (a) {
    event.assignment_id = a->id;
    event.order_id = a->order_id;
  }
  Publish(std::move(event), [&](const Event& e) { return RenderPayload(e, a, d); }, now);
}

void Relay::EmitTransfer(EventType type, const Transfer& t, Instant now) {
  Event event;
  event.merchant = t.merchant;
  event.type = type;
  event.bank = t.bank;
  Publish(std::move(event), [&](const Event& e) { return RenderTransferPayload(e, t); }, now);
}

void Relay::Publish(Event event, const std::function<std::string(const Event&)>& render, Instant now) {
  event.seq = ++event_seq_;
  event.id = ids_.NewTimeOrderedId("evt_", ToUnixMs(now));
  event.created_at = now;
  event.payload = render(event);
  store_.AppendEvent(event);
  auto shared = std::make_shared<const Event>(std::move(event));
  for (const auto& [id, endpoint] : endpoints_) {
    if (endpoint.merchant == shared->merchant && endpoint.enabled && endpoint.Wants(shared->type)) {
      QueueDelivery(endpoint, shared, now);
    }
  }
}

void Relay::QueueDelivery(const WebhookEndpoint& endpoint, const std::shared_ptr<const Event>& event,
                          Instant now) {
  Delivery d;
  d.event_seq = event->seq;
  d.endpoint_id = endpoint.id;
  d.merchant = endpoint.merchant;
  d.next_attempt_at = now;
  store_.PutDelivery(d);
  outbox_.deliveries.push_back({std::move(d), event});
}

// ---- endpoints ------------------------------------------------------------------------------

Result<WebhookEndpoint*> Relay::OwnEndpoint(const Caller& caller, const std::string& id) {
  if (caller.role != Role::kMerchant) return Fail(ErrorCode::kForbidden, "webhook endpoints belong to merchant keys");
  auto it = endpoints_.find(id);
  if (it == endpoints_.end() || it->second.merchant != caller.merchant) {
    return Fail(ErrorCode::kNotFound, "no such webhook endpoint");
  }
  return &it->second;
}

void Relay::EndpointChanged(const WebhookEndpoint& endpoint) {
  store_.PutWebhookEndpoint(endpoint);
  if (endpoint.deleted_at || !endpoint.enabled) {
    store_.FailPendingDeliveries(endpoint.id, endpoint.deleted_at ? "endpoint deleted" : "endpoint disabled");
  }
  outbox_.endpoints.push_back(endpoint);
}

Result<Outcome> Relay::Do(const Caller& caller, const CreateWebhookEndpoint& c, Instant now) {
  if (caller.role != Role::kMerchant) return Fail(ErrorCode::kForbidden, "webhook endpoints belong to merchant keys");
  auto owned = std::count_if(endpoints_.begin(), endpoints_.end(),
                             [&](const auto& e) { return e.second.merchant == caller.merchant; });
  if (static_cast<std::size_t>(owned) >= kMaxEndpointsPerMerchant) {
    return Fail(ErrorCode::kEndpointLimitReached,
                "a merchant has at most " + std::to_string(kMaxEndpointsPerMerchant) + " webhook endpoints");
  }
  WebhookEndpoint e;
  e.id = ids_.NewId("whe_", 20);
  e.merchant = caller.merchant;
  e.url = c.url;
  e.event_types = c.event_types;
  e.description = c.description;
  e.include_personal_data = c.include_personal_data;
  e.secret = NewWebhookSecret();
  e.created_at = now;
  EndpointChanged(e);
  auto [it, inserted] = endpoints_.emplace(e.id, std::move(e));
  return EndpointView{it->second, true};
}

std::pair<std::string, std::string> Relay::PutOwnEndpoint(const std::string& owner, const std::string& endpoint_id,
                                                          const std::string& url, Instant now) {
  auto it = endpoints_.find(endpoint_id);
  if (it != endpoints_.end() && it->second.merchant != owner) it = endpoints_.end();
  if (url.empty()) {
    if (it == endpoints_.end()) return {};
    WebhookEndpoint e = std::move(it->second);
    endpoints_.erase(it);
    e.deleted_at = now;
    EndpointChanged(e);
    return {};
  }
  if (it != endpoints_.end()) {
    it->second.url = url;
    EndpointChanged(it->second);
    return {it->first, {}};
  }
  // A master's endpoint: every division event about it, owned by the master's id.
  WebhookEndpoint e;
  e.id = ids_.NewId("whe_", 20);
  e.merchant = owner;
  e.url = url;
  e.include_personal_data = false;
  e.secret = NewWebhookSecret();
  e.created_at = now;
  EndpointChanged(e);
  auto [created, inserted] = endpoints_.emplace(e.id, std::move(e));
  return {created->first, created->second.secret};
}

Result<Outcome> Relay::Do(const Caller& caller, const ListWebhookEndpoints&, Instant) {
  if (caller.role != Role::kMerchant) return Fail(ErrorCode::kForbidden, "webhook endpoints belong to merchant keys");
  EndpointList list;
  for (const auto& [id, e] : endpoints_) {
    if (e.merchant == caller.merchant) list.items.push_back(e);
  }
  return list;
}

Result<Outcome> Relay::Do(const Caller& caller, const GetWebhookEndpoint& c, Instant) {
  auto e = OwnEndpoint(caller, c.id);
  if (!e) return std::unexpected(e.error());
  return EndpointView{**e, false};
}

Result<Outcome> Relay::Do(const Caller& caller, const UpdateWebhookEndpoint& c, Instant) {
  auto found = OwnEndpoint(caller, c.id);
  if (!found) return std::unexpected(found.error());
  WebhookEndpoint& e = **found;
  if (c.url) e.url = *c.url;
  if (c.event_types) e.event_types = *c.event_types;
  if (c.description) e.description = *c.description;
  if (c.include_personal_data) e.include_personal_data = *c.include_personal_data;
  if (c.enabled) {
    e.enabled = *c.enabled;
    if (e.enabled) e.disabled_reason.clear();
  }
  EndpointChanged(e);
  return EndpointView{e, false};
}

Result<Outcome> Relay::Do(const Caller& caller, const DeleteWebhookEndpoint& c, Instant now) {
  auto found = OwnEndpoint(caller, c.id);
  if (!found) return std::unexpected(found.error());
  WebhookEndpoint e = std::move(**found);
  endpoints_.erase(c.id);
  e.deleted_at = now;
  EndpointChanged(e);
  return EndpointView{std::move(e), false};
}

Result<Outcome> Relay::Do(const Caller& caller, const RotateWebhookSecret& c, Instant now) {
  auto found = OwnEndpoint(caller, c.id);
  if (!found) return std::unexpected(found.error());
  WebhookEndpoint& e = **found;
  e.previous_secret = std::move(e.secret);
  e.previous_secret_expires_at = now + c.previous_valid_for;
  if (c.previous_valid_for <= Millis(0)) {
    e.previous_secret.clear();
    e.previous_secret_expires_at.reset();
  }
  e.secret = NewWebhookSecret();
  EndpointChanged(e);
  return EndpointView{e, true};
}

// ---- events ---------------------------------------------------------------------------------

Result<EventView> Relay::ViewEvent(Event event) {
  auto deliveries = store_.FindDeliveries({event.seq});
  if (!deliveries) return std::unexpected(deliveries.error());
  return EventView{std::move(event), std::move(*deliveries)};
}

Result<Outcome> Relay::Do(const Caller& caller, const ListEvents& c, Instant) {
  if (caller.role == Role::kBank) return Fail(ErrorCode::kForbidden, "banks do not read merchant events");
  EventQuery q = c.query;
  if (caller.role == Role::kMerchant) q.merchant = caller.merchant;
  if (!c.after_id.empty()) {
    auto cursor = store_.FindEvent(c.after_id);
    if (!cursor) return std::unexpected(cursor.error());
    if (!*cursor || (!q.merchant.empty() && (*cursor)->merchant != q.merchant)) {
      return Fail(ErrorCode::kInvalidField, "after names no event of this merchant", "after");
    }
    q.after_seq = (*cursor)->seq;
  }
  const int limit = std::clamp(q.limit, 1, kMaxPage);
  q.limit = limit + 1;  // one more, to know whether another page follows
  auto rows = store_.QueryEvents(q);
  if (!rows) return std::unexpected(rows.error());
  EventPage page;
  bool more = static_cast<int>(rows->size()) > limit;
  if (more) rows->pop_back();
  std::vector<std::int64_t> seqs;
  for (const auto& e : *rows) seqs.push_back(e.seq);
  auto deliveries = store_.FindDeliveries(seqs);
  if (!deliveries) return std::unexpected(deliveries.error());
  auto next = deliveries->begin();
  for (auto& e : *rows) {
    EventView view{std::move(e), {}};
    while (next != deliveries->end() && next->event_seq == view.event.seq) view.deliveries.push_back(*next++);
    page.items.push_back(std::move(view));
  }
  if (more) page.next_after = page.items.back().event.id;
  return page;
}

Result<Outcome> Relay::Do(const Caller& caller, const GetEvent& c, Instant) {
  if (caller.role == Role::kBank) return Fail(ErrorCode::kForbidden, "banks do not read merchant events");
  auto found = store_.FindEvent(c.id);
  if (!found) return std::unexpected(found.error());
  if (!*found || (caller.role == Role::kMerchant && (*found)->merchant != caller.merchant)) {
    return Fail(ErrorCode::kNotFound, "no such event");
  }
  auto view = ViewEvent(std::move(**found));
  if (!view) return std::unexpected(view.error());
  return *view;
}

Result<Outcome> Relay::Do(const Caller& caller, const ResendEvent& c, Instant now) {
  if (caller.role != Role::kMerchant) return Fail(ErrorCode::kForbidden, "events are re-sent by merchant keys");
  auto found = store_.FindEvent(c.id);
  if (!found) return std::unexpected(found.error());
  if (!*found || (*found)->merchant != caller.merchant) return Fail(ErrorCode::kNotFound, "no such event");
  auto current = store_.FindDeliveries({(*found)->seq});
  if (!current) return std::unexpected(current.error());
  auto pending = [&](const std::string& endpoint_id) {
    return std::any_of(current->begin(), current->end(), [&](const Delivery& d) {
      return d.endpoint_id == endpoint_id && d.status == DeliveryStatus::kPending;
    });
  };
  std::vector<const WebhookEndpoint*> targets;
  if (!c.endpoint_id.empty()) {
    auto e = OwnEndpoint(caller, c.endpoint_id);
    if (!e) {  // none, another merchant's or deleted: there is no endpoint to send to
      return Fail(ErrorCode::kNoEndpoint, "no webhook endpoint " + c.endpoint_id + " of this merchant", "endpoint_id");
    }
    if (!(*e)->enabled) return Fail(ErrorCode::kNoEndpoint, "webhook endpoint " + c.endpoint_id + " is disabled");
    targets.push_back(*e);
  } else {
    for (const auto& [id, e] : endpoints_) {
      if (e.merchant == caller.merchant && e.enabled && e.Wants((*found)->type)) targets.push_back(&e);
    }
    if (targets.empty()) return Fail(ErrorCode::kNoEndpoint, "no enabled webhook endpoint takes this event");
  }
  auto event = std::make_shared<const Event>(std::move(**found));
  for (const WebhookEndpoint* e : targets) {
    if (!pending(e->id)) QueueDelivery(*e, event, now);  // a pending one is on its way already
  }
  auto view = ViewEvent(*event);
  if (!view) return std::unexpected(view.error());
  return *view;
}

Result<Outcome> Relay::Do(const Caller& caller, const LoadPendingDeliveries& c, Instant) {
  if (caller.key_id != kInternalCaller) return Fail(ErrorCode::kForbidden, "only the relay reloads its outbox");
  auto rows = store_.QueryPendingDeliveries(c.after_event_seq, std::clamp(c.limit, 1, 100'000));
  if (!rows) return std::unexpected(rows.error());
  PendingDeliveries pending;
  for (auto& [delivery, event] : *rows) {
    std::shared_ptr<const Event> shared =
        !pending.items.empty() && pending.items.back().event->seq == event.seq
            ? pending.items.back().event
            : std::make_shared<const Event>(std::move(event));
    pending.items.push_back({std::move(delivery), std::move(shared)});
  }
  return pending;
}

Result<Outcome> Relay::Do(const Caller& caller, const RecordDeliveries& c, Instant) {
  if (caller.key_id != kInternalCaller) return Fail(ErrorCode::kForbidden, "delivery reports come from the relay");
  for (const auto& report : c.reports) {
    Delivery d = report.delivery;
    auto it = endpoints_.find(d.endpoint_id);
    if (report.gone && it != endpoints_.end() && it->second.enabled) {
      it->second.enabled = false;
      it->second.disabled_reason = "gone";
      store_.PutDelivery(d);
      EndpointChanged(it->second);
      continue;
    }
    // A report that crossed a deletion or a disabling: the delivery stops with the endpoint.
    if (d.status == DeliveryStatus::kPending && (it == endpoints_.end() || !it->second.enabled)) {
      d.status = DeliveryStatus::kFailed;
      d.next_attempt_at.reset();
      d.last_error = it == endpoints_.end() ? "endpoint deleted" : "endpoint disabled";
    }
    store_.PutDelivery(d);
  }
  return Recorded{};
}

}  // namespace varelay
