"""Real, encrypted restic lock files, written the way restic writes them, to give a lock a past.

Only a lock's age cannot be produced by a real process in test time (restic takes the time
from the wall clock), nor can a long watch of it by the helper: `seen_since` gives the
helper's own record of a lock an earlier first sighting, a clock seam. Everything else in a
crafted lock (hostname, PID) comes from a real process, typically one that was SIGKILLed.
restic's format: the repository key is unlocked
with scrypt from the password; a file is IV (16) || AES-256-CTR(plaintext) || Poly1305-AES
MAC (16) over the ciphertext; its name is the SHA-256 of those bytes. Format 2 repositories
accept plain JSON as the plaintext of a lock.
"""

import base64
import functools
import hashlib
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

from helper.locks import observations


def _mac(mac_key: bytes, mac_r: bytes, nonce: bytes, ciphertext: bytes) -> bytes:
    # One AES block of the nonce: the "AES" in Poly1305-AES.
    encryptor = Cipher(algorithms.AES(mac_key), modes.ECB()).encryptor()
    one_time = mac_r + encryptor.update(nonce) + encryptor.finalize()
    return Poly1305.generate_tag(one_time, ciphertext)


def decrypt(keys: tuple[bytes, bytes, bytes], blob: bytes) -> bytes:
    encryption, mac_key, mac_r = keys
    nonce, ciphertext, tag = blob[:16], blob[16:-16], blob[-16:]
    assert _mac(mac_key, mac_r, nonce, ciphertext) == tag, "wrong key or corrupt file"
    decryptor = Cipher(algorithms.AES(encryption), modes.CTR(nonce)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


def encrypt(keys: tuple[bytes, bytes, bytes], plaintext: bytes) -> bytes:
    encryption, mac_key, mac_r = keys
    nonce = os.urandom(16)
    encryptor = Cipher(algorithms.AES(encryption), modes.CTR(nonce)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return nonce + ciphertext + _mac(mac_key, mac_r, nonce, ciphertext)


@functools.cache
def _master_key(key_file_text: str, password: str) -> tuple[bytes, bytes, bytes]:
    key = json.loads(key_file_text)
    derived = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(key["salt"]),
        n=key["N"],
        r=key["r"],
        p=key["p"],
        maxmem=512 * 1024 * 1024,
        dklen=64,
    )
    user_keys = (derived[:32], derived[32:48], derived[48:64])
    master = json.loads(decrypt(user_keys, base64.b64decode(key["data"])))
    mac = master["mac"]
    return base64.b64decode(master["encrypt"]), base64.b64decode(mac["k"]), base64.b64decode(mac["r"])


def master_key(repository: Path, password: str) -> tuple[bytes, bytes, bytes]:
    """Return the repository's master keys (encryption, MAC k, MAC r), unlocked with the password."""
    key_file = next(path for path in sorted((repository / "keys").iterdir()) if path.is_file())
    return _master_key(key_file.read_text(), password)


def lock_time(age_seconds: float) -> str:
    moment = datetime.fromtimestamp(datetime.now(UTC).timestamp() - age_seconds, UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def write_lock(repository: Path, password: str, document: dict) -> str:
    """Write one lock file holding `document`; return its id."""
    blob = encrypt(master_key(repository, password), json.dumps(document).encode())
    lock_id = hashlib.sha256(blob).hexdigest()
    path = repository / "locks" / lock_id
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(blob)
    path.chmod(0o400)
    return lock_id


def backdate(repository: Path, password: str, lock_id: str, document: dict, age_seconds: float) -> str:
    """Replace a real lock (whose `restic cat lock` JSON is `document`) by the same lock written
    `age_seconds` ago; return the new id."""
    new_id = write_lock(repository, password, {**document, "time": lock_time(age_seconds)})
    (repository / "locks" / lock_id).unlink()
    return new_id


def seen_since(environment: dict, lock_id: str, seconds_ago: float) -> None:
    """Make the helper's record in LOCK_DIR say it first saw `lock_id` `seconds_ago` by its own
    clock, as if it had watched the lock that long (the helper fills in the rest itself)."""
    Path(environment["LOCK_DIR"]).mkdir(parents=True, exist_ok=True)
    seen = observations.load(environment["LOCK_DIR"], environment["RESTIC_REPOSITORY"])
    first_seen = time.time() - seconds_ago
    seen.entries.setdefault(lock_id, {})["first_seen"] = first_seen
    seen.changed = True
    observations.save(seen)
    again = observations.load(environment["LOCK_DIR"], environment["RESTIC_REPOSITORY"])
    assert again.entries[lock_id]["first_seen"] <= first_seen, "the sighting was not written"
