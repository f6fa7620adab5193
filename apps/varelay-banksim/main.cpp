// varelay-banksim: a simulated bank in its own process, for demos, tests and benchmarks. Wires the
// bank core, the state file, the relay link, the teller, the HTTP server and the telegram server
// (the relay's requests to the bank) together; holds no logic of its own. `varelay-banksim --help`
// documents flags, the HTTP API, the protocols and the telegram server.
#include <CLI/CLI.hpp>
#include <atomic>
#include <charconv>
#include <iostream>
#include <random>

#include "bank.h"
#include "camt_link.h"
#include "faults.h"
#include "pay_command.h"
#include "relay_link.h"
#include "routes.h"
#include "server.h"
#include "state_file.h"
#include "statement.h"
#include "telegram_link.h"
#include "telegram_server.h"
#include "teller.h"

namespace {

using namespace varelay;
using namespace varelay::banksim;

struct Flags {
  std::string listen = "127.0.0.1:8090";
  std::string protocol = "json";
  std::string relay = "http://127.0.0.1:8080";
  std::string relay_telegram;
  std::string telegram_serve;
  std::string bank = "004";
  std::string api_key;
  std::string signing_secret;
  std::string state;
  std::vector<std::string> mothers;
  std::vector<std::string> customers;
  std::int64_t resend_interval_ms = 1000;
  int max_sends = 10;
  int relay_timeout_s = 10;
  // Faults.
  double fault_duplicate = 0;
  bool fault_reorder = false;
  std::int64_t fault_delay_ms = 0;
  double fault_drop_answer = 0;
  std::string fault_outage;
  std::int64_t fault_amount_off = 0;
  std::int64_t fault_late_s = 0;
  double fault_cancel_after = 0;
  double fault_drop_transfer_answer = 0;
  std::string fault_transfer_outage;
  std::int64_t fault_debit_delay_ms = 0;
  std::uint64_t fault_seed = 1;
};

Instant Now() { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); }

// Four characters of base32 from the OS: makes this bank's transaction ids its own.
std::string NewRunId() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::random_device device;
  std::string id;
  for (int i = 0; i < 4; ++i) id += kAlphabet[device() % 32];
  return id;
}

// "--mother PREFIX=ACCOUNT:HOLDER" and "--customer ACCOUNT=BALANCE:HOLDER".
std::optional<Account> ParseAccountFlag(const std::string& text, AccountKind kind) {
  auto eq = text.find('=');
  auto colon = text.find(':', eq == std::string::npos ? 0 : eq);
  if (eq == std::string::npos || colon == std::string::npos) return std::nullopt;
  Account a;
  a.kind = kind;
  a.holder_name = text.substr(colon + 1);
  std::string middle = text.substr(eq + 1, colon - eq - 1);
  if (kind == AccountKind::kMother) {
    a.prefix = text.substr(0, eq);
    a.number = middle;
  } else {
    a.number = text.substr(0, eq);
    std::int64_t balance = 0;
    auto [end, ec] = std::from_chars(middle.data(), middle.data() + middle.size(), balance);
    if (ec != std::errc() || end != middle.data() + middle.size()) return std::nullopt;
    a.opening_balance = Money(balance, Currency::Krw());
  }
  return a;
}

FaultPlan Faults(const Flags& flags, std::string& error) {
  FaultPlan plan;
  plan.duplicate_p = flags.fault_duplicate;
  plan.reorder = flags.fault_reorder;
  plan.delay = std::chrono::milliseconds(flags.fault_delay_ms);
  plan.drop_answer_p = flags.fault_drop_answer;
  if (!flags.fault_outage.empty()) {
    plan.outage = ParseOutage(flags.fault_outage);
    if (!plan.outage) error = "--fault-outage must be START_S:END_S with START_S < END_S, e.g. 2:5";
  }
  plan.amount_off_minor = flags.fault_amount_off;
  plan.late = std::chrono::seconds(flags.fault_late_s);
  plan.cancel_after_p = flags.fault_cancel_after;
  plan.drop_transfer_answer_p = flags.fault_drop_transfer_answer;
  if (!flags.fault_transfer_outage.empty()) {
    plan.transfer_outage = ParseOutage(flags.fault_transfer_outage);
    if (!plan.transfer_outage) {
      error = "--fault-transfer-outage must be START_S:END_S with START_S < END_S, e.g. 2:5";
    }
  }
  plan.debit_delay = std::chrono::milliseconds(flags.fault_debit_delay_ms);
  plan.seed = flags.fault_seed;
  return plan;
}

