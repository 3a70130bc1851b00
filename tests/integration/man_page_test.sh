#!/usr/bin/env bash
# man_page_test.sh BERTH PAGE: berth(1) as the build wrote it (PAGE, gzip'd) renders with man -l
# without a warning from groff (-ww), has every section, a subsection for every verb that
# `berth --help` lists and every nested verb that `berth VERB --help` lists, and in each verb's
# subsection every long option of its --help; mandoc -T lint finds no warning and lexgrog reads its
# NAME line (what mandb and apropos index). Exit 77 (ctest: skipped) when man, mandoc or lexgrog
# is not installed (scripts/install-deps installs them).
set -u
berth=$1
page=$2
skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
for tool in man mandoc lexgrog; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps installs it)"
done
[ -s "$page" ] || fail "no man page at $page (the build writes it)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

MANWIDTH=80 man --warnings=w -l "$page" >"$tmp/text" 2>"$tmp/warnings" || fail "man -l $page: $(cat "$tmp/warnings")"
[ -s "$tmp/warnings" ] && fail "groff warns: $(cat "$tmp/warnings")"
echo "rendered: $(wc -l <"$tmp/text") lines"

failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

for section in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS ENVIRONMENT FILES "EXIT STATUS" "SEE ALSO"; do
    grep -qx "$section" "$tmp/text" || bad "no section $section"
done

# The verbs a --help text lists under "Subcommands:" (CLI11's help), one per line.
verbs_in() { awk '/^Subcommands:/ { on = 1; next } on && /^[^ ]/ { on = 0 } on && NF { print $1 }' <<<"$1"; }
# The rendered subsection of "berth VERB...": from its heading to the next heading.
section_of() {
    awk -v h="   berth $*" '$0 == h { on = 1; print; next } on && /^   berth / { exit } on && /^[A-Z]/ { exit } on' \
        "$tmp/text"
}
checked=0
check_verb() {
    local sub options opt help
    help=$("$berth" "$@" --help)
    section_of "$@" >"$tmp/section"
    checked=$((checked + 1))
    if [ ! -s "$tmp/section" ]; then
        bad "no subsection for berth $*"
        return
    fi
    # The long options of its --help that its subsection does not show.
    options=$(comm -23 <(grep -o -- '--[a-z][a-z0-9-]*' <<<"$help" | grep -vx -- '--help' | sort -u) \
                       <(grep -o -- '--[a-z][a-z0-9-]*' "$tmp/section" | sort -u))
    for opt in $options; do bad "berth $*: $opt (in its --help) is not in its subsection"; done
    for sub in $(verbs_in "$help"); do check_verb "$@" "$sub"; done
}
top=$(verbs_in "$("$berth" --help)")
[ "$(wc -w <<<"$top")" -ge 20 ] || fail "berth --help lists only $(wc -w <<<"$top") verbs: $top"
for verb in $top; do check_verb "$verb"; done
echo "verbs checked: $checked"

mandoc -T lint -W warning "$page" >"$tmp/lint" 2>&1 || bad "mandoc -T lint: $(cat "$tmp/lint")"
names=$(lexgrog "$page") || bad "lexgrog cannot read the NAME section: $names"
grep -qF '"berth - make hardened Docker hosts"' <<<"$names" || bad "lexgrog reads: $names"

[ "$failures" = 0 ] || fail "$failures check(s) failed"
echo "PASS: berth(1) renders and documents all $checked verbs"
