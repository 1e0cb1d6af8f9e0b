// Engine::FlushDirtyEntities: the entity table goes to the store in id order, in batches;
// with more than one batch the store writes one while the engine builds the next (on a
// helper thread), one call at a time, and the first error comes back.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "pipeline/engine.h"
#include "test_util.h"

namespace vigil::pipeline {
namespace {

using testutil::TempDir;
using testutil::WriteFile;

// A conn.log in which each of `devices` internal addresses contacts one external host.
std::string ConnLog(int devices) {
  std::string text =
      "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n";
  char buf[160];
  for (int i = 0; i < devices; ++i) {
    std::snprintf(buf, sizeof buf, "%d.000000\tC%07d\t10.%d.%d.%d\t40000\t203.0.113.7\t443\ttcp\n", 1700000000 + i, i,
                  i / 65536, (i / 256) % 256, i % 256);
    text += buf;
  }
  return text;
}

class FlushTest : public ::testing::Test {
 protected:
  void Replay(int devices) {
    WriteFile(tmp_.path() + "/conn.log", ConnLog(devices));
    engine_ = std::make_unique<Engine>(config::Config::Defaults(), EngineOutputs{}, "");
    ASSERT_TRUE(engine_->AddInputs({tmp_.path() + "/conn.log"}).ok());
    ASSERT_TRUE(engine_->Run().ok());
  }
  TempDir tmp_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(FlushTest, ManyBatchesArriveWholeInIdOrderOneCallAtATime) {
  const int kDevices = 5000;
  Replay(kDevices);
  std::vector<std::string> ids;
  std::vector<uint64_t> events;
  std::atomic<int> in_flight{0};
  int overlaps = 0, calls = 0;
  const std::thread::id engine_thread = std::this_thread::get_id();
  bool off_thread = false;
  Status st = engine_->FlushDirtyEntities(300, [&](const std::vector<store::EntityRecord>& batch) -> Status {
    if (in_flight.fetch_add(1) != 0) ++overlaps;
    ++calls;
    off_thread |= std::this_thread::get_id() != engine_thread;
    EXPECT_LE(batch.size(), 300u);
    for (const auto& r : batch) {
      ids.push_back(r.id);
      events.push_back(r.events);
      EXPECT_EQ(r.type, "device");
      EXPECT_EQ(r.addresses, std::vector<std::string>{r.id});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let the next batch be built meanwhile
    in_flight.fetch_sub(1);
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  // Every internal device once (the external host is a peer, not stored here), sorted.
  EXPECT_EQ(ids.size(), static_cast<size_t>(kDevices));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  EXPECT_TRUE(std::all_of(events.begin(), events.end(), [](uint64_t n) { return n == 1; }));
  EXPECT_EQ(calls, (kDevices + 299) / 300);
  EXPECT_EQ(overlaps, 0);
  EXPECT_TRUE(off_thread);
  // Everything is marked stored: a second flush has nothing to hand over.
  int second = 0;
  ASSERT_TRUE(engine_->FlushDirtyEntities(300, [&](const std::vector<store::EntityRecord>& b) {
                        second += static_cast<int>(b.size());
                        return Status::Ok();
                      }).ok());
  EXPECT_EQ(second, 0);
}

TEST_F(FlushTest, TheFirstErrorOfTheStoreComesBackAndTheRestIsStillHandedOver) {
  Replay(1000);
  int calls = 0;
  size_t records = 0;
  Status st = engine_->FlushDirtyEntities(100, [&](const std::vector<store::EntityRecord>& batch) -> Status {
    ++calls;
    records += batch.size();
    if (calls == 3) return IoError("disk full");
    if (calls == 5) return IoError("second failure");
    return Status::Ok();
  });
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("disk full"), std::string::npos) << st.ToString();
  EXPECT_EQ(calls, 10);
  EXPECT_EQ(records, 1000u);
}

TEST_F(FlushTest, OneBatchIsStoredOnTheCallersThread) {
  Replay(50);
  bool same_thread = false;
  const std::thread::id me = std::this_thread::get_id();
  ASSERT_TRUE(engine_->FlushDirtyEntities(4096, [&](const std::vector<store::EntityRecord>& b) {
                        same_thread = std::this_thread::get_id() == me && b.size() == 50;
                        return Status::Ok();
                      }).ok());
  EXPECT_TRUE(same_thread);
}

}  // namespace
}  // namespace vigil::pipeline
