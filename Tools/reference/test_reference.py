#!/usr/bin/python3
"""Self-test of sealed_ref.py: its encoder against its decoder, plus tampered
archives whose outcome class is derived from FORMAT §8 by hand.

    /usr/bin/python3 Tools/reference/test_reference.py            # run tests
    /usr/bin/python3 Tools/reference/test_reference.py --emit-vectors DIR
        # write every case below as a test vector (schema in README.md), e.g.
        # to run the same cases through another decoder.

Every expectation comment names the check of FORMAT §8 that decides it.
"""

import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True          # leave no __pycache__ in the repo
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sealed_ref as S  # noqa: E402
import nacl.bindings as sodium  # noqa: E402

TOOL = os.path.join(HERE, "sealed_ref.py")
PY = "/usr/bin/python3"
CREATED = 1795000000
LOG2 = 12                      # 4 KiB chunks keep the tests fast
C = 1 << LOG2
F = C + 48


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def new_identity():
    sk = os.urandom(32)
    return sk, S.identity_public(sk)


def new_signing_key():
    seed = os.urandom(32)
    return seed, sodium.crypto_sign_seed_keypair(seed)[0]


def seal(pt, recipients, seed=None, log2=LOG2, **kw):
    out = io.BytesIO()
    kw.setdefault("created", CREATED)
    S.encode(io.BytesIO(pt), out, recipients, seed, log2, **kw)
    return out.getvalue()


def craft(pt, stanza_pairs, file_key, fields=b"", log2=LOG2, seed=None, chunks=None, **header_kw):
    """Build an archive by hand: stanza_pairs are (pk, key_to_wrap) so a stanza
    can wrap a different key; header_kw overrides header bytes (build_header)."""
    stanzas = [S.make_stanza(pk, k) for pk, k in stanza_pairs]
    header = S.build_header(file_key, stanzas, fields, log2, 1, 0, CREATED, **header_kw)
    out = io.BytesIO()
    if chunks is None:
        chunks = S.iter_chunks(io.BytesIO(pt), 1 << log2)
    S.write_body(out, header, file_key, chunks, seed)
    return out.getvalue()


def flip(b, off, mask=0x01):
    b = bytearray(b)
    b[off] ^= mask
    return bytes(b)


def put(b, off, data):
    b = bytearray(b)
    b[off:off + len(data)] = data
    return bytes(b)


def split(archive, T, log2=LOG2):
    """(header, [ciphertexts c_i], trailer) of a well-formed archive."""
    hl = struct.unpack_from("<I", archive, 9)[0]
    f = (1 << log2) + 48
    body = archive[hl:len(archive) - T]
    recs = [body[k:k + f] for k in range(0, len(body), f)]
    return archive[:hl], [r[:-32] for r in recs], archive[len(archive) - T:]


def rebuild(header, cts, seed=None):
    """What anyone can do without a key (FORMAT §1): recompute every record
    hash, the digest and the chunk count, and optionally sign."""
    d = hashlib.blake2b(digest_size=32)
    d.update(S.D_DIGEST + header)
    out = [header]
    n = len(cts)
    for i, c in enumerate(cts):
        h = S.record_hash(i, int(i == n - 1), c)
        d.update(h)
        out.append(c + h)
    d.update(S.u64(n))
    dig = d.digest()
    trailer = S.TRAILER_MAGIC + S.u64(n) + dig
    if seed is not None:
        sk = sodium.crypto_sign_seed_keypair(seed)[1]
        trailer += sodium.crypto_sign(S.signature_message(dig), sk)[:64]
    return b"".join(out) + trailer


