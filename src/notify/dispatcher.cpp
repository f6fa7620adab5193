#include "notify/dispatcher.h"

#include <pthread.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <charconv>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "domain/webhook.h"

namespace varelay::notify {
namespace asio = boost::asio;
using namespace std::chrono_literals;

std::vector<Millis> DefaultRetrySchedule() {
  return {5s, 30s, 2min, 10min, 30min, 1h, 2h, 4h, 8h, 16h, 24h, 24h};
}

std::optional<std::vector<Millis>> ParseRetrySchedule(std::string_view text) {
  constexpr std::size_t kMaxEntries = 50;
  std::vector<Millis> schedule;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty()) return std::nullopt;  // a trailing comma
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec != std::errc() || end == item.data()) return std::nullopt;
    std::string_view unit(end, static_cast<std::size_t>(item.data() + item.size() - end));
    std::int64_t scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000 : unit == "h" ? 3'600'000 : 0;
    if (scale == 0 || value < 1 || value > 7 * 86'400'000 / scale) return std::nullopt;
    schedule.emplace_back(value * scale);
    if (schedule.size() > kMaxEntries) return std::nullopt;
  }
  if (schedule.empty()) return std::nullopt;
  return schedule;
}

std::optional<Instant> NextAttemptAt(const std::vector<Millis>& schedule, int attempts, Instant now,
                                     std::optional<std::chrono::seconds> retry_after, double jitter,
                                     double jitter_unit, Millis max_retry_after) {
  if (attempts < 1 || static_cast<std::size_t>(attempts) > schedule.size()) return std::nullopt;
  auto base = static_cast<double>(schedule[static_cast<std::size_t>(attempts - 1)].count());
  auto delay = Millis(static_cast<std::int64_t>(base * (1.0 + jitter * jitter_unit)));
  if (retry_after) delay = std::max(delay, std::min<Millis>(*retry_after, max_retry_after));
  return now + std::max(delay, Millis(0));
}

namespace {

// Deliveries to one endpoint about one number go one at a time, in event order.
std::string LaneKey(const Delivery& d, const Event& e) { return d.endpoint_id + '/' + e.bank + '/' + e.number; }

struct Task {
  Delivery delivery;
  std::shared_ptr<const Event> event;
};

enum class LaneState { kWaiting, kReady, kBusy };

struct Lane {
  std::deque<Task> tasks;
  LaneState state = LaneState::kWaiting;
  Instant due;  // kWaiting: when its head is tried
};

struct MerchantQueue {
  std::deque<std::string> ready;  // lane keys whose head is due
  std::size_t in_flight = 0;
};

constexpr auto kMaxIdle = 1s;  // the timer re-checks at least this often, so a moved clock is noticed
constexpr std::size_t kMaxReportsPerCommand = 1024;

}  // namespace

struct Dispatcher::Impl {
  Impl(Engine& e, const Clock& c, ClientOptions client_options, DispatcherOptions o)
      : engine(e), clock(c), options(std::move(o)), client(io, std::move(client_options)), timer(io) {}

  Engine& engine;
  const Clock& clock;
  DispatcherOptions options;
  asio::io_context io;
  WebhookClient client;
  asio::steady_timer timer;
  std::thread thread;
  DispatchStats stats;
  std::mt19937_64 rng{std::random_device{}()};

  // Owned by the dispatcher thread.
  std::map<std::string, WebhookEndpoint> endpoints;
  std::unordered_map<std::string, Lane> lanes;
  std::multimap<Instant, std::string> timeline;  // waiting lanes by due time
  std::map<std::string, MerchantQueue> merchants;
  std::size_t in_flight = 0;
  std::vector<DeliveryReport> reports;  // not yet accepted by the engine
  // Bounded memory: every (event, endpoint) held, the newest event held, and whether newer pending
  // deliveries were left in the store.
  std::set<std::pair<std::int64_t, std::string>> held;
  std::int64_t held_upto = 0;
  bool left_in_store = false;
  bool reloading = false;

  void Absorb(OutboxChanges changes) {
    for (auto& e : changes.endpoints) {
      std::string id = e.id;
      bool stops = e.deleted_at || !e.enabled;
      if (e.deleted_at) {
        endpoints.erase(id);
      } else {
        endpoints.insert_or_assign(id, std::move(e));
      }
      if (stops) DropEndpoint(id);
    }
    for (auto& work : changes.deliveries) Hold(std::move(work), false);
    if (changes.more_pending) left_in_store = true;
  }

