#include "core/curl_api.h"

#include "core/dynlib.h"

namespace vigil {

Result<const CurlApi*> Curl() {
  static CurlApi api;
  static const Status loaded = [] {
    Status s = LoadSymbols(
        {"libcurl.so.4", "libcurl-gnutls.so.4"},
        {Sym("curl_global_init", api.global_init), Sym("curl_easy_init", api.easy_init),
         Sym("curl_easy_setopt", api.easy_setopt), Sym("curl_easy_perform", api.easy_perform),
         Sym("curl_easy_getinfo", api.easy_getinfo), Sym("curl_easy_strerror", api.easy_strerror),
         Sym("curl_easy_cleanup", api.easy_cleanup), Sym("curl_slist_append", api.slist_append),
         Sym("curl_slist_free_all", api.slist_free_all)});
    if (s.ok() && api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return Unavailable("libcurl: curl_global_init failed");
    return s;
  }();
  if (!loaded.ok()) return loaded;
  return static_cast<const CurlApi*>(&api);
}

}  // namespace vigil