int Serve(const Flags& flags) {
  auto colon = flags.listen.rfind(':');
  int port = colon == std::string::npos ? -1 : std::atoi(flags.listen.c_str() + colon + 1);
  if (colon == std::string::npos || port < 0 || port > 65535) {
    std::cerr << "varelay-banksim: --listen must be HOST:PORT, got '" << flags.listen << "'\n";
    return 2;
  }
  std::optional<std::pair<std::string, unsigned short>> telegram_address;
  if (flags.protocol == "telegram") {
    telegram_address = telegram::ParseHostPort(flags.relay_telegram);
    if (!telegram_address) {
      std::cerr << "varelay-banksim: --protocol telegram needs --relay-telegram HOST:PORT (the "
                   "relay's --telegram-listen), got '"
                << flags.relay_telegram << "'\n";
      return 2;
    }
  } else if (flags.api_key.empty()) {
    std::cerr << "varelay-banksim: --api-key (the relay's bank key) is required to serve over "
              << flags.protocol << "\n";
    return 2;
  }
  std::optional<std::pair<std::string, unsigned short>> serve_address;
  if (!flags.telegram_serve.empty()) {
    serve_address = telegram::ParseHostPort(flags.telegram_serve, true);
    if (!serve_address) {
      std::cerr << "varelay-banksim: --telegram-serve must be HOST:PORT (port 0: any free port), "
                   "got '"
                << flags.telegram_serve << "'\n";
      return 2;
    }
  }
  std::string fault_error;
  FaultPlan faults = Faults(flags, fault_error);
  if (!fault_error.empty()) {
    std::cerr << "varelay-banksim: " << fault_error << "\n";
    return 2;
  }

  BankOptions options{flags.bank, flags.max_sends, Millis(flags.resend_interval_ms)};
  Bank bank(options, NewRunId());
  std::unique_ptr<StateFile> state;
  if (!flags.state.empty()) {
    auto records = StateFile::Load(flags.state);
    if (!records) {
      std::cerr << "varelay-banksim: " << records.error().detail << "\n";
      return 1;
    }
    for (const auto& record : *records) bank.Restore(record);
    if (auto ok = bank.FinishRestore(); !ok) {
      std::cerr << "varelay-banksim: " << flags.state << " does not add up: " << ok.error().detail
                << "\n";
      return 1;
    }
    auto file = StateFile::Rewrite(flags.state, bank.Snapshot());
    if (!file) {
      std::cerr << "varelay-banksim: " << file.error().detail << "\n";
      return 1;
    }
    state = std::move(*file);
    bank.SetJournal(state.get());
    bank.ReleasePendingNotices(Now());
  }
  for (const auto& [texts, kind] : {std::pair{&flags.mothers, AccountKind::kMother},
                                    std::pair{&flags.customers, AccountKind::kCustomer}}) {
    for (const auto& text : *texts) {
      auto account = ParseAccountFlag(text, kind);
      if (!account) {
        std::cerr << "varelay-banksim: cannot read account '" << text
                  << "' (--mother PREFIX=ACCOUNT:HOLDER, "
                  << "--customer ACCOUNT=BALANCE:HOLDER)\n";
        return 2;
      }
      if (bank.FindAccount(account->number)) continue;  // kept from the state file
      if (auto opened = bank.OpenAccount(*account, Now()); !opened) {
        std::cerr << "varelay-banksim: account " << account->number << ": " << opened.error().detail
                  << "\n";
        return 2;
      }
    }
  }

  JsonLinkOptions link_options{flags.relay, flags.api_key, flags.signing_secret,
                               std::chrono::seconds(flags.relay_timeout_s), Now};
  // The relay's requests for skipped telegram numbers reach the teller, made after the link.
  std::atomic<Teller*> teller_for_requests{nullptr};
  auto make_link = [&]() -> Result<std::unique_ptr<RelayLink>> {
    if (flags.protocol == "telegram") {
      TelegramLinkOptions telegram_options;
      telegram_options.host = telegram_address->first;
      telegram_options.port = telegram_address->second;
      telegram_options.bank_code = flags.bank;
      telegram_options.timeout = std::chrono::seconds(flags.relay_timeout_s);
      telegram_options.on_missing_request =
          [&teller_for_requests](std::chrono::sys_days day, std::uint32_t from, std::uint32_t to) {
            Teller* teller = teller_for_requests.load();
            std::size_t pending = teller ? teller->ResendTelegrams(day, from, to) : 0;
            std::cout << "varelay-banksim: the relay asked for telegrams " << from << ".." << to
                      << " of " << FormatDate(day) << "; " << pending
                      << " pending notice(s) sent now" << std::endl;
          };
      auto made = TelegramRelayLink::Create(std::move(telegram_options));
      if (!made) return std::unexpected(made.error());
      return std::unique_ptr<RelayLink>(std::move(*made));
    }
    if (flags.protocol == "iso20022") {
      auto made = Camt054RelayLink::Create(std::move(link_options));
      if (!made) return std::unexpected(made.error());
      return std::unique_ptr<RelayLink>(std::move(*made));
    }
    return MakeJsonRelayLink(std::move(link_options));
  };
  auto link = make_link();
  if (!link) {
    std::cerr << "varelay-banksim: "
              << (flags.protocol == "telegram" ? "--relay-telegram" : "--relay") << ": "
              << link.error().detail << "\n";
    return 2;
  }
  const Instant started_at = Now();  // the origin of the transfer outage window
  Teller teller(bank, **link, faults, Now);
  teller.SetSigningSecret(flags.signing_secret);  // the relay signs its JSON bank requests with it
  teller_for_requests = &teller;

  ServerOptions server_options;
  server_options.host = flags.listen.substr(0, colon);
  if (server_options.host.size() > 2 && server_options.host.front() == '[') {
    server_options.host = server_options.host.substr(1, server_options.host.size() - 2);
  }
  server_options.port = static_cast<unsigned short>(port);
  Server server([&teller](const SimRequest& request) { return HandleRequest(teller, request); },
                server_options);
  auto bound = server.Listen();
  if (!bound) {
    std::cerr << "varelay-banksim: " << bound.error().detail << "\n";
    return 1;
  }
  std::unique_ptr<TelegramServer> telegram_server;
  Result<unsigned short> telegram_bound = 0;
  if (serve_address) {
    TelegramServerOptions telegram_options;
    telegram_options.host = serve_address->first;
    telegram_options.port = serve_address->second;
    telegram_options.answer_delay = faults.delay;
    telegram_server = std::make_unique<TelegramServer>(
        [&teller, started_at](std::string_view payload) {
          Instant now = teller.Now();
          auto since_start =
              std::chrono::duration_cast<std::chrono::milliseconds>(now - started_at);
          return teller.WithBank([&](Bank& b) {
            return AnswerRelayTelegram(b, payload, now, teller.faults(), since_start);
          });
        },
        telegram_options);
    telegram_bound = telegram_server->Listen();
    if (!telegram_bound) {
      std::cerr << "varelay-banksim: --telegram-serve: " << telegram_bound.error().detail << "\n";
      return 1;
    }
  }
  std::cout << "varelay-banksim: bank " << flags.bank << ", relay " << (*link)->Describe()
            << ", state " << (flags.state.empty() ? "in memory" : flags.state) << ", "
            << DescribeFaults(faults) << std::endl;
  std::string shown_host = server_options.host.find(':') != std::string::npos
                               ? "[" + server_options.host + "]"
                               : server_options.host;
  std::cout << "varelay-banksim listening on http://" << shown_host << ":" << *bound << std::endl;
  if (telegram_server) {
    const std::string& host = serve_address->first;
    std::cout << "varelay-banksim telegram server on "
              << (host.find(':') != std::string::npos ? "[" + host + "]" : host) << ":"
              << *telegram_bound << std::endl;
    telegram_server->Start();
  }
  teller.Start();
  server.Run();
  if (telegram_server) telegram_server->Stop();
  teller.Stop();
  teller_for_requests = nullptr;
  std::cout << "varelay-banksim: stopped" << std::endl;
  return 0;
}

