#!/bin/bash -e
# doorcam as `make install` sets it up: /opt/doorcam/venv with the system's packages
# (picamera2 and libcamera are apt-only) plus the headless OpenCV wheel. Debian's
# python3-opencv (what the .deb depends on) pulls in Qt, VTK and GDAL: 1.2 GB on a Lite card.
# files/doorcam-src.tar.gz is the source tree (`git archive`, see ../../README.md).
install -m 0644 files/doorcam-src.tar.gz "${ROOTFS_DIR}/tmp/doorcam-src.tar.gz"
on_chroot << CHROOT
set -e
rm -rf /tmp/doorcam-src && mkdir -p /tmp/doorcam-src
tar -xzf /tmp/doorcam-src.tar.gz -C /tmp/doorcam-src
# No apt (00-packages has it all) and no systemctl (nothing runs in an image build).
bash /tmp/doorcam-src/deploy/install.sh --no-apt --no-systemctl
/opt/doorcam/venv/bin/python -c "import cv2, numpy, av, picamera2; print('opencv', cv2.__version__)"
chgrp doorcam /etc/doorcam/doorcam.toml
mkdir -p /etc/systemd/system/multi-user.target.wants
ln -sf /etc/systemd/system/doorcam.service /etc/systemd/system/multi-user.target.wants/
ln -sf /etc/systemd/system/doorcam-web.service /etc/systemd/system/multi-user.target.wants/
mkdir -p /etc/systemd/system/timers.target.wants
ln -sf /etc/systemd/system/doorcam-registry-refresh.timer /etc/systemd/system/timers.target.wants/
ln -sf /etc/systemd/system/doorcam-web-cert.timer /etc/systemd/system/timers.target.wants/
rm -rf /tmp/doorcam-src /tmp/doorcam-src.tar.gz
CHROOT
