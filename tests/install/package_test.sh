#!/usr/bin/env bash
# The Debian package CPack makes from BUILD_DIR: its name, what it holds, and a
# Depends line that names the run-time libraries the binaries link (found by
# dpkg-shlibdeps) and nlohmann-json for the headers. Installing it on a fresh
# Debian root is scripts/fresh_machine_test.sh's job (it needs the network).
# Usage: package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "package: FAILED: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
deb=$work/kiln_${version}_amd64.deb
[[ -f $deb ]] || fail "no $deb (made: $(ls "$work"))"

depends=$(dpkg-deb --field "$deb" Depends)
for lib in libdnnl2 libgomp1 libcurl4 libssl3 libarchive13 zlib1g libstdc++6 nlohmann-json3-dev; do
  grep -q "\b$lib\b" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
files=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for f in ./usr/bin/kiln ./usr/include/kiln/kiln.hpp ./usr/include/kiln/version.hpp \
  ./usr/lib/libkiln.so.$version ./usr/lib/libkiln.a ./usr/lib/libkiln_data.so.$version ./usr/lib/libkiln_report.a \
  ./usr/lib/cmake/Kiln/KilnConfig.cmake ./usr/lib/cmake/Kiln/KilnConfigVersion.cmake ./usr/lib/pkgconfig/kiln.pc; do
  grep -qx -- "$f" <<<"$files" || fail "the package lacks $f"
done
echo "package: $(basename "$deb"), Depends: $depends"
