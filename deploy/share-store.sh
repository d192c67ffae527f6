#!/bin/sh
# Share the device's store (/var/lib/doorcam) with the web app's own user, doorcam-web, in
# the group doorcam: folders 0770 and files group-readable and -writable, never others.
# The private keys (device, owner channel, media signing, the device CA) stay 0600 files of
# the daemon's user, so the web app cannot open them. The web app's own folder (accounts,
# sessions, push keys) becomes doorcam-web's. Run by install.sh and the package's postinst
# on every install and upgrade; files written by earlier versions (0600, the daemon's user)
# become usable by the web app this way. Idempotent.
set -eu
D="${1:-/var/lib/doorcam}"
[ -d "$D" ] || exit 0
chgrp doorcam "$D"
chmod 0770 "$D"
find "$D" -mindepth 1 -maxdepth 1 \( -name 'device_key*' -o -name 'device_ca.key' \
    -o -name web \) -prune -o -exec chgrp -R doorcam {} + -exec chmod -R g+rwX,o-rwx {} +
for key in "$D"/device_key.pem "$D"/device_key.x25519.pem "$D"/device_key.media.pem \
        "$D"/device_ca.key; do
    [ -e "$key" ] && chmod 0600 "$key"
done
if [ -d "$D/web" ]; then
    chown -R doorcam-web:doorcam "$D/web"
    chmod 0770 "$D/web"
    # The certificate's key issued for it by the CA step (the daemon's user) is read by it.
    [ -e "$D/web/key.pem" ] && chmod 0600 "$D/web/key.pem"
fi
exit 0
