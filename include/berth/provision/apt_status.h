#pragma once
/// apt's machine-readable progress (`apt-get -o APT::Status-Fd=N`) as live progress: while apt
/// downloads it writes "dlstatus:ID:PERCENT:TEXT", while dpkg unpacks and sets up packages
/// "pmstatus:PACKAGE:PERCENT:TEXT" (PERCENT a decimal from 0 to 100). The reader takes the
/// stream in pieces cut anywhere (as SSH delivers it) and reports each whole line through
/// progress_fraction(): step "packages (download)", then "packages", in thousandths, only when
/// the figure moved by a whole percent. Other lines (and malformed ones) are ignored.

#include <string>
#include <string_view>

namespace berth {

class AptStatusReader {
public:
    void feed(std::string_view chunk);

private:
    void line(std::string_view text);
    std::string m_partial;
    std::string m_step;
    int m_percent = -1;
};

}  // namespace berth
