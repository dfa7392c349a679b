#!/usr/bin/python3
"""Independent reference implementation of the SealedArchive format, version 1.

Written from Spec/FORMAT.md and Spec/KEYS.md only (no Swift source was read),
so that disagreements between this tool and the Swift package point at gaps in
the specification or at bugs on either side. Section numbers in comments
("FORMAT §8 check 12", "KEYS §1") refer to those two documents. Where the spec
left a choice open, the reading taken here is recorded in SPEC-QUESTIONS.md
next to this file and marked "SPEC-QUESTION" in the code.

Only the Python standard library and PyNaCl (libsodium) are used. Run it with
/usr/bin/python3 (Debian's python3-nacl).

Subcommands:
  open     -i IDENTITY_FILE [-i ...] [--signer sealsig1...]... [-o OUT] ARCHIVE
  verify   [--signer sealsig1...]... ARCHIVE
  vectors  DIR
  encode   -r age1... [-r ...] [--signing-key-file F] [--chunk-size-log2 N]
           [--created SECONDS] [--label TEXT] [--sequence N]
           [--previous-digest HEX] [--payload-kind 1|2] [--compression 0|1]
           -o OUT INPUT
  keygen   [--signing] -o FILE        (helper: writes a new key file, KEYS §4)

A failure prints exactly one line "error: <class>: <message>" on stderr. For
archive problems <class> is one of the FORMAT §10 classes and the exit status
is 1. Problems outside the format (bad key strings, unreadable files) use the
classes "usage" and "io" (not in the spec, see SPEC-QUESTIONS.md), also exit
1; a malformed command line exits 2.
"""

import argparse
import hashlib
import hmac
import json
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

# Key text encodings (KEYS §2, §3). The "case" column is part of the HRP: a
# recipient is lower case "age", an identity upper case "AGE-SECRET-KEY-".
HRP_RECIPIENT = "age"
HRP_IDENTITY = "AGE-SECRET-KEY-"
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


def decode_key(s, expected_hrp):
    """KEYS §1: reject mixed case, wrong HRP, bad checksum, characters outside
    the alphabet, non-zero padding, payload not exactly 32 bytes.
    SPEC-QUESTION (KEYS §1/§2): the HRP comparison is case-sensitive, so an
    all-upper-case "AGE1..." recipient or an all-lower-case identity is
    rejected as a wrong HRP (the tables fix the case)."""
    hrp, data = bech32_decode(s)
    if hrp != expected_hrp:
        raise ValueError("wrong human-readable part %r (expected %r)" % (hrp, expected_hrp))
    payload = bytes(_convertbits(data, 5, 8, False))
    if len(payload) != 32:
        raise ValueError("payload is %d bytes, not 32" % len(payload))
    return payload


def encode_key(hrp, key):
    assert len(key) == 32
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
    """An identity file (KEYS §4): at least one AGE-SECRET-KEY-1 line."""
    lines = key_file_lines(read_secret_file(path), path, strip_spaces=False)
    if not lines:
        raise ToolError("usage", "%s holds no identity" % path)
    keys = []
    for n, line in lines:
        try:
            keys.append(parse_identity(line))
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

    pos = stanzas_end
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
        # SPEC-QUESTION (§4.2 / check 7): "the fields parse as in 4.2" is read
        # as including each field's length and value rules.
        if tag == TAG_SIGNER:
            if length != 32:
                raise SealedError("header", "signer field is %d bytes, not 32" % length)
            hdr.signer = value
        elif tag == TAG_LABEL:
            if not valid_label(value):
                raise SealedError("header", "label is not 1-255 bytes of UTF-8 without control characters")
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
    stanza)."""
    stanzas = dict(hdr.stanzas)
    for sk in identities:
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
    inp = open_input(args.archive)
    if args.output:
        out = AtomicOutput(args.output)
        try:
            decode(inp, identities, signers, out.write)
        except BaseException:
            out.abort()
            raise
        out.commit()
    else:
        stdout = sys.stdout.buffer

        def sink(b):
            stdout.write(b)
        decode(inp, identities, signers, sink)
        stdout.flush()
    return 0


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
    res = decode(open_input(args.archive), None, signers)
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
        identities = [parse_identity(s) for s in v.get("identities", [])]
        signers = [parse_signer(s) for s in v.get("signers", [])]
        expect = v["expect"]
        keyless_expect = v["keyless_expect"]
        for e in (expect, keyless_expect):
            if e != "ok" and e not in ERROR_CLASSES:
                raise ValueError("unknown outcome %r" % e)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return name, ["expected a valid vector got %s" % " ".join(str(e).split())]

    def outcome(ids, sink=None):
        try:
            with open(archive, "rb") as f:
                decode(f, ids, signers, sink)
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
            recipients.append(parse_recipient(s))
        except ValueError as e:
            raise ToolError("usage", "-r %s is not a valid recipient: %s" % (s, e))
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
    if args.signing:
        pub = encode_key(HRP_SIGNER, sodium.crypto_sign_seed_keypair(secret)[0])
        line = encode_key(HRP_SIGNING_KEY, secret)
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
    p = Parser(prog="sealed_ref.py", description="SealedArchive v1 reference implementation (from the spec).")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)

    o = sub.add_parser("open", help="decrypt an archive")
    o.add_argument("-i", "--identity", action="append", required=True, metavar="IDENTITY_FILE")
    o.add_argument("--signer", action="append", metavar="sealsig1...")
    o.add_argument("-o", "--output", metavar="OUT")
    o.add_argument("archive", metavar="ARCHIVE")

    v = sub.add_parser("verify", help="keyless checks")
    v.add_argument("--signer", action="append", metavar="sealsig1...")
    v.add_argument("archive", metavar="ARCHIVE")

    t = sub.add_parser("vectors", help="run test vectors")
    t.add_argument("dir", metavar="DIR")

    e = sub.add_parser("encode", help="encrypt (for cross-checking)")
    e.add_argument("-r", "--recipient", action="append", required=True, metavar="age1...")
    e.add_argument("--signing-key-file", metavar="F")
    e.add_argument("--chunk-size-log2", type=int, default=DEFAULT_CHUNK_LOG2, metavar="N")
    e.add_argument("--created", type=int, metavar="UNIXSECONDS")
    e.add_argument("--label")
    e.add_argument("--sequence", type=int)
    e.add_argument("--previous-digest", metavar="HEX")
    e.add_argument("--payload-kind", type=int, default=1, choices=PAYLOAD_KINDS)
    e.add_argument("--compression", type=int, default=0, choices=COMPRESSIONS,
                   help="header byte only: INPUT must already be compressed")
    e.add_argument("-o", "--output", required=True, metavar="OUT")
    e.add_argument("input", metavar="INPUT")

    k = sub.add_parser("keygen", help="write a new identity (or --signing key) file")
    k.add_argument("--signing", action="store_true")
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
