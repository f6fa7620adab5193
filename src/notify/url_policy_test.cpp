// Proves which webhook URLs and addresses the policy accepts and refuses, and why it says so.
#include "notify/url_policy.h"

#include <gtest/gtest.h>

namespace varelay::notify {
namespace {

namespace ip = boost::asio::ip;

UrlPolicy LoopbackHttpPolicy() {
  UrlPolicy policy;
  policy.allow_http_hosts = {"localhost", "127.0.0.1", "hooks.internal"};
  policy.allow_networks = {*ParseNetwork("127.0.0.0/8"), *ParseNetwork("::1/128")};
  policy.allow_ports = *ParsePortList("8080,8443,9");
  return policy;
}

// Proves well-formed https URLs are accepted and split into host, port and target.
TEST(CheckEndpointUrl, AcceptsHttpsAndSplitsIt) {
  struct Case {
    std::string_view url;
    std::string host, port, target;
  };
  const Case cases[] = {
      {"https://example.com/hooks", "example.com", "443", "/hooks"},
      {"https://Example.COM", "example.com", "443", "/"},
      {"https://example.com?a=1", "example.com", "443", "/?a=1"},
      {"HTTPS://example.com:8443/a/b?x=1&y=%20", "example.com", "8443", "/a/b?x=1&y=%20"},
      {"https://example.com:1/", "example.com", "1", "/"},
      {"https://example.com:65535/", "example.com", "65535", "/"},
      {"https://93.184.216.34/h", "93.184.216.34", "443", "/h"},
      {"https://[2606:2800:220:1:248:1893:25c8:1946]:444/h", "2606:2800:220:1:248:1893:25c8:1946",
       "444", "/h"},
  };
  UrlPolicy policy;
  policy.allow_ports = *ParsePortList("1,444,8443,65535");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    auto url = CheckEndpointUrl(policy, c.url);
    ASSERT_TRUE(url.has_value()) << url.error().detail;
    EXPECT_TRUE(url->https);
    EXPECT_EQ(url->host, c.host);
    EXPECT_EQ(url->port, c.port);
    EXPECT_EQ(url->target, c.target);
  }
}

// Proves every refusal is kInvalidField on "url" with a detail that names what to change.
TEST(CheckEndpointUrl, RefusesWithAnActionableDetail) {
  struct Case {
    std::string_view url;
    std::string_view detail_part;
  };
  const std::string too_long = "https://example.com/" + std::string(2048, 'a');
  const Case cases[] = {
      {"http://example.com/hooks",
       "plain http is only allowed to hosts listed in --webhook-allow-http"},
      {"ftp://example.com/", "scheme must be https"},
      {"/relative/path", "not an absolute URL"},
      {"example.com/hooks", "not an absolute URL"},
      {"https:/path-only", "must name a host"},
      {"https:///path", "must name a host"},
      {"https://user:pass@example.com/", "user name or password"},
      {"https://user@example.com/", "user name or password"},
      {"https://example.com/hooks#top", "fragment"},
      {"https://example.com/hooks#", "fragment"},
      {too_long, "longer than 2048"},
      {"https://example.com:0/", "port must be between 1 and 65535"},
      {"https://example.com:65536/", "port must be between 1 and 65535"},
      {"https://example.com:99999999999/", "port must be between 1 and 65535"},
      {"https://10.1.2.3/", "10.1.2.3 is in the private range"},
      {"https://127.0.0.1/", "127.0.0.1 is in the loopback range"},
      {"https://[::1]/", "::1 is in the loopback range"},
      {"https://169.254.169.254/latest/meta-data", "169.254.169.254 is in the link-local range"},
      {"https://100.64.0.1/", "100.64.0.1 is in the shared range"},
      {"https://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1 is in the private range"},
      {"https://0.0.0.0/", "unspecified range"},
      {"https://[fd00::1]/", "unique-local range"},
      {"https://[fe80::1]/", "link-local range"},
      {"https://224.0.0.1/", "multicast range"},
      {"https://255.255.255.255/", "broadcast range"},
      {"https://2130706433/", "non-standard form"},
      {"https://127.1/", "non-standard form"},
      {"https://0x7f.0.0.1/", "non-standard form"},
      {"https://exa%6dple.com/", "may only contain"},
      {"https://[v1.fe]/", "must name a host"},
      {"https://exa mple.com/", "not an absolute URL"},
      {"https://example.com:8443/", "port 8443 is not allowed"},
      {"http://localhost:3000/", "plain http"},
      {"https://[2001::1]/", "2001::1 is in the teredo range"},
      {"https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "teredo range"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    auto url = CheckEndpointUrl(UrlPolicy{}, c.url);
    ASSERT_FALSE(url.has_value());
    EXPECT_EQ(url.error().code, ErrorCode::kInvalidField);
    EXPECT_EQ(url.error().field, "url");
    EXPECT_NE(url.error().detail.find(c.detail_part), std::string::npos) << url.error().detail;
  }
}

// Proves plain http and refused literals pass only where the operator allowed them.
TEST(CheckEndpointUrl, AllowsWhatThePolicyLists) {
  auto policy = LoopbackHttpPolicy();
  struct Case {
    std::string_view url;
    bool accepted;
  };
  const Case cases[] = {
      {"http://localhost:8080/hooks", true},
      {"http://LOCALHOST:8080/hooks", true},
      {"http://hooks.internal/x", true},
      {"http://127.0.0.1:9/", true},
      {"https://127.0.0.1/", true},
      {"https://127.200.0.1/", true},
      {"https://[::1]:8443/", true},
      {"https://[::ffff:127.0.0.1]/", true},
      {"http://[::1]/", false},  // loopback allowed, but plain http to it is not
      {"http://example.com/", false},
      {"https://10.0.0.1/", false},
      {"https://[::2]/", true},  // not in any refused range
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    auto url = CheckEndpointUrl(policy, c.url);
    EXPECT_EQ(url.has_value(), c.accepted) << (url ? "" : url.error().detail);
  }
  auto http = CheckEndpointUrl(policy, "http://localhost/");
  ASSERT_TRUE(http.has_value());
  EXPECT_FALSE(http->https);
  EXPECT_EQ(http->port, "80");
  policy.allow_http_hosts.push_back("[::1]");
  EXPECT_TRUE(CheckEndpointUrl(policy, "http://[::1]/").has_value());
}

// Proves only ports 443 and 80 are allowed unless the policy lists more (single ports or
// ranges), and that a trusted policy allows any port.
TEST(CheckEndpointUrl, AllowsOnly443And80UnlessListed) {
  UrlPolicy policy;
  policy.allow_http_hosts = {"example.com"};
  for (std::string_view url : {"https://example.com/", "https://example.com:443/", "https://example.com:80/",
                               "http://example.com/", "http://example.com:443/"}) {
    EXPECT_TRUE(CheckEndpointUrl(policy, url).has_value()) << url;
  }
  for (std::string_view url : {"https://example.com:8443/", "https://example.com:1/", "http://example.com:8080/",
                               "https://example.com:65535/"}) {
    auto refused = CheckEndpointUrl(policy, url);
    ASSERT_FALSE(refused.has_value()) << url;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidField);
    EXPECT_EQ(refused.error().field, "url");
    EXPECT_NE(refused.error().detail.find("--webhook-allowed-ports"), std::string::npos) << refused.error().detail;
  }
  policy.allow_ports = *ParsePortList("8443,9000-9009");
  EXPECT_TRUE(CheckEndpointUrl(policy, "https://example.com:8443/").has_value());
  EXPECT_TRUE(CheckEndpointUrl(policy, "https://example.com:9000/").has_value());
  EXPECT_TRUE(CheckEndpointUrl(policy, "https://example.com:9009/").has_value());
  EXPECT_FALSE(CheckEndpointUrl(policy, "https://example.com:9010/").has_value());
  EXPECT_FALSE(CheckEndpointUrl(policy, "https://example.com:8999/").has_value());
  UrlPolicy trusted;
  trusted.trusted = true;
  EXPECT_TRUE(CheckEndpointUrl(trusted, "http://bank.internal:7001/").has_value());
}

// Proves port lists take single ports and ranges, and refuse what is not a port between 1 and
// 65535 or a range whose ends are out of order.
TEST(ParsePortList, ParsesPortsAndRanges) {
  auto list = ParsePortList("8443, 9000-9100,1");
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].first, 8443);
  EXPECT_EQ((*list)[0].last, 8443);
  EXPECT_EQ((*list)[1].first, 9000);
  EXPECT_EQ((*list)[1].last, 9100);
  EXPECT_TRUE(ParsePortList("").has_value());
  EXPECT_TRUE(ParsePortList("")->empty());
  EXPECT_EQ(ParsePortList("1-65535")->front().last, 65535);
  for (std::string_view bad : {"0", "65536", "x", "80-", "-80", "90-80", "8443,,", "1e3", "80 80", "+80"}) {
    EXPECT_FALSE(ParsePortList(bad).has_value()) << bad;
  }
}

