#!/usr/bin/python3
"""Independent reference implementation of the SealedArchive format, versions 1 and 2.

Version 1 was written from Spec/FORMAT.md and Spec/KEYS.md only, version 2
from Spec/FORMAT-v2.md only ("V2 §n" in comments; no Swift source was read),
post-quantum (X-Wing) recipients from FORMAT-v2 §3.1, §3.1.1 and KEYS §2.1
only, so that disagreements between this tool and the Swift package point at
gaps in the specification or at bugs on either side. Section numbers in comments
("FORMAT §8 check 12", "KEYS §1") refer to those two documents. Where the spec
left a choice open, the reading taken here is recorded in SPEC-QUESTIONS.md
next to this file and marked "SPEC-QUESTION" in the code.

Only the Python standard library, PyNaCl (libsodium), for version 2 tar
payloads python3-zstandard (else the zstd command) and, for post-quantum keys,
ML-KEM-768 from kyber-py 1.2.0 (imported only when a post-quantum key is used)
are used. Run it with /usr/bin/python3 (Debian's python3-nacl,
python3-zstandard; kyber-py from pip).

Subcommands:
  open     -i IDENTITY_FILE [-i ...] [--signer sealsig1...]... [-o OUT]
           [--tar | --list | --only PATH... -C DIR] ARCHIVE
  verify   [--signer sealsig1...]... [-i IDENTITY_FILE ...] ARCHIVE
  vectors  DIR
  encode   -r age1...|age1pq1... [-r ...] [--allow-mixed-recipients]
           [--signing-key-file F] [--chunk-size-log2 N]
           [--created SECONDS] [--label TEXT] [--sequence N]
           [--previous-digest HEX] [--payload-kind 1|2] [--compression 0|1]
           [--format-version 1|2] [--group-size-log2 N] [--frames zstd|raw]
           -o OUT INPUT
  keygen   [--signing | --pq] -o FILE (helper: writes a new key file, KEYS §4)

A failure prints exactly one line "error: <class>: <message>" on stderr. For
archive problems <class> is one of the FORMAT §10 classes and the exit status
is 1. Problems outside the format (bad key strings, unreadable files) use the
classes "usage" and "io" (not in the spec, see SPEC-QUESTIONS.md), also exit
1; a malformed command line exits 2.
"""

import argparse
import bisect
import hashlib
import hmac
import io
import json
import math
import os
import struct
import sys
import tempfile
import time

import nacl.bindings as sodium
from nacl.exceptions import CryptoError

# ---------------------------------------------------------------------------
# Constants (FORMAT §3, §4, §5, §6)
# ---------------------------------------------------------------------------

MAGIC = b"SEALARC\x00"            # §4 offset 0
TRAILER_MAGIC = b"SEALEND\x00"    # §6
VERSION = 1                       # §4 offset 8

FIXED_HEADER_LEN = 26             # §4: bytes before the first stanza
STANZA_LEN = 88                   # §4.1: 8-byte key id + 80-byte sealed box
KEY_ID_LEN = 8
WRAPPED_KEY_LEN = 80              # seal(pk, 32-byte file key) = 32 + 48
MAC_LEN = 32
MIN_HEADER_LEN = FIXED_HEADER_LEN + STANZA_LEN + MAC_LEN   # 146, §4
MAX_HEADER_LEN = 8192             # §4
MIN_RECIPIENTS, MAX_RECIPIENTS = 1, 64
MIN_CHUNK_LOG2, MAX_CHUNK_LOG2 = 12, 24
DEFAULT_CHUNK_LOG2 = 20           # §9
PAYLOAD_KINDS = (1, 2)            # §4: 01 byte stream, 02 tar
COMPRESSIONS = (0, 1)             # §4: 00 none, 01 zstd

TAG_LEN = 16                      # Poly1305 tag
HASH_LEN = 32                     # record hash h_i
RECORD_OVERHEAD = TAG_LEN + HASH_LEN   # §5: a record is |p_i| + 48 bytes
TRAILER_UNSIGNED = 48             # §6: magic 8 + count 8 + digest 32
TRAILER_SIGNED = 112              # §6: ... + signature 64
SIGNATURE_LEN = 64

# §4.2 field tags
TAG_SIGNER, TAG_LABEL, TAG_SEQUENCE, TAG_PREVIOUS_DIGEST = 1, 2, 3, 4

# Domain strings (§3, §5, §6; KEYS §2, §3)
D_HEADER_MAC = b"SealedArchive/v1/header-mac"
D_PAYLOAD = b"SealedArchive/v1/payload"
D_RECIPIENT_ID = b"SealedArchive/v1/recipient-id"
D_SIGNER_ID = b"SealedArchive/v1/signer-id"
D_CHUNK = b"SealedArchive/v1/chunk"
D_DIGEST = b"SealedArchive/v1/digest"
D_SIGNATURE = b"SealedArchive/v1/signature"

# FORMAT §10
ERROR_CLASSES = (
    "header", "version", "limit", "truncated", "trailer", "no-identity",
    "damaged", "signature", "unsigned", "untrusted-signer",
)

# Key text encodings (KEYS §2, §2.1, §3). The "case" column is part of the
# HRP: a recipient is lower case "age", an identity upper case
# "AGE-SECRET-KEY-".
HRP_RECIPIENT = "age"
HRP_IDENTITY = "AGE-SECRET-KEY-"
HRP_PQ_RECIPIENT = "age1pq"             # KEYS §2.1: "age1pq1..."
HRP_PQ_IDENTITY = "AGE-SECRET-KEY-PQ-"  # KEYS §2.1: "AGE-SECRET-KEY-PQ-1..."
HRP_SIGNER = "sealsig"
HRP_SIGNING_KEY = "SEALED-SIGNING-KEY-"


class SealedError(Exception):
    """An archive failed a FORMAT §8 check; .cls is a FORMAT §10 class."""

    def __init__(self, cls, message):
        assert cls in ERROR_CLASSES, cls
        super().__init__(message)
        self.cls = cls
        self.message = message


class ToolError(Exception):
    """A problem outside the format (bad key text, file mode, I/O)."""

    def __init__(self, cls, message):
        super().__init__(message)
        self.cls = cls
        self.message = message


# ---------------------------------------------------------------------------
# Primitives (FORMAT §2)
# ---------------------------------------------------------------------------

def u8(x):
    return struct.pack("<B", x)


def u16(x):
    return struct.pack("<H", x)


def u32(x):
    return struct.pack("<I", x)


def u64(x):
    return struct.pack("<Q", x)


def H(*parts):
    """Unkeyed BLAKE2b-256 of the concatenation of parts (§2 H)."""
    h = hashlib.blake2b(digest_size=32)
    for p in parts:
        h.update(p)
    return h.digest()


def H_k(key, *parts):
    """BLAKE2b-256 keyed with a 32-byte key (§2 H_k); same as libsodium
    crypto_generichash with a key (checked in test_reference.py)."""
    h = hashlib.blake2b(digest_size=32, key=key)
    for p in parts:
        h.update(p)
    return h.digest()


def ct_equal(a, b):
    """§2: comparisons of MACs, hashes and digests SHOULD be constant-time."""
    return hmac.compare_digest(a, b)


def header_key_of(file_key):
    return H_k(file_key, D_HEADER_MAC)          # §3


def payload_key_of(file_key):
    return H_k(file_key, D_PAYLOAD)             # §3


def recipient_key_id(pk):
    return H(D_RECIPIENT_ID, pk)[:KEY_ID_LEN]   # §3, KEYS §2


def signer_key_id(pk):
    return H(D_SIGNER_ID, pk)[:KEY_ID_LEN]      # §3, KEYS §3


def chunk_nonce(i, last):
    """§5: 0x00 0x00 0x00 || BE64(i) || u8(last) — 12 bytes."""
    return b"\x00\x00\x00" + struct.pack(">Q", i) + u8(last)


def record_hash(i, last, c):
    """§5: h_i = H("SealedArchive/v1/chunk" || u64(i) || u8(last_i) || c_i)."""
    return H(D_CHUNK, u64(i), u8(last), c)


def signature_message(digest):
    return D_SIGNATURE + digest                 # §6: 58 bytes


# ---------------------------------------------------------------------------
# Bech32, BIP 173 (KEYS §1)
# ---------------------------------------------------------------------------

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_CONST = 1        # original Bech32, not Bech32m (KEYS §1)


def _bech32_polymod(values):
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= gen[i]
    return chk


def _bech32_hrp_expand(hrp):
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convertbits(data, frombits, tobits, pad):
    """BIP 173 reference convertbits. With pad=False it is strict: leftover
    bits must be fewer than `frombits` and all zero (KEYS §1 "padding bits
    that are not zero")."""
    acc = 0
    bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise ValueError("value out of range")
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits:
        raise ValueError("too many padding bits")
    elif (acc << (tobits - bits)) & maxv:
        raise ValueError("non-zero padding bits")
    return out


def bech32_encode(hrp, data5):
    """Encode; the output is upper case when hrp is upper case (as age does
    for AGE-SECRET-KEY-), otherwise lower case. The checksum is always
    computed over the lower-case form (BIP 173)."""
    lower_hrp = hrp.lower()
    values = _bech32_hrp_expand(lower_hrp) + list(data5)
    polymod = _bech32_polymod(values + [0] * 6) ^ BECH32_CONST
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    s = lower_hrp + "1" + "".join(BECH32_CHARSET[d] for d in list(data5) + checksum)
    return s.upper() if hrp.isupper() else s


def bech32_decode(s):
    """Strict BIP 173 decode. Returns (hrp as written, 5-bit data without the
    checksum). Raises ValueError with a reason. No 90-character limit (KEYS §1)."""
    if not s:
        raise ValueError("empty string")
    if any(ord(c) < 33 or ord(c) > 126 for c in s):
        raise ValueError("character outside the printable ASCII range")
    if s.lower() != s and s.upper() != s:
        raise ValueError("mixed case")
    pos = s.rfind("1")
    if pos < 1:
        raise ValueError("missing or empty human-readable part")
    if pos + 7 > len(s):
        raise ValueError("data part too short")
    hrp = s[:pos]
    lower = s.lower()
    data = []
    for c in lower[pos + 1:]:
        idx = BECH32_CHARSET.find(c)
        if idx < 0:
            raise ValueError("character %r outside the Bech32 alphabet" % c)
        data.append(idx)
    if _bech32_polymod(_bech32_hrp_expand(lower[:pos]) + data) != BECH32_CONST:
        raise ValueError("bad checksum")
    return hrp, data[:-6]


def decode_key(s, expected_hrp, length=32):
    """KEYS §1: reject mixed case, wrong HRP, bad checksum, characters outside
    the alphabet, non-zero padding, payload not exactly `length` bytes (32,
    or 1216 for a post-quantum recipient).
    SPEC-QUESTION (KEYS §1/§2): the HRP comparison is case-sensitive, so an
    all-upper-case "AGE1..." recipient or an all-lower-case identity is
    rejected as a wrong HRP (the tables fix the case)."""
    hrp, data = bech32_decode(s)
    if hrp != expected_hrp:
        raise ValueError("wrong human-readable part %r (expected %r)" % (hrp, expected_hrp))
    payload = bytes(_convertbits(data, 5, 8, False))
    if len(payload) != length:
        raise ValueError("payload is %d bytes, not %d" % (len(payload), length))
    return payload


def encode_key(hrp, key):
    assert len(key) == (XWING_PK_LEN if hrp == HRP_PQ_RECIPIENT else 32)
    return bech32_encode(hrp, _convertbits(key, 8, 5, True))


def parse_recipient(s):
    return decode_key(s, HRP_RECIPIENT)


def parse_identity(s):
    return decode_key(s, HRP_IDENTITY)


def parse_signer(s):
    return decode_key(s, HRP_SIGNER)


def parse_signing_key(s):
    return decode_key(s, HRP_SIGNING_KEY)


def identity_public(sk):
    """KEYS §2: the recipient of an identity is crypto_scalarmult_base(secret)."""
    return sodium.crypto_scalarmult_base(sk)


def mlkem_ek_is_canonical(pk):
    """KEYS §2.1 (FIPS 203 7.2): each of the 768 12-bit values packed
    little-endian, two per three bytes, in the first 1152 bytes is below
    q = 3329."""
    for i in range(0, 1152, 3):
        b0, b1, b2 = pk[i], pk[i + 1], pk[i + 2]
        if (b0 | (b1 & 0x0F) << 8) >= 3329 or (b1 >> 4 | b2 << 4) >= 3329:
            return False
    return True


def parse_pq_recipient(s):
    """KEYS §2.1: "age1pq1...", lower case, a 1216-byte X-Wing public key
    whose ML-KEM half passes FIPS 203's check (a decoder MUST reject it)."""
    pk = decode_key(s, HRP_PQ_RECIPIENT, XWING_PK_LEN)
    if not mlkem_ek_is_canonical(pk):
        raise ValueError("post-quantum recipient: its ML-KEM key has a coefficient out of range")
    return pk


def parse_pq_identity(s):
    """KEYS §2.1: "AGE-SECRET-KEY-PQ-1...", upper case, a 32-byte X-Wing seed."""
    return PQIdentity(decode_key(s, HRP_PQ_IDENTITY))


def parse_any_recipient(s):
    """An X25519 (32 bytes) or X-Wing (1216 bytes) public key, by the
    human-readable part (KEYS §2, §2.1). Bech32 splits at the last "1", so an
    "age1pq1..." string has HRP "age1pq" and no X25519 recipient has it."""
    hrp = bech32_decode(s)[0]
    if hrp == HRP_PQ_RECIPIENT:
        return parse_pq_recipient(s)
    return parse_recipient(s)


def parse_any_identity(s):
    """An identity line of either kind (KEYS §4): 32 bytes (X25519 secret) or
    a PQIdentity (X-Wing seed)."""
    hrp = bech32_decode(s)[0]
    if hrp == HRP_PQ_IDENTITY:
        return parse_pq_identity(s)
    return parse_identity(s)


def identity_string(ident):
    """The text of an identity of either kind (KEYS §2, §2.1)."""
    if isinstance(ident, PQIdentity):
        return encode_key(HRP_PQ_IDENTITY, ident.seed)
    return encode_key(HRP_IDENTITY, ident)


