#!/bin/sh
# Installs the Debian 12 packages husk needs to build and test (only those missing).
set -eu
pkgs="meson ninja-build pkg-config g++ git nlohmann-json3-dev libseccomp-dev libcap-ng-dev doctest-dev
      busybox-static python3-pytest iproute2 util-linux procps podman conmon docker.io
      protobuf-compiler libprotobuf-dev libgrpc++-dev protobuf-compiler-grpc containerd umoci
      python3-grpcio debootstrap systemd-container"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
