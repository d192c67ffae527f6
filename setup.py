"""doorcam: a doorbell camera that shares footage only with its owner's consent."""

from setuptools import find_packages, setup

PACKAGES = ["common", "config", "capture", "motion", "uplink", "device"]

setup(
    name="doorcam",
    version="0.1.0",
    description="Doorbell camera firmware and uploader daemon that respects its owner",
    python_requires=">=3.11",
    packages=find_packages(include=[f"{top}{sub}" for top in PACKAGES for sub in ("", ".*")]),
    package_data={"device.web": ["templates/*.html", "static/*"],
                  "device.web.push": ["static/*"]},
    install_requires=[
        "numpy>=1.24",
        # 4.x, not 5: the people detector uses OpenCV's HOG people detector and Haar
        # cascades, which OpenCV 5's wheels no longer ship (Debian trixie's python3-opencv
        # 4.10 + opencv-data has them).
        "opencv-python-headless>=4.8,<5",
        "av>=14",  # 14.2 is Debian trixie's python3-av
        "paho-mqtt>=2.1",
        "cryptography>=42",
        "requests>=2.31",
        # The owner's web app (device/web); all three are packaged by Debian trixie.
        "starlette>=0.40",
        "jinja2>=3.1",
        "uvicorn>=0.30",
        # Passkeys in the web app (device/web/passkeys/webauthn.py): Debian trixie packages
        # python3-fido2 1.1.x-1.2 (the passkey tests pass on 1.1.3, 1.2.0 and 2.2.1); 2.x is
        # what pip picks beside a newer cryptography.
        "fido2>=1.1.3,<3",
        # The doorbell button and chime relay (device/daemon/gpio.py); Debian and Pi OS
        # package it as python3-gpiozero.
        "gpiozero>=1.6",  # 1.6 is Bookworm's, 2.0 trixie's
        # Content Credentials (C2PA) on shared clips (uplink/protocol/credentials.py): the
        # Content Authenticity Initiative's own library; wheels for x86_64 and aarch64, any
        # Python 3. Debian does not package it: without it clips are shared without them.
        "c2pa-python>=0.38,<0.39",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            # `make unit` runs the suite on every core (Debian: python3-pytest-xdist).
            "pytest-xdist>=3.5",
            "hypothesis>=6.100",
            "ruff>=0.6",
            "mypy>=1.10",
            "import-linter>=2.17",
            "vulture>=2.10",  # dead code, high confidence only (make lint)
            "psutil>=5.9",
            "trustme>=1.1",
            "tuspyserver>=4.4",
            "selenium>=4.20",  # drives Debian's chromium + chromium-driver (never downloads)
            # A local S3-compatible server (moto.server, which needs flask and flask-cors)
            # for the tus Node server on object storage; boto3 comes with it and reads the
            # bucket back. Not moto[server], which adds every AWS service's dependencies.
            "moto[s3]>=5.1",
            "flask>=3",
            "flask-cors>=4",
            # Builds the small ONNX detectors the people stage's model tests load.
            "onnx>=1.16",
        ],
    },
    entry_points={"console_scripts": ["doorcam = device.cli:main"]},
)
