#!/usr/bin/env bash
# Build dist/doorcam_VERSION_all.deb: the application in /usr/lib/doorcam, run by the
# system python3 with Debian's packages (see deploy/debian/control.in for the list).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
VERSION=$(python3 -c "import re;print(re.search(r'version=\"([^\"]+)\"', open('$SRC/setup.py').read())[1])")
OUT=${1:-$SRC/dist}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PKG=$WORK/doorcam
mkdir -p "$PKG/DEBIAN" "$PKG/usr/lib/doorcam" "$PKG/usr/bin" "$PKG/lib/systemd/system" \
    "$PKG/usr/share/doorcam" "$PKG/usr/share/doc/doorcam"
for top in common config capture motion uplink device; do
    # The code, and the web app's templates and static files.
    (cd "$SRC" && find "$top" -type f \( -name '*.py' -o -path '*/templates/*' \
        -o -path '*/static/*' \) -not -path '*/__pycache__/*' -print0 |
        xargs -0 -I{} install -D -m 0644 {} "$PKG/usr/lib/doorcam/{}")
done
cat > "$PKG/usr/bin/doorcam" <<'SH'
#!/bin/sh
exec python3 -c 'import sys; sys.path.insert(0, "/usr/lib/doorcam"); from device.cli import main; sys.exit(main(sys.argv[1:]))' "$@"
SH
chmod 0755 "$PKG/usr/bin/doorcam"
sed 's|^ExecStart=/opt/doorcam/venv/bin/doorcam|ExecStart=/usr/bin/doorcam|' \
    "$SRC/deploy/doorcam.service" > "$PKG/lib/systemd/system/doorcam.service"
# The web app on Debian's python3, with the application's folder on its path.
sed -e 's|^ExecStart=/opt/doorcam/venv/bin/python3|ExecStart=/usr/bin/python3|' \
    -e 's|^Environment=PYTHONDONTWRITEBYTECODE=1|&\nEnvironment=PYTHONPATH=/usr/lib/doorcam|' \
    "$SRC/deploy/doorcam-web.service" > "$PKG/lib/systemd/system/doorcam-web.service"
sed 's|^ExecStart=/opt/doorcam/venv/bin/doorcam|ExecStart=/usr/bin/doorcam|' \
    "$SRC/deploy/doorcam-registry-refresh.service" \
    > "$PKG/lib/systemd/system/doorcam-registry-refresh.service"
install -m 0644 "$SRC/deploy/doorcam-registry-refresh.timer" "$SRC/deploy/doorcam-web-cert.timer" \
    "$PKG/lib/systemd/system/"
sed 's|^ExecStart=/opt/doorcam/venv/bin/doorcam|ExecStart=/usr/bin/doorcam|' \
    "$SRC/deploy/doorcam-web-cert.service" > "$PKG/lib/systemd/system/doorcam-web-cert.service"
install -D -m 0644 "$SRC/deploy/avahi-doorcam.service" "$PKG/etc/avahi/services/doorcam.service"
install -m 0755 "$SRC/deploy/share-store.sh" "$PKG/usr/lib/doorcam/share-store.sh"
install -D -m 0644 "$SRC/deploy/time-wait-sync-doorcam.conf" \
    "$PKG/lib/systemd/system/systemd-time-wait-sync.service.d/doorcam.conf"
install -m 0644 "$SRC/config/doorcam.example.toml" "$PKG/usr/share/doorcam/"
install -m 0644 "$SRC/README.md" "$SRC/docs/protocol.md" "$PKG/usr/share/doc/doorcam/"
sed "s/@VERSION@/$VERSION/" "$SRC/deploy/debian/control.in" > "$PKG/DEBIAN/control"
install -m 0755 "$SRC/deploy/debian/postinst" "$SRC/deploy/debian/prerm" "$PKG/DEBIAN/"
echo /etc/avahi/services/doorcam.service > "$PKG/DEBIAN/conffiles"
mkdir -p "$OUT"
dpkg-deb --root-owner-group --build "$PKG" "$OUT/doorcam_${VERSION}_all.deb" >/dev/null
echo "$OUT/doorcam_${VERSION}_all.deb"
