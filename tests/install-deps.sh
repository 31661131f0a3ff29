#!/bin/sh
# Installs the Debian 12 packages husk needs (only those missing).
#   tests/install-deps.sh --build-only   what building husk and the shim and running a container need
#   tests/install-deps.sh                that, plus what the tests need (unit and integration tests,
#                                        the gRPC shim, man/completion checks, the .deb build,
#                                        crash injection, fuzzing)
set -eu
build="meson ninja-build pkg-config g++ git nlohmann-json3-dev libseccomp-dev libcap-ng-dev
       protobuf-compiler libprotobuf-dev busybox-static python3"
tests="doctest-dev python3-pytest iproute2 util-linux procps podman conmon docker.io containerd umoci
       python3-grpcio libgrpc++-dev protobuf-compiler-grpc man-db zsh fish debhelper dpkg-dev
       strace clang-14 libfuzzer-14-dev"
case ${1:-} in
  --build-only) pkgs=$build ;;
  "") pkgs="$build $tests" ;;
  *) echo "usage: $0 [--build-only]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
