"""Keys, signatures, hashes and sealed keys. Pure: bytes in, bytes or bool out.

Nothing here touches files, the clock, the network or logging.
"""

from ._errors import BadKey as BadKey
from ._errors import BadSignature as BadSignature
from ._errors import CryptoError as CryptoError
from ._errors import KeyFileError as KeyFileError
from ._errors import WrongPassphrase as WrongPassphrase
from ._keys import HASH_SIZE as HASH_SIZE
from ._keys import PUBLIC_KEY_SIZE as PUBLIC_KEY_SIZE
from ._keys import SIGNATURE_SIZE as SIGNATURE_SIZE
from ._keys import PublicKey as PublicKey
from ._keys import SecretKey as SecretKey
from ._keys import sha256 as sha256
from ._keys import verify as verify
from ._seal import is_sealed as is_sealed
from ._seal import open_secret as open_secret
from ._seal import plain_secret as plain_secret
from ._seal import seal_secret as seal_secret

__all__ = [
    "HASH_SIZE",
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "BadKey",
    "BadSignature",
    "CryptoError",
    "KeyFileError",
    "PublicKey",
    "SecretKey",
    "WrongPassphrase",
    "is_sealed",
    "open_secret",
    "plain_secret",
    "seal_secret",
    "sha256",
    "verify",
]
