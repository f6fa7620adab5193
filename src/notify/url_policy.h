// Which webhook endpoints the relay may call: URL shape, scheme, and the address ranges it refuses
// so that a merchant cannot point the relay at its own network (SSRF). Pure functions; no I/O.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"

namespace varelay::notify {

// An IPv4 or IPv6 CIDR block. IPv4 blocks are held as their IPv4-mapped IPv6 form
// (10.0.0.0/8 is ::ffff:10.0.0.0/104), so one comparison serves both families and an
// IPv4-mapped IPv6 address falls in the IPv4 block it maps to.
struct Network {
  std::array<std::uint8_t, 16> bytes{};  // host bits are zero
  int prefix_length = 128;               // over the 16 bytes: 96 + n for an IPv4 /n

  bool Contains(const boost::asio::ip::address& address) const;
  friend bool operator==(const Network&, const Network&) = default;
};

// Parses "127.0.0.0/8", "::1/128", "10.0.0.0/8"; a bare address is a single host (/32 or /128).
// nullopt when the address or prefix length is malformed, a zone id is given ("fe80::1%eth0"), or
// host bits are set ("10.0.0.1/8": a typo more often than a wish).
std::optional<Network> ParseNetwork(std::string_view cidr);

// Ports first..last, both included.
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
};

// Parses "8443,9000-9100": comma-separated ports (1..65535) and ranges, spaces around items
// ignored; "" is the empty list. nullopt when an item is not a port or a range in order.
std::optional<std::vector<PortRange>> ParsePortList(std::string_view text);

struct UrlPolicy {
  std::vector<std::string> allow_http_hosts;  // hosts (lowercase) to which plain http:// is allowed
  std::vector<Network> allow_networks;        // addresses here are allowed even in refused ranges
  // Ports allowed besides 443 and 80 (--webhook-allowed-ports): a receiver on another port is
  // often an internal service the merchant should not reach through the relay.
  std::vector<PortRange> allow_ports;
  // For URLs the operator configured (a bank's endpoints), not ones a merchant gave: plain http to
  // any host and any address. Shape checks still apply.
  bool trusted = false;
};

// The name of the refused range the address is in ("loopback", "private", "link-local", "shared",
// "unspecified", "multicast", "broadcast", "unique-local", "special-purpose", "benchmarking",
// "reserved", "nat64", "6to4", "teredo", "site-local"), looking through IPv4-mapped IPv6;
// nullopt when the address is allowed, either because it is in no refused range or because it is
// in one of `policy.allow_networks`.
std::optional<std::string_view> RefusedRange(const UrlPolicy& policy,
                                             const boost::asio::ip::address& address);

// True when the address is in a range RefusedRange names (loopback, private, link-local, shared
// 100.64/10, unspecified, multicast, broadcast, unique-local fc00::/7, 192.0.0/24, 198.18/15,
// 240/4, NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32, site-local fec0::/10), IPv4-mapped IPv6 of any of
// these included, and not in allow_networks.
bool IsRefusedAddress(const UrlPolicy& policy, const boost::asio::ip::address& address);

struct EndpointUrl {
  bool https = true;
  std::string host;    // lowercase; an IPv6 literal without its brackets ("::1")
  std::string port;    // decimal, 1..65535; "443" or "80" when the URL names none
  std::string target;  // path and query as written in the URL, "/" when empty
};

// Validates a webhook endpoint URL: absolute, scheme https (or http when the host is in
// allow_http_hosts), no userinfo, no fragment, a host, at most 2048 characters, port 443 or 80
// or one in allow_ports (any port 1..65535 when trusted), and when the host is a literal IP (v4, or v6 in brackets) it must not be refused. A host name is
// not resolved here; the client checks the addresses it resolves to at every attempt.
// Fails with kInvalidField (field "url") and a detail a merchant can act on.
Result<EndpointUrl> CheckEndpointUrl(const UrlPolicy& policy, std::string_view url);

}  // namespace varelay::notify