// Proves CIDR parsing takes both families, single hosts, and refuses malformed or ambiguous input.
TEST(ParseNetwork, ParsesCidrAndRefusesMalformed) {
  for (std::string_view good : {"127.0.0.0/8", "::1/128", "10.0.0.0/8", "0.0.0.0/0", "::/0",
                                "192.168.1.7", "fe80::/10", "2001:db8::/32"}) {
    EXPECT_TRUE(ParseNetwork(good).has_value()) << good;
  }
  for (std::string_view bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.1/8", "10.0.0.0/-1", "10.0.0.0/8x",
        "example.com/8", "fe80::1%eth0/128", "10.0.0/8", "::1/ 128"}) {
    EXPECT_FALSE(ParseNetwork(bad).has_value()) << bad;
  }
  EXPECT_EQ(ParseNetwork("192.168.1.7"), ParseNetwork("192.168.1.7/32"));
  auto v4 = *ParseNetwork("10.0.0.0/8");
  EXPECT_TRUE(v4.Contains(ip::make_address("10.255.0.1")));
  EXPECT_TRUE(v4.Contains(ip::make_address("::ffff:10.0.0.1")));
  EXPECT_FALSE(v4.Contains(ip::make_address("11.0.0.1")));
  EXPECT_FALSE(v4.Contains(ip::make_address("a00::1")));
}