def recipient_string(pk):
    """The text of a recipient of either kind, told apart by length."""
    return encode_key(HRP_PQ_RECIPIENT if len(pk) == XWING_PK_LEN else HRP_RECIPIENT, pk)


# ---------------------------------------------------------------------------
# Post-quantum keys: X-Wing, draft-connolly-cfrg-xwing-kem-06 (KEYS §2.1)
# ---------------------------------------------------------------------------

XWING_SEED_LEN = 32
MLKEM_EK_LEN, MLKEM_CT_LEN = 1184, 1088     # ML-KEM-768 (FIPS 203)
XWING_PK_LEN = MLKEM_EK_LEN + 32            # pk = pk_M || pk_X: 1216
XWING_CT_LEN = MLKEM_CT_LEN + 32            # ct = ct_M || ct_X: 1120
XWING_LABEL = bytes([0x5C, 0x2E, 0x2F, 0x2F, 0x5E, 0x5C])   # XWingLabel, the ASCII of \.//^\
D2_PQ_RECIPIENT_ID = b"SealedArchive/v2/pq-recipient-id"     # KEYS §2.1


def _ml_kem_768():
    """ML-KEM-768 from kyber-py 1.2.0 (pure Python), imported on first use so
    that everything without post-quantum keys runs without it."""
    try:
        from kyber_py.ml_kem import ML_KEM_768
    except ImportError:
        raise ToolError("usage", "post-quantum keys need kyber-py 1.2.0: "
                        "/usr/bin/python3 -m pip install --break-system-packages kyber-py==1.2.0")
    return ML_KEM_768


def x25519(scalar, point):
    """RFC 7748 X25519(scalar, u). libsodium refuses exactly the inputs whose
    result is all zero (small-order u, top bit masked); RFC 7748, and X-Wing,
    which makes no such check, return those 32 zero bytes.
    V2 §3.1.1: in decapsulation an all-zero ss_X (a small-order ct_X) makes
    the stanza not open, so callers there check for it (xwing_decaps)."""
    try:
        return sodium.crypto_scalarmult(scalar, point)
    except RuntimeError:    # PyNaCl, on libsodium's -1
        return bytes(32)


def xwing_combiner(ss_M, ss_X, ct_X, pk_X):
    """KEYS §2.1: ss = SHA3-256(ss_M || ss_X || ct_X || pk_X || XWingLabel)."""
    return hashlib.sha3_256(ss_M + ss_X + ct_X + pk_X + XWING_LABEL).digest()


def xwing_expand(seed):
    """KEYS §2.1: (dk_M, sk_X, pk) from the 32-byte seed.
    expanded = SHAKE256(seed, 96); ML-KEM-768.KeyGen_internal(d, z) with
    d = expanded[0:32], z = expanded[32:64] (kyber-py's key_derive(d || z));
    sk_X = expanded[64:96]; pk_X = X25519(sk_X, 9); pk = pk_M || pk_X."""
    assert len(seed) == XWING_SEED_LEN
    expanded = hashlib.shake_256(seed).digest(96)
    pk_M, dk_M = _ml_kem_768().key_derive(expanded[0:64])
    sk_X = expanded[64:96]
    pk_X = sodium.crypto_scalarmult_base(sk_X)
    return dk_M, sk_X, pk_M + pk_X


def xwing_encaps(pk):
    """X-Wing Encaps(pk) -> (ss, ct), ct = ct_M || ct_X (1088 + 32 bytes).
    Raises ToolError for a key that cannot be used: an ML-KEM encapsulation
    key failing FIPS 203's modulus check, or a small-order pk_X, which
    libsodium refuses.
    SPEC-QUESTION (FORMAT §9 names X25519 keys only): such a key is refused
    as an X25519 key crypto_box_seal refuses is."""
    if len(pk) != XWING_PK_LEN:
        raise ToolError("usage", "an X-Wing public key is %d bytes, not %d" % (XWING_PK_LEN, len(pk)))
    pk_M, pk_X = pk[:MLKEM_EK_LEN], pk[MLKEM_EK_LEN:]
    try:
        ss_M, ct_M = _ml_kem_768().encaps(pk_M)
    except ValueError:
        raise ToolError("usage", "post-quantum recipient %s has an invalid ML-KEM key"
                        % pq_recipient_key_id(pk).hex())
    e = os.urandom(32)
    ct_X = sodium.crypto_scalarmult_base(e)
    try:
        ss_X = sodium.crypto_scalarmult(e, pk_X)
    except RuntimeError:
        raise ToolError("usage", "post-quantum recipient %s has a small-order X25519 key"
                        % pq_recipient_key_id(pk).hex())
    return xwing_combiner(ss_M, ss_X, ct_X, pk_X), ct_M + ct_X


def xwing_decaps(ident, ct):
    """X-Wing Decaps(seed, ct) -> ss. ML-KEM rejects implicitly: a ciphertext
    made for another key yields an unrelated ss, never an error."""
    ct_M, ct_X = ct[:MLKEM_CT_LEN], ct[MLKEM_CT_LEN:]
    ss_M = _ml_kem_768().decaps(ident.dk_M, ct_M)
    ss_X = x25519(ident.sk_X, ct_X)
    if ss_X == bytes(32):
        # V2 §3.1.1: a ct_X of small order (X25519 gives 32 zero bytes)
        # makes the stanza not open [damaged].
        raise ValueError("X-Wing ct_X of small order")
    return xwing_combiner(ss_M, ss_X, ct_X, ident.pk[MLKEM_EK_LEN:])


def pq_recipient_key_id(pk):
    """KEYS §2.1: first 8 bytes of H("SealedArchive/v2/pq-recipient-id" || pk)."""
    return H(D2_PQ_RECIPIENT_ID, pk)[:KEY_ID_LEN]


class PQIdentity:
    """A post-quantum identity (KEYS §2.1): the X-Wing seed and what it
    expands to. X25519 identities stay plain 32-byte strings."""

    def __init__(self, seed):
        self.seed = seed
        self.dk_M, self.sk_X, self.pk = xwing_expand(seed)
        self.key_id = pq_recipient_key_id(self.pk)

    def __eq__(self, other):
        return isinstance(other, PQIdentity) and ct_equal(self.seed, other.seed)

    def __hash__(self):
        return hash(self.key_id)

    def __repr__(self):                    # never the seed
        return "PQIdentity(key id %s)" % self.key_id.hex()


# ---------------------------------------------------------------------------
# Key files (KEYS §4)
# ---------------------------------------------------------------------------

def read_secret_file(path):
    """KEYS §4: refuse a secret file whose mode grants anything to group or
    others; '-' is standard input and has no mode."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        st = os.stat(path)
    except OSError as e:
        raise ToolError("io", "cannot read %s: %s" % (path, e.strerror))
    if st.st_mode & 0o077:
        raise ToolError("usage", "%s is readable by others (mode %03o); fix with: chmod 600 %s"
                        % (path, st.st_mode & 0o777, path))
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ToolError("io", "cannot read %s: %s" % (path, e.strerror))


def key_file_lines(data, name, strip_spaces):
    """KEYS §4 line rules. Returns [(line_number, text)] of the key lines.
    Lines end in LF, a CR before the LF is ignored, blank lines and lines
    starting with '#' are ignored. Identity / signing-key lines must have no
    surrounding spaces; recipients / signers files strip them.
    SPEC-QUESTION (KEYS §4): a last line without LF is accepted; a line made
    only of spaces is not "blank" in an identity file (it is rejected)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError("usage", "%s is not UTF-8 text" % name)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    for n, line in enumerate(lines, 1):
        if line.endswith("\r"):
            line = line[:-1]
        if strip_spaces:
            line = line.strip(" ")
        if line == "" or line.startswith("#"):
            continue
        out.append((n, line))
    return out


def load_identities(path):
    """An identity file (KEYS §4): at least one AGE-SECRET-KEY-1 or
    AGE-SECRET-KEY-PQ-1 line, the kinds may be mixed. Returns 32-byte X25519
    secrets and PQIdentity objects in file order."""
    lines = key_file_lines(read_secret_file(path), path, strip_spaces=False)
    if not lines:
        raise ToolError("usage", "%s holds no identity" % path)
    keys = []
    for n, line in lines:
        try:
            keys.append(parse_any_identity(line))
        except ValueError as e:
            # Never echo the line: it may be a secret key (KEYS §4).
            raise ToolError("usage", "%s line %d is not a valid identity: %s" % (path, n, e))
    return keys


def load_signing_key(path):
    """A signing-key file (KEYS §4): exactly one SEALED-SIGNING-KEY-1 line."""
    lines = key_file_lines(read_secret_file(path), path, strip_spaces=False)
    if len(lines) != 1:
        raise ToolError("usage", "%s must hold exactly one signing key, holds %d" % (path, len(lines)))
    n, line = lines[0]
    try:
        return parse_signing_key(line)
    except ValueError as e:
        raise ToolError("usage", "%s line %d is not a valid signing key: %s" % (path, n, e))


# ---------------------------------------------------------------------------
# Header (FORMAT §4) and checks 1-7 (FORMAT §8)
# ---------------------------------------------------------------------------

class Header:
    """A parsed header. `raw` is all header_length bytes, MAC included."""

    def __init__(self):
        self.raw = b""
        self.version = VERSION
        self.header_length = 0
        self.chunk_size_log2 = 0
        self.payload_kind = 0
        self.compression = 0
        self.created = 0
        self.stanzas = []          # [(key_id, wrapped_key)]
        self.signer = None         # 32-byte Ed25519 public key or None
        self.label = None          # str or None
        self.sequence = None       # int or None
        self.previous_digest = None
        self.mac = b""

    @property
    def chunk_size(self):      # C, §5
        return 1 << self.chunk_size_log2

    @property
    def record_size(self):     # F = C + 48, §7
        return self.chunk_size + RECORD_OVERHEAD

    @property
    def trailer_size(self):    # T, §6/§7: known from the header
        return TRAILER_SIGNED if self.signer is not None else TRAILER_UNSIGNED


def read_up_to(f, n):
    """Read up to n bytes, fewer only at end of input (handles short reads)."""
    parts = []
    got = 0
    while got < n:
        b = f.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def valid_label(value):
    """§4.2: 1 to 255 bytes of UTF-8 with no byte below 0x20 and no 0x7F.
    SPEC-QUESTION: C1 controls (U+0080..U+009F) are allowed, following the
    parenthetical byte rule literally."""
    if not 1 <= len(value) <= 255:
        return False
    if any(b < 0x20 or b == 0x7F for b in value):
        return False
    try:
        value.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def parse_header_body(h):
    """Checks 5, 6 and 7 of FORMAT §8 on a complete header h (bytes of length
    header_length, which checks 1-4 have established). Returns a Header."""
    hdr = Header()
    hdr.raw = h
    hdr.version = h[8]
    hdr.header_length = struct.unpack_from("<I", h, 9)[0]
    hdr.chunk_size_log2 = h[13]
    hdr.payload_kind = h[14]
    hdr.compression = h[15]
    hdr.created = struct.unpack_from("<Q", h, 16)[0]
    rc = struct.unpack_from("<H", h, 24)[0]
    hdr.mac = h[-MAC_LEN:]

    # Check 5: recipient_count is from 1 to 64 [limit].
    if not MIN_RECIPIENTS <= rc <= MAX_RECIPIENTS:
        raise SealedError("limit", "recipient_count %d is not from 1 to 64" % rc)

    # Check 6: chunk_size_log2, payload_kind, compression [header].
    if not MIN_CHUNK_LOG2 <= hdr.chunk_size_log2 <= MAX_CHUNK_LOG2:
        raise SealedError("header", "chunk_size_log2 %d is not from 12 to 24" % hdr.chunk_size_log2)
    if hdr.payload_kind not in PAYLOAD_KINDS:
        raise SealedError("header", "payload_kind %d is not 1 or 2" % hdr.payload_kind)
    if hdr.compression not in COMPRESSIONS:
        raise SealedError("header", "compression %d is not 0 or 1" % hdr.compression)
    if hdr.payload_kind == 1 and hdr.compression != 0:
        raise SealedError("header", "a byte payload (kind 1) must have compression 0")

    # Check 7: stanzas fit, key ids distinct, fields parse and end exactly at
    # header_length - 32 [header].
    fields_end = len(h) - MAC_LEN
    stanzas_end = FIXED_HEADER_LEN + STANZA_LEN * rc
    if stanzas_end > fields_end:
        raise SealedError("header", "%d stanzas do not fit in a %d-byte header" % (rc, len(h)))
    seen = set()
    for k in range(rc):
        off = FIXED_HEADER_LEN + STANZA_LEN * k
        key_id = h[off:off + KEY_ID_LEN]
        if key_id in seen:
            raise SealedError("header", "stanza %d repeats key id %s" % (k, key_id.hex()))
        seen.add(key_id)
        hdr.stanzas.append((key_id, h[off + KEY_ID_LEN:off + STANZA_LEN]))

    _parse_fields(h, stanzas_end, fields_end, hdr, valid_label)
    return hdr


def read_header(f):
    """FORMAT §8 checks 1-7, reading exactly header_length bytes from f."""
    start = read_up_to(f, 13)
    # Check 1: at least 13 bytes and the magic [header].
    if start[:8] != MAGIC[:len(start)]:
        raise SealedError("header", "not a SealedArchive (bad magic)")
    if len(start) < 13:
        raise SealedError("header", "input is only %d bytes, shorter than 13" % len(start))
    # Check 2: version is 1 [version].
    if start[8] != VERSION:
        raise SealedError("version", "version %d is not supported (only 1)" % start[8])
    # Check 3: 146 <= header_length <= 8192 [limit].
    header_length = struct.unpack_from("<I", start, 9)[0]
    if not MIN_HEADER_LEN <= header_length <= MAX_HEADER_LEN:
        raise SealedError("limit", "header_length %d is not from 146 to 8192" % header_length)
    # Check 4: the input holds header_length bytes [truncated].
    rest = read_up_to(f, header_length - 13)
    if len(rest) < header_length - 13:
        raise SealedError("truncated", "input ends inside the header (%d of %d bytes)"
                          % (13 + len(rest), header_length))
    return parse_header_body(start + rest)


