#!/usr/bin/env bash
# The README's quick start on a machine that has never seen Kiln (not part of CI):
#
#   1. mmdebstrap builds a minimal Debian 12 root (apt and the essential packages only);
#   2. a clean clone of this repository's HEAD is copied into it;
#   3. inside it, with chroot, the README's two commands run as written:
#        scripts/setup.sh && build/kiln train
#        scripts/setup.sh && ctest --test-dir build --output-on-failure -j2
#   4. cpack builds the Debian package there; a second fresh root installs it with
#      dpkg -i (then apt-get -f install) and builds tests/install/downstream against it.
#
# Usage (as root, with Debian's mirrors reachable):
#   scripts/fresh_machine_test.sh            all of it
#   scripts/fresh_machine_test.sh train      steps 1-3, first command only
#   scripts/fresh_machine_test.sh deb        steps 1, 2, setup and the package (step 4)
#   KILN_DEB=file.deb scripts/fresh_machine_test.sh deb
#                                            step 4 alone, with a package built elsewhere
# KILN_FRESH_DIR (default /tmp/kiln-fresh) holds the roots and fresh.log; KEEP=1 keeps them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
work=${KILN_FRESH_DIR:-/tmp/kiln-fresh}
suite=bookworm
sources=/etc/apt/sources.list.d/debian.sources
[[ -f $sources ]] || sources=http://deb.debian.org/debian

if [[ $(id -u) -ne 0 ]]; then
  echo "fresh_machine_test: needs root (mmdebstrap into a folder, chroot)" >&2
  exit 1
fi
if ! command -v mmdebstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap
fi

mkdir -p "$work"
log=$work/fresh.log
: >"$log"
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  # --one-file-system: never follow a mount that is somehow still there into the host.
  [[ ${KEEP:-0} == 1 ]] || rm -rf --one-file-system "$work/root" "$work/deb-root"
}
trap cleanup EXIT

say() { echo "[$(date +%T)] $*" | tee -a "$log"; }

# make_root DIR: a minimal Debian root with /proc, /sys and /dev mounted, and DNS.
make_root() {
  local root=$1 start=$SECONDS
  rm -rf --one-file-system "$root"
  mmdebstrap --quiet --variant=apt "$suite" "$root" "$sources" >>"$log" 2>&1
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  for m in proc sys dev dev/pts; do
    mount --bind "/$m" "$root/$m"
    mounted+=("$root/$m")
  done
  say "fresh Debian 12 root in $root: $((SECONDS - start)) s, $(chroot "$root" dpkg-query -W | wc -l) packages"
}

# in_root DIR COMMAND: runs COMMAND with bash in DIR's /root/kiln, with a plain environment.
in_root() {
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb /bin/bash -c "cd /root/kiln 2>/dev/null || cd /root; $*"
}

# step NAME COMMAND: runs a README command in the fresh root, timed; its last lines go to the log.
step() {
  local name=$1 command=$2 start=$SECONDS status=0
  say "running: $command"
  in_root "$work/root" "$command" >"$work/$name.out" 2>&1 || status=$?
  say "$name: exit status $status after $((SECONDS - start)) s; last lines:"
  tail -15 "$work/$name.out" | sed 's/^/    /' | tee -a "$log"
  return $status
}

status=0
if [[ -z ${KILN_DEB:-} ]]; then
  make_root "$work/root"
  git clone --quiet --no-local "$repo" "$work/root/root/kiln"
  say "cloned $(git -C "$repo" rev-parse --short HEAD) (HEAD; uncommitted changes are not part of the test)"
  [[ $what == deb ]] || step train 'scripts/setup.sh && build/kiln train' || status=1
fi
if [[ $what == all ]]; then
  step tests 'scripts/setup.sh && ctest --test-dir build --output-on-failure -j2' || status=1
  say "second setup.sh run (must install nothing and print nothing):"
  in_root "$work/root" 'scripts/setup.sh' >"$work/setup2.out" 2>&1 || status=1
  if [[ -s $work/setup2.out ]]; then
    say "setup.sh printed on its second run:"
    sed 's/^/    /' "$work/setup2.out" | tee -a "$log"
    status=1
  else
    say "second run printed nothing"
  fi
fi

if [[ $what == all || $what == deb ]]; then
  if [[ -n ${KILN_DEB:-} ]]; then
    deb=$(realpath "$KILN_DEB")
    say "package given: $deb"
  else
    [[ -x $work/root/root/kiln/build/kiln ]] || in_root "$work/root" 'scripts/setup.sh' >"$work/setup.out" 2>&1
    step package 'cd build && cpack -G DEB && dpkg-deb --info kiln_*_amd64.deb' || status=1
    deb=$(ls "$work"/root/root/kiln/build/kiln_*_amd64.deb)
  fi
  make_root "$work/deb-root"
  cp "$deb" "$work/deb-root/root/"
  mkdir -p "$work/deb-root/root/downstream"
  cp -r "$repo/tests/install/downstream/." "$work/deb-root/root/downstream/"
  start=$SECONDS
  say "installing $(basename "$deb") with dpkg -i, then apt-get -f install"
  # dpkg -i fails on a fresh root (its Depends are not there yet); apt-get -f install brings them.
  in_root "$work/deb-root" "apt-get update -qq; dpkg -i /root/$(basename "$deb"); \
    DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq && dpkg -s kiln | grep -E '^(Status|Version|Depends)'" \
    >"$work/deb-install.out" 2>&1 || status=1
  tail -5 "$work/deb-install.out" | sed 's/^/    /' | tee -a "$log"
  say "downstream project against the installed package (cmake, g++ and ninja installed for it)"
  in_root "$work/deb-root" "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      cmake g++ ninja-build >/dev/null && cd /root/downstream && cmake -S . -B build -G Ninja >/dev/null && \
      cmake --build build && build/train_save_load /root/model.safetensors && build/predict /root/model.safetensors && \
      build/predict_static /root/model.safetensors && \
      ! ldd build/predict | grep -E 'libcurl|libssl|libcrypto|libarchive|libz\\.so' && echo 'downstream: built and ran; predict links no I/O library'" \
    >"$work/downstream.out" 2>&1 || status=1
  say "package install and downstream build: $((SECONDS - start)) s; last lines:"
  tail -8 "$work/downstream.out" | sed 's/^/    /' | tee -a "$log"
fi

if ((status == 0)); then say "fresh_machine_test: PASSED ($what)"; else say "fresh_machine_test: FAILED ($what); see $work"; fi
exit $status
