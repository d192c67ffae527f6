#!/usr/bin/env bash
# Install doorcam as a service on Raspberry Pi OS (Debian 13 "trixie" based) or Debian.
# Idempotent: run it again to upgrade. `deploy/install.sh --uninstall` removes everything
# except the clips and keys in /var/lib/doorcam and the config in /etc/doorcam.
#
#   --root DIR      install into DIR instead of / (for image builds and tests); implies
#                   --no-apt --no-systemctl, and user creation is written to DIR's files
#   --no-apt        do not install system packages
#   --no-systemctl  do not enable/start the service
#
# Bookworm-based Pi OS: its apt picamera2 is built against numpy 1.x; keep the venv on
# numpy<2 and opencv-python-headless<4.12 there (see README), or upgrade to trixie.
set -euo pipefail

ROOT=/ APT=1 SYSTEMCTL=1 UNINSTALL=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$(realpath -m "$2"); APT=0; SYSTEMCTL=0; shift 2 ;;
        --no-apt) APT=0; shift ;;
        --no-systemctl) SYSTEMCTL=0; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
R=${ROOT%/}
PREFIX=$R/opt/doorcam
UNIT=$R/etc/systemd/system/doorcam.service
WEB_UNIT=$R/etc/systemd/system/doorcam-web.service
# The web app's certificate from the device's own CA, before each start of the web app.
CERT_UNIT=$R/etc/systemd/system/doorcam-web-cert.service
CERT_TIMER=$R/etc/systemd/system/doorcam-web-cert.timer
# Announces the web app on the LAN over mDNS (avahi-daemon).
AVAHI=$R/etc/avahi/services/doorcam.service
# Keeps the agency registry current once it was installed from a URL (see the units).
REFRESH_UNIT=$R/etc/systemd/system/doorcam-registry-refresh.service
REFRESH_TIMER=$R/etc/systemd/system/doorcam-registry-refresh.timer
# Bounds the wait for network time at boot (see the file).
WAIT_SYNC=$R/etc/systemd/system/systemd-time-wait-sync.service.d/doorcam.conf
CONF=$R/etc/doorcam/doorcam.toml
LINK=$R/usr/local/bin/doorcam

if [ "$UNINSTALL" = 1 ]; then
    [ "$SYSTEMCTL" = 1 ] && systemctl disable --now doorcam-registry-refresh.timer \
        doorcam-web-cert.timer \
        doorcam-web.service doorcam.service 2>/dev/null || true
    rm -f "$UNIT" "$WEB_UNIT" "$CERT_UNIT" "$CERT_TIMER" "$REFRESH_UNIT" "$REFRESH_TIMER" "$WAIT_SYNC" "$AVAHI"
    rmdir "$(dirname "$WAIT_SYNC")" 2>/dev/null || true
    [ -L "$LINK" ] && rm -f "$LINK"
    rm -rf "$PREFIX"
    [ "$SYSTEMCTL" = 1 ] && systemctl daemon-reload || true
    echo "doorcam removed; clips and keys are kept in $R/var/lib/doorcam, config in $R/etc/doorcam"
    exit 0
fi

if [ "$APT" = 1 ]; then
    apt-get update -q
    # picamera2 and libcamera come from Raspberry Pi OS; elsewhere they are skipped.
    # procps: the unit's ExecReload uses its kill. python3-gpiozero brings the pin library
    # the doorbell button needs on a Pi (lgpio), which pip cannot build there.
    # avahi-daemon: the device's name on the LAN (doorcam-xxxxxxxx.local) for the web app.
    pkgs=(python3 python3-venv python3-systemd mosquitto-clients procps avahi-daemon)
    apt-cache show python3-picamera2 >/dev/null 2>&1 && pkgs+=(python3-picamera2)
    apt-cache show python3-gpiozero >/dev/null 2>&1 && pkgs+=(python3-gpiozero)
    apt-get install -y -q "${pkgs[@]}"
fi