# ---------------------------------------------------------------------------
# Decoding (FORMAT §7, §8)
# ---------------------------------------------------------------------------

class Result:
    def __init__(self, header, chunk_count, digest, plaintext_length):
        self.header = header
        self.chunk_count = chunk_count
        self.digest = digest
        self.plaintext_length = plaintext_length


def unlock(hdr, identities):
    """FORMAT §8 checks 9-11. Returns the payload key.
    SPEC-QUESTION (check 9): identities are tried in the order given; the
    first one whose key id has a stanza is used, and a failure of check 10 or
    11 with it is final (no fall-back to a later identity that also has a
    stanza).
    SPEC-QUESTION (FORMAT-v2 §7 check 10 for version 1): version 1 stanzas
    are X25519 ones, so a post-quantum identity matches none and is passed
    over."""
    stanzas = dict(hdr.stanzas)
    for sk in identities:
        if isinstance(sk, PQIdentity):
            continue
        pk = identity_public(sk)
        wrapped = stanzas.get(recipient_key_id(pk))
        if wrapped is None:
            continue
        # Check 10: open the wrapped key [damaged].
        try:
            file_key = sodium.crypto_box_seal_open(wrapped, pk, sk)
        except CryptoError:
            raise SealedError("damaged", "the stanza for %s does not open" % recipient_key_id(pk).hex())
        # Check 11: header MAC [damaged].
        mac = H_k(header_key_of(file_key), hdr.raw[:-MAC_LEN])
        if not ct_equal(mac, hdr.mac):
            raise SealedError("damaged", "header MAC does not match")
        return payload_key_of(file_key)
    raise SealedError("no-identity", "none of the %d identities is a recipient" % len(identities))


def decode(f, identities=None, signers=(), sink=None):
    """Run the FORMAT §8 procedure on the binary stream f.

    identities: None for the keyless procedure (checks 1-8, 12-17, no AEAD);
      otherwise a list of 32-byte X25519 secret keys (may be empty, which then
      fails check 9 with no-identity).
    signers: 32-byte Ed25519 public keys the caller requires (check 8); empty
      means no requirement.
    sink: called with each chunk's plaintext as soon as it is opened (§8 allows
      releasing it; the caller must not treat it as complete unless decode
      returns).

    Memory: at most F + T + 1 bytes of lookahead plus one record (§7)."""
    hdr = read_header(f)                       # checks 1-7

    # Check 8: required signers.
    if signers:
        if hdr.signer is None:
            raise SealedError("unsigned", "a signer is required and the archive is not signed")
        if not any(ct_equal(hdr.signer, s) for s in signers):
            raise SealedError("untrusted-signer", "signed by %s, which is not trusted"
                              % encode_key(HRP_SIGNER, hdr.signer))

    payload_key = None
    if identities is not None:                 # checks 9-11
        payload_key = unlock(hdr, identities)

    F = hdr.record_size
    T = hdr.trailer_size
    digest = hashlib.blake2b(digest_size=32)   # §6 digest, fed incrementally
    digest.update(D_DIGEST)
    digest.update(hdr.raw)
    plaintext_length = 0

    def check_record(rec, i, last):
        nonlocal plaintext_length
        c, h = rec[:-HASH_LEN], rec[-HASH_LEN:]
        if not ct_equal(record_hash(i, last, c), h):
            raise SealedError("damaged", "record %d: hash does not match" % i)
        if payload_key is not None:
            try:
                p = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(c, None, chunk_nonce(i, last), payload_key)
            except CryptoError:
                raise SealedError("damaged", "record %d: does not decrypt" % i)
            plaintext_length += len(p)
            if sink is not None:
                sink(p)
        digest.update(h)

    # Check 12: while more than F + T bytes remain, the next F bytes are a
    # full, not-last record. We keep F + T + 1 bytes of lookahead (§7).
    buf = bytearray(read_up_to(f, F + T + 1))
    i = 0
    while len(buf) > F + T:
        rec = bytes(buf[:F])
        del buf[:F]
        check_record(rec, i, 0)
        i += 1
        buf += read_up_to(f, F + T + 1 - len(buf))

    # Check 13: the tail (at most F + T bytes) is long enough and ends in a
    # trailer. If not: bytes appended after a trailer [trailer] when a
    # trailer with chunk_count i + 1 starts in the tail after a minimal last
    # record and is followed by more bytes; otherwise the input was cut
    # short [truncated].
    tail = bytes(buf)
    min_record = 49 if i > 0 else 48
    if len(tail) < T + min_record or tail[-T:][:8] != TRAILER_MAGIC:
        for k in range(min_record, len(tail) - T):
            if tail[k:k + 8] == TRAILER_MAGIC and struct.unpack_from("<Q", tail, k + 8)[0] == i + 1:
                raise SealedError("trailer", "%d bytes follow the trailer" % (len(tail) - k - T))
        raise SealedError("truncated", "input is cut short: it ends %d bytes after the last full record, without a trailer"
                          % len(tail))
    trailer = tail[-T:]

    # Check 14: the last record, index i, last = 1 [damaged].
    check_record(tail[:-T], i, 1)

    # Check 15: chunk_count [damaged].
    chunk_count = struct.unpack_from("<Q", trailer, 8)[0]
    if chunk_count != i + 1:
        raise SealedError("damaged", "trailer says %d chunks, archive has %d" % (chunk_count, i + 1))

    # Check 16: digest [damaged].
    digest.update(u64(i + 1))
    d = digest.digest()
    if not ct_equal(d, trailer[16:48]):
        raise SealedError("damaged", "digest does not match")

    # Check 17: signature under the header's signer key [signature].
    if hdr.signer is not None:
        sig = trailer[48:112]
        try:
            sodium.crypto_sign_open(sig + signature_message(d), hdr.signer)
        except Exception:   # BadSignatureError, or ValueError on odd keys
            raise SealedError("signature", "signature does not verify under %s" % encode_key(HRP_SIGNER, hdr.signer))

    return Result(hdr, i + 1, d, plaintext_length)


# ---------------------------------------------------------------------------
# Encoding (FORMAT §4-§6, §9)
# ---------------------------------------------------------------------------

def make_stanza(pk, file_key):
    """§4.1: key_id || seal(pk, file_key)."""
    try:
        wrapped = sodium.crypto_box_seal(file_key, pk)
    except RuntimeError:
        # libsodium refuses low-order X25519 keys (all-zero shared secret).
        # SPEC-QUESTION: the spec does not say what an encoder does here.
        raise ToolError("usage", "recipient %s is not a usable X25519 key" % encode_key(HRP_RECIPIENT, pk))
    return recipient_key_id(pk) + wrapped


def encode_fields(signer=None, label=None, sequence=None, previous_digest=None):
    """§4.2 fields in increasing tag order. label is str or bytes."""
    out = b""
    if signer is not None:
        out += u8(TAG_SIGNER) + u16(len(signer)) + signer
    if label is not None:
        lb = label.encode("utf-8") if isinstance(label, str) else label
        out += u8(TAG_LABEL) + u16(len(lb)) + lb
    if sequence is not None:
        out += u8(TAG_SEQUENCE) + u16(8) + u64(sequence)
    if previous_digest is not None:
        out += u8(TAG_PREVIOUS_DIGEST) + u16(len(previous_digest)) + previous_digest
    return out


def build_header(file_key, stanzas, fields=b"", chunk_size_log2=DEFAULT_CHUNK_LOG2,
                 payload_kind=1, compression=0, created=0, *, version=VERSION,
                 recipient_count=None, header_length=None, magic=MAGIC):
    """Assemble a header and its MAC (§4). The keyword-only overrides exist so
    tests can build malformed headers that still carry a correct MAC."""
    if header_length is None:
        header_length = FIXED_HEADER_LEN + STANZA_LEN * len(stanzas) + len(fields) + MAC_LEN
    if recipient_count is None:
        recipient_count = len(stanzas)
    body = (magic + u8(version) + u32(header_length) + u8(chunk_size_log2) + u8(payload_kind)
            + u8(compression) + u64(created) + u16(recipient_count) + b"".join(stanzas) + fields)
    return body + H_k(header_key_of(file_key), body)


def iter_chunks(f, chunk_size):
    """§5: yield (index, chunk, last). n = max(1, ceil(L / C)); a plaintext
    that is a multiple of C has no empty last chunk; an empty plaintext is one
    empty chunk. One chunk of lookahead decides which chunk is last."""
    cur = read_up_to(f, chunk_size)
    i = 0
    while True:
        nxt = read_up_to(f, chunk_size) if len(cur) == chunk_size else b""
        last = not nxt
        yield i, cur, last
        if last:
            return
        cur = nxt
        i += 1


def write_body(out, header, file_key, chunks, signing_seed=None):
    """Write header, records and trailer (§5, §6). `chunks` yields
    (index, plaintext, last). Returns (chunk_count, digest)."""
    payload_key = payload_key_of(file_key)
    digest = hashlib.blake2b(digest_size=32)
    digest.update(D_DIGEST)
    digest.update(header)
    out.write(header)
    n = 0
    for i, p, last in chunks:
        c = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(p, None, chunk_nonce(i, int(last)), payload_key)
        h = record_hash(i, int(last), c)
        out.write(c + h)
        digest.update(h)
        n = i + 1
    digest.update(u64(n))
    d = digest.digest()
    trailer = TRAILER_MAGIC + u64(n) + d
    if signing_seed is not None:
        _, sk = sodium.crypto_sign_seed_keypair(signing_seed)
        trailer += sodium.crypto_sign(signature_message(d), sk)[:SIGNATURE_LEN]
    out.write(trailer)
    return n, d


def encode(inp, out, recipients, signing_seed=None, chunk_size_log2=DEFAULT_CHUNK_LOG2,
           created=None, payload_kind=1, compression=0, label=None, sequence=None,
           previous_digest=None, file_key=None):
    """Encrypt stream inp to stream out following §9. recipients are 32-byte
    X25519 public keys. Returns (chunk_count, digest)."""
    if any(len(pk) == XWING_PK_LEN for pk in recipients):
        # FORMAT-v2 §3.1: version 1 headers hold type 01 stanzas only.
        raise ToolError("usage", "a post-quantum recipient needs format version 2")
    if not MIN_RECIPIENTS <= len(recipients) <= MAX_RECIPIENTS:
        raise ToolError("usage", "need 1 to 64 recipients, got %d" % len(recipients))
    if len(set(recipients)) != len(recipients):
        raise ToolError("usage", "a recipient is given twice")          # §9 distinct keys
    if len({recipient_key_id(pk) for pk in recipients}) != len(recipients):
        raise ToolError("usage", "two recipients share a key id")       # §4.1
    if not MIN_CHUNK_LOG2 <= chunk_size_log2 <= MAX_CHUNK_LOG2:
        raise ToolError("usage", "chunk size log2 must be from 12 to 24")
    if payload_kind not in PAYLOAD_KINDS or compression not in COMPRESSIONS or (payload_kind == 1 and compression != 0):
        raise ToolError("usage", "bad payload kind or compression (a byte payload is stored uncompressed)")
    if label is not None and not valid_label(label.encode("utf-8")):
        raise ToolError("usage", "label must be 1-255 bytes of UTF-8 without control characters")
    if sequence is not None and not 0 <= sequence < 1 << 64:
        raise ToolError("usage", "sequence must fit in 64 bits")
    if previous_digest is not None and len(previous_digest) != 32:
        raise ToolError("usage", "previous digest must be 32 bytes")
    if created is None:
        created = int(time.time())
    if not 0 <= created < 1 << 64:
        raise ToolError("usage", "created must fit in an unsigned 64-bit number")
    if file_key is None:
        file_key = os.urandom(32)        # §9: fresh key from a CSPRNG
    signer = sodium.crypto_sign_seed_keypair(signing_seed)[0] if signing_seed is not None else None
    fields = encode_fields(signer, label, sequence, previous_digest)
    stanzas = [make_stanza(pk, file_key) for pk in recipients]
    header = build_header(file_key, stanzas, fields, chunk_size_log2, payload_kind, compression, created)
    if len(header) > MAX_HEADER_LEN:
        raise ToolError("usage", "header would exceed 8192 bytes")
    return write_body(out, header, file_key, iter_chunks(inp, 1 << chunk_size_log2), signing_seed)


# ---------------------------------------------------------------------------
# Version 2 (Spec/FORMAT-v2.md; "V2 §n" below). Written from that document
# alone. Conventions, H, H_k, AEAD, seal, key ids and classes are version 1's.
# ---------------------------------------------------------------------------

VERSION2 = 2
V2_FIXED_HEADER_LEN = 27          # V2 §3: bytes before the first stanza
V2_MIN_HEADER_LEN = 70            # V2 §3 / check 3: one 8-byte stanza of an unknown type
V2_MAX_HEADER_LEN = 65536
V2_MIN_STANZAS, V2_MAX_STANZAS = 1, 64
STANZA_TYPE_X25519 = 1            # V2 §3.1
X25519_BODY_LEN = 88              # key_id (8) || seal(pk, file_key) (80)
STANZA_TYPE_XWING = 2             # V2 §3.1, §3.1.1
XWING_WRAPPED_LEN = 48            # AEAD of the 32-byte file key
XWING_BODY_LEN = KEY_ID_LEN + XWING_CT_LEN + XWING_WRAPPED_LEN   # 1176
KNOWN_STANZA_BODY = {STANZA_TYPE_X25519: X25519_BODY_LEN, STANZA_TYPE_XWING: XWING_BODY_LEN}
STANZA_MIN_BODY = 8               # every body starts with a key_id
V2_RECORD_OVERHEAD = TAG_LEN      # V2 §5: record_i = c_i, F = C + 16
SEGMENT_ENTRY_LEN = 32
HEADER_SIGNATURE_LEN = 64         # V2 §3.3
MAX_GROUP_LOG2_SUM = 30           # V2 §3: group_size_log2 <= 30 - chunk_size_log2