  // Queues one delivery unless it is held already, or memory is full and it is newer than all
  // held (then it waits in the store; older ones, such as a re-sent event, are always taken so
  // nothing falls between the store and memory). `reloaded`: it comes from the store.
  void Hold(OutboxWork work, bool reloaded) {
    const std::int64_t seq = work.delivery.event_seq;
    if (held.contains({seq, work.delivery.endpoint_id})) return;
    if (seq > held_upto && !reloaded && (left_in_store || held.size() >= options.max_queued)) {
      left_in_store = true;
      return;
    }
    held.emplace(seq, work.delivery.endpoint_id);
    held_upto = std::max(held_upto, seq);
    auto key = LaneKey(work.delivery, *work.event);
    Lane& lane = lanes[key];
    bool was_empty = lane.tasks.empty();
    Instant due = work.delivery.next_attempt_at.value_or(clock.Now());
    lane.tasks.push_back({std::move(work.delivery), std::move(work.event)});
    stats.queued.fetch_add(1, std::memory_order_relaxed);
    if (was_empty) Schedule(key, lane, due);
  }

  // Once the queue has room again, asks the engine for what was left in the store.
  void Reload() {
    if (!left_in_store || reloading || held.size() > options.max_queued / 2) return;
    const int limit = static_cast<int>(std::max<std::size_t>(1, options.max_queued - held.size()));
    Submission s;
    s.internal = true;
    s.command = LoadPendingDeliveries{held_upto, limit};
    s.reply = [this, limit](Result<Outcome> result, std::optional<RenderedResponse>) {
      asio::post(io, [this, limit, result = std::move(result)]() mutable {
        reloading = false;
        if (!result) return;
        auto& items = std::get<PendingDeliveries>(*result).items;
        if (static_cast<int>(items.size()) < limit) left_in_store = false;
        for (auto& work : items) Hold(std::move(work), true);
        Pump();
      });
    };
    reloading = engine.Submit(std::move(s));
  }

  // Forgets a delivery that left the queue (delivered, failed, or its endpoint gone).
  void Release(const Task& task) {
    held.erase({task.delivery.event_seq, task.delivery.endpoint_id});
    stats.queued.fetch_sub(1, std::memory_order_relaxed);
  }

  void ReleaseLane(Lane& lane) {
    for (const auto& task : lane.tasks) Release(task);
  }

  // Forgets the endpoint's waiting deliveries: the relay failed them in the store already. A
  // busy lane is dropped when its attempt returns.
  void DropEndpoint(const std::string& id) {
    std::string prefix = id + '/';
    for (auto it = lanes.begin(); it != lanes.end();) {
      if (it->first.starts_with(prefix) && it->second.state != LaneState::kBusy) {
        ReleaseLane(it->second);
        it = lanes.erase(it);  // its timeline or ready entry is skipped when reached
      } else {
        ++it;
      }
    }
  }

  void Schedule(const std::string& key, Lane& lane, Instant due) {
    if (due <= clock.Now()) {
      lane.state = LaneState::kReady;
      merchants[lane.tasks.front().delivery.merchant].ready.push_back(key);
    } else {
      lane.state = LaneState::kWaiting;
      lane.due = due;
      timeline.emplace(due, key);
    }
  }

  void Pump() {
    const Instant now = clock.Now();
    while (!timeline.empty() && timeline.begin()->first <= now) {
      auto [due, key] = *timeline.begin();
      timeline.erase(timeline.begin());
      auto it = lanes.find(key);
      if (it == lanes.end() || it->second.state != LaneState::kWaiting || it->second.due != due) continue;
      it->second.state = LaneState::kReady;
      merchants[it->second.tasks.front().delivery.merchant].ready.push_back(key);
    }
    for (auto& [merchant, queue] : merchants) {
      while (in_flight < options.max_in_flight && queue.in_flight < options.max_in_flight_per_merchant &&
             !queue.ready.empty()) {
        std::string key = std::move(queue.ready.front());
        queue.ready.pop_front();
        auto it = lanes.find(key);
        if (it == lanes.end() || it->second.state != LaneState::kReady) continue;
        Attempt(key, it->second, queue);
      }
    }
    std::erase_if(merchants, [](const auto& m) { return m.second.ready.empty() && m.second.in_flight == 0; });
    FlushReports();
    Reload();
    Arm();
  }