constexpr const char* kFooter =
    R"(HTTP API (JSON in and out; errors are problem+json with a stable `code`):
  POST /accounts {number, holder_name, balance?, kind: customer|mother, prefix?}   open an account
  GET  /accounts, GET /accounts/{number}                                           balances
  POST /virtual-accounts/blocks {count, prefix?, mother_account?}                  issue a block (batch mode)
  POST /virtual-accounts {prefix?, mother_account?}                                issue one number (real-time mode)
  GET  /virtual-accounts/{number}
  POST /payments {from_account, to_number, amount, payer_name?}
       -> {status: accepted|refused, reason?, transaction_id, ...}: the bank checks the payer's
       funds, asks the relay's pre-check, and only on accept books (debit the customer, credit the
       mother account in front of which the number stands) and queues the deposit notice.
  GET  /payments/{transaction_id}, POST /payments/{transaction_id}/cancel (reverse + cancellation notice)
  GET  /notices            the outbox, oldest first: state pending|answered|failed, send_count,
       last_status, the relay's answer (relay_transaction_id: how the relay knows the notice),
       telegram_sequence; ?state=, ?after=SEQ&limit=N (at most 10000, next_after)
  POST /holder-inquiries {account} -> holder_name (accounts and virtual numbers)
  POST /withdrawals {account, amount, reference} -> completed | refused (insufficient_funds);
       idempotent by reference. GET /withdrawals/{reference}: the result inquiry.
  GET  /statements/{YYYY-MM-DD}.xml   camt.053.001.08 of the mother accounts (OPBD, CLBD, one Ntry per booking)
  GET  /statements/{YYYY-MM-DD}.txt   the same as fixed-width telegram-style records (H, D, T; 150 bytes)
       ?account=NUMBER for one account. Business days are Korean (UTC+9).
  GET  /healthz