// Proves the refused ranges, each boundary, and that allow_networks lifts a refusal.
TEST(IsRefusedAddress, RefusesInternalRangesOnly) {
  struct Case {
    std::string_view address;
    std::optional<std::string_view> range;
  };
  const Case cases[] = {
      {"0.1.2.3", "unspecified"},
      {"10.0.0.0", "private"},
      {"10.255.255.255", "private"},
      {"11.0.0.0", std::nullopt},
      {"100.63.255.255", std::nullopt},
      {"100.64.0.1", "shared"},
      {"100.127.255.255", "shared"},
      {"100.128.0.0", std::nullopt},
      {"127.0.0.1", "loopback"},
      {"169.254.169.254", "link-local"},
      {"172.15.255.255", std::nullopt},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"172.32.0.0", std::nullopt},
      {"192.168.0.1", "private"},
      {"192.169.0.1", std::nullopt},
      {"224.0.0.1", "multicast"},
      {"239.255.255.255", "multicast"},
      {"255.255.255.255", "broadcast"},
      {"8.8.8.8", std::nullopt},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"fe80::1", "link-local"},
      {"febf::1", "link-local"},
      {"fec0::1", "site-local"},
      {"feff::1", "site-local"},
      {"192.0.0.8", "special-purpose"},
      {"192.0.2.1", std::nullopt},
      {"198.18.0.1", "benchmarking"},
      {"198.19.255.255", "benchmarking"},
      {"198.20.0.0", std::nullopt},
      {"240.0.0.1", "reserved"},
      {"64:ff9b::a00:1", "nat64"},
      {"2002:a00:1::1", "6to4"},
      {"fc00::1", "unique-local"},
      {"fdff::1", "unique-local"},
      {"ff02::1", "multicast"},
      {"::ffff:10.0.0.1", "private"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:8.8.8.8", std::nullopt},
      {"2001:4860:4860::8888", std::nullopt},
      // Teredo tunnels to any IPv4 host behind a relay, internal ones included.
      {"2001::", "teredo"},
      {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"},
      {"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "teredo"},
      {"2001:1::1", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.address);
    auto address = ip::make_address(c.address);
    EXPECT_EQ(RefusedRange(UrlPolicy{}, address), c.range);
    EXPECT_EQ(IsRefusedAddress(UrlPolicy{}, address), c.range.has_value());
  }
  auto policy = LoopbackHttpPolicy();
  EXPECT_FALSE(IsRefusedAddress(policy, ip::make_address("127.0.0.1")));
  EXPECT_FALSE(IsRefusedAddress(policy, ip::make_address("::1")));
  EXPECT_FALSE(IsRefusedAddress(policy, ip::make_address("::ffff:127.0.0.1")));
  EXPECT_TRUE(IsRefusedAddress(policy, ip::make_address("10.0.0.1")));
  policy.allow_networks.push_back(*ParseNetwork("10.1.0.0/16"));
  EXPECT_FALSE(IsRefusedAddress(policy, ip::make_address("10.1.2.3")));
  EXPECT_TRUE(IsRefusedAddress(policy, ip::make_address("10.2.0.1")));
}

// Proves a trusted policy (operator-configured bank endpoints) allows plain http and private
// addresses, while the URL's shape is still checked.
TEST(CheckEndpointUrl, TrustedPolicyAllowsHttpAndPrivateAddressesButNotBadShapes) {
  UrlPolicy trusted;
  trusted.trusted = true;
  EXPECT_TRUE(CheckEndpointUrl(trusted, "http://10.1.2.3:8443/issue"));
  EXPECT_TRUE(CheckEndpointUrl(trusted, "http://bank.internal/issue"));
  EXPECT_FALSE(IsRefusedAddress(trusted, ip::make_address("127.0.0.1")));
  EXPECT_FALSE(CheckEndpointUrl(trusted, "ftp://bank.internal/"));
  EXPECT_FALSE(CheckEndpointUrl(trusted, "http://user@bank.internal/"));
}

}  // namespace
}  // namespace varelay::notify
