#!/bin/bash -e
# The first-boot config import: a unit that runs before doorcam.service when the boot
# partition holds a doorcam.toml.
install -D -m 0755 files/doorcam-firstboot "${ROOTFS_DIR}/usr/lib/doorcam/doorcam-firstboot"
install -D -m 0644 files/doorcam-firstboot.service \
    "${ROOTFS_DIR}/etc/systemd/system/doorcam-firstboot.service"
mkdir -p "${ROOTFS_DIR}/etc/systemd/system/multi-user.target.wants"
ln -sf ../doorcam-firstboot.service \
    "${ROOTFS_DIR}/etc/systemd/system/multi-user.target.wants/doorcam-firstboot.service"
# The host name avahi-daemon announces: the device's own (doorcam-xxxxxxxx.local).
install -D -m 0755 files/doorcam-hostname "${ROOTFS_DIR}/usr/lib/doorcam/doorcam-hostname"
install -D -m 0644 files/doorcam-hostname.service \
    "${ROOTFS_DIR}/etc/systemd/system/doorcam-hostname.service"
ln -sf ../doorcam-hostname.service \
    "${ROOTFS_DIR}/etc/systemd/system/multi-user.target.wants/doorcam-hostname.service"