Masters' accounts (division accounts; the relay's JSON bank API below):
  POST /sim/accounts {bank, account, holder_name, holder_id? (YYMMDD), balance?, ceiling?}
       a master's account: its debits need a registered withdrawal consent and at most `ceiling`
       won each (0: none); `bank` must be --bank
  POST /sim/accounts/{bank}/{account}/fund {amount}   money from outside (a top-up; no notice)
  GET  /sim/accounts/{bank}/{account} -> balance, holder, ceiling, consent_id, debits (every
       withdrawal from it, refusals included, with reason and credit_account)
JSON bank API (the relay's own requests to a JSON bank; varelayd --json-bank CODE=http://this):
  always HTTP 200 with rsp_code A0000 + bank_rsp_code 000 on success, else A0002 and the reason:
  101 no such account, 102 holder mismatch, 201 insufficient funds, 202 no consent, 203 over the
  consent's ceiling, 301 no such transfer; 503 inside --fault-transfer-outage (nothing executed).
  POST /v2.0/transfer/withdraw {bank_tran_id, bank_tran_date, withdraw_bank_code, withdraw_account,
       tran_amt ("digits"), recv_bank_code, recv_account, recv_name, ...}: debits once per
       bank_tran_date + bank_tran_id (a re-send replays); credits recv_account when it is this bank's
  POST /v2.0/transfer/result {org_bank_tran_id, org_bank_tran_date} -> org_bank_rsp_code
  POST /v2.0/transfer/withdraw-consent {bank_code, account, holder_id, holder_name,
       action: register|cancel} -> consent_id, ceiling
  POST /v2.0/inquiry/real_name {bank_code_std, account_num, account_holder_info?} -> account_holder_name
  With --signing-secret each must carry the relay's Varelay-Timestamp and Varelay-Signature
  (v1=HMAC-SHA256 of "{timestamp}.POST.{target}.{body}"), else 401 signature_invalid.
  (Telegram: 0600/500 registers consent; a debit answers 0202 without it, 0203 above the ceiling.)

Protocols (--protocol): every payment asks the relay's pre-check before money moves, then the
booking's notice (and a cancellation's) goes to the relay from an outbox, re-sent every
--resend-interval-ms with the same content until the relay acknowledges it, at most --max-sends
times, then marked failed; a refusal that re-sending cannot change fails it at once. GET /notices
shows each notice's send_count, last_status and the relay's answer. A cancellation waits until
its deposit's notice is settled (except under --fault-reorder). Transaction ids: bank code +
4-character run id + 8-digit sequence (15 characters), kept across restarts with --state; after a
restart every unanswered notice is re-sent at once. Keep one protocol per --state file: the relay
knows a notice by a protocol's own key.
  json      (docs/openapi.yaml, role bank) POST /v1/bank/precheck, then /v1/bank/deposits and
            /v1/bank/cancellations, with Authorization: Bearer <--api-key>. With --signing-secret
            every request carries Varelay-Timestamp (Unix seconds) and Varelay-Signature:
            v1=<hex HMAC-SHA256 of "{timestamp}.{METHOD}.{target}.{body}">. The relay dedupes by
            transaction_id; 409 transaction_id_conflict fails a notice.
  telegram  (docs/telegrams.md) fixed-length EUC-KR telegrams, 4-digit length framing, over one
            TCP connection to --relay-telegram (reopened when it drops; each answer awaited
            --relay-timeout-s). No API key: the relay trusts the header's bank code (--bank) from
            the networks given in its --telegram-bank. Pre-check: 0900/100 inquiry, answer 0910
            "0000" with the holder name, another code refuses (0101..0106, 0901, 0999 map back to
            unknown_number, not_assigned, expired, amount_mismatch, merchant_inactive, duplicate,
            format_error, system_error; any other code is reason bank_code_XXXX). Deposit: 0200/300
            kind 20; cancellation: kind 51 whose header's original date and sequence name the
            deposit's telegram. Every telegram takes the day's next sequence number (KST; kept with
            --state); a notice's number and send date-time are fixed when it is queued and repeated
            on every re-send with a rising send count: the relay's duplicate key is send date +
            sequence + number. Answer "0000" acknowledges; 0999 or no answer re-sends (so does 0101
            for a cancellation whose deposit the relay does not know yet); any other code fails the
            notice with that code. The relay's request for skipped numbers (0600/200, varelayd
            --telegram-request-missing) is answered 0610 "0000" and the pending notices it names
            are sent at once. Without --state a restart numbers the day's telegrams from 1 again,
            and the relay takes a repeated date + sequence + number for a re-send.
  iso20022  notices as camt.054.001.08 (one Ntry each; AcctSvcrRef = the transaction id; a
            cancellation is a DBIT reversal whose TxDtls/Refs/AcctSvcrRef names the deposit)
            POSTed as application/xml to /v1/bank/camt054 with the bank key, signed as json over
            target /v1/bank/camt054. The ImportReport item settles the notice: booked or
            duplicate acknowledges, refused fails it with the item's code (not_found for a
            cancellation re-sends). ISO 20022 has no receivability inquiry, so this bank sends the
            pre-check over json: POST /v1/bank/precheck.

