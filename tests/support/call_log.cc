#include "call_log.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace berth::test {

std::vector<Call> take_call_log(const std::filesystem::path& log) {
    std::vector<Call> calls;
    {
        std::ifstream in(log);
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) calls.push_back(nlohmann::json::parse(line).get<Call>());
    }
    std::error_code ec;
    std::filesystem::remove(log, ec);
    return calls;
}

}  // namespace berth::test
