#!/bin/bash
# completion_test.sh SHELL BERTH: `berth completion SHELL` loads in that shell without an error,
# and completing offers verbs, a flag, --shell's values and a machine name from a store made here
# (-d none: no VM). Exit 77 (ctest: skipped) when SHELL, or tmux for zsh, is not installed.
# bash: COMP_WORDS/COMP_CWORD and the registered function; fish: `complete -C`; zsh: the real
# completion system, the script autoloaded from fpath, in an interactive zsh under tmux.
set -u
shell=$1
command -v "$shell" >/dev/null || { echo "skipped: $shell is not installed"; exit 77; }
if [[ $shell == zsh ]] && ! command -v tmux >/dev/null; then echo "skipped: tmux is not installed"; exit 77; fi

berth=$(realpath "$2")
tmp=$(mktemp -d)
sock="berth-completion-$$"
cleanup() {
    [[ $shell == zsh ]] && tmux -L "$sock" kill-server 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/bin" "$tmp/home"
ln -s "$berth" "$tmp/bin/berth"
export PATH="$tmp/bin:$PATH" HOME="$tmp/home" BERTH_STORAGE_PATH="$tmp/store" ZDOTDIR="$tmp/home"
berth create -d none --url tcp://10.1.2.3:2376 m1 >/dev/null 2>&1 || { echo "FAIL: could not create m1"; exit 1; }
berth completion "$shell" >"$tmp/script" || { echo "FAIL: berth completion $shell"; exit 1; }

failures=0
# expect LABEL CANDIDATES WORD...: each WORD is one of the candidates (one per line).
expect() {
    local label=$1 got=$2 w
    shift 2
    for w in "$@"; do
        if ! grep -qxF -- "$w" <<<"$got"; then
            echo "FAIL: $label: \"$w\" not offered; got: $(tr '\n' ' ' <<<"$got")"
            failures=$((failures + 1))
        fi
    done
}

bash_complete() {  # the words of the line, the last one being completed
    bash --norc --noprofile -c 'source "$1" || exit 1; shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
        _berth; printf "%s\n" "${COMPREPLY[@]}"' _ "$tmp/script" "$@"
}

fish_complete() {  # the command line
    fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$tmp/script" "$1" | cut -f1
}

# zsh_screen LINE: types LINE and Tab into an interactive zsh under tmux and prints the screen once
# it has changed after the Tab (or after 5 s).
zsh_screen() {
    local dir="$tmp/zfunc" session before screen i
    mkdir -p "$dir" && cp "$tmp/script" "$dir/_berth"
    zsh_sessions=$((zsh_sessions + 1))
    session="s$zsh_sessions"
    tmux -L "$sock" new-session -d -s "$session" -x 160 -y 40 "env PS1='> ' zsh -f -i"
    tmux -L "$sock" send-keys -t "$session" -l "fpath=($dir \$fpath); autoload -U compinit; compinit -u -D; clear"
    tmux -L "$sock" send-keys -t "$session" Enter
    sleep 1
    tmux -L "$sock" send-keys -t "$session" -l "$1"
    sleep 0.5
    before=$(tmux -L "$sock" capture-pane -t "$session" -p)
    tmux -L "$sock" send-keys -t "$session" Tab
    for i in $(seq 50); do
        sleep 0.1
        screen=$(tmux -L "$sock" capture-pane -t "$session" -p)
        [[ $screen != "$before" ]] && break
    done
    sleep 0.3
    tmux -L "$sock" capture-pane -t "$session" -p
    tmux -L "$sock" kill-session -t "$session"
}
zsh_sessions=0

zsh_complete() {  # the command line: the words on the screen after Tab, one per line
    zsh_screen "$1" | tr -s ' \t' '\n\n'
}

case $shell in
bash)
    err=$(bash --norc --noprofile -c 'source "$1"' _ "$tmp/script" 2>&1)
    [[ -z $err ]] || { echo "FAIL: bash: sourcing the script: $err"; failures=$((failures + 1)); }
    expect "berth <TAB>" "$(bash_complete berth '')" create ls env ssh completion image
    expect "berth image <TAB>" "$(bash_complete berth image '')" ls rm bake
    expect "berth ssh <TAB>" "$(bash_complete berth ssh '')" m1
    expect "berth env <TAB>" "$(bash_complete berth env '')" m1
    expect "berth env -u <TAB> (a flag takes no value)" "$(bash_complete berth env -u '')" m1
    expect "berth env --shell <TAB>" "$(bash_complete berth env --shell '')" bash zsh fish powershell
    expect "berth create --dri<TAB>" "$(bash_complete berth create --dri)" --driver
    expect "berth create -d <TAB>" "$(bash_complete berth create -d '')" none libvirt
    ;;
fish)
    err=$(fish --no-config -c 'source $argv[1]' "$tmp/script" 2>&1)
    [[ -z $err ]] || { echo "FAIL: fish: sourcing the script: $err"; failures=$((failures + 1)); }
    expect "berth <TAB>" "$(fish_complete 'berth ')" create ls env ssh completion image
    expect "berth image <TAB>" "$(fish_complete 'berth image ')" ls rm bake
    expect "berth ssh <TAB>" "$(fish_complete 'berth ssh ')" m1
    expect "berth env <TAB>" "$(fish_complete 'berth env ')" m1
    expect "berth env -u <TAB> (a flag takes no value)" "$(fish_complete 'berth env -u ')" m1
    expect "berth env --shell <TAB>" "$(fish_complete 'berth env --shell ')" bash zsh fish powershell
    expect "berth create --dri<TAB>" "$(fish_complete 'berth create --dri')" --driver
    expect "berth create -d <TAB>" "$(fish_complete 'berth create -d ')" none libvirt
    ;;
zsh)
    err=$(zsh -f -c 'autoload -U compinit; compinit -u -D; source "$1"' _ "$tmp/script" 2>&1)
    [[ -z $err ]] || { echo "FAIL: zsh: sourcing the script: $err"; failures=$((failures + 1)); }
    expect "berth <TAB>" "$(zsh_complete 'berth ')" create ls env ssh completion image
    expect "berth ssh <TAB>" "$(zsh_complete 'berth ssh ')" m1
    expect "berth env <TAB>" "$(zsh_complete 'berth env ')" m1
    expect "berth env -u <TAB> (a flag takes no value)" "$(zsh_complete 'berth env -u ')" m1
    expect "berth env --shell <TAB>" "$(zsh_complete 'berth env --shell ')" bash zsh fish powershell
    expect "berth create --dri<TAB>" "$(zsh_complete 'berth create --dri')" --driver
    ;;
*)
    echo "usage: completion_test.sh bash|zsh|fish BERTH"
    exit 2
    ;;
esac

if ((failures)); then
    echo "$failures completion check(s) failed"
    exit 1
fi
echo "ok: $shell completion"
