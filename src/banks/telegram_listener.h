// The TCP listener for banks that speak fixed-length EUC-KR telegrams (4-byte length framing).
// A bank is known by the 3-digit code in each telegram's header and trusted only from the
// networks configured for it. Each telegram is answered after the engine has made its effect
// durable, in the order received; garbage gets a format-error answer or a closed connection.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "banks/telegram/reject_codes.h"
#include "engine/engine.h"
#include "notify/url_policy.h"

namespace varelay::banks {

struct TelegramListenerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;  // 0: any free port
  // Bank code -> the networks its connections may come from. A connection from outside all of
  // them is closed at accept, before it takes a slot; a telegram naming a bank that is not
  // listed, or one whose networks do not hold the peer, closes the connection unanswered.
  std::map<std::string, std::vector<notify::Network>> bank_networks;
  // Deadlines are absolute: bytes arriving do not push them back, so a peer trickling bytes is
  // cut as surely as a silent one.
  std::chrono::milliseconds idle_timeout{
      60'000};  // from the accept or the last answer to a frame's first byte
  std::chrono::milliseconds frame_timeout{10'000};  // from a frame's first byte to its last
  std::chrono::milliseconds write_timeout{10'000};  // for each answer to be written whole
  std::size_t max_connections = 256;                // open at once, in all
  std::size_t max_connections_per_peer = 8;         // open at once from one address
  std::size_t max_frame_bytes = 4096;
  telegram::RejectCodeTable reject_codes;
  // On a hole in a bank's sequence numbers, ask it to re-send the notices it skipped (0600/200)
  // on the same connection, after the answer; its 0610 answer is read and dropped.
  bool request_missing = false;
};

class TelegramListener {
 public:
  TelegramListener(Engine& engine, TelegramListenerOptions options);
  ~TelegramListener();
  TelegramListener(const TelegramListener&) = delete;
  TelegramListener& operator=(const TelegramListener&) = delete;

  // Binds; returns the bound port.
  Result<unsigned short> Listen();
  // Serves on its own thread until Stop.
  void Start();
  // Closes the listener and every connection; telegrams in the engine still complete there.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace varelay::banks
