"""Small helpers every doorcam package may use (like `config`): durable files, digests, ids.

A leaf: it imports nothing from doorcam.
"""

from common.bounded import read_at_most
from common.digest import sha256_file, sha256_file_and_size
from common.durable import fsync_dir, write_atomic
from common.ids import CLIP_ID_PATTERN

__all__ = ["CLIP_ID_PATTERN", "fsync_dir", "read_at_most", "sha256_file",
           "sha256_file_and_size", "write_atomic"]
