# Sourced by scripts/sanitizers.sh and scripts/tsan.sh.
# clang_can_build FLAGS SOURCE [run]: whether clang++ compiles and links SOURCE (a
# program's text) with FLAGS, and, with "run", whether the program then runs; what
# clang or the program said goes to stderr when not.
clang_can_build() {
  local flags=$1 source=$2 run=${3:-} probe status=0
  command -v clang++ >/dev/null || return 1
  probe=$(mktemp -d)
  printf '%s\n' "$source" >"$probe/probe.cpp"
  # shellcheck disable=SC2086
  clang++ $flags "$probe/probe.cpp" -o "$probe/probe" 2>"$probe/log" || status=1
  if ((status == 0)) && [[ $run == run ]]; then "$probe/probe" 2>>"$probe/log" || status=1; fi
  ((status == 0)) || cat "$probe/log" >&2
  rm -rf "$probe"
  return $status
}
