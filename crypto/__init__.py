"""Keys, signatures, hashes, sealed keys and Merkle trees. Pure: bytes in, bytes or bool out.

Nothing here touches files, the clock, the network or logging.
"""

from ._errors import BadKey as BadKey
from ._errors import BadSignature as BadSignature
from ._errors import CryptoError as CryptoError
from ._errors import KeyFileError as KeyFileError
from ._errors import MerkleError as MerkleError
from ._errors import WrongPassphrase as WrongPassphrase
from ._keys import HASH_SIZE as HASH_SIZE
from ._keys import PUBLIC_KEY_SIZE as PUBLIC_KEY_SIZE
from ._keys import SIGNATURE_SIZE as SIGNATURE_SIZE
from ._keys import PublicKey as PublicKey
from ._keys import SecretKey as SecretKey
from ._keys import sha256 as sha256
from ._keys import verify as verify
from ._merkle import EMPTY_ROOT as EMPTY_ROOT
from ._merkle import Frontier as Frontier
from ._merkle import Tree as Tree
from ._merkle import consistency_proof as consistency_proof
from ._merkle import inclusion_proof as inclusion_proof
from ._merkle import leaf_hash as leaf_hash
from ._merkle import node_hash as node_hash
from ._merkle import root as root
from ._merkle import verify_consistency as verify_consistency
from ._merkle import verify_inclusion as verify_inclusion
from ._seal import is_sealed as is_sealed
from ._seal import open_secret as open_secret
from ._seal import plain_secret as plain_secret
from ._seal import seal_secret as seal_secret

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "BadKey",
    "BadSignature",
    "CryptoError",
    "Frontier",
    "KeyFileError",
    "MerkleError",
    "PublicKey",
    "SecretKey",
    "Tree",
    "WrongPassphrase",
    "consistency_proof",
    "inclusion_proof",
    "is_sealed",
    "leaf_hash",
    "node_hash",
    "open_secret",
    "plain_secret",
    "root",
    "seal_secret",
    "sha256",
    "verify",
    "verify_consistency",
    "verify_inclusion",
]
