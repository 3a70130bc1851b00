#pragma once
// A Runner that plays scripted programs: each answer is chosen by an argv prefix (the longest
// prefix that matches wins, so {"VBoxManage"} and {"VBoxManage", "list"} can both be scripted),
// every call is logged in order, and a call no answer matches fails (and is kept in unexpected(),
// for the test to assert it empty). Thread-safe, for tests that run machines in parallel.

#include <berth/process/runner.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace berth::test {

class FakeRunner final : public Runner {
public:
    using Argv = std::vector<std::string>;
    using Answer = std::function<Result<CommandResult>(const Command&)>;

    /// Commands starting with `prefix` get what `answer` returns.
    FakeRunner& on(Argv prefix, Answer answer) {
        std::lock_guard lock(m_mutex);
        m_answers.emplace_back(std::move(prefix), std::move(answer));
        return *this;
    }
    /// Commands starting with `prefix` exit with `exit_status`, printing `out` (and `err`).
    FakeRunner& on(Argv prefix, int exit_status, std::string out = {}, std::string err = {}) {
        CommandResult result;
        result.exit_status = exit_status;
        result.out = std::move(out);
        result.err = std::move(err);
        return on(std::move(prefix), [result](const Command&) -> Result<CommandResult> { return result; });
    }

    Result<CommandResult> run(const Command& command) override {
        Answer answer;
        {
            std::lock_guard lock(m_mutex);
            m_calls.push_back(command.argv);
            std::size_t best = 0;
            for (const auto& [prefix, a] : m_answers) {
                if (prefix.size() > command.argv.size() || (answer && prefix.size() <= best)) continue;
                if (!std::equal(prefix.begin(), prefix.end(), command.argv.begin())) continue;
                answer = a;
                best = prefix.size();
            }
            if (!answer) {
                m_unexpected.push_back(command.argv);
                return fail("unexpected command in a test: " + format_argv(command.argv));
            }
        }
        return answer(command);
    }

    /// Every argv run so far, in order (scripted or not).
    [[nodiscard]] std::vector<Argv> calls() const {
        std::lock_guard lock(m_mutex);
        return m_calls;
    }
    /// The argvs no answer matched.
    [[nodiscard]] std::vector<Argv> unexpected() const {
        std::lock_guard lock(m_mutex);
        return m_unexpected;
    }

private:
    mutable std::mutex m_mutex;
    std::vector<std::pair<Argv, Answer>> m_answers;
    std::vector<Argv> m_calls;
    std::vector<Argv> m_unexpected;
};

}  // namespace berth::test