# The service user: no login, in `video` for the camera. The web app runs as its own user
# in the service's group: it reads the clips and records decisions, and cannot open the keys.
if [ "$ROOT" = / ]; then
    getent group video >/dev/null || groupadd --system video
    id doorcam >/dev/null 2>&1 || useradd --system --home /var/lib/doorcam \
        --shell /usr/sbin/nologin --groups video doorcam
    # Pi OS gives /dev/gpiochip* to group gpio: the doorbell button and chime relay.
    if getent group gpio >/dev/null; then usermod -aG gpio doorcam; fi
    id doorcam-web >/dev/null 2>&1 || useradd --system --gid doorcam \
        --home /var/lib/doorcam/web --shell /usr/sbin/nologin doorcam-web
else
    mkdir -p "$R/etc"
    touch "$R/etc/passwd" "$R/etc/group"
    grep -q '^video:' "$R/etc/group" || echo 'video:x:44:doorcam' >> "$R/etc/group"
    grep -q '^doorcam:' "$R/etc/group" || echo 'doorcam:x:996:' >> "$R/etc/group"
    grep -q '^doorcam:' "$R/etc/passwd" || \
        echo 'doorcam:x:996:996::/var/lib/doorcam:/usr/sbin/nologin' >> "$R/etc/passwd"
    grep -q '^doorcam-web:' "$R/etc/passwd" || \
        echo 'doorcam-web:x:995:996::/var/lib/doorcam/web:/usr/sbin/nologin' >> "$R/etc/passwd"
fi

# An application venv (system site packages: picamera2 and libcamera are apt-only).
mkdir -p "$PREFIX"
[ -x "$PREFIX/venv/bin/python" ] || python3 -m venv --system-site-packages "$PREFIX/venv"
"$PREFIX/venv/bin/python" -m pip install -q ${DOORCAM_PIP_ARGS:-} "$SRC"

mkdir -p "$(dirname "$CONF")" "$(dirname "$UNIT")"
if [ ! -e "$CONF" ]; then
    sed -e 's|^path = "~/.local/share/doorcam/store"|path = "/var/lib/doorcam"|' \
        "$SRC/config/doorcam.example.toml" > "$CONF"
    chmod 0640 "$CONF"
fi
install -m 0644 "$SRC/deploy/doorcam.service" "$UNIT"
install -m 0644 "$SRC/deploy/doorcam-web.service" "$WEB_UNIT"
install -m 0644 "$SRC/deploy/doorcam-web-cert.service" "$CERT_UNIT"
install -m 0644 "$SRC/deploy/doorcam-web-cert.timer" "$CERT_TIMER"
install -D -m 0644 "$SRC/deploy/avahi-doorcam.service" "$AVAHI"
install -m 0644 "$SRC/deploy/doorcam-registry-refresh.service" "$REFRESH_UNIT"
install -m 0644 "$SRC/deploy/doorcam-registry-refresh.timer" "$REFRESH_TIMER"
install -D -m 0644 "$SRC/deploy/time-wait-sync-doorcam.conf" "$WAIT_SYNC"
# `sudo doorcam requests list` for the owner (it acts as the service's user, see README).
mkdir -p "$(dirname "$LINK")"
ln -sfn /opt/doorcam/venv/bin/doorcam "$LINK"
# An existing store (an upgrade) is shared with the web app's user; keys stay the daemon's.
# The services stop first, so that nothing is written with the old units' umask meanwhile;
# `enable --now` below starts them again with the new code.
if [ "$ROOT" = / ]; then
    if [ "$SYSTEMCTL" = 1 ]; then
        systemctl stop doorcam-web.service doorcam.service 2>/dev/null || true
    fi
    sh "$SRC/deploy/share-store.sh" /var/lib/doorcam
    # The service reads its config through its group (0640), with or without --no-systemctl.
    chgrp doorcam "$CONF" || true
fi
if [ "$SYSTEMCTL" = 1 ]; then
    systemctl daemon-reload
    systemctl enable --now doorcam.service doorcam-web.service doorcam-registry-refresh.timer \
        doorcam-web-cert.timer
fi
echo "doorcam installed in $PREFIX; config $CONF; unit $UNIT"