D2_HEADER_MAC = b"SealedArchive/v2/header-mac"
D2_PAYLOAD = b"SealedArchive/v2/payload"
D2_CHUNK = b"SealedArchive/v2/chunk"
D2_SEGMENT = b"SealedArchive/v2/segment"
D2_DIGEST = b"SealedArchive/v2/digest"
D2_SIGNATURE = b"SealedArchive/v2/signature"
D2_HEADER_SIGNATURE = b"SealedArchive/v2/header-signature"
D2_XWING_WRAP = b"SealedArchive/v2/xwing-wrap"                # V2 §3.1.1

# V2 §3.2: code points a version 2 label must not hold.
_LABEL_FORBIDDEN = ([(0x00, 0x1F), (0x7F, 0x9F), (0x061C, 0x061C), (0x200E, 0x200F), (0x202A, 0x202E),
                     (0x2066, 0x2069), (0x206A, 0x206F), (0x2028, 0x2029)])


def header_key_v2(file_key):
    return H_k(file_key, D2_HEADER_MAC)         # V2 §3


def payload_key_v2(file_key):
    return H_k(file_key, D2_PAYLOAD)            # V2 §3


def record_hash_v2(i, last, c):
    """V2 §5: h_i = H("SealedArchive/v2/chunk" || u64(i) || u8(last_i) || c_i)."""
    return H(D2_CHUNK, u64(i), u8(last), c)


def segment_hash(j, segment):
    """V2 §2: r_j = H("SealedArchive/v2/segment" || u64(j) || segment_j)."""
    return H(D2_SEGMENT, u64(j), segment)


def valid_label_v2(value):
    """V2 §3.2: 1 to 255 bytes of strict UTF-8 without the listed code points."""
    if not 1 <= len(value) <= 255:
        return False
    try:
        text = value.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    for ch in text:
        cp = ord(ch)
        if any(lo <= cp <= hi for lo, hi in _LABEL_FORBIDDEN):
            return False
    return True


class HeaderV2:
    """A parsed version 2 header (V2 §3). `raw` is all header_length bytes."""

    def __init__(self):
        self.raw = b""
        self.version = VERSION2
        self.header_length = 0
        self.chunk_size_log2 = 0
        self.group_size_log2 = 0
        self.payload_kind = 0
        self.compression = 0
        self.created = 0
        self.stanzas = []          # [(type, body)] in header order, unknown types included
        self.signer = None
        self.label = None
        self.sequence = None
        self.previous_digest = None
        self.mac = b""
        self.header_signature = b""   # V2 §3.3; empty when unsigned

    @property
    def chunk_size(self):
        return 1 << self.chunk_size_log2

    @property
    def record_size(self):             # V2 §5: F = C + 16
        return self.chunk_size + V2_RECORD_OVERHEAD

    @property
    def group_size(self):              # V2 §2: G
        return 1 << self.group_size_log2

    @property
    def trailer_size(self):            # V2 §6: version 1's T
        return TRAILER_SIGNED if self.signer is not None else TRAILER_UNSIGNED

    @property
    def start(self):                   # V2 §3.3: S
        return self.header_length + (HEADER_SIGNATURE_LEN if self.signer is not None else 0)

    def x25519_stanzas(self):
        return {body[:KEY_ID_LEN]: body[KEY_ID_LEN:] for t, body in self.stanzas if t == STANZA_TYPE_X25519}

    def xwing_stanzas(self):
        return {body[:KEY_ID_LEN]: body[KEY_ID_LEN:] for t, body in self.stanzas if t == STANZA_TYPE_XWING}


def _parse_fields(h, pos, fields_end, hdr, label_ok):
    """FORMAT §4.2 fields (shared reading with version 1's check 7), with the
    label rule given by label_ok (V2 §3.2 for version 2)."""
    last_tag = 0
    while pos < fields_end:
        if fields_end - pos < 3:
            raise SealedError("header", "field at offset %d is cut by the MAC" % pos)
        tag = h[pos]
        length = struct.unpack_from("<H", h, pos + 1)[0]
        value = h[pos + 3:pos + 3 + length]
        if pos + 3 + length > fields_end:
            raise SealedError("header", "field %d runs past the end of the fields" % tag)
        if tag <= last_tag:
            raise SealedError("header", "field tags are not strictly increasing (%d after %d)" % (tag, last_tag))
        last_tag = tag
        if tag == TAG_SIGNER:
            if length != 32:
                raise SealedError("header", "signer field is %d bytes, not 32" % length)
            hdr.signer = value
        elif tag == TAG_LABEL:
            if not label_ok(value):
                raise SealedError("header", "label is not 1-255 bytes of UTF-8 without forbidden characters")
            hdr.label = value.decode("utf-8")
        elif tag == TAG_SEQUENCE:
            if length != 8:
                raise SealedError("header", "sequence field is %d bytes, not 8" % length)
            hdr.sequence = struct.unpack("<Q", value)[0]
        elif tag == TAG_PREVIOUS_DIGEST:
            if length != 32:
                raise SealedError("header", "previous_digest field is %d bytes, not 32" % length)
            hdr.previous_digest = value
        else:
            raise SealedError("header", "unknown field tag %d" % tag)
        pos += 3 + length


def parse_header_v2_body(h):
    """V2 §7 checks 5, 6 and 7 on a complete header (checks 1-4 passed)."""
    hdr = HeaderV2()
    hdr.raw = h
    hdr.header_length = struct.unpack_from("<I", h, 9)[0]
    hdr.chunk_size_log2 = h[13]
    hdr.payload_kind = h[14]
    hdr.compression = h[15]
    hdr.created = struct.unpack_from("<Q", h, 16)[0]
    hdr.group_size_log2 = h[24]
    count = struct.unpack_from("<H", h, 25)[0]
    hdr.mac = h[-MAC_LEN:]
    # Check 5 [limit].
    if not V2_MIN_STANZAS <= count <= V2_MAX_STANZAS:
        raise SealedError("limit", "stanza_count %d is not from 1 to 64" % count)
    # Check 6 [header].
    if not MIN_CHUNK_LOG2 <= hdr.chunk_size_log2 <= MAX_CHUNK_LOG2:
        raise SealedError("header", "chunk_size_log2 %d is not from 12 to 24" % hdr.chunk_size_log2)
    if not 1 <= hdr.group_size_log2 <= MAX_GROUP_LOG2_SUM - hdr.chunk_size_log2:
        raise SealedError("header", "group_size_log2 %d is not from 1 to %d"
                          % (hdr.group_size_log2, MAX_GROUP_LOG2_SUM - hdr.chunk_size_log2))
    if hdr.payload_kind not in PAYLOAD_KINDS:
        raise SealedError("header", "payload_kind %d is not 1 or 2" % hdr.payload_kind)
    if hdr.compression != {1: 0, 2: 1}[hdr.payload_kind]:
        raise SealedError("header", "compression %d does not go with payload_kind %d"
                          % (hdr.compression, hdr.payload_kind))
    # Check 7 [header]: typed stanzas (V2 §3.1), then fields, ending exactly
    # at header_length - 32.
    fields_end = len(h) - MAC_LEN
    pos = V2_FIXED_HEADER_LEN
    seen = set()
    for k in range(count):
        if pos + 3 > fields_end:
            raise SealedError("header", "stanza %d does not fit in the header" % k)
        stype = h[pos]
        blen = struct.unpack_from("<H", h, pos + 1)[0]
        if pos + 3 + blen > fields_end:
            raise SealedError("header", "stanza %d body runs past the end of the fields" % k)
        if blen < STANZA_MIN_BODY:
            raise SealedError("header", "stanza %d body is %d bytes, shorter than a key id" % (k, blen))
        body = h[pos + 3:pos + 3 + blen]
        if stype in KNOWN_STANZA_BODY:
            # A known type (01 X25519, 02 X-Wing) with another body_length.
            if blen != KNOWN_STANZA_BODY[stype]:
                raise SealedError("header", "type %02x stanza %d body is %d bytes, not %d"
                                  % (stype, k, blen, KNOWN_STANZA_BODY[stype]))
            # "No two stanzas of known types may share a key_id": one set
            # over types 01 and 02; unknown types are not checked.
            if body[:KEY_ID_LEN] in seen:
                raise SealedError("header", "stanza %d repeats key id %s" % (k, body[:KEY_ID_LEN].hex()))
            seen.add(body[:KEY_ID_LEN])
        hdr.stanzas.append((stype, body))
        pos += 3 + blen
    _parse_fields(h, pos, fields_end, hdr, valid_label_v2)
    return hdr


def check_prefix(start):
    """Check 1 (both versions): at least 13 bytes starting with the magic."""
    if start[:8] != MAGIC[:len(start)]:
        raise SealedError("header", "not a SealedArchive (bad magic)")
    if len(start) < 13:
        raise SealedError("header", "input is only %d bytes, shorter than 13" % len(start))


def read_header_v2(start, f):
    """V2 §7 checks 3-7; `start` is the first 13 bytes (checks 1-2 passed)."""
    header_length = struct.unpack_from("<I", start, 9)[0]
    if not V2_MIN_HEADER_LEN <= header_length <= V2_MAX_HEADER_LEN:        # check 3
        raise SealedError("limit", "header_length %d is not from %d to %d" % (header_length, V2_MIN_HEADER_LEN, V2_MAX_HEADER_LEN))
    rest = read_up_to(f, header_length - 13)                             # check 4
    if len(rest) < header_length - 13:
        raise SealedError("truncated", "input ends inside the header (%d of %d bytes)"
                          % (13 + len(rest), header_length))
    return parse_header_v2_body(start + rest)


def check_required_signers(hdr, signers):
    """Check 8 (V2) / check 8 (V1)."""
    if signers:
        if hdr.signer is None:
            raise SealedError("unsigned", "a signer is required and the archive is not signed")
        if not any(ct_equal(hdr.signer, s) for s in signers):
            raise SealedError("untrusted-signer", "signed by %s, which is not trusted"
                              % encode_key(HRP_SIGNER, hdr.signer))


def ed25519_verify(sig, message, pk):
    """libsodium crypto_sign_verify_detached semantics (FORMAT §8 check 17)."""
    try:
        sodium.crypto_sign_open(sig + message, pk)
        return True
    except Exception:
        return False


def check_header_signature(hdr, f):
    """V2 §7 check 9: 64 more bytes [truncated], verifying [signature]."""
    if hdr.signer is None:
        return
    sig = read_up_to(f, HEADER_SIGNATURE_LEN)
    if len(sig) < HEADER_SIGNATURE_LEN:
        raise SealedError("truncated", "input ends inside the header signature")
    if not ed25519_verify(sig, D2_HEADER_SIGNATURE + hdr.raw, hdr.signer):
        raise SealedError("signature", "header signature does not verify under %s" % encode_key(HRP_SIGNER, hdr.signer))
    hdr.header_signature = sig


def xwing_wrap_key(ss, enc, pk):
    """V2 §3.1.1: wrap_key = H_ss("SealedArchive/v2/xwing-wrap" || enc || pk)."""
    return H_k(ss, D2_XWING_WRAP, enc, pk)


def xwing_stanza_body(pk, file_key):
    """V2 §3.1.1: key_id (8) || enc (1120) || wrapped_key (48), where
    wrapped_key = AEAD(wrap_key, nonce = 0^12, file_key), no associated data."""
    ss, enc = xwing_encaps(pk)
    wrapped = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(file_key, None, bytes(12),
                                                               xwing_wrap_key(ss, enc, pk))
    return pq_recipient_key_id(pk) + enc + wrapped


def open_xwing_stanza(ident, rest):
    """V2 §7 check 11 for type 02 (`rest` is the body after the key id):
    decapsulate, derive wrap_key with the identity's own pk, open [damaged].
    ML-KEM rejects implicitly, so a stanza for another key fails the tag."""
    enc, wrapped = rest[:XWING_CT_LEN], rest[XWING_CT_LEN:]
    try:
        ss = xwing_decaps(ident, enc)
        return sodium.crypto_aead_chacha20poly1305_ietf_decrypt(wrapped, None, bytes(12),
                                                                xwing_wrap_key(ss, enc, ident.pk))
    except (CryptoError, ValueError):
        raise SealedError("damaged", "the post-quantum stanza for %s does not open" % ident.key_id.hex())


def unlock_v2(hdr, identities):
    """V2 §7 checks 10-12. Check 10: the first identity, in the caller's
    order, with a stanza of its own type and key id: type 01 stanzas match an
    X25519 identity, type 02 stanzas a post-quantum one, never the other way.
    Checks 11 and 12 are then made with that identity alone."""
    x_stanzas, pq_stanzas = hdr.x25519_stanzas(), hdr.xwing_stanzas()
    for sk in identities:
        if isinstance(sk, PQIdentity):
            rest = pq_stanzas.get(sk.key_id)
            if rest is None:
                continue
            file_key = open_xwing_stanza(sk, rest)                      # check 11
        else:
            pk = identity_public(sk)
            wrapped = x_stanzas.get(recipient_key_id(pk))
            if wrapped is None:
                continue
            try:                                                        # check 11
                file_key = sodium.crypto_box_seal_open(wrapped, pk, sk)
            except CryptoError:
                raise SealedError("damaged", "the stanza for %s does not open" % recipient_key_id(pk).hex())
        if not ct_equal(H_k(header_key_v2(file_key), hdr.raw[:-MAC_LEN]), hdr.mac):    # check 12
            raise SealedError("damaged", "header MAC does not match")
        return payload_key_v2(file_key)
    raise SealedError("no-identity", "none of the %d identities is a recipient" % len(identities))


def v2_lookahead(i, hdr):
    """V2 §7 check 13: record i is not last while more than this remains."""
    G = hdr.group_size
    p, j = i % G, i // G
    return hdr.record_size + 32 * (p + 1) + 32 * (j + 1) + hdr.trailer_size


