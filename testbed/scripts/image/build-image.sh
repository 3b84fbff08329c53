#!/bin/bash
# Builds the ustor test guest into OUT (an empty or absent folder):
#   OUT/root.img   ext4 root file system (Debian 12, made without loop mounts: mkfs.ext4 -d)
#   OUT/vmlinux    the Debian kernel, uncompressed (QEMU boots it directly through PVH: no decompressor under TCG)
#   OUT/initrd.img a tiny busybox initramfs that loads the virtio, ext4 and 9p modules and mounts the root
# Usage: build-image.sh OUT [DEB_CACHE]   (needs root: mmdebstrap, chroot)
# env: APT_SOURCES (a sources.list or deb822 .sources file; default: this machine's Debian sources),
#      IMAGE_SIZE (1G)
set -euo pipefail
trap 'echo "build-image.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
OUT=$1; DEBS=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "build-image.sh: needs root (mmdebstrap and chroot)" >&2; exit 1; }
for tool in mmdebstrap mkfs.ext4 xz cpio gzip; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: $tool is missing; apt-get install mmdebstrap e2fsprogs xz-utils cpio gzip" >&2; exit 1; }
done

# The machine's own Debian sources (other vendors' lists, e.g. cloud SDKs, are not Debian and are left out).
SOURCES=${APT_SOURCES:-}
if [ -z "$SOURCES" ]; then
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ] && grep -q debian "$f"; then SOURCES=$f; break; fi
  done
fi
[ -n "$SOURCES" ] || { echo "build-image.sh: no Debian apt sources found; set APT_SOURCES" >&2; exit 1; }

PACKAGES=linux-image-amd64,busybox-static,kmod,pciutils,fio,nvme-cli,open-iscsi,iproute2,util-linux,procps

ROOT=$(mktemp -d "$OUT.rootfs.XXXXXX")   # beside OUT: same file system, not a small /tmp
STAGE=$(mktemp -d "$OUT.initrd.XXXXXX")
trap 'rm -rf "$ROOT" "$STAGE"' EXIT
mkdir -p "$OUT"

