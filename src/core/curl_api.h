// libcurl, opened on first use (core/dynlib.h says why): the functions Vigil's HTTP clients
// call (the Defender Graph poller, webhooks, the cloud response backends), as a table.
//
//   auto curl = Curl();                  // Result<const CurlApi*>
//   if (!curl.ok()) return curl.status();  // "cannot load libcurl.so.4: ..."
//   CURL* c = (*curl)->easy_init();
#pragma once

#include <curl/curl.h>

#include "core/status.h"

namespace vigil {

struct CurlApi {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;

  // Typed curl_easy_setopt and curl_easy_getinfo. Both are variadic; called directly, curl's
  // header checks each option's argument type at compile time (typecheck-gcc.h), which a
  // call through a function pointer escapes. Here the option is a template argument, checked
  // against the type its number encodes (CURLOPTTYPE_*, CURLINFO_*), and the argument has
  // that type:  curl.SetLong<CURLOPT_NOSIGNAL>(c, 1L).
  template <CURLoption O>
  CURLcode SetLong(CURL* c, long v) const {
    static_assert(O < CURLOPTTYPE_OBJECTPOINT, "not a long option");
    return easy_setopt(c, O, v);
  }
  template <CURLoption O>
  CURLcode SetText(CURL* c, const char* v) const {
    static_assert(O >= CURLOPTTYPE_OBJECTPOINT && O < CURLOPTTYPE_FUNCTIONPOINT,
                  "not a pointer option");
    return easy_setopt(c, O, v);
  }
  template <CURLoption O>
  CURLcode SetList(CURL* c, curl_slist* v) const {
    static_assert(O >= CURLOPTTYPE_OBJECTPOINT && O < CURLOPTTYPE_FUNCTIONPOINT,
                  "not a pointer option");
    return easy_setopt(c, O, v);
  }
  // The user pointer a callback receives (CURLOPT_WRITEDATA, CURLOPT_HEADERDATA).
  template <CURLoption O>
  CURLcode SetData(CURL* c, void* v) const {
    static_assert(O >= CURLOPTTYPE_OBJECTPOINT && O < CURLOPTTYPE_FUNCTIONPOINT,
                  "not a pointer option");
    return easy_setopt(c, O, v);
  }
  // CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION: (data, size, count, user pointer).
  using DataCallback = size_t (*)(char*, size_t, size_t, void*);
  template <CURLoption O>
  CURLcode SetCallback(CURL* c, DataCallback v) const {
    static_assert(O >= CURLOPTTYPE_FUNCTIONPOINT && O < CURLOPTTYPE_OFF_T, "not a function option");
    return easy_setopt(c, O, v);
  }
  template <CURLoption O>
  CURLcode SetOffset(CURL* c, curl_off_t v) const {
    static_assert(O >= CURLOPTTYPE_OFF_T && O < CURLOPTTYPE_BLOB, "not a curl_off_t option");
    return easy_setopt(c, O, v);
  }
  template <CURLINFO I>
  CURLcode GetLong(CURL* c, long* v) const {
    static_assert((I & CURLINFO_TYPEMASK) == CURLINFO_LONG, "not a long info");
    return easy_getinfo(c, I, v);
  }
};

// libcurl, loaded and initialised (curl_global_init) by the first call, from any thread; the
// same table, or the same error, after.
Result<const CurlApi*> Curl();

}  // namespace vigil