def classify_tail_v2(tail, i, hdr):
    """V2 §7 check 14 on the tail after i records. Returns nothing when valid;
    raises trailer / truncated otherwise.
    SPEC-QUESTION (V2 §7 check 14): "16 (+ 17 when i > 0)" is read as the
    version 1 rule: the last record is at least 16 bytes, 17 when i > 0."""
    G, T = hdr.group_size, hdr.trailer_size
    p, j = i % G, i // G
    min_rec = 17 if i > 0 else 16
    fixed = 32 * (p + 1) + 32 * (j + 1)
    if len(tail) >= T + fixed + min_rec and tail[len(tail) - T:][:8] == TRAILER_MAGIC:
        return
    for k in range(fixed + min_rec, len(tail) - T):
        if tail[k:k + 8] == TRAILER_MAGIC and struct.unpack_from("<Q", tail, k + 8)[0] == i + 1:
            raise SealedError("trailer", "%d bytes follow the trailer" % (len(tail) - k - T))
    raise SealedError("truncated", "input is cut short: its %d-byte tail holds no trailer" % len(tail))


class _Prefixed:
    """A stream that yields `head` before the rest of `f`."""

    def __init__(self, head, f):
        self.head, self.f = head, f

    def read(self, n):
        if self.head:
            b, self.head = self.head[:n], self.head[n:]
            return b
        return self.f.read(n)


def decode_any(f, identities=None, signers=(), sink=None):
    """Version dispatch (V2 §7 check 2): version 1 archives go to the FORMAT
    §8 procedure, version 2 to V2 §7, anything else is [version]."""
    start = read_up_to(f, 13)
    check_prefix(start)
    if start[8] == VERSION:
        return decode(_Prefixed(start, f), identities, signers, sink)
    if start[8] != VERSION2:
        raise SealedError("version", "version %d is not supported (only 1 and 2)" % start[8])
    return decode_v2(start, f, identities, signers, sink)


