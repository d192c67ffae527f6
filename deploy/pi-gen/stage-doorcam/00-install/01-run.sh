#!/bin/bash -e
# Install the doorcam package built by `make deb` (copied into files/ before the build).
deb=$(ls files/doorcam_*_all.deb | sort -V | tail -n 1)
install -m 0644 "$deb" "${ROOTFS_DIR}/tmp/doorcam.deb"
on_chroot << CHROOT
apt-get install -y /tmp/doorcam.deb
rm -f /tmp/doorcam.deb
CHROOT
