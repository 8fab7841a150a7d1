# Sourced by the long-running scripts (make run, test, bench): one line per stage with the time
# elapsed since the script started, on stderr. Bold only on a terminal and without NO_COLOR
# (https://no-color.org), so logs written to a file or a pipe carry no ANSI codes.
# Also makes cargo show its own progress bar (it does so on a terminal unless told otherwise).
progress_t0=${progress_t0:-$(date +%s)}
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
  progress_on=$'\033[1;36m' progress_off=$'\033[0m'
else
  progress_on='' progress_off=''
  export CARGO_TERM_COLOR=never
fi

# stage MESSAGE...: "==> [+12s] MESSAGE"
stage() {
  printf '%s==> [+%ss] %s%s\n' "$progress_on" "$(($(date +%s) - progress_t0))" "$*" "$progress_off" >&2
}