def decode_v2(start, f, identities=None, signers=(), sink=None):
    """V2 §7 checks 3-17, sequentially, on the stream f (first 13 bytes in
    `start`). Same parameters and result as decode()."""
    hdr = read_header_v2(start, f)               # checks 3-7
    check_required_signers(hdr, signers)         # check 8
    check_header_signature(hdr, f)               # check 9
    payload_key = unlock_v2(hdr, identities) if identities is not None else None   # 10-12
    F, G, T = hdr.record_size, hdr.group_size, hdr.trailer_size
    group_hashes = []        # h of the open group
    table = []               # computed r_j
    plaintext_length = 0

    def take_record(c, i, last):
        nonlocal plaintext_length
        h = record_hash_v2(i, last, c)
        if payload_key is not None:
            try:
                p = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(c, None, chunk_nonce(i, last), payload_key)
            except CryptoError:
                raise SealedError("damaged", "record %d: does not decrypt" % i)
            plaintext_length += len(p)
            if sink is not None:
                sink(p)
        group_hashes.append(h)

    def take_segment(seg, j):
        for k, h in enumerate(group_hashes):
            if not ct_equal(seg[32 * k:32 * k + 32], h):
                raise SealedError("damaged", "segment %d: record %d does not match its hash" % (j, j * G + k))
        table.append(segment_hash(j, seg))
        del group_hashes[:]

    buf = bytearray(read_up_to(f, v2_lookahead(0, hdr) + 1))
    i = 0
    while len(buf) > v2_lookahead(i, hdr):       # check 13
        take_record(bytes(buf[:F]), i, 0)
        del buf[:F]
        if i % G == G - 1:
            take_segment(bytes(buf[:32 * G]), i // G)
            del buf[:32 * G]
        i += 1
        want = v2_lookahead(i, hdr) + 1
        if len(buf) < want:
            buf += read_up_to(f, want - len(buf))
    tail = bytes(buf)
    classify_tail_v2(tail, i, hdr)              # check 14
    p, j = i % G, i // G
    rec_len = len(tail) - T - 32 * (p + 1) - 32 * (j + 1)
    take_record(tail[:rec_len], i, 1)           # check 15
    take_segment(tail[rec_len:rec_len + 32 * (p + 1)], j)
    stored = tail[rec_len + 32 * (p + 1):len(tail) - T]
    for g in range(j + 1):
        if not ct_equal(stored[32 * g:32 * g + 32], table[g]):
            raise SealedError("damaged", "group table: group %d does not match its segment" % g)
    trailer = tail[len(tail) - T:]
    return _finish_v2(hdr, trailer, i + 1, table, plaintext_length)


def _finish_v2(hdr, trailer, n, table, plaintext_length):
    """V2 §7 checks 16-17 (and 7.1 steps 2-3)."""
    chunk_count = struct.unpack_from("<Q", trailer, 8)[0]
    if chunk_count != n:
        raise SealedError("damaged", "trailer says %d chunks, archive has %d" % (chunk_count, n))
    d = digest_v2(hdr.raw, hdr.header_signature, table, n)
    if not ct_equal(d, trailer[16:48]):
        raise SealedError("damaged", "digest does not match")
    if hdr.signer is not None and not ed25519_verify(trailer[48:112], D2_SIGNATURE + d, hdr.signer):
        raise SealedError("signature", "trailer signature does not verify under %s" % encode_key(HRP_SIGNER, hdr.signer))
    return Result(hdr, n, d, plaintext_length)


def digest_v2(header, header_signature, table, n):
    """V2 §6."""
    return H(D2_DIGEST, header, header_signature, b"".join(table), u64(n))


# --- V2 §7.1: reading part of an archive ------------------------------------

def split_v2(body_length, hdr):
    """V2 §7.1 step 1: (records before the tail, tail length) for an archive
    whose records start at S and which is S + body_length bytes long, split
    exactly as checks 13 and 14 would (no record is read). Whole groups are
    skipped arithmetically."""
    F, G = hdr.record_size, hdr.group_size
    i, remaining = 0, body_length
    while True:
        # A group's records need more look-ahead the later they sit in it, so
        # the group is passed whole when its last record is not last.
        if i % G == 0 and remaining - (G - 1) * F > v2_lookahead(i + G - 1, hdr):
            i += G
            remaining -= G * F + 32 * G
        elif remaining > v2_lookahead(i, hdr):
            remaining -= F
            if i % G == G - 1:
                remaining -= 32 * G
            i += 1
        else:
            return i, remaining


class PartialV2:
    """V2 §7.1 on a seekable file of known length: checks 1-9 (10-12 with
    identities), the tail split, trailer, group table, digest and signature;
    then record(i) authenticates and opens one record on its own."""

    def __init__(self, f, identities=None, signers=()):
        self.f = f
        f.seek(0, os.SEEK_END)
        N = f.tell()
        f.seek(0)
        start = read_up_to(f, 13)
        check_prefix(start)
        if start[8] == VERSION:
            raise ToolError("usage", "partial reads (FORMAT-v2 §7.1) need a version 2 archive")
        if start[8] != VERSION2:
            raise SealedError("version", "version %d is not supported (only 1 and 2)" % start[8])
        hdr = read_header_v2(start, f)
        check_required_signers(hdr, signers)
        check_header_signature(hdr, f)
        self.payload_key = unlock_v2(hdr, identities) if identities is not None else None
        self.hdr = hdr
        S, F, G, T = hdr.start, hdr.record_size, hdr.group_size, hdr.trailer_size
        # Step 1: n and ℓ from N alone; a tail check 14 rejects gives its class.
        before, tail_len = split_v2(N - S, hdr)
        f.seek(N - tail_len)
        tail = read_up_to(f, tail_len)
        classify_tail_v2(tail, before, hdr)
        self.n = n = before + 1
        self.m = m = (n + G - 1) // G
        p_last = (n - 1) % G
        self.last_len = tail_len - T - 32 * (p_last + 1) - 32 * m
        trailer = tail[tail_len - T:]
        # Step 2: chunk_count [damaged] (trailer_magic is checked by step 1).
        # Step 3: group table, digest [damaged], signature [signature].
        table_bytes = tail[tail_len - T - 32 * m:tail_len - T]
        self.table = [table_bytes[32 * g:32 * g + 32] for g in range(m)]
        self.result = _finish_v2(hdr, trailer, n, self.table, 0)

    def record_offset(self, i):
        h = self.hdr
        return h.start + i * h.record_size + (i // h.group_size) * 32 * h.group_size

    def record(self, i):
        """Step 4: segment against r_j, record against h_i, then open.
        Returns the plaintext (with an identity) or the ciphertext."""
        h, G = self.hdr, self.hdr.group_size
        if not 0 <= i < self.n:
            raise ToolError("usage", "record %d out of range (n = %d)" % (i, self.n))
        j, p = i // G, i % G
        if j < self.m - 1:
            seg_off, seg_len = h.start + (j + 1) * G * h.record_size + j * 32 * G, 32 * G
        else:
            seg_off, seg_len = self.record_offset(self.n - 1) + self.last_len, 32 * ((self.n - 1) % G + 1)
        self.f.seek(seg_off)
        seg = read_up_to(self.f, seg_len)
        if len(seg) != seg_len or not ct_equal(segment_hash(j, seg), self.table[j]):
            raise SealedError("damaged", "segment %d does not match the group table" % j)
        last = int(i == self.n - 1)
        self.f.seek(self.record_offset(i))
        c = read_up_to(self.f, self.last_len if last else h.record_size)
        if not ct_equal(record_hash_v2(i, last, c), seg[32 * p:32 * p + 32]):
            raise SealedError("damaged", "record %d does not match its hash" % i)
        if self.payload_key is None:
            return c
        try:
            return sodium.crypto_aead_chacha20poly1305_ietf_decrypt(c, None, chunk_nonce(i, last), self.payload_key)
        except CryptoError:
            raise SealedError("damaged", "record %d: does not decrypt" % i)

    @property
    def payload_length(self):
        return (self.n - 1) * self.hdr.chunk_size + self.last_len - TAG_LEN

    def read_payload(self, offset, length):
        """Plaintext bytes [offset, offset + length) via the records holding them."""
        C = self.hdr.chunk_size
        out = bytearray()
        end = min(offset + length, self.payload_length)
        k = offset
        while k < end:
            i = k // C
            p = self.record(i)
            out += p[k - i * C:end - i * C]
            k = (i + 1) * C
        return bytes(out)


# --- V2 encoding (§3, §5, §6, §10) -------------------------------------------

def make_stanza_v2(pk, file_key):
    """V2 §3.1: type 01 || u16(88) || key_id || seal(pk, file_key)."""
    return u8(STANZA_TYPE_X25519) + u16(X25519_BODY_LEN) + make_stanza(pk, file_key)


def make_stanza_pq(pk, file_key):
    """V2 §3.1, §3.1.1: type 02 || u16(1176) || key_id || enc || wrapped_key."""
    return u8(STANZA_TYPE_XWING) + u16(XWING_BODY_LEN) + xwing_stanza_body(pk, file_key)


def stanza_for(pk, file_key):
    """The typed stanza for a recipient of either kind (32 or 1216 bytes)."""
    return make_stanza_pq(pk, file_key) if len(pk) == XWING_PK_LEN else make_stanza_v2(pk, file_key)


def stanza_key_id(pk):
    return pq_recipient_key_id(pk) if len(pk) == XWING_PK_LEN else recipient_key_id(pk)


def build_header_v2(file_key, stanzas, fields=b"", chunk_size_log2=DEFAULT_CHUNK_LOG2, group_size_log2=None,
                    payload_kind=1, compression=None, created=0, *, version=VERSION2, stanza_count=None,
                    header_length=None, magic=MAGIC):
    """Assemble a version 2 header and its MAC (V2 §3). `stanzas` are typed
    stanza bytes. Keyword overrides let tests build malformed headers that
    still carry a correct MAC."""
    if group_size_log2 is None:
        group_size_log2 = MAX_GROUP_LOG2_SUM - chunk_size_log2      # V2 §2: one GiB a group
    if compression is None:
        compression = 1 if payload_kind == 2 else 0
    if header_length is None:
        header_length = V2_FIXED_HEADER_LEN + sum(len(s) for s in stanzas) + len(fields) + MAC_LEN
    if stanza_count is None:
        stanza_count = len(stanzas)
    body = (magic + u8(version) + u32(header_length) + u8(chunk_size_log2) + u8(payload_kind)
            + u8(compression) + u64(created) + u8(group_size_log2) + u16(stanza_count)
            + b"".join(stanzas) + fields)
    return body + H_k(header_key_v2(file_key), body)


def sign_detached(seed, message):
    sk = sodium.crypto_sign_seed_keypair(seed)[1]
    return sodium.crypto_sign(message, sk)[:SIGNATURE_LEN]


def write_body_v2(out, header, file_key, chunks, group_size_log2, signing_seed=None, header_signature=None):
    """Write header, header signature, groups (records then segment), group
    table and trailer (V2 §2, §5, §6). Returns (n, digest)."""
    if header_signature is None:
        header_signature = sign_detached(signing_seed, D2_HEADER_SIGNATURE + header) if signing_seed else b""
    payload_key = payload_key_v2(file_key)
    G = 1 << group_size_log2
    out.write(header)
    out.write(header_signature)
    group, table, n = [], [], 0
    for i, p, last in chunks:
        c = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(p, None, chunk_nonce(i, int(last)), payload_key)
        out.write(c)
        group.append(record_hash_v2(i, int(last), c))
        if len(group) == G or last:
            seg = b"".join(group)
            out.write(seg)
            table.append(segment_hash(len(table), seg))
            group = []
        n = i + 1
    out.write(b"".join(table))
    d = digest_v2(header, header_signature, table, n)
    trailer = TRAILER_MAGIC + u64(n) + d
    if signing_seed is not None:
        trailer += sign_detached(signing_seed, D2_SIGNATURE + d)
    out.write(trailer)
    return n, d


def encode_v2(inp, out, recipients, signing_seed=None, chunk_size_log2=DEFAULT_CHUNK_LOG2, group_size_log2=None,
              created=None, payload_kind=1, label=None, sequence=None, previous_digest=None, file_key=None,
              extra_stanzas=(), tar_options=None, allow_mixed=False):
    """Encrypt inp to out as version 2 (V2 §10). recipients are 32-byte
    X25519 or 1216-byte X-Wing public keys (type 01 or 02 stanzas, in the
    order given). payload_kind 2 takes a tar stream and writes the section 8
    payload (frames, index, seek table)."""
    if not 1 <= len(recipients) + len(extra_stanzas) <= V2_MAX_STANZAS:
        raise ToolError("usage", "need 1 to 64 stanzas")
    if len({stanza_key_id(pk) for pk in recipients}) != len(recipients):
        raise ToolError("usage", "two recipients share a key id")      # V2 §3.1, over both types
    if len({len(pk) == XWING_PK_LEN for pk in recipients}) > 1 and not allow_mixed:
        # V2 §3.1.1 "Mixing": an X25519 stanza beside a post-quantum one
        # opens the archive to whoever breaks X25519 (encoders SHOULD refuse).
        raise ToolError("usage", "post-quantum and X25519 recipients together void the post-quantum "
                        "protection; pass --allow-mixed-recipients to seal anyway")
    if not MIN_CHUNK_LOG2 <= chunk_size_log2 <= MAX_CHUNK_LOG2:
        raise ToolError("usage", "chunk size log2 must be from 12 to 24")
    if group_size_log2 is None:
        group_size_log2 = MAX_GROUP_LOG2_SUM - chunk_size_log2
    if not 1 <= group_size_log2 <= MAX_GROUP_LOG2_SUM - chunk_size_log2:
        raise ToolError("usage", "group size log2 must be from 1 to %d" % (MAX_GROUP_LOG2_SUM - chunk_size_log2))
    if payload_kind not in PAYLOAD_KINDS:
        raise ToolError("usage", "bad payload kind")
    if label is not None and not valid_label_v2(label.encode("utf-8") if isinstance(label, str) else label):
        raise ToolError("usage", "label must be 1-255 bytes of UTF-8 without control or bidirectional characters")
    if sequence is not None and not 0 <= sequence < 1 << 64:
        raise ToolError("usage", "sequence must fit in 64 bits")
    if previous_digest is not None and len(previous_digest) != 32:
        raise ToolError("usage", "previous digest must be 32 bytes")
    if created is None:
        created = int(time.time())
    if not 0 <= created < 1 << 64:
        raise ToolError("usage", "created must fit in an unsigned 64-bit number")
    if file_key is None:
        file_key = os.urandom(32)
    signer = sodium.crypto_sign_seed_keypair(signing_seed)[0] if signing_seed is not None else None
    fields = encode_fields(signer, label, sequence, previous_digest)
    stanzas = [stanza_for(pk, file_key) for pk in recipients] + list(extra_stanzas)
    header = build_header_v2(file_key, stanzas, fields, chunk_size_log2, group_size_log2, payload_kind, None, created)
    if len(header) > V2_MAX_HEADER_LEN:
        raise ToolError("usage", "header would exceed 65536 bytes")
    if payload_kind == 2:
        inp = io.BytesIO(build_tar_payload(inp.read(), **(tar_options or {})))
    return write_body_v2(out, header, file_key, iter_chunks(inp, 1 << chunk_size_log2), group_size_log2, signing_seed)


# --- V2 §8: tar payload (zstd frames, index frame, seek frame) ---------------

ZSTD_MAGIC = 0xFD2FB528
SKIPPABLE_INDEX = 0x184D2A5A          # V2 §8 index_frame
SKIPPABLE_SEEK = 0x184D2A5B           # V2 §8 seek_frame
MAX_FRAME_CONTENT = 4 << 20           # V2 §8: Frame_Content_Size 1 to 4 MiB
MAX_WINDOW = 4 << 20
MAX_BLOCK = 128 << 10                 # RFC 8878 Block_Maximum_Size cap
FRAME_CUT = 1 << 20                   # V2 §10: frames cut at 1 MiB of tar ...
FRAME_SOFT = 256 << 10                # ... new frame at a member once it holds 256 KiB
INDEX_MAGIC = b"SAIDX\x00\x00\x00"    # V2 §8.1
SEEK_MAGIC = b"SEEK"
TAR_BLOCK = 512

ENTRY_FILE, ENTRY_DIR, ENTRY_SYMLINK, ENTRY_HARDLINK, ENTRY_OTHER = 1, 2, 3, 4, 5


def _zstd_module():
    try:
        import zstandard
        return zstandard
    except ImportError:
        return None


def zstd_raw_frame(data):
    """A zstd frame of raw blocks (V2 §10 "--compression none"): single
    segment (window = content size), 4-byte Frame_Content_Size, no checksum."""
    assert 1 <= len(data) < 1 << 32
    out = bytearray(u32(ZSTD_MAGIC) + u8(0xA0) + u32(len(data)))
    for k in range(0, len(data), MAX_BLOCK):
        part = data[k:k + MAX_BLOCK]
        last = int(k + MAX_BLOCK >= len(data))
        out += struct.pack("<I", last | (0 << 1) | (len(part) << 3))[:3] + part
    return bytes(out)


def zstd_compressed_frame(data, level=3):
    """A zstd frame with Frame_Content_Size and no dictionary (V2 §8)."""
    z = _zstd_module()
    if z is not None:
        return z.ZstdCompressor(level=level, write_content_size=True, write_checksum=True,
                                write_dict_id=False).compress(data)
    import subprocess
    # No python3-zstandard: the zstd CLI writes the content size of stdin
    # input given --content-size (its default) and no dictionary id.
    return subprocess.run(["zstd", "-q", "-c", "-%d" % level, "--check", "--content-size", "--stream-size=%d" % len(data)],
                          input=data, capture_output=True, check=True).stdout


class ZstdFrameInfo:
    def __init__(self, length, content_size, window, checksum):
        self.length, self.content_size, self.window, self.checksum = length, content_size, window, checksum


def parse_zstd_frame(buf, off, tar_frame=True):
    """V2 §8 frame rules on the frame starting at buf[off]: a zstd frame (not
    skippable), Dictionary_ID 0, Frame_Content_Size present and 1 to 4 MiB,
    window at most 4 MiB; walks the blocks to find its exact length (what
    ZSTD_findFrameCompressedSize reports) [damaged]."""
    def need(k):
        if off + k > len(buf):
            raise SealedError("damaged", "zstd frame at %d is cut short" % off)
    need(5)
    if struct.unpack_from("<I", buf, off)[0] != ZSTD_MAGIC:
        raise SealedError("damaged", "no zstd frame at payload offset %d" % off)
    fhd = buf[off + 4]
    fcs_flag, single, reserved, checksum, did_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 3) & 1, (fhd >> 2) & 1, fhd & 3
    if reserved:
        raise SealedError("damaged", "zstd frame at %d: reserved bit set" % off)
    pos = off + 5
    window = None
    if not single:
        need(pos - off + 1)
        wd = buf[pos]
        base = 1 << (10 + (wd >> 3))
        window = base + (base // 8) * (wd & 7)
        pos += 1
    did_len = (0, 1, 2, 4)[did_flag]
    need(pos - off + did_len)
    did = int.from_bytes(buf[pos:pos + did_len], "little")
    pos += did_len
    # SPEC-QUESTION (V2 §8 "Dictionary_ID 0"): a Dictionary_ID field that is
    # present and holds 0 is accepted like an absent one (RFC 8878: 0 = none).
    if did != 0:
        raise SealedError("damaged", "zstd frame at %d names dictionary %d" % (off, did))
    fcs_len = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if fcs_len == 0:
        raise SealedError("damaged", "zstd frame at %d has no Frame_Content_Size" % off)
    need(pos - off + fcs_len)
    fcs = int.from_bytes(buf[pos:pos + fcs_len], "little") + (256 if fcs_len == 2 else 0)
    pos += fcs_len
    if single:
        window = fcs
    if tar_frame and not 1 <= fcs <= MAX_FRAME_CONTENT:
        raise SealedError("damaged", "zstd frame at %d: content size %d is not 1 to 4 MiB" % (off, fcs))
    if tar_frame and window > MAX_WINDOW:
        raise SealedError("damaged", "zstd frame at %d: window %d is over 4 MiB" % (off, window))
    while True:
        need(pos - off + 3)
        bh = int.from_bytes(buf[pos:pos + 3], "little")
        last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
        pos += 3
        if btype == 3:
            raise SealedError("damaged", "zstd frame at %d: reserved block type" % off)
        if bsize > min(window, MAX_BLOCK):
            raise SealedError("damaged", "zstd frame at %d: block larger than allowed" % off)
        pos += 1 if btype == 1 else bsize
        need(pos - off)
        if last:
            break
    if checksum:
        pos += 4
        need(pos - off)
    return ZstdFrameInfo(pos - off, fcs, window, bool(checksum))


def zstd_decompress_frame(frame, info):
    """Decompress one checked frame; its output must be Frame_Content_Size
    bytes and its checksum, when present, must hold [damaged]."""
    z = _zstd_module()
    try:
        if z is not None:
            out = z.ZstdDecompressor().decompress(frame, max_output_size=info.content_size)
        else:
            import subprocess
            p = subprocess.run(["zstd", "-q", "-d", "-c"], input=frame, capture_output=True)
            if p.returncode != 0:
                raise ValueError(p.stderr.decode(errors="replace"))
            out = p.stdout
    except Exception as e:
        raise SealedError("damaged", "zstd frame does not decompress: %s" % " ".join(str(e).split()))
    if len(out) != info.content_size:
        raise SealedError("damaged", "zstd frame yields %d bytes, not its content size %d" % (len(out), info.content_size))
    return out


class IndexEntry:
    """V2 §8.1 entry."""
    __slots__ = ("type", "path", "size", "mode", "mtime", "link", "header_offset", "sha256")

    def __init__(self, type, path, size, mode, mtime, link, header_offset, sha256):
        self.type, self.path, self.size, self.mode = type, path, size, mode
        self.mtime, self.link, self.header_offset, self.sha256 = mtime, link, header_offset, sha256

    def serialize(self):
        return (u8(self.type) + u16(len(self.path)) + self.path + u64(self.size) + u32(self.mode)
                + struct.pack("<q", self.mtime) + u16(len(self.link)) + self.link + u64(self.header_offset)
                + self.sha256)

    def __eq__(self, other):
        return isinstance(other, IndexEntry) and self.serialize() == other.serialize()

    def __repr__(self):
        return "IndexEntry(%d, %r, size=%d, off=%d)" % (self.type, self.path, self.size, self.header_offset)


def serialize_index(entries):
    return INDEX_MAGIC + u64(len(entries)) + b"".join(e.serialize() for e in entries)


def parse_index(data):
    """Strict V2 §8.1 parse; any breach is [damaged] (the index is payload)."""
    def bad(why):
        raise SealedError("damaged", "entry index: %s" % why)
    if len(data) < 16 or data[:8] != INDEX_MAGIC:
        bad("bad magic")
    count = struct.unpack_from("<Q", data, 8)[0]
    pos, entries, prev = 16, [], -1
    for k in range(count):
        if pos + 3 > len(data):
            bad("entry %d cut short" % k)
        t, plen = data[pos], struct.unpack_from("<H", data, pos + 1)[0]
        pos += 3
        if not ENTRY_FILE <= t <= ENTRY_OTHER:
            bad("entry %d has type %d" % (k, t))
        if plen == 0:
            bad("entry %d has an empty path" % k)
        if pos + plen + 8 + 4 + 8 + 2 > len(data):
            bad("entry %d cut short" % k)
        path = data[pos:pos + plen]
        pos += plen
        size, mode, mtime, llen = struct.unpack_from("<QIqH", data, pos)
        pos += 22
        if pos + llen + 8 + 32 > len(data):
            bad("entry %d cut short" % k)
        link = data[pos:pos + llen]
        pos += llen
        off = struct.unpack_from("<Q", data, pos)[0]
        sha = data[pos + 8:pos + 40]
        pos += 40
        if (llen != 0) != (t in (ENTRY_SYMLINK, ENTRY_HARDLINK)):
            bad("entry %d: a link is given exactly for types 3 and 4" % k)
        if t != ENTRY_FILE and (size != 0 or sha != bytes(32)):
            bad("entry %d: size and sha256 are zero unless a regular file" % k)
        if mode > 0o7777:
            bad("entry %d: mode has bits beyond 0o7777" % k)
        if off % TAR_BLOCK or off <= prev:
            bad("entry %d: header_offset %d is not a strictly increasing multiple of 512" % (k, off))
        prev = off
        entries.append(IndexEntry(t, path, size, mode, mtime, link, off, sha))
    if pos != len(data):
        bad("%d bytes after the last entry" % (len(data) - pos))
    return entries


def _entry_type(tartype):
    import tarfile
    if tartype in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE):
        return ENTRY_FILE
    return {tarfile.DIRTYPE: ENTRY_DIR, tarfile.SYMTYPE: ENTRY_SYMLINK, tarfile.LNKTYPE: ENTRY_HARDLINK}.get(
        tartype, ENTRY_OTHER)


def _member_path_link(m, tar, base=0):
    """Raw path and link bytes as the tar holds them (V2 §8.1): pax path and
    linkpath win, then GNU L/K (tarfile merges both), then ustar; tarfile
    strips a directory's trailing '/', which 8.1 keeps, so it is put back
    from the raw ustar name."""
    enc = lambda s: s.encode("utf-8", "surrogateescape")
    if "path" in m.pax_headers:
        path = enc(m.pax_headers["path"])
    else:
        path = enc(m.name)
        if m.isdir() and not path.endswith(b"/"):
            raw = tar[m.offset_data - base - TAR_BLOCK:m.offset_data - base]
            name = raw[:100].split(b"\0", 1)[0]
            if name.endswith(b"/"):
                path += b"/"
    link = b""
    if m.issym() or m.islnk():
        link = enc(m.pax_headers["linkpath"]) if "linkpath" in m.pax_headers else enc(m.linkname)
    return path, link


def _open_tar(data):
    import tarfile
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:", encoding="utf-8", errors="surrogateescape")


def tar_index(tar):
    """V2 §8.1: the entries a tar stream yields, and the offset of its
    end-of-archive marker. The stream must end with that marker (two zero
    blocks) followed only by zero bytes [damaged]."""
    import tarfile
    entries = []
    try:
        t = _open_tar(tar)
        for m in t:
            if m.type in (b"V",):                       # GNU volume header: not an entry
                continue
            path, link = _member_path_link(m, tar)
            etype = _entry_type(m.type)
            size = m.size if etype == ENTRY_FILE else 0
            sha = bytes(32)
            if etype == ENTRY_FILE:
                sha = hashlib.sha256(tar[m.offset_data:m.offset_data + m.size]).digest()
                if m.offset_data + m.size > len(tar):
                    raise SealedError("damaged", "tar member %r is cut short" % path)
            if not 1 <= len(path) <= 65535 or len(link) > 65535:
                raise SealedError("damaged", "tar member path or link length out of range")
            entries.append(IndexEntry(etype, path, size, m.mode & 0o7777, math.floor(m.mtime), link, m.offset, sha))
        end = t.offset
    except tarfile.TarError as e:
        raise SealedError("damaged", "tar stream does not parse: %s" % e)
    if len(tar) - end < 2 * TAR_BLOCK or any(tar[end:]):
        raise SealedError("damaged", "tar stream does not end with its end-of-archive marker and zero bytes")
    return entries, end


def cut_frames(tar, header_offsets, cut=FRAME_CUT, soft=FRAME_SOFT):
    """V2 §10 reference framing: at most `cut` bytes of tar a frame; a new
    frame starts at a member's first header once the frame holds `soft`."""
    bounds, s, hs, k = [], 0, sorted(header_offsets), 0
    while s < len(tar):
        end = min(s + cut, len(tar))
        while k < len(hs) and hs[k] < s + soft:
            k += 1
        if k < len(hs) and hs[k] < end:
            end = hs[k]
        bounds.append((s, end))
        s = end
    return bounds


def build_tar_payload(tar, level=3, cut=FRAME_CUT, soft=FRAME_SOFT, raw=False):
    """V2 §8: frames, index frame, seek frame for a tar stream."""
    entries, _ = tar_index(tar)
    frames = []
    for s, e in cut_frames(tar, [x.header_offset for x in entries], cut, soft):
        frames.append(zstd_raw_frame(tar[s:e]) if raw else zstd_compressed_frame(tar[s:e], level))
        frames[-1] = (frames[-1], e - s)
    index = serialize_index(entries)
    inner = zstd_raw_frame(index) if raw else zstd_compressed_frame(index, level)
    index_frame = u32(SKIPPABLE_INDEX) + u32(len(inner)) + inner
    f = len(frames)
    seek = b"".join(u32(len(fr)) + u32(ds) for fr, ds in frames) + u64(len(index_frame)) + u32(f) + SEEK_MAGIC
    seek_frame = u32(SKIPPABLE_SEEK) + u32(8 * f + 16) + seek
    return b"".join(fr for fr, _ in frames) + index_frame + seek_frame


class PayloadLayout:
    """V2 §8 structure read from the payload's end: seek table and index frame."""

    def __init__(self, seek, index_frame_length, f):
        self.seek, self.index_frame_length, self.f = seek, index_frame_length, f


def read_payload_layout(L, read):
    """V2 §8 structure checks [damaged] from the payload's length L and a
    reader read(offset, length); returns (seek entries, frame offsets,
    index frame offset, index frame length)."""
    def bad(why):
        raise SealedError("damaged", "payload structure: %s" % why)
    if L < 24:
        bad("shorter than a seek frame")
    foot = read(L - 16, 16)
    index_len, f = struct.unpack_from("<QI", foot, 0)
    if foot[12:] != SEEK_MAGIC:
        bad("no SEEK footer")
    if f < 1 or f > 1 << 29:
        bad("frame count %d" % f)
    seek_start = L - 8 * f - 24
    if seek_start < 0:
        bad("seek table longer than the payload")
    sf = read(seek_start, 8 * f + 24)
    if struct.unpack_from("<II", sf, 0) != (SKIPPABLE_SEEK, 8 * f + 16):
        bad("seek frame header")
    seek = [struct.unpack_from("<II", sf, 8 + 8 * k) for k in range(f)]
    index_start = seek_start - index_len
    if index_len < 8 + 5 or index_start < 0:
        bad("index frame length %d" % index_len)
    if sum(c for c, _ in seek) != index_start:
        bad("frame sizes add up to %d, not %d" % (sum(c for c, _ in seek), index_start))
    offsets, o = [], 0
    for c, d in seek:
        if c == 0 or not 1 <= d <= MAX_FRAME_CONTENT:
            bad("seek entry sizes %d/%d" % (c, d))
        offsets.append(o)
        o += c
    return seek, offsets, index_start, index_len


def read_index_frame(data):
    """The index frame: skippable header, then exactly one zstd frame whose
    output is the entry index [damaged]."""
    if len(data) < 8 or struct.unpack_from("<II", data, 0) != (SKIPPABLE_INDEX, len(data) - 8):
        raise SealedError("damaged", "index frame header")
    # SPEC-QUESTION (V2 §8): the inner frame of the index frame is read as
    # bound by "not skippable, Dictionary_ID 0, Frame_Content_Size present"
    # but not by the 4 MiB content and window limits of tar frames (an index
    # can be larger than 4 MiB).
    info = parse_zstd_frame(data, 8, tar_frame=False)
    if info.length != len(data) - 8:
        raise SealedError("damaged", "index frame holds more than one zstd frame")
    return parse_index(zstd_decompress_frame(data[8:], info))


def check_tar_payload(payload):
    """V2 §8 whole-payload check: structure, every frame against its seek
    entry, the tar it yields, and the stored index equal to what 8.1 makes of
    that tar [damaged]. Returns (tar bytes, entries)."""
    L = len(payload)
    seek, offsets, index_start, index_len = read_payload_layout(L, lambda o, n: payload[o:o + n])
    tar = bytearray()
    for k, ((c, d), o) in enumerate(zip(seek, offsets)):
        info = parse_zstd_frame(payload, o)
        if info.length != c or info.content_size != d:
            raise SealedError("damaged", "frame %d does not match its seek entry" % k)
        tar += zstd_decompress_frame(payload[o:o + c], info)
    tar = bytes(tar)
    stored = read_index_frame(payload[index_start:index_start + index_len])
    made, _ = tar_index(tar)
    if hashlib.sha256(serialize_index(made)).digest() != hashlib.sha256(serialize_index(stored)).digest():
        raise SealedError("damaged", "the entry index is not what the tar holds")
    return tar, stored


class SeekingTar:
    """V2 §8 seeking reader over a payload reader read(offset, length)."""

    def __init__(self, L, read):
        self.read = read
        self.seek, self.offsets, index_start, index_len = read_payload_layout(L, read)
        self.entries = read_index_frame(read(index_start, index_len))
        self.tar_length = sum(d for _, d in self.seek)
        self.starts = []
        s = 0
        for _, d in self.seek:
            self.starts.append(s)
            s += d
        self._cache = {}

    def _frame(self, k):
        if k not in self._cache:
            c, d = self.seek[k]
            data = self.read(self.offsets[k], c)
            info = parse_zstd_frame(data, 0)
            if info.length != c or info.content_size != d:
                raise SealedError("damaged", "frame %d does not match its seek entry" % k)
            self._cache = {k: zstd_decompress_frame(data, info)}
        return self._cache[k]

    def tar_range(self, start, end):
        """Tar bytes [start, end), decompressing only the frames holding them."""
        out = bytearray()
        k = max(0, bisect.bisect_right(self.starts, start) - 1)
        while start < end and k < len(self.seek):
            fs = self.starts[k]
            data = self._frame(k)
            out += data[max(0, start - fs):end - fs]
            start = fs + len(data)
            k += 1
        return bytes(out)

    def select(self, path):
        """Entries for PATH: the entry itself and, for a directory, every
        entry below it (SPEC-QUESTION: subtree = path prefix + '/')."""
        p = path.rstrip(b"/")
        return [e for e in self.entries if e.path.rstrip(b"/") == p or e.path.startswith(p + b"/")]

    def checked_member(self, k):
        """V2 §8.1 --only rules for entry k: the tar header at header_offset
        agrees with the index (path, type, size, link), the content's SHA-256
        matches, and the member ends at the next entry's header_offset or the
        tar's end-of-archive marker [damaged]. Returns (entry, TarInfo, content)."""
        e = self.entries[k]
        end = self.entries[k + 1].header_offset if k + 1 < len(self.entries) else None
        stop = end if end is not None else self.tar_length
        chunk = self.tar_range(e.header_offset, stop)
        import tarfile
        try:
            t = _open_tar(chunk + bytes(2 * TAR_BLOCK))
            m = t.next()
        except tarfile.TarError as err:
            raise SealedError("damaged", "no tar header at %d: %s" % (e.header_offset, err))
        if m is None or m.offset != 0:
            raise SealedError("damaged", "no tar member at offset %d" % e.header_offset)
        path, link = _member_path_link(m, chunk)
        etype = _entry_type(m.type)
        size = m.size if etype == ENTRY_FILE else 0
        if (path, etype, size, link) != (e.path, e.type, e.size, e.link):
            raise SealedError("damaged", "tar header at %d differs from the index entry %r" % (e.header_offset, e.path))
        content = chunk[m.offset_data:m.offset_data + size]
        sha = hashlib.sha256(content).digest() if etype == ENTRY_FILE else bytes(32)
        if len(content) != size or not ct_equal(sha, e.sha256):
            raise SealedError("damaged", "content of %r does not match the index" % e.path)
        member_end = _skip_non_entries(chunk, t.offset)
        if end is not None:
            if member_end != len(chunk):
                raise SealedError("damaged", "%r does not end at the next entry's header" % e.path)
        else:
            # SPEC-QUESTION (V2 §8.1 "or the tar's end"): the last member must
            # be followed by zero bytes only, at least the 1024-byte marker.
            if len(chunk) - member_end < 2 * TAR_BLOCK or any(chunk[member_end:]):
                raise SealedError("damaged", "%r is not followed by the end-of-archive marker" % e.path)
        return e, m, content


def _skip_non_entries(tar, pos):
    """Past the pax `g` and GNU `V` headers at pos, which are no entry
    (V2 §8.1). SPEC-QUESTION (V2 §8.1 end rule): a member followed by such a
    header ends before the next entry's header_offset; the rule is read as
    "ends there, or only g / V headers lie between"."""
    while pos + TAR_BLOCK <= len(tar) and tar[pos + 156:pos + 157] in (b"g", b"V") and any(tar[pos:pos + TAR_BLOCK]):
        try:
            size = int(tar[pos + 124:pos + 136].split(b"\0", 1)[0].strip() or b"0", 8)
        except ValueError:
            raise SealedError("damaged", "bad size in a tar header at %d" % pos)
        pos += TAR_BLOCK + -(-size // TAR_BLOCK) * TAR_BLOCK
    return pos


def escape_path(b):
    """Printable form of raw path bytes (V2 §8.1 "escaped")."""
    out = []
    for ch in b.decode("utf-8", "backslashreplace"):
        cp = ord(ch)
        if cp < 0x20 or 0x7F <= cp <= 0x9F or any(lo <= cp <= hi for lo, hi in _LABEL_FORBIDDEN[2:]):
            out.append("\\x%02x" % cp if cp < 0x100 else "\\u%04x" % cp)
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)
    return "".join(out)


def safe_relative(path):
    """Extraction name rule (reference's reading): relative, no '..'."""
    parts = [p for p in path.split(b"/") if p not in (b"", b".")]
    if path.startswith(b"/") or b".." in parts:
        raise SealedError("damaged", "unsafe path %r" % escape_path(path))
    return os.path.join(*[os.fsdecode(p) for p in parts]) if parts else "."     # "./": the root itself


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def fail(cls, message):
    # Exactly one line on stderr; never a secret in it.
    sys.stderr.write("error: %s: %s\n" % (cls, " ".join(str(message).split())))
    return 1


def open_input(path):
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as e:
        raise ToolError("io", "cannot open %s: %s" % (path, e.strerror))


class AtomicOutput:
    """Write to a temporary file next to the target; rename only on success,
    so a failed decode never leaves plaintext that looks complete (§8)."""

    def __init__(self, path):
        d = os.path.dirname(os.path.abspath(path))
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".part", dir=d)
        except OSError as e:
            raise ToolError("io", "cannot write in %s: %s" % (d, e.strerror))
        self.path = path
        self.f = os.fdopen(fd, "wb")

    def write(self, b):
        self.f.write(b)

    def commit(self):
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        try:
            self.f.close()
        finally:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass


