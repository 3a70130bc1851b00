#include <berth/core/log.h>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <mutex>

namespace berth {
namespace {

thread_local std::string t_machine;

/// Formats by level: plain for info, "berth: warning: " / "berth: error: " prefixes, and a time
/// stamp on debug/trace lines. One sink keeps stderr lines whole when several threads log.
class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string text = with_machine_prefix({msg.payload.data(), msg.payload.size()});
        std::string line;
        switch (msg.level) {
            case spdlog::level::trace:
            case spdlog::level::debug: {
                spdlog::details::log_msg prefixed = msg;
                prefixed.payload = text;
                spdlog::memory_buf_t stamp;
                formatter_->format(prefixed, stamp);
                line.assign(stamp.data(), stamp.size());
                break;
            }
            case spdlog::level::warn: line = "berth: warning: " + std::string(text) + "\n"; break;
            case spdlog::level::err:
            case spdlog::level::critical: line = "berth: error: " + std::string(text) + "\n"; break;
            default: line = std::string(text) + "\n"; break;
        }
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
    void flush_() override { std::fflush(stderr); }
};

}  // namespace

void init_logging(bool debug) {
    auto sink = std::make_shared<StderrSink>();
    sink->set_pattern("%H:%M:%S.%e debug: %v");
    auto logger = std::make_shared<spdlog::logger>("berth", sink);
    logger->set_level(debug ? spdlog::level::debug : spdlog::level::info);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

std::string log_prefix(std::string_view machine) { return "[" + std::string(machine) + "] "; }

MachineLogScope::MachineLogScope(std::string machine) : m_previous(std::move(t_machine)) {
    t_machine = std::move(machine);
}

MachineLogScope::~MachineLogScope() { t_machine = std::move(m_previous); }

std::string with_machine_prefix(std::string_view text) {
    if (t_machine.empty()) return std::string(text);
    const std::string bracketed = "[" + t_machine + "]";
    if (text.starts_with(bracketed) || text.starts_with(t_machine + ":")) return std::string(text);
    return bracketed + " " + std::string(text);
}

}  // namespace berth
