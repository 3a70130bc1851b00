#include <berth/net/curl_util.h>

#include <mutex>

namespace berth {

Result<void> init_curl_once() {
    static std::once_flag once;
    static CURLcode init_code = CURLE_OK;
    std::call_once(once, [] { init_code = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (init_code != CURLE_OK)
        return fail(std::string("cannot initialise libcurl: ") + curl_easy_strerror(init_code),
                    "reinstall libcurl4-openssl (its TLS backend failed to start)");
    return {};
}

}  // namespace berth
