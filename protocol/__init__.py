"""The wire and data model of coopledger. Pure: no I/O, no clock, no trio or sqlite.

Canonical encoding (``encode``/``decode``), the entry envelope and its validation tiers,
entry kinds and their schemas, and the deterministic fold into a ``LedgerState``.
"""

from ._bundle import BUNDLE_MAGIC as BUNDLE_MAGIC
from ._bundle import RECORD_ENTRY as RECORD_ENTRY
from ._bundle import BundleDamage as BundleDamage
from ._bundle import BundleEnd as BundleEnd
from ._bundle import BundleParser as BundleParser
from ._bundle import BundleRecord as BundleRecord
from ._bundle import bundle_header as bundle_header
from ._bundle import bundle_record as bundle_record
from ._bundle import bundle_trailer as bundle_trailer
from ._codec import Value as Value
from ._codec import decode as decode
from ._codec import encode as encode
from ._decimal import DecimalFormatError as DecimalFormatError
from ._decimal import Quantity as Quantity
from ._entry import ENTRY_VERSION as ENTRY_VERSION
from ._entry import GENESIS_KIND as GENESIS_KIND
from ._entry import MAX_ENTRY_SIZE as MAX_ENTRY_SIZE
from ._entry import SIGNATURE_CONTEXT as SIGNATURE_CONTEXT
from ._entry import Entry as Entry
from ._entry import create_entry as create_entry
from ._entry import decode_entry as decode_entry
from ._entry import entry_id as entry_id
from ._entry import open_entry as open_entry
from ._entry import signature_ok as signature_ok
from ._entry import validate_chain as validate_chain
from ._entry import verify_signature as verify_signature
from ._errors import BadBody as BadBody
from ._errors import BadEncoding as BadEncoding
from ._errors import BadEnvelope as BadEnvelope
from ._errors import BadSignature as BadSignature
from ._errors import BrokenChain as BrokenChain
from ._errors import BundleError as BundleError
from ._errors import DamagedBundle as DamagedBundle
from ._errors import EntryTooLarge as EntryTooLarge
from ._errors import FloatNotAllowed as FloatNotAllowed
from ._errors import LedgerError as LedgerError
from ._errors import NonCanonicalEncoding as NonCanonicalEncoding
from ._errors import TrailingBytes as TrailingBytes
from ._errors import ValidationError as ValidationError
from ._errors import WrongType as WrongType
from ._fold import EntrySource as EntrySource
from ._fold import Folder as Folder
from ._fold import MemorySource as MemorySource
from ._fold import NeedsRebuild as NeedsRebuild
from ._fold import fold as fold
from ._fold import fold_source as fold_source
from ._kinds import ENERGY_FLOWS as ENERGY_FLOWS
from ._kinds import ENERGY_SOURCES as ENERGY_SOURCES
from ._kinds import GOODS_FLOWS as GOODS_FLOWS
from ._kinds import KNOWN_KINDS as KNOWN_KINDS
from ._kinds import LABOR_CATEGORIES as LABOR_CATEGORIES
from ._kinds import MATERIAL_DIRECTIONS as MATERIAL_DIRECTIONS
from ._kinds import is_known_kind as is_known_kind
from ._state import AuthorState as AuthorState
from ._state import ForkProof as ForkProof
from ._state import LedgerState as LedgerState
