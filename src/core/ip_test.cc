#include "core/ip.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(Ip, V4AndV6ParseAndPrintBack) {
  for (const char* s : {"10.0.0.1", "255.255.255.255", "0.0.0.0", "2001:db8::1", "fe80::1", "::1"}) {
    auto a = IpAddr::Parse(s);
    ASSERT_TRUE(a) << s;
    EXPECT_EQ(a->ToString(), s);
  }
  EXPECT_TRUE(IpAddr::Parse("10.0.0.1")->is_v4());
  EXPECT_FALSE(IpAddr::Parse("2001:db8::1")->is_v4());
  EXPECT_EQ(IpAddr::Parse("fe80::1%eth0")->ToString(), "fe80::1");
}

TEST(Ip, MalformedAddressesAreRejected) {
  for (const char* s : {"", "10.0.0", "10.0.0.256", "10.0.0.1.2", "1..2.3", "abc", "10.0.0.01234", "::g"})
    EXPECT_FALSE(IpAddr::Parse(s)) << s;
}

TEST(Ip, CidrContainmentForBothFamilies) {
  auto c = Cidr::Parse("10.20.0.0/16");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->Contains(*IpAddr::Parse("10.20.5.21")));
  EXPECT_FALSE(c->Contains(*IpAddr::Parse("10.21.0.1")));
  EXPECT_FALSE(c->Contains(*IpAddr::Parse("2001:db8::1")));
  auto c6 = Cidr::Parse("fd00::/8");
  ASSERT_TRUE(c6);
  EXPECT_TRUE(c6->Contains(*IpAddr::Parse("fd12::5")));
  EXPECT_FALSE(c6->Contains(*IpAddr::Parse("10.0.0.1")));
  EXPECT_EQ(c->ToString(), "10.20.0.0/16");
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/"));
}

TEST(Ip, DefaultInternalNetworksCoverPrivateCgnatLoopbackAndLinkLocal) {
  auto s = DefaultInternalNetworks();
  for (const char* in : {"10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "127.0.0.1", "169.254.1.1", "fe80::1", "fd00::1"})
    EXPECT_TRUE(s.Contains(*IpAddr::Parse(in))) << in;
  for (const char* out : {"8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:db8::1"})
    EXPECT_FALSE(s.Contains(*IpAddr::Parse(out))) << out;
}

}  // namespace
}  // namespace vigil
