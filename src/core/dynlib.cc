#include "core/dynlib.h"

#include <dlfcn.h>

#include <string>
#include <vector>

namespace vigil {

Status LoadSymbols(std::initializer_list<const char*> sonames,
                   std::initializer_list<DynSymbol> symbols) {
  void* lib = nullptr;
  std::string tried, reason;
  for (const char* name : sonames) {
    lib = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      tried = name;
      break;
    }
    if (!tried.empty()) tried += ", ";
    tried += name;
    const char* err = ::dlerror();
    reason = err ? err : "unknown reason";
  }
  if (!lib) return Unavailable("cannot load " + tried + ": " + reason);
  std::vector<void*> found;
  found.reserve(symbols.size());
  for (const DynSymbol& s : symbols) {
    void* p = ::dlsym(lib, s.name);
    if (!p) {
      ::dlclose(lib);
      return Unavailable(tried + " has no symbol " + s.name + " (too old a version?)");
    }
    found.push_back(p);
  }
  size_t i = 0;
  for (const DynSymbol& s : symbols) *s.slot = found[i++];
  return Status::Ok();
}

}  // namespace vigil
