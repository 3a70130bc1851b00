#include <berth/core/error.h>

#include <cstring>

namespace berth {

Error& Error::with(std::string key, std::string value) & {
    context.emplace_back(std::move(key), std::move(value));
    return *this;
}

Error&& Error::with(std::string key, std::string value) && {
    context.emplace_back(std::move(key), std::move(value));
    return std::move(*this);
}

std::string Error::line() const {
    if (hint.empty()) return message;
    return message + "; " + hint;
}

int Error::exit_code() const {
    switch (kind) {
        case ErrorKind::Usage: return k_exit_usage;
        case ErrorKind::PrecreateCheck: return k_exit_precreate;
        case ErrorKind::Failed:
        case ErrorKind::NotFound:
        case ErrorKind::Conflict: return k_exit_error;
    }
    return k_exit_error;
}

std::unexpected<Error> fail(std::string message, std::string hint) {
    return fail_kind(ErrorKind::Failed, std::move(message), std::move(hint));
}

std::unexpected<Error> fail_usage(std::string message, std::string hint) {
    return fail_kind(ErrorKind::Usage, std::move(message), std::move(hint));
}

std::unexpected<Error> fail_kind(ErrorKind kind, std::string message, std::string hint) {
    return std::unexpected<Error>(Error{kind, std::move(message), std::move(hint), {}});
}

std::string errno_text(int err) {
    char buf[256];
    // GNU strerror_r returns the message pointer (which may not be buf).
    return ::strerror_r(err, buf, sizeof buf);
}

}  // namespace berth
