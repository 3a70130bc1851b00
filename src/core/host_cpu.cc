#include <berth/core/host_cpu.h>

#include <sstream>
#include <string>

namespace berth {

bool cpu_has_hw_virt(std::string_view cpuinfo) {
    std::size_t pos = 0;
    while (pos < cpuinfo.size()) {
        auto eol = cpuinfo.find('\n', pos);
        std::string_view line = cpuinfo.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        pos = eol == std::string_view::npos ? cpuinfo.size() : eol + 1;
        if (!line.starts_with("flags")) continue;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::istringstream words{std::string(line.substr(colon + 1))};
        for (std::string w; words >> w;)
            if (w == "vmx" || w == "svm") return true;
    }
    return false;
}

}  // namespace berth