Telegram server (--telegram-serve HOST:PORT; docs/telegrams.md): the bank answers the relay's
requests to a bank, 4-digit length framing, several connections, one telegram at a time each
(idle 60 s closes one; frames above 4096 bytes, an unreadable header or an answer telegram close
it too). The bank response code (header offset 51) says what the bank did:
  0600/400 holder inquiry  -> 0610: 0000 with holder_name (accounts, virtual numbers), 0101 unknown
  0100/100 withdrawal      -> 0110: debit_account pays amount_won under the reference
           tg:<KST send date YYYYMMDD>:<sequence> (GET /withdrawals/{reference} shows it); 0000
           completed (processed_at, bank reference = transaction id), 0201 insufficient funds
           (refused, recorded), 0101 unknown account, 0303 the date + sequence was used for
           another account or amount, 0999 internal error. A re-send (same date and sequence,
           any send count) replays the recorded result: never debited twice.
  0600/101 result inquiry  -> 0610: names tg:<original date>:<original sequence>; 0000 with
           original_response_code 0000 or 0201 and processed_at (when the bank executed it),
           0301 never received (safe to send again), 0303 its account or amount (when given)
           differ from the original's
  anything else            -> 0302 not supported; a served telegram that does not decode, or a
           withdrawal of 0 won -> 0901 (format error: header + 10, body echoed)
