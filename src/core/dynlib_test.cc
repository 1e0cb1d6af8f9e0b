#include "core/dynlib.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using CosFn = double (*)(double);

TEST(DynLib, ResolvesEverySymbolOfTheFirstLibraryThatLoads) {
  CosFn cos_fn = nullptr;
  CosFn sqrt_fn = nullptr;
  Status s = LoadSymbols({"libvigil-no-such-library.so.9", "libm.so.6"},
                         {Sym("cos", cos_fn), Sym("sqrt", sqrt_fn)});
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_NE(cos_fn, nullptr);
  ASSERT_NE(sqrt_fn, nullptr);
  EXPECT_EQ(cos_fn(0.0), 1.0);
  EXPECT_EQ(sqrt_fn(16.0), 4.0);
}

TEST(DynLib, ALibraryThatDoesNotLoadIsAnErrorNamingIt) {
  CosFn fn = nullptr;
  Status s = LoadSymbols({"libvigil-no-such-library.so.9"}, {Sym("cos", fn)});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("libvigil-no-such-library.so.9"), std::string::npos) << s.message();
  EXPECT_EQ(fn, nullptr);
}

TEST(DynLib, AMissingSymbolIsAnErrorNamingItAndFillsNoSlot) {
  CosFn cos_fn = nullptr;
  CosFn missing = nullptr;
  Status s =
      LoadSymbols({"libm.so.6"}, {Sym("cos", cos_fn), Sym("vigil_no_such_function", missing)});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("vigil_no_such_function"), std::string::npos) << s.message();
  // All or nothing: a table is never left half filled.
  EXPECT_EQ(cos_fn, nullptr);
  EXPECT_EQ(missing, nullptr);
}

}  // namespace
}  // namespace vigil