def parse_signer_args(values):
    out = []
    for s in values or []:
        try:
            out.append(parse_signer(s))
        except ValueError as e:
            raise ToolError("usage", "--signer %s is not a valid signer: %s" % (s, e))
    return out


def cmd_open(args):
    identities = []
    for path in args.identity:
        identities.extend(load_identities(path))
    signers = parse_signer_args(args.signer)
    if args.archive == "-" and "-" in args.identity:
        raise ToolError("usage", "standard input cannot be both the archive and an identity file")
    if args.list or args.only:
        return cmd_open_seeking(args, identities, signers)
    inp = open_input(args.archive)
    if args.tar:
        return cmd_open_tar(args, inp, identities, signers)
    if args.output:
        out = AtomicOutput(args.output)
        try:
            decode_any(inp, identities, signers, out.write)
        except BaseException:
            out.abort()
            raise
        out.commit()
    else:
        stdout = sys.stdout.buffer

        def sink(b):
            stdout.write(b)
        decode_any(inp, identities, signers, sink)
        stdout.flush()
    return 0


def whole_tar(inp, identities, signers):
    """Decode a version 2 tar archive whole and make the V2 §8 whole-payload
    check (frames against the seek table, index against the tar)."""
    parts = []
    res = decode_any(inp, identities, signers, parts.append)
    if res.header.version != VERSION2 or res.header.payload_kind != 2:
        raise ToolError("usage", "--tar needs a version 2 archive of payload kind 2")
    tar, entries = check_tar_payload(b"".join(parts))
    return res, tar, entries


def cmd_open_tar(args, inp, identities, signers):
    """open --tar: the tar stream, written only after every check passed."""
    _, tar, _ = whole_tar(inp, identities, signers)
    if args.output:
        out = AtomicOutput(args.output)
        out.write(tar)
        out.commit()
    else:
        sys.stdout.buffer.write(tar)
        sys.stdout.buffer.flush()
    return 0