# Nothing the guest never reads: documentation, locales, and kernel drivers for hardware QEMU does not emulate
# here (graphics, sound, media, wireless, physical NICs, USB, input...) or file systems the tests do not use.
# Less to unpack and to copy into the ext4 image.
EXCLUDES=()
set -f   # the patterns are for dpkg inside the new system, not globs on this machine
K=/lib/modules/*/kernel
for p in /usr/share/doc/* /usr/share/man/* /usr/share/locale/* /usr/share/info/* \
         $K/drivers/gpu/* $K/sound/* $K/drivers/media/* $K/drivers/net/wireless/* $K/drivers/net/ethernet/* \
         $K/drivers/net/can/* $K/drivers/infiniband/* $K/drivers/staging/* $K/drivers/bluetooth/* $K/drivers/usb/* \
         $K/drivers/hid/* $K/drivers/iio/* $K/drivers/comedi/* $K/drivers/isdn/* $K/drivers/video/* \
         $K/drivers/platform/* $K/drivers/input/* $K/drivers/hwmon/* $K/drivers/mmc/* $K/drivers/scsi/lpfc/* \
         $K/net/wireless/* $K/net/mac80211/* $K/net/bluetooth/* $K/fs/xfs/* $K/fs/btrfs/* $K/fs/ocfs2/* \
         $K/fs/smb/* $K/lib/test_* $K/arch/x86/kvm/*; do
  EXCLUDES+=("--dpkgopt=path-exclude=$p")
done
set +f

# Debian's initramfs is never used (ours boots much faster under TCG): skip building it. Maintainer scripts
# register man pages with update-alternatives, which fails when the excluded man folders are missing.
# The .deb files are kept in DEBS between builds, so a rebuild downloads only what changed.
HOOKS=(--essential-hook='mkdir -p "$1/usr/sbin" "$1/usr/share/man/man1" "$1/usr/share/man/man5" "$1/usr/share/man/man7" "$1/usr/share/man/man8"; chroot "$1" dpkg-divert --local --rename --add /usr/sbin/update-initramfs; ln -sf /bin/true "$1/usr/sbin/update-initramfs"')
if [ -n "$DEBS" ]; then
  mkdir -p "$DEBS"
  HOOKS+=(--setup-hook='mkdir -p "$1/var/cache/apt/archives"; cp '"$DEBS"'/*.deb "$1/var/cache/apt/archives/" 2>/dev/null || true'
          --customize-hook='cp "$1"/var/cache/apt/archives/*.deb '"$DEBS"'/ 2>/dev/null || true'
          --skip=cleanup/apt/cache)
fi
echo "== [${SECONDS} s] mmdebstrap bookworm from $SOURCES"
# force-unsafe-io: no fsync per unpacked file (a throw-away tree that becomes an image file)
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" --dpkgopt=force-unsafe-io "${EXCLUDES[@]}" "${HOOKS[@]}" \
  bookworm "$ROOT" "$SOURCES"
rm -f "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/cache/apt/*.bin

echo "== [${SECONDS} s] customize"
install -m 755 "$HERE/guest-init" "$ROOT/sbin/ustor-init"
echo guest > "$ROOT/etc/hostname"
: > "$ROOT/etc/fstab"
echo "nameserver 10.0.2.3" > "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/host" "$ROOT/ustor" "$ROOT/opt/jdk" "$ROOT/m2" "$ROOT/dev/hugepages" "$ROOT/etc/nvme"
# an NVMe host NQN and ID for nvme-cli's fabrics commands (NVMe/TCP initiator tests)
UUID=$(cat /proc/sys/kernel/random/uuid)
[ -s "$ROOT/etc/nvme/hostnqn" ] || echo "nqn.2014-08.org.nvmexpress:uuid:$UUID" > "$ROOT/etc/nvme/hostnqn"
[ -s "$ROOT/etc/nvme/hostid" ] || echo "$UUID" > "$ROOT/etc/nvme/hostid"

KVER=$(ls "$ROOT/lib/modules" | sort -V | tail -1)
[ -n "$KVER" ] || { echo "build-image.sh: no kernel modules in the root file system" >&2; exit 1; }

echo "== [${SECONDS} s] uncompressed kernel $KVER"
# The bzImage carries an xz stream: find it and unpack it (xz ignores what follows the stream).
VMLINUZ=$ROOT/boot/vmlinuz-$KVER
OFFSET=$({ LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" || true; } | awk -F: 'NR == 1 { print $1 }')
[ -n "$OFFSET" ] || { echo "build-image.sh: no xz stream in $VMLINUZ" >&2; exit 1; }
tail -c +$((OFFSET + 1)) "$VMLINUZ" > "$STAGE/kernel.xz"   # a file, not a pipe: xz stops reading early
xz -dc --single-stream "$STAGE/kernel.xz" > "$OUT/vmlinux"
rm "$STAGE/kernel.xz"

echo "== [${SECONDS} s] initramfs"
mkdir -p "$STAGE"/{bin,dev,proc,sys,newroot,mods}
cp "$ROOT/bin/busybox" "$STAGE/bin/busybox"
install -m 755 "$HERE/initramfs-init" "$STAGE/init"
for m in virtio_pci virtio_blk ext4 9pnet_virtio 9p virtio_net; do
  chroot "$ROOT" modprobe -S "$KVER" --show-depends "$m"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
  cp "$ROOT$ko" "$STAGE/mods/"; basename "$ko" >> "$STAGE/mods/order"
done
(cd "$STAGE" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/initrd.img"

echo "== [${SECONDS} s] root file system image ($(du -sm "$ROOT" | cut -f1) MiB)"
mkfs.ext4 -q -F -L guestroot -d "$ROOT" "$OUT/root.img" "${IMAGE_SIZE:-1G}"
{ echo "kernel=$KVER"; echo "sources=$SOURCES"; echo "built=$(date -u +%FT%TZ)"; } > "$OUT/BUILD-INFO"
echo "== [${SECONDS} s] done"
ls -ls "$OUT"
