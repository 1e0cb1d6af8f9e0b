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
};

// libcurl, loaded and initialised (curl_global_init) by the first call, from any thread; the
// same table, or the same error, after.
Result<const CurlApi*> Curl();

}  // namespace vigil
