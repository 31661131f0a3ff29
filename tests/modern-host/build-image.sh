#!/bin/bash
# Builds the modern-host VM image from Debian's packages: a Debian 12 root with systemd as PID 1
# (pure cgroup v2), Debian's 6.1 kernel unpacked (not installed) and a busybox initramfs that
# loads the virtio, ext4 and 9p modules and switches to the root disk. No loop device and no
# mount of the image: mmdebstrap fills a directory, `mkfs.ext4 -d` turns it into a sparse disk.
#   tests/modern-host/build-image.sh      prints the image directory (kernel, initrd.img, disk.img),
#                                         building it when this script changed since the last build
# The cache is $HUSK_VM_CACHE (default /var/cache/husk-tests/modern-host), one directory per
# hash of this script; older ones are removed.
set -eu -o pipefail
self=$(readlink -f "$0")

# Guest packages: the boot (systemd, kmod), the tests (python3-pytest, busybox-static for the
# container rootfs, iproute2, procps), the other runtimes for side-by-side checks, and hyperfine
# and GNU time for bench/, the unit tests' libraries (husk and its shim are static).
packages="systemd,systemd-sysv,dbus,kmod,busybox-static,python3,python3-pytest,iproute2,procps,
psmisc,util-linux,crun,runc,hyperfine,time,libseccomp2,libcap-ng0"
# What the initramfs loads before it can mount the root disk and the 9p share.
initrd_modules="virtio_pci virtio_blk ext4 9p 9pnet_virtio"
# Module trees the guest never needs (no hardware but virtio): dropped to keep the disk small.
pruned_modules="drivers/gpu drivers/media drivers/net/wireless drivers/net/ethernet drivers/infiniband
drivers/scsi drivers/usb drivers/staging drivers/iio drivers/hid drivers/input drivers/isdn
drivers/bluetooth drivers/mtd drivers/hwmon drivers/platform drivers/misc drivers/leds
drivers/ata drivers/md drivers/nvme drivers/target drivers/mmc drivers/rtc drivers/thunderbolt
sound net/wireless net/bluetooth net/mac80211"

die() { echo "build-image: $*" >&2; exit 1; }

# Runs inside mmdebstrap as a customize hook: fetches the kernel package with the chroot's apt
# (its package lists are still there) and unpacks it into the root.
if [ "${1:-}" = --kernel-hook ]; then
  root=$2
  pkg=$(chroot "$root" apt-cache depends linux-image-amd64 |
    sed -n 's/^ *Depends: \(linux-image-6\.1[^ ]*\)$/\1/p' | head -n 1)
  [ -n "$pkg" ] || die "no linux-image-6.1 package in the guest's apt lists"
  chroot "$root" sh -c "cd /var/tmp && apt-get download -q $pkg" >&2
  # Unpacked aside and moved: extracting the package's ./lib over the root would replace the
  # merged-/usr symlink /lib with a directory.
  dpkg-deb -x "$root"/var/tmp/"$pkg"_*.deb "$root/var/tmp/kernel"
  mv "$root"/var/tmp/kernel/lib/modules "$root/usr/lib/modules"
  mv "$root"/var/tmp/kernel/boot/* "$root/boot/"
  rm -rf "$root"/var/tmp/*.deb "$root/var/tmp/kernel"
  exit 0
fi

cache=${HUSK_VM_CACHE:-/var/cache/husk-tests/modern-host}
hash=$(sha256sum "$self" | cut -c1-16)
image=$cache/$hash
if [ -f "$image/done" ]; then echo "$image"; exit 0; fi

command -v mmdebstrap >/dev/null || die "mmdebstrap missing (tests/install-deps.sh installs it)"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$image/done" ]; then echo "$image"; exit 0; fi
for old in "$cache"/*/; do [ "${old%/}" = "$image" ] || rm -rf "$old"; done
work=$(mktemp -d "$cache/build.XXXXXX")
trap '[ -n "${HUSK_VM_KEEP_FAILED:-}" ] || rm -rf "$work"' EXIT
root=$work/root

echo "build-image: mmdebstrap bookworm into $root" >&2
mmdebstrap --variant=minbase --include="$(echo $packages | tr -d ' ')" \
  --customize-hook="'$self' --kernel-hook \"\$1\"" \
  bookworm "$root" http://deb.debian.org/debian >&2

kver=$(ls "$root/lib/modules" | head -n 1)
[ -n "$kver" ] && [ -f "$root/boot/vmlinuz-$kver" ] || die "kernel not unpacked into the root"
for d in $pruned_modules; do rm -rf "$root/lib/modules/$kver/kernel/$d"; done
chroot "$root" /sbin/depmod "$kver"

# The guest: no getty, no timers, the test unit started at boot and powering off when done.
echo husk-modern-host > "$root/etc/hostname"
printf '127.0.0.1 localhost husk-modern-host\n' > "$root/etc/hosts"
: > "$root/etc/fstab"
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
            systemd-timesyncd.service e2scrub_reap.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
cat > "$root/etc/systemd/system/husk-tests.service" <<'UNIT'
[Unit]
Description=husk's tests on the modern host
After=basic.target dbus.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
# As containerd's unit: the service owns its cgroup subtree.
Delegate=yes
ExecStart=/bin/bash /usr/local/sbin/husk-guest-start
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
UNIT
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../husk-tests.service "$root/etc/systemd/system/multi-user.target.wants/husk-tests.service"
# The unit's script only mounts the share and runs the guest script the host put there, so
# the image need not change when the tests do.
mkdir -p "$root/usr/local/sbin" "$root/mnt/host"
cat > "$root/usr/local/sbin/husk-guest-start" <<'SH'
set -u
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 husk /mnt/host || exit 1
exec bash /mnt/host/guest-run.sh
SH

# The initramfs: busybox, the modules in dependency order, an init that loads them, mounts the
# root disk and hands over to systemd.
initrd=$work/initrd
mkdir -p "$initrd/bin" "$initrd/dev" "$initrd/proc" "$initrd/sys" "$initrd/newroot" "$initrd/modules"
cp "$root/bin/busybox" "$initrd/bin/busybox"
: > "$initrd/modules/order"
for m in $initrd_modules; do
  chroot "$root" /sbin/modprobe -S "$kver" --show-depends "$m" | sed -n 's/^insmod \([^ ]*\).*/\1/p'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$root$ko" "$initrd/modules/"
  basename "$ko" >> "$initrd/modules/order"
done
cat > "$initrd/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for ko in $(cat /modules/order); do insmod /modules/$ko; done
for i in $(seq 50); do [ -b /dev/vda ] && break; sleep 0.1; done
mount -o rw /dev/vda /newroot || { echo "initramfs: cannot mount /dev/vda"; poweroff -f; }
umount /proc /sys /dev
exec switch_root /newroot /sbin/init
INIT
chmod 755 "$initrd/init"
(cd "$initrd" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.img"

cp "$root/boot/vmlinuz-$kver" "$work/kernel"
rm -rf "$root/boot"/* "$root/var/cache/apt"/*.bin "$root/var/lib/apt/lists"/*_Packages
size_mb=$(( $(du -sm "$root" | cut -f1) + 3072 ))
echo "build-image: mkfs.ext4 -d, ${size_mb} MiB sparse" >&2
truncate -s "${size_mb}M" "$work/disk.img"
mkfs.ext4 -q -F -L husk-root -d "$root" "$work/disk.img"
rm -rf "$root" "$initrd"
echo "$kver" > "$work/kernel-version"
touch "$work/done"
mv "$work" "$image"
trap - EXIT
echo "$image"
