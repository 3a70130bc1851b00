#pragma once
/// libcurl pieces (RAII handles, global init) shared by the Docker API client and the image
/// downloader: the net area, below docker and image.

#include <berth/core/error.h>

#include <curl/curl.h>

#include <memory>

namespace berth {

struct CurlEasyDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

/// curl_global_init, once per process, before the first handle.
[[nodiscard]] Result<void> init_curl_once();

}  // namespace berth
