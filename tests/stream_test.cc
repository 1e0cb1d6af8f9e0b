// pipeline::Stream's chunk lifetime. Events are views into the chunk their decoder filled;
// the engine's model threads read popped events after the engine thread has moved on, so
// with a retire tag a stream keeps every chunk whose events were popped until Reclaim says
// the readers are done (engine.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/input.h"
#include "test_util.h"

namespace vigil::pipeline {
namespace {

using testutil::TempDir;
using testutil::WriteFile;

class CountingSink : public RejectSink {
 public:
  void OnReject(const InputFile&, const ingest::Reject&) override { ++rejects; }
  int rejects = 0;
};

// A conn.log of about 15 MB: four chunks of kChunkBytes, so a stream that reused chunks
// as soon as their events were popped would decode the later ones over the first ones.
std::string BigConnLog(int lines) {
  std::string text =
      "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
      "service\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tstring\n";
  const std::string pad(120, 'D');  // a long history field: fewer lines for the same size
  char buf[512];
  for (int i = 0; i < lines; ++i) {
    std::snprintf(buf, sizeof buf, "%d.000000\tC%08d\t10.0.%d.%d\t40000\t203.0.113.%d\t443\ttcp\tssl\t1.0\t100\t200\tSF\t%s\n",
                  1700000000 + i, i, (i / 250) % 250, i % 250 + 1, i % 200 + 1, pad.c_str());
    text += buf;
  }
  return text;
}

TEST(Stream, PoppedEventsStayIntactUntilReclaimed) {
  TempDir tmp;
  const int kLines = 75'000;
  const std::string path = tmp.path() + "/conn.log";
  WriteFile(path, BigConnLog(kLines));
  auto files = ExpandInput(path);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  std::vector<InputFile> table = *files;
  CountingSink sink;
  Stream s(&table, {0}, 0, &sink);
  uint64_t handed_over = 0;
  s.set_retire_tag(&handed_over);

  std::vector<const Event*> popped;
  std::vector<std::string> uids;
  while (Event* e = s.Peek()) {
    ++handed_over;
    popped.push_back(e);
    uids.emplace_back(e->uid);
    s.Pop();
  }
  ASSERT_EQ(popped.size(), static_cast<size_t>(kLines));
  EXPECT_EQ(sink.rejects, 0);
  EXPECT_GT(s.stats().bytes, 3 * kChunkBytes);  // several chunks were read after the first
  // Nothing was reclaimed: every event still reads as it did when it was popped.
  size_t intact = 0;
  for (size_t i = 0; i < popped.size(); ++i) intact += popped[i]->uid == uids[i];
  EXPECT_EQ(intact, popped.size());
  EXPECT_EQ(uids.front(), "C00000000");
  EXPECT_EQ(uids.back(), "C" + std::to_string(kLines - 1 + 100'000'000).substr(1));

  // The readers are done with everything: the chunks go back (reused or freed).
  s.Reclaim(handed_over);
  s.set_retire_tag(nullptr);
}

}  // namespace
}  // namespace vigil::pipeline
