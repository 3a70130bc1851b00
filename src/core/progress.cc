#include <berth/core/progress.h>

namespace berth {

namespace {

/// One scope: the machine and where its events go, and the scope it hides.
struct ScopeState {
    std::string machine;
    ProgressSink sink;
    ScopeState* previous = nullptr;
};

/// This thread's innermost scope.
thread_local ScopeState* t_scope = nullptr;

void send(ProgressEvent event) {
    if (!t_scope || !t_scope->sink) return;
    if (event.machine.empty()) event.machine = t_scope->machine;
    if (event.at == std::chrono::system_clock::time_point{}) event.at = std::chrono::system_clock::now();
    t_scope->sink(event);
}

}  // namespace

/// This scope's state (m_previous: the name is the header's; it holds the outer scope).
struct ProgressScope::Saved : ScopeState {};

ProgressScope::ProgressScope(std::string machine, ProgressSink sink) : m_previous(new Saved) {
    m_previous->machine = std::move(machine);
    m_previous->sink = std::move(sink);
    m_previous->previous = t_scope;
    t_scope = m_previous;
}

ProgressScope::~ProgressScope() {
    t_scope = m_previous->previous;
    delete m_previous;
}

void progress_step(std::string_view step) {
    ProgressEvent event;
    event.kind = ProgressEvent::Kind::Step;
    event.step = std::string(step);
    send(std::move(event));
}

void progress_fraction(std::string_view step, std::uint64_t done, std::uint64_t total) {
    ProgressEvent event;
    event.kind = ProgressEvent::Kind::Fraction;
    event.step = std::string(step);
    event.done = done;
    event.total = total;
    send(std::move(event));
}

void progress_message(std::string_view message) {
    ProgressEvent event;
    event.kind = ProgressEvent::Kind::Message;
    event.message = std::string(message);
    send(std::move(event));
}

void progress_emit(ProgressEvent event) { send(std::move(event)); }

}  // namespace berth