  void Arm() {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxIdle);
    if (!timeline.empty()) {
      wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(timeline.begin()->first - clock.Now()),
                        0ms, wait);
    }
    timer.expires_after(wait);
    timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) Pump();
    });
  }

  void Attempt(const std::string& key, Lane& lane, MerchantQueue& queue) {
    const Task& task = lane.tasks.front();
    auto endpoint = endpoints.find(task.delivery.endpoint_id);
    if (endpoint == endpoints.end() || !endpoint->second.enabled) {
      ReleaseLane(lane);
      lanes.erase(key);
      return;
    }
    const Instant now = clock.Now();
    const std::int64_t timestamp_s = ToUnixMs(now) / 1000;
    std::string body = endpoint->second.include_personal_data ? task.event->payload
                                                              : WithoutPersonalData(task.event->payload);
    std::string signatures;
    for (std::string_view secret : endpoint->second.SigningSecrets(now)) {
      if (!signatures.empty()) signatures += ' ';
      signatures += SignWebhook(secret, task.event->id, timestamp_s, body);
    }
    WebhookRequest request{endpoint->second.url,
                           {{"webhook-id", task.event->id},
                            {"webhook-timestamp", std::to_string(timestamp_s)},
                            {"webhook-signature", std::move(signatures)}},
                           std::move(body)};
    lane.state = LaneState::kBusy;
    ++in_flight;
    ++queue.in_flight;
    stats.in_flight.store(in_flight, std::memory_order_relaxed);
    client.Send(std::move(request), [this, key, merchant = task.delivery.merchant](WebhookResponse response) {
      Finished(key, merchant, std::move(response));
    });
  }

  void Finished(const std::string& key, const std::string& merchant, WebhookResponse response) {
    --in_flight;
    stats.in_flight.store(in_flight, std::memory_order_relaxed);
    if (auto m = merchants.find(merchant); m != merchants.end() && m->second.in_flight > 0) --m->second.in_flight;
    auto it = lanes.find(key);
    if (it == lanes.end()) return Pump();
    if (response.error == "cancelled") return;  // shutting down: stays pending in the store
    Lane& lane = it->second;
    Task& task = lane.tasks.front();
    const std::string endpoint_id = task.delivery.endpoint_id;
    auto endpoint = endpoints.find(endpoint_id);
    bool gone = Record(task.delivery, response);
    reports.push_back({task.delivery, gone});
    if (gone && endpoint != endpoints.end()) {
      endpoint->second.enabled = false;
      endpoint->second.disabled_reason = "gone";
    }
    if (task.delivery.status != DeliveryStatus::kPending) {
      Release(task);
      lane.tasks.pop_front();
    }
    if (gone || endpoint == endpoints.end() || !endpoint->second.enabled || lane.tasks.empty()) {
      ReleaseLane(lane);
      lanes.erase(it);
      if (gone) DropEndpoint(endpoint_id);
    } else {
      Schedule(key, lane, lane.tasks.front().delivery.next_attempt_at.value_or(clock.Now()));
    }
    Pump();
  }

  // Applies an attempt's outcome to its delivery; true when the endpoint answered 410.
  bool Record(Delivery& d, const WebhookResponse& response) {
    const Instant now = clock.Now();
    ++d.attempts;
    d.last_attempt_at = now;
    d.last_status = response.status > 0 ? std::optional<int>(response.status) : std::nullopt;
    d.last_error = response.error;
    d.next_attempt_at.reset();
    if (response.status >= 200 && response.status < 300) {
      d.status = DeliveryStatus::kDelivered;
      d.delivered_at = now;
      stats.delivered.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (response.status == 410) {
      d.status = DeliveryStatus::kFailed;
      d.last_error = "410 Gone: endpoint disabled";
      stats.gone.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (d.last_error.empty()) d.last_error = "HTTP " + std::to_string(response.status);
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    d.next_attempt_at = NextAttemptAt(options.retry_schedule, d.attempts, now, response.retry_after,
                                      options.jitter, unit(rng), options.max_retry_after);
    if (d.next_attempt_at) {
      stats.retried.fetch_add(1, std::memory_order_relaxed);
    } else {
      d.status = DeliveryStatus::kFailed;
      stats.failed.fetch_add(1, std::memory_order_relaxed);
    }
    return false;
  }

  // Hands outcomes to the engine; what it cannot take now is offered again on the next pump.
  void FlushReports() {
    while (!reports.empty()) {
      std::size_t n = std::min(reports.size(), kMaxReportsPerCommand);
      Submission s;
      s.internal = true;
      s.command = RecordDeliveries{{reports.begin(), reports.begin() + static_cast<std::ptrdiff_t>(n)}};
      s.reply = [](Result<Outcome>, std::optional<RenderedResponse>) {};
      if (!engine.Submit(std::move(s))) return;
      reports.erase(reports.begin(), reports.begin() + static_cast<std::ptrdiff_t>(n));
    }
  }
};

Dispatcher::Dispatcher(Engine& engine, const Clock& clock, ClientOptions client, DispatcherOptions options)
    : impl_(std::make_unique<Impl>(engine, clock, std::move(client), std::move(options))) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  impl_->Arm();
  impl_->thread = std::thread([impl = impl_.get()] {
    pthread_setname_np(pthread_self(), "vr-webhooks");
    auto guard = asio::make_work_guard(impl->io);
    impl->io.run();
  });
}

void Dispatcher::Stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->client.CancelAll();
    impl->FlushReports();
    impl->io.stop();
  });
  impl_->thread.join();
}

void Dispatcher::OnCommitted(OutboxChanges changes) {
  asio::post(impl_->io, [impl = impl_.get(), changes = std::move(changes)]() mutable {
    impl->Absorb(std::move(changes));
    impl->Pump();
  });
}

const DispatchStats& Dispatcher::stats() const { return impl_->stats; }

}  // namespace varelay::notify
