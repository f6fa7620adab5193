// Proves the connection caps: a peer over its own cap is refused while another peer still gets a
// place, the total cap holds across peers, places come back when their slots go, and an
// IPv4-mapped IPv6 address counts as its IPv4 address, and IPv6 peers count by their /64.
#include "net/connection_limits.h"

#include <gtest/gtest.h>

#include <vector>

namespace varelay::net {
namespace {

const auto kOne = boost::asio::ip::make_address("127.0.0.1");
const auto kTwo = boost::asio::ip::make_address("127.0.0.2");
const auto kOneMapped = boost::asio::ip::make_address("::ffff:127.0.0.1");

TEST(ConnectionLimitsTest, CapsEachPeerAndTheTotal) {
  ConnectionLimits limits(3, 2);
  std::vector<ConnectionLimits::Slot> held;
  held.push_back(*limits.TryTake(kOne));
  held.push_back(*limits.TryTake(kOneMapped));
  EXPECT_FALSE(limits.TryTake(kOne)) << "the third from one address";
  EXPECT_EQ(limits.From(kOne), 2u);
  auto other = limits.TryTake(kTwo);
  ASSERT_TRUE(other) << "another peer still gets a place";
  EXPECT_FALSE(limits.TryTake(kTwo)) << "the total is reached";
  EXPECT_EQ(limits.Total(), 3u);
  held.pop_back();
  EXPECT_EQ(limits.From(kOne), 1u);
  EXPECT_TRUE(limits.TryTake(kOne)) << "a place given back is taken again";
  held.clear();
  other.reset();
  EXPECT_EQ(limits.Total(), 0u);
  EXPECT_EQ(limits.From(kTwo), 0u);
}

// One host holds a whole /64: each of its addresses must not get a cap of its own.
TEST(ConnectionLimitsTest, CountsIpv6PeersByTheirSlash64) {
  ConnectionLimits limits(10, 2);
  std::vector<ConnectionLimits::Slot> held;
  held.push_back(*limits.TryTake(boost::asio::ip::make_address("2001:db8:1:2::1")));
  held.push_back(*limits.TryTake(boost::asio::ip::make_address("2001:db8:1:2:ffff::9")));
  EXPECT_FALSE(limits.TryTake(boost::asio::ip::make_address("2001:db8:1:2:abcd::1")))
      << "a third address of the same /64";
  EXPECT_EQ(limits.From(boost::asio::ip::make_address("2001:db8:1:2::77")), 2u);
  EXPECT_TRUE(limits.TryTake(boost::asio::ip::make_address("2001:db8:1:3::1"))) << "the next /64";
  held.pop_back();
  EXPECT_EQ(limits.From(boost::asio::ip::make_address("2001:db8:1:2::1")), 1u);
}

}  // namespace
}  // namespace varelay::net
