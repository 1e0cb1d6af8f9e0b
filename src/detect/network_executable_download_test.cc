#include <gtest/gtest.h>

#include "detect/model.h"
#include "detect/testing.h"

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::MakeModel;
using harness::Feed;
using harness::kTestEpoch;
using harness::TestContext;

HttpBody Get(std::string_view host, std::string_view uri, std::string_view ua,
             std::string_view mime = {}) {
  HttpBody h;
  h.method = "GET";
  h.host = host;
  h.uri = uri;
  h.user_agent = ua;
  h.status_code = 200;
  h.response_body_len = 2'000'000;
  h.resp_mime_types = mime;
  return h;
}

// Six workstations that all use the same update CDN, and a server answering the Internet.
void Network(Model& m, TestContext& ctx, EventFactory& f) {
  FlowBody answered;
  answered.resp_bytes = 4000;
  answered.resp_pkts = 4;
  for (int i = 1; i <= 6; ++i) {
    Feed(m, ctx, f.Flow(kTestEpoch, "10.0.1." + std::to_string(i), 40000, "13.107.4.50", 443));
    Feed(m, ctx, f.Http(kTestEpoch, "10.0.1." + std::to_string(i), "13.107.4.50", 80,
                        Get("download.windowsupdate.com", "/c/msdownload/update.cab", "Windows-Update-Agent")));
  }
  for (int i = 1; i <= 5; ++i)
    Feed(m, ctx, f.Flow(kTestEpoch + i, "198.51.100." + std::to_string(i), 50000, "10.0.0.80",
                        443, Proto::kTcp, answered));
}

TEST(ExecutableDownload, ServerFetchingExtensionlessBinariesWithCurlFromRareHostFires) {
  auto m = MakeModel("network/executable-download");
  ASSERT_NE(m, nullptr);
  EventFactory f;
  TestContext ctx(m->info());
  Network(*m, ctx, f);
  Event vim = f.Http(kTestEpoch + kMicrosPerHour, "10.0.0.80", "185.220.101.4", 80,
                     Get("185.220.101.4", "/vim", "curl/7.81.0"));
  Feed(*m, ctx, vim);
  Event x = f.Http(kTestEpoch + kMicrosPerHour + 5, "10.0.0.80", "185.220.101.4", 80,
                   Get("185.220.101.4", "/x", "Wget/1.21.2"));
  Feed(*m, ctx, x);
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].model, "network/executable-download");
  EXPECT_EQ(b[0].entity.id, "10.0.0.80");
  EXPECT_EQ(b[0].peer->id, "185.220.101.4");
  EXPECT_EQ(b[0].time, vim.time);
  EXPECT_EQ(b[0].details["file"], "vim");
  EXPECT_TRUE(b[0].details["server"].get<bool>());
  EXPECT_EQ(b[1].details["file"], "x");
  EXPECT_GE(b[0].score, 80);
}

TEST(ExecutableDownload, ServerScoresHigherThanWorkstationForTheSameDownload) {
  auto m = MakeModel("network/executable-download");
  EventFactory f;
  TestContext ctx(m->info());
  Network(*m, ctx, f);
  FileBody elf;
  elf.mime_type = "application/x-executable";
  elf.filename = "xmrig";
  Feed(*m, ctx, f.File(kTestEpoch + kMicrosPerHour, "10.0.1.3", "203.0.113.77", elf));
  Feed(*m, ctx, f.File(kTestEpoch + kMicrosPerHour + 1, "10.0.0.80", "203.0.113.78", elf));
  ASSERT_EQ(ctx.emitted().size(), 2u);
  const Breach& ws = ctx.emitted()[0].breach;
  const Breach& srv = ctx.emitted()[1].breach;
  EXPECT_EQ(ws.entity.id, "10.0.1.3");
  EXPECT_EQ(srv.entity.id, "10.0.0.80");
  EXPECT_GT(srv.score, ws.score);
}

TEST(ExecutableDownload, UpdateCdnEveryDeviceUsesIsNotABreach) {
  auto m = MakeModel("network/executable-download");
  EventFactory f;
  TestContext ctx(m->info());
  Network(*m, ctx, f);
  Feed(*m, ctx, f.Http(kTestEpoch + kMicrosPerHour, "10.0.1.2", "13.107.4.50", 80,
                       Get("download.windowsupdate.com", "/d/msdownload/KB5034441.exe",
                           "Microsoft-Delivery-Optimization/10.0", "application/x-dosexec")));
  // A page and an image from a rare host are not executables.
  Feed(*m, ctx, f.Http(kTestEpoch + kMicrosPerHour, "10.0.1.2", "203.0.113.9", 80,
                       Get("blog.example", "/index.html", "Mozilla/5.0", "text/html")));
  EXPECT_TRUE(ctx.Breaches().empty());
  for (const auto& e : ctx.emitted()) EXPECT_LT(e.breach.score, 60);
}

TEST(ExecutableDownload, HttpAndFileRecordsOfOneDownloadRaiseOnce) {
  auto m = MakeModel("network/executable-download");
  EventFactory f;
  TestContext ctx(m->info());
  Network(*m, ctx, f);
  Event h = f.Http(kTestEpoch + kMicrosPerHour, "10.0.0.80", "185.220.101.4", 80,
                   Get("185.220.101.4", "/x.sh", "curl/7.81.0", "text/x-shellscript"));
  Event fi = h;  // same uid
  FileBody fb;
  fb.mime_type = "text/x-shellscript";
  fb.filename = "x.sh";
  fi.kind = EventKind::kFile;
  fi.body = fb;
  Feed(*m, ctx, h);
  Feed(*m, ctx, fi);
  EXPECT_EQ(ctx.emitted().size(), 1u);
}

}  // namespace
}  // namespace vigil::detect