def entry_line(e):
    """One --list line, escaped; a name extraction would refuse is marked
    (SPEC-QUESTION V2 §8.1: "checked with extraction's name rules")."""
    kind = {ENTRY_FILE: "-", ENTRY_DIR: "d", ENTRY_SYMLINK: "l", ENTRY_HARDLINK: "h", ENTRY_OTHER: "?"}[e.type]
    line = "%s %04o %12d %s %s" % (kind, e.mode, e.size, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e.mtime))
                                   if 0 <= e.mtime < 1 << 40 else str(e.mtime), escape_path(e.path))
    if e.link:
        line += (" -> " if e.type == ENTRY_SYMLINK else " link to ") + escape_path(e.link)
    try:
        safe_relative(e.path)
    except SealedError:
        line += "  [refused by extraction: unsafe name]"
    return line


def cmd_open_seeking(args, identities, signers):
    """open --list / --only PATH (V2 §7.1, §8, §8.1): authenticate header,
    group table and trailer, then read only the records the seek table, the
    index and the selected members need."""
    if args.archive == "-":
        if args.only:
            raise ToolError("usage", "--only needs a seekable archive file")
        # V2 §8.1: on a pipe there is no index to seek to; --list reads the
        # tar itself (after the whole-payload check).
        _, _, entries = whole_tar(sys.stdin.buffer, identities, signers)
        for e in entries:
            print(entry_line(e))
        return 0
    with open_input(args.archive) as f:
        part = PartialV2(f, identities, signers)
        if part.hdr.payload_kind != 2:
            raise ToolError("usage", "--list and --only need a tar archive (payload kind 2)")
        st = SeekingTar(part.payload_length, part.read_payload)
        if args.list:
            for e in st.entries:
                print(entry_line(e))
            return 0
        if not args.directory:
            raise ToolError("usage", "--only needs -C DIR")
        wanted = []
        for path in args.only:
            sel = st.select(os.fsencode(path))
            if not sel:
                raise ToolError("usage", "%s is not in the archive's index" % path)
            wanted.extend(e for e in sel if e not in wanted)
        wanted_paths = {e.path for e in wanted}
        checked = []
        for k, e in enumerate(st.entries):
            if e in wanted:
                ent, m, content = st.checked_member(k)
                if ent.type == ENTRY_HARDLINK and ent.link not in wanted_paths:
                    raise ToolError("usage", "hard link %s: its target %s is not extracted"
                                    % (escape_path(ent.path), escape_path(ent.link)))
                checked.append((ent, m, content))
        extract_members(checked, args.directory)
    return 0


def extract_members(checked, directory):
    """Write checked members under directory (mode and mtime from the tar
    header, never the index, V2 §8.1). A minimal extractor: files,
    directories, symbolic and hard links; anything else is listed, never
    extracted. Nothing is written before every member has been checked."""
    root = os.path.abspath(directory)
    os.makedirs(root, exist_ok=True)
    for e, m, content in checked:
        dest = os.path.join(root, safe_relative(e.path))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if e.type == ENTRY_DIR:
            os.makedirs(dest, exist_ok=True)
        elif e.type == ENTRY_FILE:
            with open(dest, "wb") as out:
                out.write(content)
        elif e.type == ENTRY_SYMLINK:
            os.symlink(os.fsdecode(e.link), dest)
        elif e.type == ENTRY_HARDLINK:
            os.link(os.path.join(root, safe_relative(e.link)), dest)
        else:
            continue
        if e.type != ENTRY_SYMLINK:
            os.chmod(dest, m.mode & 0o777)
            os.utime(dest, (m.mtime, m.mtime))


def describe(res):
    hdr = res.header
    parts = ["ok: %d chunk%s of %d bytes" % (res.chunk_count, "" if res.chunk_count == 1 else "s", hdr.chunk_size),
             "%d recipient%s" % (len(hdr.stanzas), "" if len(hdr.stanzas) == 1 else "s"),
             "digest %s" % res.digest.hex()]
    if hdr.signer is not None:
        parts.append("signed by %s (key id %s)" % (encode_key(HRP_SIGNER, hdr.signer), signer_key_id(hdr.signer).hex()))
    else:
        parts.append("unsigned")
    return ", ".join(parts)


def cmd_verify(args):
    signers = parse_signer_args(args.signer)
    if args.identity:
        # verify -i: open every record and, for a version 2 tar, make the
        # V2 §8 whole-payload check.
        identities = []
        for path in args.identity:
            identities.extend(load_identities(path))
        parts = []
        res = decode_any(open_input(args.archive), identities, signers, parts.append)
        if res.header.version == VERSION2 and res.header.payload_kind == 2:
            check_tar_payload(b"".join(parts))
    else:
        res = decode_any(open_input(args.archive), None, signers)
    print(describe(res))
    return 0


def run_vector(directory, path):
    """Returns (name, problems). Each problem is 'expected X got Y'."""
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        with open(path, "rb") as f:
            v = json.load(f)
        name = v.get("name", name)
        archive = os.path.join(directory, v["archive"])
        identities = [parse_any_identity(s) for s in v.get("identities", [])]
        signers = [parse_signer(s) for s in v.get("signers", [])]
        expect = v["expect"]
        keyless_expect = v["keyless_expect"]
        for e in (expect, keyless_expect):
            if e != "ok" and e not in ERROR_CLASSES:
                raise ValueError("unknown outcome %r" % e)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return name, ["expected a valid vector got %s" % " ".join(str(e).split())]

    # Version 2 vectors (v2-*) and post-quantum ones (pq-*, V2 §12).
    v2 = name.startswith(("v2-", "pq-"))
    tar_sha = [None]

    def outcome(ids, sink=None):
        # SPEC-QUESTION (V2 §7 check 2 / §12): a version 1 vector with
        # version byte 2 (Spec/vectors/invalid-version) becomes a version 2
        # header to a reader of both versions; vectors not named v2-* (or
        # pq-*) are therefore decoded by the version 1 procedure alone.
        parts = []
        try:
            with open(archive, "rb") as f:
                if not v2:
                    decode(f, ids, signers, sink)
                    return "ok"
                res = decode_any(f, ids, signers, parts.append if ids is not None else None)
            if ids is not None:
                payload = b"".join(parts)
                if res.header.version == VERSION2 and res.header.payload_kind == 2:
                    tar, _ = check_tar_payload(payload)     # V2 §8 whole-payload check
                    tar_sha[0] = hashlib.sha256(tar).hexdigest()
                if sink is not None:
                    sink(payload)
            return "ok"
        except SealedError as e:
            return e.cls

    problems = []
    keyless_got = outcome(None)
    if identities:
        sha = hashlib.sha256()
        length = [0]

        def sink(b):
            sha.update(b)
            length[0] += len(b)
        got = outcome(identities, sink)
    else:
        # Schema: with no identities, expect equals keyless_expect.
        got = keyless_got
    if got != expect:
        problems.append("expected %s got %s" % (expect, got))
    if keyless_got != keyless_expect:
        problems.append("expected keyless %s got keyless %s" % (keyless_expect, keyless_got))
    if identities and expect == "ok" and got == "ok":
        # Schema: present when expect == "ok" (only checkable with identities).
        if "plaintext_sha256" not in v or "plaintext_length" not in v:
            problems.append("expected plaintext_sha256 and plaintext_length in the vector got none")
        if "plaintext_sha256" in v and sha.hexdigest() != v["plaintext_sha256"].lower():
            problems.append("expected plaintext sha256 %s got %s" % (v["plaintext_sha256"], sha.hexdigest()))
        if "plaintext_length" in v and length[0] != v["plaintext_length"]:
            problems.append("expected plaintext length %s got %d" % (v["plaintext_length"], length[0]))
        if "tar_sha256" in v and tar_sha[0] != v["tar_sha256"].lower():
            problems.append("expected tar sha256 %s got %s" % (v["tar_sha256"], tar_sha[0]))
    return name, problems


def cmd_vectors(args):
    d = args.dir
    try:
        files = sorted(fn for fn in os.listdir(d) if fn.endswith(".json"))
    except OSError as e:
        raise ToolError("io", "cannot list %s: %s" % (d, e.strerror))
    passed = failed = 0
    for fn in files:
        name, problems = run_vector(d, os.path.join(d, fn))
        if problems:
            failed += 1
            print("FAIL %s: %s" % (name, "; ".join(problems)))
        else:
            passed += 1
            print("ok %s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


def cmd_encode(args):
    recipients = []
    for s in args.recipient:
        try:
            recipients.append(parse_any_recipient(s))
        except ValueError as e:
            shown = s if len(s) <= 90 else s[:40] + "..."
            raise ToolError("usage", "-r %s is not a valid recipient: %s" % (shown, e))
    seed = load_signing_key(args.signing_key_file) if args.signing_key_file else None
    prev = None
    if args.previous_digest is not None:
        try:
            prev = bytes.fromhex(args.previous_digest)
        except ValueError:
            raise ToolError("usage", "--previous-digest must be 64 hex digits")
        if len(prev) != 32:
            raise ToolError("usage", "--previous-digest must be 64 hex digits")
    inp = open_input(args.input)
    out = AtomicOutput(args.output)
    try:
        if args.format_version == 2:
            encode_v2(inp, out, recipients, seed, args.chunk_size_log2, args.group_size_log2, args.created,
                      args.payload_kind, args.label, args.sequence, prev,
                      tar_options={"raw": args.frames == "raw"}, allow_mixed=args.allow_mixed_recipients)
        else:
            encode(inp, out, recipients, seed, args.chunk_size_log2, args.created, args.payload_kind,
                   args.compression, args.label, args.sequence, prev)
    except BaseException:
        out.abort()
        raise
    out.commit()
    return 0


def cmd_keygen(args):
    """KEYS §4: create with mode 0600, never overwrite, temp + fsync + rename."""
    path = args.output
    if os.path.lexists(path):
        raise ToolError("usage", "%s already exists; not overwriting" % path)
    secret = os.urandom(32)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if args.signing and args.pq:
        raise ToolError("usage", "--pq and --signing exclude each other")
    if args.signing:
        pub = encode_key(HRP_SIGNER, sodium.crypto_sign_seed_keypair(secret)[0])
        line = encode_key(HRP_SIGNING_KEY, secret)
    elif args.pq:
        # KEYS §2.1: the identity is the 32-byte X-Wing seed.
        pub = encode_key(HRP_PQ_RECIPIENT, PQIdentity(secret).pk)
        line = encode_key(HRP_PQ_IDENTITY, secret)
    else:
        pub = encode_key(HRP_RECIPIENT, identity_public(secret))
        line = encode_key(HRP_IDENTITY, secret)
    text = "# created: %s\n# public key: %s\n%s\n" % (stamp, pub, line)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=d)   # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)      # fails if path appeared meanwhile: no overwrite
    finally:
        os.unlink(tmp)
    print(pub)
    return 0


class Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write("error: usage: %s\n" % message)
        sys.exit(2)


def main(argv=None):
    p = Parser(prog="sealed_ref.py", description="SealedArchive v1/v2 reference implementation (from the spec).")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)

    o = sub.add_parser("open", help="decrypt an archive")
    o.add_argument("-i", "--identity", action="append", required=True, metavar="IDENTITY_FILE")
    o.add_argument("--signer", action="append", metavar="sealsig1...")
    o.add_argument("-o", "--output", metavar="OUT")
    o.add_argument("--tar", action="store_true", help="version 2 tar: write the tar stream after the whole-payload check")
    o.add_argument("--list", action="store_true", help="version 2 tar: list the entry index (seeking)")
    o.add_argument("--only", action="append", metavar="PATH", help="version 2 tar: extract PATH (seeking), with -C")
    o.add_argument("-C", "--directory", metavar="DIR")
    o.add_argument("archive", metavar="ARCHIVE")

    v = sub.add_parser("verify", help="keyless checks")
    v.add_argument("--signer", action="append", metavar="sealsig1...")
    v.add_argument("-i", "--identity", action="append", metavar="IDENTITY_FILE")
    v.add_argument("archive", metavar="ARCHIVE")

    t = sub.add_parser("vectors", help="run test vectors")
    t.add_argument("dir", metavar="DIR")

    e = sub.add_parser("encode", help="encrypt (for cross-checking)")
    e.add_argument("-r", "--recipient", action="append", required=True, metavar="age1...|age1pq1...")
    e.add_argument("--allow-mixed-recipients", action="store_true",
                   help="version 2: X25519 and post-quantum recipients together (V2 §3.1.1)")
    e.add_argument("--signing-key-file", metavar="F")
    e.add_argument("--chunk-size-log2", type=int, default=DEFAULT_CHUNK_LOG2, metavar="N")
    e.add_argument("--created", type=int, metavar="UNIXSECONDS")
    e.add_argument("--label")
    e.add_argument("--sequence", type=int)
    e.add_argument("--previous-digest", metavar="HEX")
    e.add_argument("--payload-kind", type=int, default=1, choices=PAYLOAD_KINDS)
    e.add_argument("--compression", type=int, default=0, choices=COMPRESSIONS,
                   help="header byte only: INPUT must already be compressed")
    e.add_argument("--format-version", type=int, default=1, choices=(1, 2))
    e.add_argument("--group-size-log2", type=int, metavar="N", help="version 2 (default 30 - chunk size log2)")
    e.add_argument("--frames", choices=("zstd", "raw"), default="zstd",
                   help="version 2 tar: zstd level 3 frames, or frames of raw blocks")
    e.add_argument("-o", "--output", required=True, metavar="OUT")
    e.add_argument("input", metavar="INPUT")

    k = sub.add_parser("keygen", help="write a new identity (or --signing key) file")
    k.add_argument("--signing", action="store_true")
    k.add_argument("--pq", action="store_true", help="a post-quantum (X-Wing) identity, KEYS §2.1")
    k.add_argument("-o", "--output", required=True, metavar="FILE")

    args = p.parse_args(argv)
    handler = {"open": cmd_open, "verify": cmd_verify, "vectors": cmd_vectors,
               "encode": cmd_encode, "keygen": cmd_keygen}[args.cmd]
    try:
        return handler(args)
    except (SealedError, ToolError) as err:
        return fail(err.cls, err.message)
    except BrokenPipeError:
        return fail("io", "output closed")
    except OSError as err:
        return fail("io", err.strerror or str(err))


if __name__ == "__main__":
    sys.exit(main())
