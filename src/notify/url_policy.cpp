#include "notify/url_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>

namespace varelay::notify {
namespace {

namespace ip = boost::asio::ip;

constexpr std::size_t kMaxUrlChars = 2048;
constexpr std::size_t kMaxHostChars = 253;  // the longest DNS name

// 16 bytes for either family: an IPv4 address as its IPv4-mapped IPv6 form.
std::array<std::uint8_t, 16> Bytes16(const ip::address& address) {
  if (address.is_v6()) return address.to_v6().to_bytes();
  return ip::make_address_v6(ip::v4_mapped, address.to_v4()).to_bytes();
}

// A range that is refused, written as it is documented; parsed once.
struct RefusedBlock {
  std::string_view cidr;
  std::string_view range;
};

constexpr RefusedBlock kRefusedBlocks[] = {
    {"0.0.0.0/8", "unspecified"},
    {"10.0.0.0/8", "private"},
    {"100.64.0.0/10", "shared"},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},
    {"172.16.0.0/12", "private"},
    {"192.168.0.0/16", "private"},
    {"192.0.0.0/24", "special-purpose"},
    {"198.18.0.0/15", "benchmarking"},
    {"224.0.0.0/4", "multicast"},
    {"255.255.255.255/32", "broadcast"},  // before 240/4, which contains it
    {"240.0.0.0/4", "reserved"},
    {"::/128", "unspecified"},
    {"::1/128", "loopback"},
    {"fe80::/10", "link-local"},
    {"fc00::/7", "unique-local"},
    {"ff00::/8", "multicast"},
    // Translation prefixes reach IPv4 hosts through a gateway, internal ones included.
    {"64:ff9b::/96", "nat64"},
    {"2002::/16", "6to4"},
    {"2001::/32", "teredo"},
    {"fec0::/10", "site-local"},
};

const std::vector<std::pair<Network, std::string_view>>& RefusedNetworks() {
  static const auto networks = [] {
    std::vector<std::pair<Network, std::string_view>> out;
    for (const auto& block : kRefusedBlocks)
      out.emplace_back(*ParseNetwork(block.cidr), block.range);
    return out;
  }();
  return networks;
}

Result<EndpointUrl> Refuse(std::string detail) {
  return Fail(ErrorCode::kInvalidField, std::move(detail), "url");
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// A refused literal is reported with its range, so the merchant knows why, not just that.
Result<void> CheckLiteral(const UrlPolicy& policy, const ip::address& address) {
  if (auto range = RefusedRange(policy, address)) {
    return Fail(ErrorCode::kInvalidField,
                "the address " + address.to_string() + " is in the " + std::string(*range) +
                    " range, which webhooks may not be sent to; use a public address or host name",
                "url");
  }
  return {};
}

// Checks the host and returns it lowercase, an IPv6 literal without brackets.
Result<std::string> CheckHost(const UrlPolicy& policy, const boost::urls::url_view& url) {
  auto fail = [](std::string detail) -> Result<std::string> {
    return Fail(ErrorCode::kInvalidField, std::move(detail), "url");
  };
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6: {
      boost::system::error_code ec;
      auto address = ip::make_address(std::string_view(url.encoded_host_address()), ec);
      if (ec) return fail("the URL's IP address is not valid");
      if (auto literal = CheckLiteral(policy, address); !literal)
        return std::unexpected(literal.error());
      return address.to_string();
    }
    case boost::urls::host_type::name:
      break;
    default:
      return fail(
          "the URL must name a host (a DNS name, an IPv4 address or an IPv6 address in brackets)");
  }
  std::string_view encoded = url.encoded_host();
  if (encoded.empty()) return fail("the URL must name a host");
  if (encoded.size() > kMaxHostChars)
    return fail("the URL's host name is longer than 253 characters");
  std::string host = Lowercase(encoded);
  if (!std::ranges::all_of(host, IsHostNameChar)) {
    return fail("the URL's host name may only contain letters, digits, '-', '_' and '.'");
  }
  // getaddrinfo would read "127.1" or "2130706433" as IPv4 addresses; refuse such spellings so
  // that what the merchant wrote is what gets checked.
  if (in_addr parsed{}; ::inet_aton(host.c_str(), &parsed) != 0) {
    return fail(
        "the URL's host looks like an IPv4 address in a non-standard form; write it as a.b.c.d");
  }
  return host;
}

// A decimal port 1..65535, nothing else.
std::optional<std::uint16_t> ParsePort(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

bool AllowsPort(const UrlPolicy& policy, unsigned port) {
  if (policy.trusted || port == 443 || port == 80) return true;
  return std::ranges::any_of(policy.allow_ports,
                             [&](const PortRange& r) { return port >= r.first && port <= r.last; });
}

Result<std::string> CheckPort(const UrlPolicy& policy, const boost::urls::url_view& url, bool https) {
  std::string_view text = url.port();
  if (!url.has_port() || text.empty()) return std::string(https ? "443" : "80");
  auto port = ParsePort(text);
  if (!port) return Fail(ErrorCode::kInvalidField, "the URL's port must be between 1 and 65535", "url");
  if (!AllowsPort(policy, *port)) {
    return Fail(ErrorCode::kInvalidField,
                "port " + std::to_string(*port) +
                    " is not allowed for webhooks; use 443 (or 80), or a port the operator lists in "
                    "--webhook-allowed-ports",
                "url");
  }
  return std::to_string(*port);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

bool AllowsHttp(const UrlPolicy& policy, std::string_view host) {
  if (policy.trusted) return true;
  return std::ranges::any_of(policy.allow_http_hosts, [&](const std::string& allowed) {
    std::string_view bare = allowed;
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']')
      bare = bare.substr(1, bare.size() - 2);
    return Lowercase(bare) == host;
  });
}

}  // namespace

std::optional<std::vector<PortRange>> ParsePortList(std::string_view text) {
  std::vector<PortRange> out;
  if (Trim(text).empty()) return out;
  for (std::size_t start = 0; start <= text.size();) {
    auto comma = std::min(text.find(',', start), text.size());
    std::string_view item = Trim(text.substr(start, comma - start));
    auto dash = item.find('-');
    auto first = ParsePort(item.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : ParsePort(item.substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    out.push_back({*first, *last});
    start = comma + 1;
  }
  return out;
}

bool Network::Contains(const ip::address& address) const {
  auto candidate = Bytes16(address);
  int remaining = prefix_length;
  for (std::size_t i = 0; i < 16 && remaining > 0; ++i, remaining -= 8) {
    auto mask = static_cast<std::uint8_t>(remaining >= 8 ? 0xff : 0xff << (8 - remaining));
    if ((candidate[i] & mask) != bytes[i]) return false;
  }
  return true;
}

std::optional<Network> ParseNetwork(std::string_view cidr) {
  auto slash = cidr.find('/');
  std::string_view address_text = cidr.substr(0, slash);
  if (address_text.find('%') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  auto address = ip::make_address(address_text, ec);
  if (ec) return std::nullopt;
  int max_length = address.is_v4() ? 32 : 128;
  int length = max_length;
  if (slash != std::string_view::npos) {
    auto digits = cidr.substr(slash + 1);
    auto [end, parse_ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (digits.empty() || parse_ec != std::errc{} || end != digits.data() + digits.size())
      return std::nullopt;
    if (length < 0 || length > max_length) return std::nullopt;
  }
  Network network;
  network.bytes = Bytes16(address);
  network.prefix_length = length + (address.is_v4() ? 96 : 0);
  // Host bits must be zero: the network must contain exactly what it names.
  Network masked = network;
  for (int bit = network.prefix_length; bit < 128; ++bit) {
    masked.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (masked.bytes != network.bytes) return std::nullopt;
  return network;
}

std::optional<std::string_view> RefusedRange(const UrlPolicy& policy, const ip::address& address) {
  if (policy.trusted) return std::nullopt;
  for (const auto& [network, range] : RefusedNetworks()) {
    if (!network.Contains(address)) continue;
    bool allowed = std::ranges::any_of(policy.allow_networks,
                                       [&](const Network& n) { return n.Contains(address); });
    if (allowed) return std::nullopt;
    return range;
  }
  return std::nullopt;
}

bool IsRefusedAddress(const UrlPolicy& policy, const ip::address& address) {
  return RefusedRange(policy, address).has_value();
}

Result<EndpointUrl> CheckEndpointUrl(const UrlPolicy& policy, std::string_view text) {
  if (text.size() > kMaxUrlChars) return Refuse("the URL is longer than 2048 characters");
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return Refuse("the URL is not an absolute URL (https://host/path)");
  const boost::urls::url_view& url = *parsed;
  auto scheme = url.scheme_id();
  if (scheme != boost::urls::scheme::https && scheme != boost::urls::scheme::http) {
    return Refuse("the URL's scheme must be https");
  }
  if (!url.has_authority()) return Refuse("the URL must name a host (https://host/path)");
  if (url.has_userinfo()) return Refuse("the URL may not carry a user name or password");
  if (url.has_fragment()) return Refuse("the URL may not carry a fragment (#...)");
  EndpointUrl out;
  out.https = scheme == boost::urls::scheme::https;
  auto host = CheckHost(policy, url);
  if (!host) return std::unexpected(host.error());
  out.host = std::move(*host);
  if (!out.https && !AllowsHttp(policy, out.host)) {
    return Refuse("plain http is only allowed to hosts listed in --webhook-allow-http; use https");
  }
  auto port = CheckPort(policy, url, out.https);
  if (!port) return std::unexpected(port.error());
  out.port = std::move(*port);
  std::string_view target = url.encoded_target();
  out.target =
      target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return out;
}

}  // namespace varelay::notify
