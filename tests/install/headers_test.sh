#!/usr/bin/env bash
# Every public header compiles on its own: each include/kiln/**.hpp is the only
# line of a translation unit, compiled with -Wall -Wextra -Werror (syntax only).
# Usage: headers_test.sh CXX SOURCE_DIR [extra include dirs...]
set -euo pipefail
cxx=${1:?compiler}
src=$(cd "${2:?source dir}" && pwd)
shift 2
flags=(-std=c++20 -fsyntax-only -Wall -Wextra -Werror -Wno-missing-field-initializers -I "$src/include")
for dir in "$@"; do flags+=(-isystem "$dir"); done
failed=0 count=0
cd "$src/include"
while IFS= read -r header; do
  count=$((count + 1))
  if ! printf '#include "%s"\n' "$header" | "$cxx" "${flags[@]}" -x c++ - 2>"${TMPDIR:-/tmp}/kiln_header.$$"; then
    echo "FAILED: $header does not compile alone:"
    head -20 "${TMPDIR:-/tmp}/kiln_header.$$"
    failed=$((failed + 1))
  fi
done < <(find kiln -name '*.hpp' | sort)
rm -f "${TMPDIR:-/tmp}/kiln_header.$$"
echo "headers: $((count - failed)) of $count public headers compile alone"
((failed == 0))