def slurp(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def outcome(archive, identities=None, signers=()):
    """('ok', plaintext) or (class, None). identities None = keyless."""
    pt = []
    try:
        S.decode(io.BytesIO(archive), identities, list(signers), pt.append)
        return "ok", b"".join(pt)
    except S.SealedError as e:
        return e.cls, None


# ---------------------------------------------------------------------------
# Keys and the case table (shared by the tests and --emit-vectors)
# ---------------------------------------------------------------------------

class Keys:
    def __init__(self):
        self.A, self.B, self.Cc, self.W = (new_identity() for _ in range(4))
        self.S1, self.S2 = new_signing_key(), new_signing_key()


class Case:
    def __init__(self, name, description, archive, identities, signers, expect, keyless_expect, plaintext=None):
        self.name, self.description, self.archive = name, description, archive
        self.identities, self.signers = identities, signers
        self.expect, self.keyless_expect, self.plaintext = expect, keyless_expect, plaintext


def build_cases(k):
    A, B, Cc, W, S1, S2 = k.A, k.B, k.Cc, k.W, k.S1, k.S2
    cases = []

    def add(name, desc, archive, expect, keyless, ids=(A,), signers=(), pt=None):
        cases.append(Case(name, desc, archive, [i[0] for i in ids], [s[1] for s in signers], expect, keyless, pt))

    # --- well-formed archives (§5 chunking) --------------------------------
    sizes = {"empty": 0, "one-byte": 1, "one-chunk": C, "one-chunk-plus-one": C + 1,
             "three-chunks-exact": 3 * C, "several-chunks": 5 * C + 7}
    for name, size in sizes.items():
        pt = os.urandom(size)
        add("ok-" + name, "%d-byte payload, chunk size %d" % (size, C), seal(pt, [A[1]]), "ok", "ok", pt=pt)

    pt3 = os.urandom(2 * C + 100)          # base: 3 records, last one 148 bytes
    base = seal(pt3, [A[1]])
    hl, T = 146, 48
    ptS = os.urandom(100)
    signed = seal(ptS, [A[1]], S1[0])       # one record, signed
    ptSM = os.urandom(2 * C + 5)
    signed_multi = seal(ptSM, [A[1]], S1[0])
    three = seal(pt3, [A[1], B[1], Cc[1]])
    full = seal(os.urandom(C), [A[1]])      # exactly one full record
    tiny = seal(b"x", [A[1]])
    with_fields = seal(pt3, [A[1]], label="hello", sequence=7, previous_digest=b"\x11" * 32)

    add("ok-three-recipients-first", "3 recipients, opened by the first", three, "ok", "ok", ids=(A,), pt=pt3)
    add("ok-three-recipients-third", "3 recipients, opened by the third", three, "ok", "ok", ids=(Cc,), pt=pt3)
    add("ok-several-identities", "wrong identity first, then a recipient (§8 check 9)", three, "ok", "ok", ids=(W, B), pt=pt3)
    add("ok-signed", "signed, signer required and trusted", signed, "ok", "ok", signers=(S1,), pt=ptS)
    add("ok-signed-not-required", "signed, no signer required: check 17 still runs", signed, "ok", "ok", pt=ptS)
    add("ok-signed-two-trusted", "signed; two trusted signers, the second matches", signed_multi, "ok", "ok",
        signers=(S2, S1), pt=ptSM)
    add("ok-fields", "label, sequence and previous_digest fields", with_fields, "ok", "ok", pt=pt3)
    pk_kind = seal(b"tar-ish", [A[1]], payload_kind=2, compression=1)
    add("ok-kind-2-compression-1", "payload_kind 2, compression 1 (header bytes only; payload stored as is)",
        pk_kind, "ok", "ok", pt=b"tar-ish")
    big = seal(b"abc", [A[1]], log2=24)
    add("ok-chunk-log2-24", "largest chunk size, tiny payload", big, "ok", "ok", pt=b"abc")
    ids64 = [new_identity() for _ in range(64)]
    many = seal(b"sixty-four", [p for _, p in ids64])
    add("ok-64-recipients", "64 recipients, opened by the last", many, "ok", "ok", ids=(ids64[-1],), pt=b"sixty-four")
    add("ok-created-max", "created = 2^64-1", seal(b"t", [A[1]], created=2**64 - 1), "ok", "ok", pt=b"t")

    # --- checks 1-4 ------------------------------------------------------------
    add("empty-input", "zero bytes (check 1)", b"", "header", "header")
    add("cut-12", "first 12 bytes (check 1: fewer than 13)", base[:12], "header", "header")
    add("magic-flip", "first magic byte flipped (check 1)", flip(base, 0), "header", "header")
    add("not-an-archive", "age file header (check 1)", b"age-encryption.org/v1\n-> X25519 abc\n" + b"\x00" * 200,
        "header", "header")
    # Byte 2 is a version 2 header (Spec/FORMAT-v2.md), not an unknown version.
    add("version-3", "version byte 3 (check 2)", put(base, 8, b"\x03"), "version", "version")
    add("version-0", "version byte 0 (check 2)", put(base, 8, b"\x00"), "version", "version")
    add("version-before-limit", "version 3 and header_length 0: check 2 comes first",
        put(put(base, 8, b"\x03"), 9, S.u32(0)), "version", "version")
    add("header-length-145", "header_length 145 (check 3)", put(base, 9, S.u32(145)), "limit", "limit")
    add("header-length-8193", "header_length 8193 (check 3)", put(base, 9, S.u32(8193)), "limit", "limit")
    add("limit-before-truncated", "header_length 9000 on a 13-byte input: check 3 before 4",
        put(base, 9, S.u32(9000))[:13], "limit", "limit")
    add("cut-13", "first 13 bytes (check 4)", base[:13], "truncated", "truncated")
    add("cut-in-header", "first 100 bytes (check 4)", base[:100], "truncated", "truncated")
    add("cut-in-mac", "header minus its last byte (check 4)", base[:hl - 1], "truncated", "truncated")
    add("header-length-beyond-input", "header_length 8192 on a 243-byte archive (check 4)",
        put(tiny, 9, S.u32(8192)), "truncated", "truncated")
    add("truncated-before-recipient-count", "recipient_count 0 but cut inside the header: check 4 before 5",
        put(base, 24, S.u16(0))[:100], "truncated", "truncated")

    # --- checks 5-7 --------------------------------------------------------
    add("recipient-count-0", "recipient_count 0 (check 5)", put(base, 24, S.u16(0)), "limit", "limit")
    add("recipient-count-65-declared", "recipient_count 65 in a 1-stanza header: check 5 before 7",
        put(base, 24, S.u16(65)), "limit", "limit")
    fk = os.urandom(32)
    ids65 = [new_identity() for _ in range(65)]
    add("recipient-count-65", "65 real stanzas, valid MAC (check 5)",
        craft(b"x", [(p, fk) for _, p in ids65], fk), "limit", "limit", ids=(ids65[0],))
    add("limit-before-header", "recipient_count 0 and chunk_size_log2 0: check 5 before 6",
        put(put(base, 24, S.u16(0)), 13, b"\x00"), "limit", "limit")
    for off, val, what in ((13, 11, "chunk_size_log2 11"), (13, 25, "chunk_size_log2 25"),
                           (14, 0, "payload_kind 0"), (14, 3, "payload_kind 3"), (15, 2, "compression 2")):
        add("bad-" + what.replace(" ", "-").replace("_", "-"), what + " (check 6)", put(base, off, bytes([val])),
            "header", "header")
    kind1_zstd = S.build_header(fk, [S.make_stanza(A[1], fk)], b"", LOG2, 1, 1, CREATED)
    kind1_out = io.BytesIO()
    S.write_body(kind1_out, kind1_zstd, fk, S.iter_chunks(io.BytesIO(b"not stored compressed"), 1 << LOG2), None)
    add("bytes-compression-1", "payload_kind 1 with compression 1, valid MAC (check 6: byte payloads are stored as given)",
        kind1_out.getvalue(), "header", "header")
    add("recipient-count-2-one-stanza", "recipient_count 2, room for 1 stanza (check 7)",
        put(base, 24, S.u16(2)), "header", "header")
    fk = os.urandom(32)
    add("duplicate-key-id", "same recipient twice, valid MAC (check 7)", craft(pt3, [(A[1], fk), (A[1], fk)], fk),
        "header", "header")

    def fields_case(name, desc, fields):
        fk = os.urandom(32)
        add(name, desc + " (check 7)", craft(pt3, [(A[1], fk)], fk, fields), "header", "header")
    fields_case("field-unknown-tag-5", "field tag 5 with a valid MAC", b"\x05" + S.u16(1) + b"z")
    fields_case("field-tag-0", "field tag 0", b"\x00" + S.u16(0))
    fields_case("fields-out-of-order", "sequence before label", S.encode_fields(sequence=1) + S.encode_fields(label="a"))
    fields_case("field-repeated", "label twice", S.encode_fields(label="a") + S.encode_fields(label="b"))
    fields_case("field-cut", "2 bytes of fields (no room for a length)", b"\x02\x01")
    fields_case("field-overruns", "label length 10 with 3 value bytes", b"\x02" + S.u16(10) + b"abc")
    fields_case("label-empty", "label of length 0", b"\x02" + S.u16(0))
    fields_case("label-256", "label of 256 bytes", b"\x02" + S.u16(256) + b"a" * 256)
    fields_case("label-newline", "label with a LF", S.encode_fields(label=b"a\nb"))
    fields_case("label-del", "label with 0x7F", S.encode_fields(label=b"a\x7fb"))
    fields_case("label-bad-utf8", "label 0xFF", S.encode_fields(label=b"\xff"))
    fields_case("signer-31", "signer field of 31 bytes", b"\x01" + S.u16(31) + b"\x00" * 31)
    fields_case("sequence-7", "sequence field of 7 bytes", b"\x03" + S.u16(7) + b"\x00" * 7)
    fields_case("previous-digest-33", "previous_digest of 33 bytes", b"\x04" + S.u16(33) + b"\x00" * 33)
    add("header-length-plus-1", "header_length one too big: one stray field byte (check 7)",
        put(base, 9, S.u32(hl + 1)), "header", "header")
    hlf = struct.unpack_from("<I", with_fields, 9)[0]
    add("header-length-minus-1", "header_length one too small: last field overruns (check 7)",
        put(with_fields, 9, S.u32(hlf - 1)), "header", "header")

    # --- check 8 -----------------------------------------------------------
    add("unsigned-signer-required", "unsigned archive, a signer required (check 8)", base, "unsigned", "unsigned",
        signers=(S1,))
    add("wrong-signer", "signed by S1, only S2 trusted (check 8)", signed, "untrusted-signer", "untrusted-signer",
        signers=(S2,))
    add("untrusted-before-no-identity", "wrong signer and wrong identity: check 8 before 9", signed,
        "untrusted-signer", "untrusted-signer", ids=(W,), signers=(S2,))
    add("unsigned-before-damage", "created flipped, signer required: check 8 before 11/16",
        flip(base, 16), "unsigned", "unsigned", signers=(S1,))
    fk = os.urandom(32)
    add("header-before-signer-check", "unknown field tag and a signer required: check 7 before 8",
        craft(pt3, [(A[1], fk)], fk, b"\x07" + S.u16(0)), "header", "header", signers=(S1,))

    # --- checks 9-11 (keyless: the header is covered by the digest, check 16)
    add("wrong-identity", "identity is not a recipient (check 9)", base, "no-identity", "ok", ids=(W,))
    add("key-id-flip", "the only stanza's key id flipped (check 9; keyless 16)", flip(base, 26), "no-identity", "damaged")
    add("no-identity-before-record-damage", "wrong identity, record 0 flipped: check 9 before 12",
        flip(base, hl + 5), "no-identity", "damaged", ids=(W,))
    add("ephemeral-key-flip", "stanza's ephemeral public key flipped (check 10)", flip(base, 26 + 8 + 3), "damaged", "damaged")
    add("wrapped-key-flip", "stanza's box flipped (check 10)", flip(base, 26 + 8 + 50), "damaged", "damaged")
    add("stanza-low-order-ephemeral", "stanza's ephemeral key set to zero, a low-order point (check 10)",
        put(base, 34, bytes(32)), "damaged", "damaged")
    add("created-flip", "created flipped (check 11; keyless 16)", flip(base, 16), "damaged", "damaged")
    add("header-mac-flip", "last MAC byte flipped (check 11; keyless 16)", flip(base, hl - 1), "damaged", "damaged")
    lab = with_fields.index(b"hello")
    add("label-flip", "label 'hello' -> 'hellp', still valid (check 11; keyless 16)", flip(with_fields, lab + 4, 0x1f),
        "damaged", "damaged")
    add("other-stanza-key-id-flip", "3 recipients, A's key id flipped, opened by B (check 11)",
        flip(three, 26), "damaged", "damaged", ids=(B,))
    # Identity order (SPEC-QUESTIONS: check 9). A header where B's stanza wraps
    # a stale key: the first identity with a stanza decides.
    fk, stale = os.urandom(32), os.urandom(32)
    stale_b = craft(pt3, [(A[1], fk), (B[1], stale)], fk)
    add("identity-order-a-first", "B's stanza wraps a stale key; identities A, B", stale_b, "ok", "ok", ids=(A, B), pt=pt3)
    add("identity-order-b-first", "B's stanza wraps a stale key; identities B, A: first match is final (reading of check 9)",
        stale_b, "damaged", "ok", ids=(B, A))

    # --- checks 12-17 -----------------------------------------------------------
    last_off = hl + 2 * F
    add("record0-ciphertext-flip", "record 0 ciphertext (check 12)", flip(base, hl + 10), "damaged", "damaged")
    add("record0-hash-flip", "record 0 hash (check 12)", flip(base, hl + F - 1), "damaged", "damaged")
    add("last-record-flip", "last record ciphertext (check 14)", flip(base, last_off + 3), "damaged", "damaged")
    add("last-record-hash-flip", "last record hash (check 14)", flip(base, len(base) - T - 1), "damaged", "damaged")
    h_, cts, _ = split(base, T)
    cts1 = list(cts)
    cts1[1] = flip(cts1[1], 7)
    add("rehashed-ciphertext-flip", "record 1 flipped, hashes and digest recomputed: only the AEAD sees it (check 12)",
        rebuild(h_, cts1), "damaged", "ok")
    add("records-swapped", "records 0 and 1 swapped (check 12)", rebuild_raw(base, T, [1, 0, 2]), "damaged", "damaged")
    add("record-duplicated", "record 0 repeated (check 12)", rebuild_raw(base, T, [0, 0, 1, 2]), "damaged", "damaged")
    add("record-dropped-middle", "record 1 dropped (check 14)", rebuild_raw(base, T, [0, 2]), "damaged", "damaged")
    add("record-dropped-last", "last record dropped; record 1 becomes last (check 14)",
        rebuild_raw(base, T, [0, 1]), "damaged", "damaged")
    add("record-damage-before-trailer", "record 0 and trailer magic flipped: check 12 before 13",
        flip(flip(base, hl + 10), len(base) - T), "damaged", "damaged")
    add("trailer-magic-flip", "trailer magic (check 13: no trailer, so cut short)", flip(base, len(base) - T), "truncated", "truncated")
    empty_last = craft(b"", [(A[1], fk)], fk, chunks=iter([(0, b"\x00" * C, False), (1, b"", True)]))
    add("empty-last-chunk", "a full chunk then an empty last chunk (check 13: tail < T+49)", empty_last,
        "truncated", "truncated")
    add("chunk-count-plus-1", "chunk_count 4 (check 15)", put(base, len(base) - T + 8, S.u64(4)), "damaged", "damaged")
    add("chunk-count-minus-1", "chunk_count 2 (check 15)", put(base, len(base) - T + 8, S.u64(2)), "damaged", "damaged")
    add("digest-flip", "digest (check 16)", flip(base, len(base) - 1), "damaged", "damaged")
    add("signed-digest-flip", "digest of a signed archive: check 16 before 17", flip(signed, len(signed) - 64 - 1),
        "damaged", "damaged")
    add("signature-flip", "signature (check 17)", flip(signed, len(signed) - 1), "signature", "signature")
    add("signature-flip-no-requirement", "signature flipped, no signer required (check 17)",
        flip(signed, len(signed) - 1), "signature", "signature", signers=())
    sh, scts, _ = split(signed, 112)
    assert sh[114:117] == b"\x01\x20\x00"     # signer field right after the stanza
    soff = 117
    swapped_signer = put(signed, soff, S2[1])
    add("signer-field-replaced", "signer key replaced, S2 trusted (check 11; keyless 16)", swapped_signer,
        "damaged", "damaged", signers=(S2,))
    resigned = rebuild(put(sh, soff, S2[1]), scts, S2[0])
    add("resigned-by-other-untrusted", "signer replaced by S2 and re-signed by S2; S1 required (check 8)",
        resigned, "untrusted-signer", "untrusted-signer", signers=(S1,))
    add("resigned-by-other-no-requirement", "signer replaced and re-signed, nothing required: only the MAC sees it",
        resigned, "damaged", "ok")
    stripped_h = sh[:114] + sh[114 + 35:]
    stripped_h = put(stripped_h, 9, S.u32(len(stripped_h)))
    add("signer-stripped", "signer field removed, trailer kept (check 11; keyless 13: T is now 48)",
        stripped_h + signed[len(sh):], "damaged", "trailer")
    stripped_rebuilt = rebuild(stripped_h, scts)
    add("signer-stripped-rebuilt", "signer field removed, unsigned trailer rebuilt (check 11; keyless ok)",
        stripped_rebuilt, "damaged", "ok")
    add("signer-stripped-rebuilt-required", "as above with S1 required (check 8)",
        stripped_rebuilt, "unsigned", "unsigned", signers=(S1,))
    add("signer-not-a-point", "signer field 0xff..ff (not a curve point), trailer re-signed by anyone (check 17)",
        rebuild(put(sh, soff, b"\xff" * 32), scts, S2[0]), "damaged", "signature")
    add("signature-dropped", "last 64 bytes of a signed archive removed (check 13)", signed[:-64], "truncated", "truncated")

    # --- truncation and appended bytes (checks 12-14) -----------------------------
    add("cut-at-header-end", "nothing after the header (check 13)", base[:hl], "truncated", "truncated")
    add("cut-in-record-0", "cut 50 bytes into record 0 (check 13)", base[:hl + 50], "truncated", "truncated")
    add("cut-after-record-0", "cut after record 0 (check 13)", base[:hl + F], "truncated", "truncated")
    add("cut-one-byte", "last byte removed (check 13)", base[:-1], "truncated", "truncated")
    add("cut-trailer", "trailer removed (check 13)", base[:-T], "truncated", "truncated")
    add("append-one-byte", "one byte appended (check 13)", base + b"\x00", "trailer", "trailer")
    add("append-trailer-copy", "trailer appended twice: ends in a trailer, last record wrong (check 14)",
        base + base[-T:], "damaged", "damaged")
    add("append-one-byte-full-record", "one byte after a full single record: it is taken as a non-last record (check 12)",
        full + b"\x00", "damaged", "damaged")
    add("append-record-size", "F zero bytes appended (check 12)", base + b"\x00" * F, "damaged", "damaged")
    return cases


def rebuild_raw(archive, T, order):
    """Reassemble records (ciphertext AND hash, unchanged) in another order."""
    hl = struct.unpack_from("<I", archive, 9)[0]
    body = archive[hl:len(archive) - T]
    recs = [body[k:k + F] for k in range(0, len(body), F)]
    return archive[:hl] + b"".join(recs[i] for i in order) + archive[len(archive) - T:]


def write_vectors(cases, directory):
    os.makedirs(directory, exist_ok=True)
    for c in cases:
        with open(os.path.join(directory, c.name + ".sarc"), "wb") as f:
            f.write(c.archive)
        v = {"name": c.name, "description": c.description, "archive": c.name + ".sarc",
             "identities": [S.encode_key(S.HRP_IDENTITY, sk) for sk in c.identities],
             "signers": [S.encode_key(S.HRP_SIGNER, pk) for pk in c.signers],
             "expect": c.expect, "keyless_expect": c.keyless_expect}
        if c.expect == "ok":
            v["plaintext_sha256"] = hashlib.sha256(c.plaintext).hexdigest()
            v["plaintext_length"] = len(c.plaintext)
        with open(os.path.join(directory, c.name + ".json"), "w") as f:
            json.dump(v, f, indent=2)
            f.write("\n")


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

KEYS = None
CASES = None


def setUpModule():
    global KEYS, CASES
    KEYS = Keys()
    CASES = build_cases(KEYS)


class TestPrimitives(unittest.TestCase):
    def test_blake2b_matches_libsodium(self):
        key, msg = os.urandom(32), b"SealedArchive/v1/header-mac"
        self.assertEqual(S.H_k(key, msg), sodium.crypto_generichash.generichash_blake2b_salt_personal(
            msg, digest_size=32, key=key))
        self.assertEqual(S.H(msg), sodium.crypto_generichash.generichash_blake2b_salt_personal(msg, digest_size=32))

    def test_nonce_layout(self):
        # §5: 3 zero bytes, BE64(i), flag.
        self.assertEqual(S.chunk_nonce(0x0102, 1), bytes(3) + bytes(6) + b"\x01\x02\x01")

    def test_stanza_and_header_sizes(self):
        a = seal(b"", [KEYS.A[1]])
        self.assertEqual(len(a), 146 + 48 + 48)        # §4 minimum header, §5, §6
        s = seal(b"", [KEYS.A[1]], KEYS.S1[0])
        self.assertEqual(len(s), 146 + 35 + 48 + 112)


class TestBech32(unittest.TestCase):
    def test_bip173_valid(self):
        for v in ("A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                  "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
                  "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w", "?1ezyfcl"):
            S.bech32_decode(v)

    def test_bip173_invalid(self):
        for v in ("\x201nwldj5", "\x7f1axkwrx", "pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3",
                  "de1lg7wt\xff", "A1G7SGD8", "10a06t8", "1qzzfhee", "A12UEL5l"):
            with self.assertRaises(ValueError, msg=repr(v)):
                S.bech32_decode(v)

    def test_age_testkit_identity(self):
        # The age test-kit identity whose scalar is 32 bytes of 0x42.
        s = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
        self.assertEqual(S.parse_identity(s), b"\x42" * 32)
        self.assertEqual(S.encode_key(S.HRP_IDENTITY, b"\x42" * 32), s)

    def test_roundtrip_and_lengths(self):
        sk, pk = new_identity()
        r, i = S.encode_key(S.HRP_RECIPIENT, pk), S.encode_key(S.HRP_IDENTITY, sk)
        self.assertEqual((len(r), len(i)), (62, 74))          # KEYS §2
        self.assertTrue(r.startswith("age1") and i.startswith("AGE-SECRET-KEY-1"))
        self.assertEqual(S.parse_recipient(r), pk)
        self.assertEqual(S.parse_identity(i), sk)
        seed, spk = new_signing_key()
        self.assertEqual(S.parse_signer(S.encode_key(S.HRP_SIGNER, spk)), spk)
        self.assertEqual(S.parse_signing_key(S.encode_key(S.HRP_SIGNING_KEY, seed)), seed)

    def test_strict_rejections(self):
        sk, pk = new_identity()
        r, i = S.encode_key(S.HRP_RECIPIENT, pk), S.encode_key(S.HRP_IDENTITY, sk)
        bad = {
            "mixed case": r[:10] + r[10].upper() + r[11:] if r[10].isalpha() else r[:-1] + "Q",
            "bad checksum": r[:-1] + ("q" if r[-1] != "q" else "p"),
            "wrong hrp": S.encode_key("age2", pk),
            "upper-case recipient": r.upper(),
            "lower-case identity": i.lower(),
            "bech32 char outside alphabet": r[:20] + "b" + r[21:],
            "31 bytes": S.bech32_encode("age", S._convertbits(pk[:31], 8, 5, True)),
            "33 bytes": S.bech32_encode("age", S._convertbits(pk + b"\x00", 8, 5, True)),
            "identity where recipient expected": i,
        }
        # Non-zero padding: 32 bytes give 52 groups, the last with 4 pad bits.
        data = S._convertbits(pk, 8, 5, True)
        data[-1] |= 1
        bad["non-zero padding"] = S.bech32_encode("age", data)
        # One group too many (53 groups = 265 bits: 33 bytes + 1 bit).
        bad["extra group"] = S.bech32_encode("age", S._convertbits(pk, 8, 5, True) + [0])
        for what, s in bad.items():
            with self.assertRaises(ValueError, msg=what):
                S.parse_recipient(s)
        with self.assertRaises(ValueError):
            S.parse_identity(r)

    @unittest.skipUnless(os.path.exists("/usr/bin/age-keygen"), "age-keygen not installed")
    def test_age_keygen_interop(self):
        out = subprocess.run(["/usr/bin/age-keygen"], capture_output=True, text=True, check=True).stdout
        ident = [l for l in out.splitlines() if l.startswith("AGE-SECRET-KEY-1")][0]
        pub = [l for l in out.splitlines() if l.startswith("# public key: ")][0].split()[-1]
        self.assertEqual(S.encode_key(S.HRP_RECIPIENT, S.identity_public(S.parse_identity(ident))), pub)


class TestKeyFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, text, mode=0o600):
        p = os.path.join(self.tmp.name, "k%d" % len(os.listdir(self.tmp.name)))
        with open(p, "wb") as f:
            f.write(text.encode())
        os.chmod(p, mode)
        return p

    def test_identity_file(self):
        sk1, sk2 = os.urandom(32), os.urandom(32)
        e1, e2 = S.encode_key(S.HRP_IDENTITY, sk1), S.encode_key(S.HRP_IDENTITY, sk2)
        p = self.write("# created: x\r\n\r\n# public key: y\n%s\r\n\n%s" % (e1, e2))
        self.assertEqual(S.load_identities(p), [sk1, sk2])

    def test_identity_file_rejections(self):
        e = S.encode_key(S.HRP_IDENTITY, os.urandom(32))
        for text, mode in (("%s\n" % e, 0o644), ("%s\n" % e, 0o640), ("# nothing\n\n", 0o600),
                           (" %s\n" % e, 0o600), ("%s \n" % e, 0o600), ("garbage\n", 0o600)):
            with self.assertRaises(S.ToolError, msg=(text, oct(mode))) as cm:
                S.load_identities(self.write(text, mode))
            self.assertNotIn(e, cm.exception.message)       # never echo secrets

    def test_signing_key_file(self):
        seed = os.urandom(32)
        line = S.encode_key(S.HRP_SIGNING_KEY, seed)
        self.assertEqual(S.load_signing_key(self.write("# c\n%s\n" % line)), seed)
        with self.assertRaises(S.ToolError):
            S.load_signing_key(self.write("%s\n%s\n" % (line, line)))


