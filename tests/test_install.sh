#!/usr/bin/env bash
# Installs an existing build into a temporary prefix and builds and runs both example
# consumers against the *installed* package only: the C++ one through find_package (shared,
# then static) and the C one through pkg-config (shared, then static). Nothing of vkattn
# itself is rebuilt. Registered in CTest as `install` (label "install").
#   tests/test_install.sh <vkattn build dir> [expect_cli: 1|0]
set -euo pipefail
build=$(cd "$1" && pwd)
expect_cli=${2:-1}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vkattn-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
step() { echo "test_install: $*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "install"; }

# --- what a packager looks for
libdir=$(sed -n 's/^libdir=\${prefix}\///p' "$(find "$prefix" -name vkattn.pc)")
[ -n "$libdir" ] || fail "vkattn.pc not installed or without a relative libdir"
for f in "$libdir/libvkattn.a" "$libdir/libvkattn.so.0" "$libdir/libvkattn.so" \
         "$libdir/cmake/vkattn/vkattnConfig.cmake" "$libdir/cmake/vkattn/vkattnConfigVersion.cmake" \
         include/vkattn/vkattn.hpp include/vkattn/types.hpp include/vkattn/context.hpp \
         include/vkattn/error.hpp include/vkattn/vkattn.h include/vkattn/vulkan_interop.hpp \
         include/vkattn/vkattn_vulkan.h; do
  [ -e "$prefix/$f" ] || fail "missing $f"
done
if [ "$expect_cli" = 1 ]; then [ -x "$prefix/bin/vkattn" ] || fail "missing bin/vkattn"; fi
# readelf output is captured first: `readelf | grep -q` can fail on SIGPIPE under pipefail.
dyn=$(readelf -d "$prefix/$libdir/libvkattn.so.0")
soname=$(sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p' <<<"$dyn")
[ "$soname" = libvkattn.so.0 ] || fail "SONAME is '$soname', expected libvkattn.so.0"
# The loader is dlopen'ed, so neither the library nor its package may depend on Vulkan.
! grep -q 'libvulkan' <<<"$dyn" || fail "libvkattn.so links libvulkan"
! grep -rq 'Vulkan' "$prefix/$libdir/cmake/vkattn/"vkattnTargets*.cmake || fail "exported targets mention Vulkan"
# Every C function the headers declare is exported (cmake/vkattn.map lists them by name).
exported=$(nm -D --defined-only "$prefix/$libdir/libvkattn.so.0")
for fn in $(cat "$prefix/include/vkattn/vkattn.h" "$prefix/include/vkattn/vkattn_vulkan.h" |
            grep -oE '\bvkattn_[a-z0-9_]+\(' | tr -d '(' | sort -u); do
  grep -qE " T $fn(@|\$)" <<<"$exported" || fail "libvkattn.so does not export $fn (add it to cmake/vkattn.map)"
done
# Internal namespaces stay local (cmake/vkattn.map lists the public C++ API explicitly).
internal=$(nm -D --defined-only -C "$prefix/$libdir/libvkattn.so.0" | grep -E 'vkattn::(detail|vulkan|gpu)::' || true)
[ -z "$internal" ] || fail "libvkattn.so exports internal symbols:
$(head -5 <<<"$internal")"
for sym in 'vkattn::Context::create' 'vkattn::Context::adopt' 'vkattn::record_attention' 'typeinfo for vkattn::Error'; do
  grep -qF "$sym" <<<"$(nm -D --defined-only -C "$prefix/$libdir/libvkattn.so.0")" || fail "libvkattn.so does not export $sym"
done
grep -q "^prefix=$prefix\$" "$prefix/$libdir/pkgconfig/vkattn.pc" || fail "vkattn.pc prefix is not $prefix"

# Consumers link only what is installed: no build-tree paths.
export CMAKE_PREFIX_PATH=$prefix PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
unset PKG_CONFIG_LIBDIR || true

# --- C++: find_package(vkattn CONFIG), the shared library (RPATH from the imported target)
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
step "C++ consumer (find_package, shared)"
cmake -S "$src/examples/consumer" -B "$tmp/cxx" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror" >"$tmp/cxx.log" \
  || { cat "$tmp/cxx.log"; fail "configure C++ consumer"; }
cmake --build "$tmp/cxx" >>"$tmp/cxx.log" 2>&1 || { cat "$tmp/cxx.log"; fail "build C++ consumer"; }
grep -q 'NEEDED.*libvkattn.so.0' <<<"$(readelf -d "$tmp/cxx/consumer")" || fail "C++ consumer not linked to libvkattn.so.0"
"$tmp/cxx/consumer" || fail "C++ consumer (shared)"

step "C++ consumer (find_package, VKATTN_USE_STATIC_LIBS)"
cmake "$tmp/cxx" -DVKATTN_USE_STATIC_LIBS=ON >>"$tmp/cxx.log" && cmake --build "$tmp/cxx" >>"$tmp/cxx.log" 2>&1 \
  || { cat "$tmp/cxx.log"; fail "build static C++ consumer"; }
! grep -q 'libvkattn' <<<"$(readelf -d "$tmp/cxx/consumer")" || fail "static C++ consumer still needs libvkattn.so"
"$tmp/cxx/consumer" || fail "C++ consumer (static)"

# --- C: pkg-config, shared then static
step "C consumer (pkg-config, shared and static)"
cp "$src/examples/consumer_c/consumer_c.c" "$src/examples/consumer_c/Makefile" "$tmp/"
make -s -C "$tmp" CFLAGS="-O2 -Werror -Wshadow -Wconversion" all static >"$tmp/c.log" 2>&1 \
  || { cat "$tmp/c.log"; fail "build C consumer"; }
LD_LIBRARY_PATH=$prefix/$libdir "$tmp/consumer_c" || fail "C consumer (shared)"
"$tmp/consumer_c_static" || fail "C consumer (static)"
# --- C++ with Vulkan: an application that owns its device and lets vkattn record into its
# command buffer (examples/interop); it links the Vulkan loader itself, vkattn does not.
step "interop example (Context::adopt + record_attention)"
cmake -S "$src/examples/interop" -B "$tmp/interop" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror" >"$tmp/interop.log" \
  || { cat "$tmp/interop.log"; fail "configure interop example"; }
cmake --build "$tmp/interop" >>"$tmp/interop.log" 2>&1 || { cat "$tmp/interop.log"; fail "build interop example"; }
"$tmp/interop/interop" || fail "interop example"
# --- the same in C (vkattn_vulkan.h), through pkg-config.
step "C interop example (vkattn_context_adopt + vkattn_record_attention)"
mkdir -p "$tmp/interop_c"
cp "$src/examples/interop_c/interop_c.c" "$src/examples/interop_c/Makefile" "$tmp/interop_c/"
make -s -C "$tmp/interop_c" CFLAGS="-O2 -Werror -Wshadow -Wconversion" >"$tmp/interop_c.log" 2>&1 \
  || { cat "$tmp/interop_c.log"; fail "build C interop example"; }
LD_LIBRARY_PATH=$prefix/$libdir "$tmp/interop_c/interop_c" || fail "C interop example"
step "ok"
