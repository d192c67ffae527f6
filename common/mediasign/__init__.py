"""ONVIF Media Signing for H.264, the parts both the signer and the verifier need: NAL
units, the SEI format, the GOP hash chain and a small MP4 sample reader. Standard library
only; the cryptography lives with the keys (signing) and the agency tools (verification)."""
