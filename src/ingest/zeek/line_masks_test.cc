#include "ingest/zeek/line_masks.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ingest/decoder.h"

namespace vigil::ingest::zeek {
namespace {

// `text` followed by kReadPadding bytes of `pad`, as a reader hands a chunk over.
struct Padded {
  explicit Padded(const std::string& text, char pad = '"') : bytes(text + std::string(kReadPadding, pad)) {}
  const char* begin() const { return bytes.data(); }
  const char* end() const { return bytes.data() + bytes.size() - kReadPadding; }
  std::string bytes;
};

std::vector<ClassifyLineFn> ClassifyKernels() {
  std::vector<ClassifyLineFn> k = {PortableClassifyLine()};
  if (ClassifyLineFn f = Avx2ClassifyLine()) k.push_back(f);
  if (ClassifyLineFn f = Avx512ClassifyLine()) k.push_back(f);
  return k;
}

std::vector<SplitLineFn> SplitKernels() {
  std::vector<SplitLineFn> k = {PortableSplitLine()};
  if (SplitLineFn f = Avx2SplitLine()) k.push_back(f);
  if (SplitLineFn f = Avx512SplitLine()) k.push_back(f);
  return k;
}

TEST(LineMasks, MarksCommasOutsideStringsQuotesAndDigits) {
  //                  0123456789012345678
  const Padded line(R"({"a":"x,y","b":12})" "\n");
  for (ClassifyLineFn classify : ClassifyKernels()) {
    LineMasks m;
    const char* last = classify(line.begin(), line.end(), m);
    ASSERT_EQ(last, line.begin() + 17);
    EXPECT_EQ(m.words, 1u);
    EXPECT_EQ(m.comma[0], uint64_t{1} << 10);  // not the one inside "x,y"
    EXPECT_EQ(m.quote[0], (1u << 1) | (1u << 3) | (1u << 5) | (1u << 9) | (1u << 11) | (1u << 13));
    EXPECT_EQ(m.digit[0], (1u << 15) | (1u << 16));
    EXPECT_EQ(m.quote[1], 0u);
    EXPECT_EQ(BitsAt(m.digit, 15) & 3, 3u);
  }
}

TEST(LineMasks, GivesUpOnEscapesControlBytesOddQuotesMissingNewlinesAndLongLines) {
  const std::vector<std::string> refused = {
      R"({"a":"x\"y"})" "\n",          // an escape
      "{\"a\":\"x\x01y\"}\n",          // a control byte
      "{\"a\":\"caf\xc3\xa9\"}\n",     // non-ASCII
      R"({"a":"b})" "\n",              // a string that never closes
      R"({"a":1})",                    // no newline before the chunk's end
      "{\"a\":\"" + std::string(2100, 'x') + "\"}\n",  // over kMaxWords blocks
  };
  for (ClassifyLineFn classify : ClassifyKernels()) {
    for (const std::string& text : refused) {
      const Padded line(text, '\n');  // a newline in the padding must not count
      LineMasks m;
      EXPECT_EQ(classify(line.begin(), line.end(), m), nullptr) << text.substr(0, 40);
    }
  }
}

TEST(LineMasks, SplitMarksSeparatorsUpToTheNewlineOnly) {
  const Padded line("a\tb\t\tc\n\td");
  for (SplitLineFn split : SplitKernels()) {
    uint64_t seps[LineMasks::kMaxWords];
    ASSERT_EQ(split(line.begin(), line.end(), '\t', seps), line.begin() + 6);
    EXPECT_EQ(seps[0], (1u << 1) | (1u << 3) | (1u << 4));
    const Padded no_newline("a\tb");
    EXPECT_EQ(split(no_newline.begin(), no_newline.end(), '\t', seps), nullptr);
  }
}

// Every kernel gives exactly the portable kernel's answer, on lines of random bytes drawn
// mostly from the ones the kernels tell apart, at every length up to past the block cap.
TEST(LineMasks, KernelsAgreeWithThePortableOneOnRandomLines) {
  const auto classify = ClassifyKernels();
  const auto split = SplitKernels();
  if (classify.size() == 1) GTEST_SKIP() << "only the portable kernel runs on this CPU";
  const std::string alphabet = "\"\"\"\",,,,::{}[]0123456789abc\t \\\x01\x7f\x80\xc3\xff";
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    const size_t len = round < 2200 ? static_cast<size_t>(round) : rng() % 2200;
    std::string text(len, 'a');
    // Mostly quiet lines (quotes and commas only), which get past the first checks.
    const bool quiet = rng() % 2 == 0;
    for (char& c : text) {
      const size_t pick = rng() % (quiet ? 30 : alphabet.size());
      c = pick < alphabet.size() && (!quiet || pick < 25) ? alphabet[pick] : 'x';
    }
    if (rng() % 8 != 0) text += '\n';
    text += std::string(rng() % 80, 'y');
    const Padded line(text, static_cast<char>(rng() % 2 ? '\n' : '"'));
    LineMasks want;
    const char* want_last = classify[0](line.begin(), line.end(), want);
    uint64_t want_seps[LineMasks::kMaxWords];
    const char sep = rng() % 2 ? '\t' : ',';
    const char* want_nl = split[0](line.begin(), line.end(), sep, want_seps);
    for (size_t k = 1; k < classify.size(); ++k) {
      LineMasks got;
      ASSERT_EQ(classify[k](line.begin(), line.end(), got), want_last) << "kernel " << k << ", round " << round;
      if (want_last != nullptr) {
        ASSERT_EQ(got.words, want.words);
        for (size_t w = 0; w < want.words; ++w) {
          ASSERT_EQ(got.comma[w], want.comma[w]) << "round " << round << " word " << w;
          ASSERT_EQ(got.quote[w], want.quote[w]) << "round " << round << " word " << w;
          ASSERT_EQ(got.digit[w], want.digit[w]) << "round " << round << " word " << w;
        }
        ASSERT_EQ(got.quote[want.words], 0u);
        ASSERT_EQ(got.digit[want.words], 0u);
      }
    }
    for (size_t k = 1; k < split.size(); ++k) {
      uint64_t got[LineMasks::kMaxWords];
      ASSERT_EQ(split[k](line.begin(), line.end(), sep, got), want_nl) << "kernel " << k << ", round " << round;
      if (want_nl != nullptr) {
        for (size_t w = 0; w <= static_cast<size_t>(want_nl - line.begin()) / 64; ++w)
          ASSERT_EQ(got[w], want_seps[w]) << "round " << round << " word " << w;
      }
    }
  }
}

}  // namespace
}  // namespace vigil::ingest::zeek
