#!/usr/bin/env bash
# Install the doorcam .deb into an arm64 Debian trixie root filesystem (debootstrap, run under
# qemu-user-static) and check it works there: the machine is aarch64, the CLI starts, the
# config the postinst wrote is valid, and a short synthetic simulation stores a clip that
# decodes. Needs root, debootstrap and qemu-user-static (binfmt_misc is set up if needed).
#
#   deploy/check-arm64.sh [WORKDIR]     (default /var/tmp/doorcam-arm64)
#
# The bootstrapped tree is kept (WORKDIR/rootfs, done when WORKDIR/rootfs.ok exists): a re-run
# only rebuilds and reinstalls the package and repeats the checks. rm -rf WORKDIR starts over.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(realpath -m "${1:-/var/tmp/doorcam-arm64}")
ROOT=$WORK/rootfs
MARKER=$WORK/rootfs.ok
SUITE=${DOORCAM_ARM64_SUITE:-trixie}
MIRROR=${DOORCAM_ARM64_MIRROR:-http://deb.debian.org/debian}
SIM_SECONDS=${DOORCAM_ARM64_SIM_SECONDS:-10}

die() { echo "check-arm64: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"
for tool in debootstrap chroot findmnt flock; do
    command -v "$tool" >/dev/null || die "$tool not found (apt install debootstrap util-linux)"
done

mkdir -p "$WORK"
exec 9>"$WORK/lock"
flock -n 9 || die "another check-arm64 run holds $WORK/lock"

# Unmount whatever is mounted at or below the root filesystem (ours, or left by debootstrap),
# deepest first.
unmount_all() {
    local m
    [ -d "$ROOT" ] || return 0
    findmnt -rn -o TARGET | awk -v r="$ROOT" 'index($0, r "/") == 1 || $0 == r' | sort -r |
        while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
trap unmount_all EXIT

T_ALL=$(date +%s.%N)
declare -a PHASES=()
T_PHASE=0
phase() { T_PHASE=$(date +%s.%N); echo "== $1"; }
done_phase() {
    local s
    s=$(awk -v a="$T_PHASE" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    PHASES+=("$1 ${s}s")
    echo "== $1: ${s}s"
}

# Run a command in the arm64 tree with a clean environment.
in_root() {
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

# --- qemu-user-static and binfmt_misc (left registered: it is host configuration) ---------
phase binfmt
QEMU=$(command -v qemu-aarch64-static || true)
[ -n "$QEMU" ] || die "qemu-aarch64-static not found (apt install qemu-user-static binfmt-support)"
BINFMT=/proc/sys/fs/binfmt_misc
[ -e "$BINFMT/register" ] || mount -t binfmt_misc binfmt_misc "$BINFMT"
if [ ! -e "$BINFMT/qemu-aarch64" ]; then
    if command -v update-binfmts >/dev/null; then
        update-binfmts --enable qemu-aarch64 || true
    fi
fi
if [ ! -e "$BINFMT/qemu-aarch64" ]; then
    # Register by hand: ELF64 little-endian, e_machine 0xb7 (AArch64); F = open the
    # interpreter now, so it need not exist inside the chroot.
    printf '%s' ':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:'"$QEMU"':F' \
        > "$BINFMT/register"
fi
grep -qx enabled "$BINFMT/qemu-aarch64" || die "binfmt entry qemu-aarch64 is not enabled"
echo "qemu: $("$QEMU" --version | head -1); binfmt: $(grep -E '^(interpreter|flags)' \
    "$BINFMT/qemu-aarch64" | tr '\n' ' ')"
done_phase binfmt

# --- the package (built on the host: it is architecture-independent) ----------------------
phase build
DEB=$(bash "$SRC/deploy/build-deb.sh" "$WORK/dist" | tail -1)
[ -f "$DEB" ] || die "build-deb.sh did not produce a .deb"
echo "package: $DEB"
done_phase build

# --- the arm64 root filesystem --------------------------------------------------------------
FRESH=0
if [ ! -e "$MARKER" ]; then
    FRESH=1
    phase "debootstrap (first stage, host)"
    unmount_all
    rm -rf --one-file-system "$ROOT"
    debootstrap --arch=arm64 --variant=minbase --foreign "$SUITE" "$ROOT" "$MIRROR"
    done_phase "debootstrap-1"
    phase "debootstrap (second stage, arm64 under qemu)"
    # Only needed when binfmt was registered without the F flag.
    install -m 0755 "$QEMU" "$ROOT/usr/bin/qemu-aarch64-static"
    chroot "$ROOT" /debootstrap/debootstrap --second-stage
    unmount_all
    touch "$MARKER"
    done_phase "debootstrap-2"
else
    echo "== reusing $ROOT (bootstrapped $(date -r "$MARKER" '+%F %T'))"
fi

# --- install the package with apt, which resolves its dependencies ------------------------
phase "apt install"
mount -t proc proc "$ROOT/proc"
# apt wants a pty for its log; a private devpts instance, unmounted on exit like /proc.
mkdir -p "$ROOT/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$ROOT/dev/pts"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# No services start in the chroot.
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
rm -f "$ROOT"/tmp/doorcam_*_all.deb
cp "$DEB" "$ROOT/tmp/"
DEB_IN=/tmp/$(basename "$DEB")
if [ "$FRESH" = 1 ] || [ -z "$(find "$ROOT/var/lib/apt/lists" -name '*_Packages*' -mmin -1440 \
        2>/dev/null | head -1)" ]; then
    in_root apt-get update -q
fi
in_root apt-get install -y -q --no-install-recommends --reinstall "$DEB_IN"
in_root dpkg-query -W -f='installed: ${Package} ${Version} ${Status}\n' doorcam
done_phase "apt install"

# --- checks inside the arm64 tree ------------------------------------------------------------
phase "checks (arm64)"
MACHINE=$(in_root python3 -c 'import platform; print(platform.machine())')
echo "machine: $MACHINE"
[ "$MACHINE" = aarch64 ] || die "chroot python3 reports machine $MACHINE, not aarch64"
VERSIONS=$(in_root python3 -c '
import platform, numpy, cv2, av, paho.mqtt, cryptography, requests
avc = ".".join(map(str, av.library_versions["libavcodec"]))
print(f"python3 {platform.python_version()}, numpy {numpy.__version__}, "
      f"opencv {cv2.__version__}, av {av.__version__} (libavcodec {avc}), "
      f"paho-mqtt {paho.mqtt.__version__}, cryptography {cryptography.__version__}, "
      f"requests {requests.__version__}")') || die "importing the dependencies failed"
echo "versions: $VERSIONS"
in_root doorcam --help >/dev/null || die "doorcam --help failed"
echo "doorcam --help: ok"
in_root doorcam config check /etc/doorcam/doorcam.toml || die "doorcam config check failed"
echo "config check /etc/doorcam/doorcam.toml: ok"
done_phase "checks"

phase "simulate (arm64)"
rm -rf "$ROOT/tmp/doorcam-sim"
in_root doorcam simulate "synthetic:porch?seconds=$SIM_SECONDS&size=320x240" \
    --config /etc/doorcam/doorcam.toml --store /tmp/doorcam-sim --quiet \
    || die "doorcam simulate failed"
CLIP=$(cd "$ROOT" && find tmp/doorcam-sim -name '*.mp4' | sort | head -1)
[ -n "$CLIP" ] || die "simulate stored no .mp4 clip in /tmp/doorcam-sim"
DECODED=$(in_root python3 -c '
import sys, av
with av.open(sys.argv[1]) as c:
    s = c.streams.video[0]
    n = sum(1 for _ in c.decode(s))
    print(f"{n} frames, {s.codec_context.name} {s.codec_context.width}x{s.codec_context.height}")
    sys.exit(0 if n > 0 else 1)' "/$CLIP") || die "clip /$CLIP does not decode"
echo "decoded clip: /$CLIP: $DECODED"
done_phase "simulate"

SIZE=$(du -sx --block-size=1M "$ROOT" | cut -f1)
TOTAL=$(awk -v a="$T_ALL" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "rootfs: $ROOT, ${SIZE} MB"
printf 'phases: %s\n' "$(IFS=,; echo "${PHASES[*]}" | sed 's/,/, /g')"
echo "check-arm64: OK: $(basename "$DEB") on $SUITE arm64 (qemu-user): machine $MACHINE;" \
    "$VERSIONS; clip $DECODED; rootfs ${SIZE} MB; total ${TOTAL}s"