With --state every withdrawal is journaled before it is answered: a restart still knows it.

Faults (each off by default; probabilities are deterministic rolls of --fault-seed, the notice
and the attempt): --fault-outage counts attempts inside the window as sent and lost (send_count
rises, nothing reaches the relay; pre-checks still pass) and delivers after it. The transfer
faults act on --telegram-serve: --fault-drop-transfer-answer rolls each withdrawal telegram (send
date, sequence, send count), executes and records it and sends no answer (the relay times out
and must ask with a result inquiry); --fault-transfer-outage closes the connection on every
telegram inside the window (seconds after start) without executing it; --fault-delay-ms also
waits before every telegram answer (after the bank acted). On the JSON bank API the same two act
on POST /v2.0/transfer/withdraw (a dropped answer: booked, the connection closed unanswered) and
/v2.0/* (503 in the outage window); --fault-debit-delay-ms executes a withdrawal of either
protocol at once and answers it that late (the relay gives up first: a debit timeout).

Examples:
  varelay-banksim --relay http://127.0.0.1:8080 --api-key vrk_... --listen 127.0.0.1:8090 \
    --mother 9004=004100000000001:"Example Shop Co." --customer 11112222333=1000000:"Kim Minji"
  varelay-banksim --protocol telegram --relay-telegram 127.0.0.1:9100 --bank 004 ...
    (with varelayd --telegram-listen 127.0.0.1:9100 --telegram-bank 004=127.0.0.0/8)
  varelay-banksim --protocol iso20022 --relay http://127.0.0.1:8080 --api-key vrk_... ...
  varelay-banksim --telegram-serve 127.0.0.1:0 --mother 9004=004100000000001:"Example Shop Co." ...
    (prints "varelay-banksim telegram server on 127.0.0.1:PORT"; the relay sends 0600/0100 there)
  varelay-banksim pay --sim http://127.0.0.1:8090 --from 11112222333 --to 90040000000000 --amount 39000 --payer "Kim Minji"
SIGTERM or SIGINT: stop accepting, finish requests in flight, exit 0.)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "varelay-banksim: a simulated bank beside the varelay relay (accounts, virtual accounts, "
      "payments,\n"
      "deposit notices with re-sends, withdrawals, statements) with fault injection"};
  Flags flags;
  app.add_option("--listen", flags.listen,
                 "HOST:PORT for the bank's HTTP API (port 0: any free port)")
      ->capture_default_str();
  app.add_option(
         "--protocol", flags.protocol,
         "how the bank talks to the relay: json, telegram or iso20022 (see Protocols below)")
      ->check(CLI::IsMember({"json", "telegram", "iso20022"}))
      ->capture_default_str();
  app.add_option("--relay", flags.relay,
                 "the relay's base URL, http://HOST:PORT (json and iso20022)")
      ->envname("VARELAY_RELAY")
      ->capture_default_str();
  app.add_option("--relay-telegram", flags.relay_telegram,
                 "HOST:PORT of the relay's telegram listener (varelayd --telegram-listen); "
                 "required with --protocol telegram");
  app.add_option("--telegram-serve", flags.telegram_serve,
                 "HOST:PORT where the bank answers the relay's telegrams (holder inquiry, "
                 "withdrawal, result inquiry; port 0: any free port; see Telegram server below)");
  app.add_option("--bank", flags.bank, "this bank's 3-digit KFTC code")->capture_default_str();
  app.add_option("--api-key", flags.api_key,
                 "the relay's API key for this bank (role bank); required to serve over json "
                 "and iso20022")
      ->envname("VARELAY_BANK_KEY");
  app.add_option(
         "--signing-secret", flags.signing_secret,
         "the relay's request-signing secret for this bank (bsk_...); unsigned requests without it")
      ->envname("VARELAY_BANK_SIGNING_SECRET");
  app.add_option("--state", flags.state,
                 "JSON-lines file that keeps accounts, bookings and notices across restarts "
                 "(fsynced per change); without it everything is in memory");
  app.add_option("--mother", flags.mothers,
                 "PREFIX=ACCOUNT:HOLDER: a mother account owning the virtual numbers that "
                 "start with PREFIX (repeatable)");
  app.add_option("--customer", flags.customers,
                 "ACCOUNT=BALANCE:HOLDER: a customer account to pay from (repeatable)");
  app.add_option("--resend-interval-ms", flags.resend_interval_ms,
                 "wait between attempts of one notice")
      ->check(CLI::Range(std::int64_t{10}, std::int64_t{3'600'000}))
      ->capture_default_str();
  app.add_option("--max-sends", flags.max_sends, "attempts per notice before it is marked failed")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--relay-timeout-s", flags.relay_timeout_s,
                 "time limit per request to the relay (a telegram's answer, a connection)")
      ->check(CLI::Range(1, 600))
      ->capture_default_str();
  app.add_option("--fault-duplicate", flags.fault_duplicate, "P: send an answered notice once more")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Faults");
  app.add_flag(
         "--fault-reorder", flags.fault_reorder,
         "release new notices together at the end of each resend-interval window, newest first; a "
         "cancellation may overtake its deposit")
      ->group("Faults");
  app.add_option("--fault-delay-ms", flags.fault_delay_ms,
                 "N: wait N ms before every request to the relay and every telegram answer")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{600'000}))
      ->group("Faults");
  app.add_option("--fault-drop-answer", flags.fault_drop_answer,
                 "P: treat an accepted answer as lost and re-send (the relay must dedupe)")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Faults");
  app.add_option(
         "--fault-outage", flags.fault_outage,
         "START_S:END_S after start: notices are not delivered in the window (queued, sent after)")
      ->group("Faults");
  app.add_option("--fault-amount-off", flags.fault_amount_off,
                 "N: notify N won more (or less) than was booked after a passed pre-check")
      ->check(CLI::Range(-kMaxAmountMinor, kMaxAmountMinor))
      ->group("Faults");
  app.add_option("--fault-late-s", flags.fault_late_s,
                 "N: hold each deposit notice N s (arrives after a short due time)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{86'400}))
      ->group("Faults");
  app.add_option(
         "--fault-cancel-after", flags.fault_cancel_after,
         "P: cancel a deposit once its notice was answered (reversal + cancellation notice)")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Faults");
  app.add_option("--fault-debit-delay-ms", flags.fault_debit_delay_ms,
                 "N: execute a withdrawal (telegram or JSON) at once but answer it N ms later")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{600'000}))
      ->group("Faults");
  app.add_option("--fault-drop-transfer-answer", flags.fault_drop_transfer_answer,
                 "P: execute and record a withdrawal (telegram or JSON transfer/withdraw) but send no "
                 "answer (the relay must ask with a result inquiry)")
      ->check(CLI::Range(0.0, 1.0))
      ->group("Faults");
  app.add_option("--fault-transfer-outage", flags.fault_transfer_outage,
                 "START_S:END_S after start: every telegram to --telegram-serve closes its "
                 "connection, and every /v2.0 JSON bank request is answered 503, unexecuted in the window")
      ->group("Faults");
  app.add_option("--fault-seed", flags.fault_seed, "seed of the fault rolls")
      ->capture_default_str()
      ->group("Faults");
  app.set_version_flag("--version", "varelay-banksim 0.1.0");
  app.footer(kFooter);

  PayCommand pay;
  auto* pay_command = app.add_subcommand(
      "pay", "pay into a virtual number through a running simulator; prints one line");
  pay_command->add_option("--sim", pay.sim, "the simulator's base URL")->capture_default_str();
  pay_command->add_option("--from", pay.from, "the payer's customer account")->required();
  pay_command->add_option("--to", pay.to, "the virtual account number")->required();
  pay_command->add_option("--amount", pay.amount, "won")
      ->required()
      ->check(CLI::Range(std::int64_t{1}, kMaxAmountMinor));
  pay_command->add_option("--payer", pay.payer, "the payer's name as the relay sees it");
  app.require_subcommand(0, 1);

  CLI11_PARSE(app, argc, argv);
  if (pay_command->parsed()) return RunPayCommand(pay, std::cout, std::cerr);
  return Serve(flags);
}