class TestRoundTrip(unittest.TestCase):
    def test_chunking(self):
        # §5: n = max(1, ceil(L / C)); record sizes; §6 trailer size.
        for L in (0, 1, C - 1, C, C + 1, 3 * C, 3 * C + 1):
            pt = os.urandom(L)
            a = seal(pt, [KEYS.A[1]])
            n = max(1, -(-L // C))
            self.assertEqual(len(a), 146 + L + 48 * n + 48, L)
            res = S.decode(io.BytesIO(a), None)
            self.assertEqual(res.chunk_count, n)
            self.assertEqual(outcome(a, [KEYS.A[0]]), ("ok", pt))

    def test_header_fields_parsed(self):
        a = seal(b"p", [KEYS.A[1]], KEYS.S1[0], label="Grüße", sequence=2**64 - 1, previous_digest=b"\x22" * 32,
                 payload_kind=2)
        r = S.decode(io.BytesIO(a), [KEYS.A[0]], [KEYS.S1[1]])
        h = r.header
        self.assertEqual((h.label, h.sequence, h.previous_digest, h.signer, h.payload_kind, h.created),
                         ("Grüße", 2**64 - 1, b"\x22" * 32, KEYS.S1[1], 2, CREATED))

    def test_chain_digest(self):
        a = seal(b"one", [KEYS.A[1]])
        d = S.decode(io.BytesIO(a), None).digest
        self.assertEqual(d, a[-32:])
        b = seal(b"two", [KEYS.A[1]], sequence=1, previous_digest=d)
        self.assertEqual(S.decode(io.BytesIO(b), None).header.previous_digest, d)

    def test_empty_identity_list(self):
        self.assertEqual(outcome(seal(b"", [KEYS.A[1]]), []), ("no-identity", None))

    def test_encoder_refuses(self):
        pk = KEYS.A[1]
        for kw in (dict(recipients=[]), dict(recipients=[pk, pk]), dict(recipients=[new_identity()[1] for _ in range(65)]),
                   dict(label=""), dict(label="a\tb"), dict(chunk_size_log2=11), dict(chunk_size_log2=25),
                   dict(recipients=[bytes(32)]), dict(created=-1), dict(sequence=2**64)):
            args = dict(recipients=[pk])
            args.update(kw)
            with self.assertRaises(S.ToolError, msg=kw):
                S.encode(io.BytesIO(b"x"), io.BytesIO(), **args)

    def test_fresh_file_key(self):
        a, b = seal(b"same", [KEYS.A[1]]), seal(b"same", [KEYS.A[1]])
        self.assertNotEqual(a[34:114], b[34:114])


class ShortReader:
    """A non-seekable stream returning at most 1000 bytes a read."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, n):
        n = min(n, 1000)
        b = self.data[self.pos:self.pos + n]
        self.pos += len(b)
        return b


class TestStreaming(unittest.TestCase):
    def test_bounded_lookahead(self):
        # §7: the decoder holds back at most F + T (+1 to know "more than").
        pt = os.urandom(20 * C + 3)
        a = seal(pt, [KEYS.A[1]])
        r = ShortReader(a)
        seen = []

        def sink(p):
            consumed = 146 + F * len(seen) + len(p) + 48
            seen.append(p)
            self.assertLessEqual(r.pos - consumed, F + 48 + 1)
        S.decode(r, [KEYS.A[0]], (), sink)
        self.assertEqual(b"".join(seen), pt)


class TestCases(unittest.TestCase):
    def test_cases(self):
        names = set()
        for c in CASES:
            self.assertNotIn(c.name, names)
            names.add(c.name)
            with self.subTest(c.name):
                got, pt = outcome(c.archive, c.identities, c.signers)
                self.assertEqual(got, c.expect, "%s: %s (with identity)" % (c.name, c.description))
                got_k, _ = outcome(c.archive, None, c.signers)
                self.assertEqual(got_k, c.keyless_expect, "%s: %s (keyless)" % (c.name, c.description))
                if c.expect == "ok":
                    self.assertEqual(pt, c.plaintext)


class TestCommandLine(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_tool(self, *args, stdin=None):
        return subprocess.run([PY, TOOL] + list(args), capture_output=True, input=stdin)

    def assert_error(self, p, cls):
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertRegex(lines[0], r"^error: %s: \S.*$" % re.escape(cls))

    def path(self, name):
        return os.path.join(self.d, name)

    def test_encode_open_verify(self):
        idf = self.path("id")
        self.assertEqual(self.run_tool("keygen", "-o", idf).returncode, 0)
        self.assertEqual(os.stat(idf).st_mode & 0o777, 0o600)
        self.assertNotEqual(self.run_tool("keygen", "-o", idf).returncode, 0)      # never overwrite
        sigf = self.path("sig")
        spub = self.run_tool("keygen", "--signing", "-o", sigf).stdout.decode().strip()
        pub = [l for l in slurp(idf, "r").splitlines() if l.startswith("# public key:")][0].split()[-1]
        pt = os.urandom(3 * C + 11)
        with open(self.path("pt"), "wb") as f:
            f.write(pt)
        p = self.run_tool("encode", "-r", pub, "--signing-key-file", sigf, "--chunk-size-log2", "12",
                          "--created", "5", "--label", "L", "--sequence", "3", "--previous-digest", "ab" * 32,
                          "-o", self.path("a.sarc"), self.path("pt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.run_tool("open", "-i", idf, "--signer", spub, "-o", self.path("out"), self.path("a.sarc"))
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        self.assertEqual(slurp(self.path("out")), pt)
        p = self.run_tool("open", "-i", idf, self.path("a.sarc"))
        self.assertEqual(p.stdout, pt)
        p = self.run_tool("verify", "--signer", spub, self.path("a.sarc"))
        self.assertEqual(p.returncode, 0, p.stderr)
        # Failures: one error line, exit 1, no output file left behind.
        a = slurp(self.path("a.sarc"))
        with open(self.path("bad.sarc"), "wb") as f:
            f.write(flip(a, len(a) - 1))
        p = self.run_tool("open", "-i", idf, "-o", self.path("out2"), self.path("bad.sarc"))
        self.assert_error(p, "signature")
        self.assertFalse(os.path.exists(self.path("out2")))
        self.assertEqual([n for n in os.listdir(self.d) if n.endswith(".part")], [])
        self.assert_error(self.run_tool("verify", self.path("bad.sarc")), "signature")
        self.assert_error(self.run_tool("verify", "--signer", pub.replace("age", "sealsig"), self.path("a.sarc")),
                          "usage")
        other = S.encode_key(S.HRP_SIGNER, new_signing_key()[1])
        self.assert_error(self.run_tool("verify", "--signer", other, self.path("a.sarc")), "untrusted-signer")
        with open(self.path("cut.sarc"), "wb") as f:
            f.write(a[:100])
        self.assert_error(self.run_tool("verify", self.path("cut.sarc")), "truncated")
        # Archive on standard input.
        p = self.run_tool("open", "-i", idf, "-", stdin=a)
        self.assertEqual(p.stdout, pt)
        # Identity file readable by others is refused (KEYS §4).
        os.chmod(idf, 0o644)
        p = self.run_tool("open", "-i", idf, self.path("a.sarc"))
        self.assert_error(p, "usage")
        self.assertIn(b"chmod 600", p.stderr)

    def test_vectors_command(self):
        vd = self.path("vectors")
        write_vectors(CASES, vd)
        p = self.run_tool("vectors", vd)
        out = p.stdout.decode().splitlines()
        self.assertEqual(p.returncode, 0, "\n".join(l for l in out if not l.startswith("ok ")))
        self.assertEqual(out[-1], "%d passed, 0 failed" % len(CASES))
        # A wrong expectation is reported and fails the run.
        j = os.path.join(vd, "digest-flip.json")
        v = json.loads(slurp(j, "r"))
        v["keyless_expect"] = "ok"
        with open(j, "w") as f:
            json.dump(v, f)
        p = self.run_tool("vectors", vd)
        self.assertEqual(p.returncode, 1)
        self.assertIn("FAIL digest-flip: expected keyless ok got keyless damaged", p.stdout.decode())
        self.assertTrue(p.stdout.decode().splitlines()[-1].endswith(" passed, 1 failed"))
        # An empty directory is a failure (N must be > 0).
        os.mkdir(self.path("empty"))
        p = self.run_tool("vectors", self.path("empty"))
        self.assertEqual((p.returncode, p.stdout), (1, b"0 passed, 0 failed\n"))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--emit-vectors":
        cases = build_cases(Keys())
        write_vectors(cases, sys.argv[2])
        print("wrote %d vectors to %s" % (len(cases), sys.argv[2]))
        sys.exit(0)
    unittest.main()
