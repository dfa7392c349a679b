#!/usr/bin/python3
"""Self-test of sealed_ref.py: its encoder against its decoder, plus tampered
archives whose outcome class is derived from FORMAT §8 by hand.

    /usr/bin/python3 Tools/reference/test_reference.py            # run tests
    /usr/bin/python3 Tools/reference/test_reference.py --emit-vectors DIR
        # write every case below as a test vector (schema in README.md), e.g.
        # to run the same cases through another decoder.

Every expectation comment names the check of FORMAT §8 (version 1) or
FORMAT-v2 §7 (cases named v2-* and, for post-quantum recipients, pq-*) that
decides it. --emit-vectors writes the version 1 cases to DIR, the version 2
ones to DIR/v2 and the post-quantum ones to DIR/pq.
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


def new_pq_identity():
    """(PQIdentity, 1216-byte X-Wing public key), KEYS §2.1."""
    ident = S.PQIdentity(os.urandom(32))
    return ident, ident.pk


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
        self.P, self.Q = new_pq_identity(), new_pq_identity()      # post-quantum (KEYS §2.1)


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
             "identities": [S.identity_string(i) for i in c.identities],
             "signers": [S.encode_key(S.HRP_SIGNER, pk) for pk in c.signers],
             "expect": c.expect, "keyless_expect": c.keyless_expect}
        if c.expect == "ok":
            v["plaintext_sha256"] = hashlib.sha256(c.plaintext).hexdigest()
            v["plaintext_length"] = len(c.plaintext)
            if c.archive[8:9] == b"\x02" and c.archive[14:15] == b"\x02":
                # Version 2 tar payloads: the tar stream the frames yield.
                v["tar_sha256"] = hashlib.sha256(S.check_tar_payload(c.plaintext)[0]).hexdigest()
        with open(os.path.join(directory, c.name + ".json"), "w") as f:
            json.dump(v, f, indent=2)
            f.write("\n")




def outcome2(archive, identities=None, signers=()):
    """outcome() through the version dispatch; with identities, a version 2
    tar payload also gets the V2 §8 whole-payload check."""
    pt = []
    try:
        res = S.decode_any(io.BytesIO(archive), identities, list(signers), pt.append)
        payload = b"".join(pt)
        if identities is not None and res.header.version == 2 and res.header.payload_kind == 2:
            S.check_tar_payload(payload)
        return "ok", payload
    except S.SealedError as e:
        return e.cls, None


# ---------------------------------------------------------------------------
# Version 2 (Spec/FORMAT-v2.md, "V2 §n"): cases named v2-*, C = 4 KiB and
# G = 2 unless stated, so group boundaries fall every 2 records.
# ---------------------------------------------------------------------------

G2_LOG2 = 1
F2 = C + 16                    # V2 §5


def seal2(pt, recipients, seed=None, log2=LOG2, glog2=G2_LOG2, **kw):
    out = io.BytesIO()
    kw.setdefault("created", CREATED)
    S.encode_v2(io.BytesIO(pt), out, recipients, seed, log2, glog2, **kw)
    return out.getvalue()


def craft2(pt, stanzas, file_key, fields=b"", log2=LOG2, glog2=G2_LOG2, seed=None, chunks=None,
           header_signature=None, payload_kind=1, **header_kw):
    """A version 2 archive by hand: stanzas are typed stanza bytes, header_kw
    overrides header bytes (build_header_v2) under a correct MAC."""
    header = S.build_header_v2(file_key, stanzas, fields, log2, glog2, payload_kind, None, CREATED, **header_kw)
    out = io.BytesIO()
    if chunks is None:
        chunks = S.iter_chunks(io.BytesIO(pt), 1 << log2)
    S.write_body_v2(out, header, file_key, chunks, glog2, seed, header_signature)
    return out.getvalue()


def stanza2(stype, body):
    return S.u8(stype) + S.u16(len(body)) + body


class Layout2:
    """Offsets of a well-formed version 2 archive (V2 §2, §5)."""

    def __init__(self, a, signed=False, log2=LOG2, glog2=G2_LOG2):
        self.a = a
        self.hl = struct.unpack_from("<I", a, 9)[0]
        self.S = self.hl + (64 if signed else 0)
        self.T = 112 if signed else 48
        self.F, self.G = (1 << log2) + 16, 1 << glog2
        n, tail = S.split_v2(len(a) - self.S, type("H", (), {"record_size": self.F, "group_size": self.G,
                                                                "trailer_size": self.T})())
        self.n = n + 1
        self.m = -(-self.n // self.G)
        p = (self.n - 1) % self.G
        self.last_len = tail - self.T - 32 * (p + 1) - 32 * self.m

    def record(self, i):
        return self.S + i * self.F + (i // self.G) * 32 * self.G

    def record_len(self, i):
        return self.last_len if i == self.n - 1 else self.F

    def segment(self, j):
        if j < self.m - 1:
            return self.S + (j + 1) * self.G * self.F + j * 32 * self.G
        return self.record(self.n - 1) + self.last_len

    def table(self):
        return len(self.a) - self.T - 32 * self.m

    def parts(self):
        """(header + header signature, [c_i])."""
        return self.a[:self.S], [self.a[self.record(i):self.record(i) + self.record_len(i)] for i in range(self.n)]


def rebuild2(prefix, cts, glog2=G2_LOG2, seed=None):
    """What anyone can do without a key: recompute hashes, segments, group
    table and digest over the given records (V2 §2, §6)."""
    hl = struct.unpack_from("<I", prefix, 9)[0]
    header, hsig = prefix[:hl], prefix[hl:]
    G, n = 1 << glog2, len(cts)
    out, group, table = [prefix], [], []
    for i, c in enumerate(cts):
        out.append(c)
        group.append(S.record_hash_v2(i, int(i == n - 1), c))
        if len(group) == G or i == n - 1:
            seg = b"".join(group)
            out.append(seg)
            table.append(S.segment_hash(len(table), seg))
            group = []
    out.append(b"".join(table))
    d = S.digest_v2(header, hsig, table, n)
    trailer = S.TRAILER_MAGIC + S.u64(n) + d
    if seed is not None:
        trailer += S.sign_detached(seed, S.D2_SIGNATURE + d)
    return b"".join(out) + trailer


def make_tar(fmt=None, big=False):
    """A tar with nested directories, a long (pax or GNU) path, a symbolic
    and a hard link, an empty file and a FIFO."""
    import tarfile
    fmt = tarfile.PAX_FORMAT if fmt is None else fmt
    b = io.BytesIO()
    rnd = lambda n: (hashlib.sha256(b"%d" % n).digest() * (n // 32 + 1))[:n]
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        def add(name, type=tarfile.REGTYPE, data=b"", link="", mode=0o644, mtime=1700000000):
            ti = tarfile.TarInfo(name)
            ti.type, ti.size, ti.linkname, ti.mode, ti.mtime = type, len(data), link, mode, mtime
            t.addfile(ti, io.BytesIO(data) if type == tarfile.REGTYPE else None)
        add("top/", tarfile.DIRTYPE, mode=0o755)
        add("top/a.txt", data=b"hello\n")
        add("top/sub/", tarfile.DIRTYPE, mode=0o700)
        add("top/sub/deep/", tarfile.DIRTYPE)
        add("top/sub/deep/nested.bin", data=rnd(300000 if big else 9000), mode=0o600)
        add("top/sub/" + "long-name-" * 12 + ".txt", data=b"long\n")
        add("top/sub/empty", data=b"")
        add("top/link", tarfile.SYMTYPE, link="sub/deep/nested.bin", mode=0o777)
        add("top/hard", tarfile.LNKTYPE, link="top/a.txt")
        add("top/fifo", tarfile.FIFOTYPE)
        add("other/x.bin", data=rnd(700000 if big else 5000))
    return b.getvalue()


def tar_payload_parts(tar, raw=False, cut=S.FRAME_CUT, soft=S.FRAME_SOFT):
    """(frames [(bytes, decompressed size)], entries) as build_tar_payload makes them."""
    entries, _ = S.tar_index(tar)
    frames = []
    for s, e in S.cut_frames(tar, [x.header_offset for x in entries], cut, soft):
        fr = S.zstd_raw_frame(tar[s:e]) if raw else S.zstd_compressed_frame(tar[s:e])
        frames.append((fr, e - s))
    return frames, entries


def assemble_payload(frames, index_bytes, seek=None, raw=True):
    """V2 §8 payload from parts, so tests can make the index or seek table lie."""
    inner = S.zstd_raw_frame(index_bytes) if raw else S.zstd_compressed_frame(index_bytes)
    index_frame = S.u32(S.SKIPPABLE_INDEX) + S.u32(len(inner)) + inner
    if seek is None:
        seek = [(len(fr), d) for fr, d in frames]
    f = len(seek)
    body = b"".join(S.u32(c) + S.u32(d) for c, d in seek) + S.u64(len(index_frame)) + S.u32(f) + S.SEEK_MAGIC
    return b"".join(fr for fr, _ in frames) + index_frame + S.u32(S.SKIPPABLE_SEEK) + S.u32(8 * f + 16) + body


def seal2_payload(payload, recipients, seed=None, **kw):
    """Seal an already built kind-2 payload (bytes chunked as given)."""
    fk = os.urandom(32)
    stanzas = [S.make_stanza_v2(pk, fk) for pk in recipients]
    signer = sodium.crypto_sign_seed_keypair(seed)[0] if seed else None
    return craft2(payload, stanzas, fk, S.encode_fields(signer), seed=seed, payload_kind=2, **kw)


def build_cases_v2(k):
    A, B, W, S1, S2 = k.A, k.B, k.W, k.S1, k.S2
    cases = []

    def add(name, desc, archive, expect, keyless, ids=(A,), signers=(), pt=None):
        assert name.startswith("v2-")
        cases.append(Case(name, desc, archive, [i[0] for i in ids], [s[1] for s in signers], expect, keyless, pt))

    # --- well-formed: G = 2, C = 4 KiB, 1 to 5 records, full and short last
    for n in range(1, 6):
        for kind, size in (("full", n * C), ("short", (n - 1) * C + 100)):
            pt = os.urandom(size)
            add("v2-ok-%d-records-%s-last" % (n, kind), "%d records, G = 2, last record %s (V2 §5 group boundaries)"
                % (n, kind), seal2(pt, [A[1]]), "ok", "ok", pt=pt)
    add("v2-ok-empty", "empty payload: one 16-byte record", seal2(b"", [A[1]]), "ok", "ok", pt=b"")
    pt5 = os.urandom(4 * C + 100)                  # base: 5 records, groups [0,1] [2,3] [4]
    base = seal2(pt5, [A[1]])
    L = Layout2(base)
    assert (L.n, L.m, L.last_len) == (5, 3, 116)
    ptS = os.urandom(3 * C + 7)
    signed = seal2(ptS, [A[1]], S1[0])
    LS = Layout2(signed, signed=True)
    add("v2-ok-signed", "signed, signer required (checks 8, 9, 17)", signed, "ok", "ok", signers=(S1,), pt=ptS)
    add("v2-ok-signed-not-required", "signed, nothing required: checks 9 and 17 still run", signed, "ok", "ok", pt=ptS)
    ptd = os.urandom(3 * C + 1)
    add("v2-ok-default-group-size", "group_size_log2 = 30 - chunk_size_log2 = 18: one group",
        seal2(ptd, [A[1]], glog2=18), "ok", "ok", pt=ptd)
    add("v2-ok-fields", "label (non-ASCII), sequence, previous_digest", seal2(pt5, [A[1]], label="Grüße ✓", sequence=9,
        previous_digest=b"\x33" * 32), "ok", "ok", pt=pt5)
    unknown = [stanza2(0x42, S.recipient_key_id(A[1]) + os.urandom(1112)), stanza2(0x7f, bytes(8))]
    fk0 = os.urandom(32)
    add("v2-ok-unknown-stanzas", "an X-Wing-sized (1120-byte) type 42 stanza sharing A's key id and a type 7F stanza: skipped (V2 §3.1)",
        seal2(pt5, [A[1]], extra_stanzas=unknown), "ok", "ok", pt=pt5)
    add("v2-ok-unknown-stanza-first", "unknown stanzas before the X25519 one",
        craft2(pt5, unknown + [S.make_stanza_v2(A[1], fk0)], fk0), "ok", "ok", pt=pt5)
    add("v2-ok-two-recipients-second", "2 recipients, opened by the second", seal2(pt5, [A[1], B[1]]), "ok", "ok",
        ids=(W, B), pt=pt5)
    big = os.urandom(5)
    add("v2-ok-chunk-log2-24", "chunk_size_log2 24, group_size_log2 6", seal2(big, [A[1]], log2=24, glog2=6),
        "ok", "ok", pt=big)

    # --- checks 1-7 -----------------------------------------------------------
    hl = L.hl
    add("v2-cut-12", "12 bytes (check 1)", base[:12], "header", "header")
    add("v2-version-3", "version byte 3 (check 2)", put(base, 8, b"\x03"), "version", "version")
    add("v2-header-length-69", "header_length 69 (check 3)", put(base, 9, S.u32(69)), "limit", "limit")
    add("v2-header-length-65537", "header_length 65537 (check 3)", put(base, 9, S.u32(65537)), "limit", "limit")
    add("v2-header-length-65536-cut", "header_length 65536 on a shorter input (check 4)", put(base, 9, S.u32(65536)),
        "truncated", "truncated")
    add("v2-cut-13", "13 bytes (check 4)", base[:13], "truncated", "truncated")
    add("v2-cut-in-header", "header minus its last byte (check 4)", base[:hl - 1], "truncated", "truncated")
    add("v2-stanza-count-0", "stanza_count 0 (check 5)", put(base, 25, S.u16(0)), "limit", "limit")
    add("v2-stanza-count-65", "stanza_count 65 (check 5 before 7)", put(base, 25, S.u16(65)), "limit", "limit")
    fk = os.urandom(32)
    st = [S.make_stanza_v2(A[1], fk)]
    for name, kw in (("chunk-log2-11", dict(log2=11)), ("chunk-log2-25", dict(log2=25)), ("group-log2-0", dict(glog2=0)),
                     ("group-log2-19-with-chunk-log2-12", dict(glog2=19)),
                     ("kind-0", dict(payload_kind=0)), ("kind-3", dict(payload_kind=3))):
        a = craft2(b"x", st, fk, log2=min(max(kw.get("log2", LOG2), 12), 24), **{x: y for x, y in kw.items() if x != "log2"})
        if "log2" in kw:
            a = put(a, 13, bytes([kw["log2"]]))
        add("v2-" + name, name + " (check 6)", a, "header", "header")
    add("v2-kind-1-compression-1", "byte payload with compression 1 (check 6)",
        put(craft2(b"x", st, fk), 15, b"\x01"), "header", "header")
    add("v2-kind-2-compression-0", "tar payload with compression 0 (check 6)",
        put(craft2(b"x", st, fk, payload_kind=2), 15, b"\x00"), "header", "header")
    add("v2-x25519-body-87", "X25519 stanza with body_length 87 (check 7)",
        craft2(b"x", [stanza2(1, S.make_stanza(A[1], fk)[:87])], fk, S.encode_fields(label="pad")), "header", "header")
    add("v2-header-70-unknown-stanza-only", "one 8-byte unknown stanza, the smallest header (70 bytes): valid, no identity matches",
        craft2(b"x", [stanza2(9, bytes(8))], fk), "no-identity", "ok")
    add("v2-x25519-body-89", "X25519 stanza with body_length 89 (check 7)",
        craft2(b"x", [stanza2(1, S.make_stanza(A[1], fk) + b"\x00")], fk), "header", "header")
    add("v2-unknown-stanza-body-7", "unknown stanza type with a 7-byte body (check 7: every body >= 8)",
        craft2(b"x", st + [stanza2(9, bytes(7))], fk), "header", "header")
    add("v2-duplicate-key-id", "same X25519 recipient twice (check 7)", craft2(b"x", st + st, fk), "header", "header")
    add("v2-stanza-overruns", "stanza body_length past the fields (check 7)",
        craft2(b"x", [stanza2(9, bytes(8))[:1] + S.u16(200) + bytes(8)] + st, fk), "header", "header")
    add("v2-stanza-count-2-one-stanza", "stanza_count 2 with one stanza (check 7)",
        craft2(b"x", st, fk, stanza_count=2), "header", "header")
    for name, label in (("bidi-202e", "a\u202eb"), ("c1-0085", "a\u0085b"), ("lf", "a\nb"), ("del", "a\x7fb"),
                        ("lrm-200e", "\u200e"), ("line-sep-2028", "x\u2028"), ("alm-061c", "\u061c"),
                        ("isolate-2066", "\u2066x"), ("deprecated-206f", "\u206f")):
        add("v2-label-" + name, "label with U+%04X (check 7, V2 §3.2)" % ord([c for c in label if c not in "abx"][0]),
            craft2(b"x", st, fk, S.encode_fields(label=label.encode("utf-8"))), "header", "header")
    add("v2-label-bad-utf8", "label 0xC0 0x80, an overlong NUL (check 7)",
        craft2(b"x", st, fk, S.encode_fields(label=b"\xc0\x80")), "header", "header")
    add("v2-field-unknown-tag", "field tag 5 (check 7)", craft2(b"x", st, fk, b"\x05" + S.u16(1) + b"z"), "header", "header")
    add("v2-header-length-plus-1", "header_length one too big (check 7)", put(base, 9, S.u32(hl + 1)), "header", "header")

    # --- checks 8-9 -------------------------------------------------------------
    add("v2-unsigned-signer-required", "unsigned, S1 required (check 8)", base, "unsigned", "unsigned", signers=(S1,))
    add("v2-untrusted-signer", "signed by S1, S2 required (check 8)", signed, "untrusted-signer", "untrusted-signer",
        signers=(S2,))
    add("v2-header-signature-flip", "header signature flipped (check 9)", flip(signed, LS.hl + 5), "signature", "signature",
        signers=(S1,))
    add("v2-header-signature-flip-not-required", "header signature flipped, nothing required: check 9 still runs",
        flip(signed, LS.hl + 5), "signature", "signature")
    fkS = os.urandom(32)
    sig_fields = S.encode_fields(S1[1])
    bad_hsig = craft2(ptS, [S.make_stanza_v2(A[1], fkS)], fkS, sig_fields, seed=S1[0], header_signature=os.urandom(64))
    add("v2-header-signature-bad-trailer-good", "a header signature that fails while the trailer's passes (check 9)",
        bad_hsig, "signature", "signature", signers=(S1,))
    add("v2-header-signature-before-no-identity", "bad header signature and a wrong identity: check 9 before 10",
        bad_hsig, "signature", "signature", ids=(W,))
    fkF = os.urandom(32)
    forged = craft2(ptS, [S.make_stanza_v2(A[1], fkF)], fkF, sig_fields, seed=S2[0],
                    header_signature=S.sign_detached(S2[0], S.D2_HEADER_SIGNATURE + S.build_header_v2(
                        fkF, [S.make_stanza_v2(A[1], fkF)], sig_fields, LOG2, G2_LOG2, 1, None, CREATED)))
    add("v2-forged-header-signature", "a forger names S1 and signs with S2: refused at check 9, before decryption",
        forged, "signature", "signature", signers=(S1,))
    add("v2-cut-in-header-signature", "input ends 10 bytes into the header signature (check 9)", signed[:LS.hl + 10],
        "truncated", "truncated")

    # --- checks 10-12 -------------------------------------------------------------
    add("v2-wrong-identity", "identity is not a recipient (check 10)", base, "no-identity", "ok", ids=(W,))
    add("v2-key-id-flip", "X25519 key id flipped (check 10; keyless 16)", flip(base, 30), "no-identity", "damaged")
    only_unknown = craft2(b"x", [stanza2(0x42, S.make_stanza(A[1], fk)), S.make_stanza_v2(B[1], fk)], fk)
    add("v2-identity-only-in-unknown-stanza", "A's key id only in an unknown type 42 stanza: no match (check 10)",
        only_unknown, "no-identity", "ok")
    add("v2-wrapped-key-flip", "sealed file key flipped (check 11)", flip(base, 30 + 8 + 40), "damaged", "damaged")
    add("v2-created-flip", "created flipped (check 12; keyless 16)", flip(base, 16), "damaged", "damaged")
    add("v2-group-log2-changed", "group_size_log2 1 -> 2 (check 12; keyless: the split changes)", put(base, 24, b"\x02"),
        "damaged", "damaged")
    add("v2-header-mac-flip", "header MAC flipped (check 12; keyless 16)", flip(base, hl - 1), "damaged", "damaged")

    # --- checks 13-17 ---------------------------------------------------------------
    add("v2-record0-flip", "record 0 flipped (check 13 AEAD; keyless segment 0)", flip(base, L.record(0) + 9),
        "damaged", "damaged")
    add("v2-record3-flip", "record 3, last of group 1 (check 13)", flip(base, L.record(3) + F2 - 1), "damaged", "damaged")
    add("v2-last-record-flip", "last record (check 15)", flip(base, L.record(4) + 3), "damaged", "damaged")
    add("v2-segment0-flip", "segment 0, entry 1 (check 13)", flip(base, L.segment(0) + 40), "damaged", "damaged")
    add("v2-segment1-flip", "segment 1 (check 13)", flip(base, L.segment(1)), "damaged", "damaged")
    add("v2-last-segment-flip", "last segment (check 15)", flip(base, L.segment(2) + 31), "damaged", "damaged")
    add("v2-group-table-first-flip", "group table entry 0 (check 15)", flip(base, L.table()), "damaged", "damaged")
    add("v2-group-table-last-flip", "group table entry 2 (check 15)", flip(base, L.table() + 64 + 31), "damaged", "damaged")
    pre, cts = L.parts()
    add("v2-records-swapped-in-group", "records 0 and 1 swapped, rehashed (check 13 AEAD; keyless ok)",
        rebuild2(pre, [cts[1], cts[0]] + cts[2:]), "damaged", "ok")
    sw = bytearray(base)
    sw[L.record(0):L.record(0) + F2], sw[L.record(1):L.record(1) + F2] = base[L.record(1):L.record(1) + F2], \
        base[L.record(0):L.record(0) + F2]
    add("v2-records-swapped-raw", "records 0 and 1 swapped, segment kept (check 13)", bytes(sw), "damaged", "damaged")
    c1 = list(cts)
    c1[2] = flip(c1[2], 7)
    add("v2-rehashed-record-flip", "record 2 flipped, segments, table and digest recomputed (check 13 AEAD; keyless ok)",
        rebuild2(pre, c1), "damaged", "ok")
    add("v2-group-dropped", "group 1 removed, rehashed: record 4 now at index 2 (check 13 AEAD; keyless ok)",
        rebuild2(pre, cts[:2] + cts[4:]), "damaged", "ok")
    add("v2-last-record-dropped", "last record removed, rehashed: record 3 becomes last (check 15 AEAD)",
        rebuild2(pre, cts[:4]), "damaged", "ok")
    add("v2-chunk-count-plus-1", "chunk_count 6 (check 16)", put(base, len(base) - 40, S.u64(6)), "damaged", "damaged")
    add("v2-digest-flip", "digest (check 16)", flip(base, len(base) - 1), "damaged", "damaged")
    add("v2-signed-digest-flip", "digest of a signed archive: 16 before 17", flip(signed, len(signed) - 65),
        "damaged", "damaged")
    add("v2-signature-flip", "trailer signature (check 17)", flip(signed, len(signed) - 1), "signature", "signature",
        signers=(S1,))
    add("v2-trailer-magic-flip", "trailer magic (check 14: cut short)", flip(base, len(base) - 48), "truncated", "truncated")
    add("v2-cut-at-records", "nothing after the header (check 14)", base[:L.S], "truncated", "truncated")
    add("v2-cut-in-record-0", "cut inside record 0 (check 14)", base[:L.S + 100], "truncated", "truncated")
    add("v2-cut-after-group-0", "cut after segment 0 (check 14)", base[:L.segment(1) - 2 * F2], "truncated", "truncated")
    add("v2-cut-one-byte", "last byte removed (check 14)", base[:-1], "truncated", "truncated")
    add("v2-cut-trailer", "trailer removed (check 14)", base[:-48], "truncated", "truncated")
    add("v2-signature-dropped", "trailer signature removed (check 14)", signed[:-64], "truncated", "truncated")
    add("v2-append-one-byte", "one byte appended (check 14)", base + b"\x00", "trailer", "trailer")
    add("v2-append-100-bytes", "100 bytes appended (check 14)", base + bytes(100), "trailer", "trailer")
    full2 = seal2(os.urandom(2 * C), [A[1]])
    add("v2-append-one-byte-full-group", "one byte after a full last group: read as a longer tail (check 14/15)",
        full2 + b"\x00", "damaged", "damaged")
    empty_last = craft2(b"", st, fk, chunks=iter([(0, bytes(C), False), (1, b"", True)]))
    add("v2-empty-last-chunk", "a full chunk then an empty last chunk (check 14: tail too short)", empty_last,
        "truncated", "truncated")

    # --- V2 §8: tar payloads ----------------------------------------------------------
    tar = make_tar()
    for raw in (False, True):
        frames, entries = tar_payload_parts(tar, raw=raw, cut=4096, soft=1024)
        payload = assemble_payload(frames, S.serialize_index(entries), raw=raw)
        assert payload == S.build_tar_payload(tar, cut=4096, soft=1024, raw=raw)
        add("v2-ok-tar-%s-frames" % ("raw" if raw else "zstd"), "tar payload, %d frames, pax headers" % len(frames),
            seal2_payload(payload, [A[1]]), "ok", "ok", pt=payload)
    import tarfile
    gtar = make_tar(tarfile.GNU_FORMAT)
    gp = S.build_tar_payload(gtar)
    add("v2-ok-tar-gnu-longname", "tar with GNU L/K headers, one frame", seal2_payload(gp, [A[1]], S1[0]), "ok", "ok",
        signers=(S1,), pt=gp)
    frames, entries = tar_payload_parts(tar, raw=True, cut=4096, soft=1024)
    good_index = S.serialize_index(entries)

    def lie(name, desc, payload):
        add("v2-tar-" + name, desc + " (V2 §8 whole-payload check; keyless ok)", seal2_payload(payload, [A[1]]),
            "damaged", "ok")

    e2 = [S.IndexEntry(e.type, e.path, e.size, e.mode, e.mtime, e.link, e.header_offset, e.sha256) for e in entries]
    e2[1].sha256 = bytes(31) + b"\x01"
    lie("index-sha-lies", "index sha256 of top/a.txt wrong", assemble_payload(frames, S.serialize_index(e2)))
    e3 = [S.IndexEntry(e.type, e.path, e.size, e.mode, e.mtime, e.link, e.header_offset, e.sha256) for e in entries]
    e3[1].mode = 0o4755
    lie("index-mode-lies", "index mode of top/a.txt wrong", assemble_payload(frames, S.serialize_index(e3)))
    lie("index-entry-missing", "index without its last entry", assemble_payload(frames, S.serialize_index(entries[:-1])))
    lie("index-bad-magic", "index magic SAIDY", assemble_payload(frames, b"SAIDY" + good_index[5:]))
    lie("index-trailing-byte", "one byte after the last index entry", assemble_payload(frames, good_index + b"\x00"))
    seek = [(len(fr), d) for fr, d in frames]
    lie("seek-size-lies", "seek entry 0 decompressed size off by one",
        assemble_payload(frames, good_index, [(seek[0][0], seek[0][1] + 1)] + seek[1:]))
    lie("seek-frames-swapped", "frames 0 and 1 swapped, seek table kept",
        assemble_payload([frames[1], frames[0]] + frames[2:], good_index, seek))
    lie("not-framed", "kind 2 payload that is a bare tar", tar)
    p_ok = assemble_payload(frames, good_index)
    lie("seek-magic-flip", "SEEK footer flipped", flip(p_ok, len(p_ok) - 1))
    lie("seek-count-zero", "f = 0 in the footer", put(p_ok, len(p_ok) - 8, S.u32(0)))
    lie("frame-dictionary", "frame 0 names dictionary 1", put(put(p_ok, 4, b"\xa1"), 5, b"\x01"))
    return cases


# ---------------------------------------------------------------------------
# Post-quantum recipients (FORMAT-v2 §3.1, §3.1.1; KEYS §2.1): cases named
# pq-*, version 2 with C = 4 KiB and G = 2, like the v2-* ones.
# ---------------------------------------------------------------------------

PQ_STANZA = 3 + S.XWING_BODY_LEN       # type, body_length, 1176-byte body
PQ_BODY = 27 + 3                       # body offset of the first stanza (V2 §3)
PQ_ENC = PQ_BODY + 8                   # enc = ct_M (1088) || ct_X (32)
PQ_CT_X = PQ_ENC + S.MLKEM_CT_LEN
PQ_WRAPPED = PQ_ENC + S.XWING_CT_LEN


def pq_body(pk, file_key, wrap_pk=None, key_id=None, ss_enc=None, nonce=bytes(12)):
    """A type 02 body by hand (V2 §3.1.1), so tests can derive the wrap key
    with another pk, use another key id, a chosen encapsulation or nonce."""
    ss, enc = ss_enc if ss_enc is not None else S.xwing_encaps(pk)
    wrapped = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(file_key, None, nonce,
                                                               S.xwing_wrap_key(ss, enc, wrap_pk or pk))
    return (key_id if key_id is not None else S.pq_recipient_key_id(pk)) + enc + wrapped


def low_order_encaps(pk):
    """X-Wing encapsulation with ct_X = 1, a point of order 1: X25519 gives
    32 zero bytes, which X-Wing feeds to its combiner (RFC 7748 allows it)."""
    from kyber_py.ml_kem import ML_KEM_768
    ss_M, ct_M = ML_KEM_768.encaps(pk[:S.MLKEM_EK_LEN])
    ct_X = b"\x01" + bytes(31)
    return S.xwing_combiner(ss_M, bytes(32), ct_X, pk[S.MLKEM_EK_LEN:]), ct_M + ct_X


def build_cases_pq(k):
    A, W, P, Q, S1 = k.A, k.W, k.P, k.Q, k.S1
    cases = []

    def add(name, desc, archive, expect, keyless, ids=(P,), signers=(), pt=None):
        assert name.startswith("pq-")
        cases.append(Case(name, desc, archive, [i[0] for i in ids], [s[1] for s in signers], expect, keyless, pt))

    pt = os.urandom(2 * C + 500)                    # 3 records, groups [0,1] [2]
    one = seal2(pt, [P[1]], S1[0])
    assert struct.unpack_from("<I", one, 9)[0] == 27 + PQ_STANZA + 35 + 32
    add("pq-ok-one-recipient-signed", "one post-quantum recipient, signed and required", one, "ok", "ok",
        signers=(S1,), pt=pt)
    mixed = seal2(pt, [A[1], P[1]], allow_mixed=True)
    add("pq-ok-mixed-opened-post-quantum", "an X25519 and a post-quantum stanza, opened with the post-quantum identity",
        mixed, "ok", "ok", pt=pt)
    add("pq-ok-mixed-opened-classical", "the same archive opened with the X25519 identity", mixed, "ok", "ok",
        ids=(A,), pt=pt)
    add("pq-ok-mixed-both-identities", "both identities, X25519 first: the first with a stanza of its type opens (check 10)",
        mixed, "ok", "ok", ids=(A, P), pt=pt)
    add("pq-ok-second-identity", "a post-quantum identity without a stanza, then the recipient's (check 10)",
        one, "ok", "ok", ids=(Q, P), pt=pt)
    empty = seal2(b"", [P[1]])
    add("pq-ok-empty", "empty payload, one post-quantum recipient", empty, "ok", "ok", pt=b"")
    fk = os.urandom(32)
    unknown = stanza2(0x42, S.pq_recipient_key_id(P[1]) + os.urandom(S.XWING_BODY_LEN - 8))
    add("pq-ok-unknown-stanza-same-key-id", "a type 42 stanza with P's key id before P's stanza: unknown types are "
        "skipped and not checked for duplicates (V2 §3.1)",
        craft2(pt, [unknown, stanza2(2, pq_body(P[1], fk))], fk), "ok", "ok", pt=pt)
    add("pq-ok-two-recipients-second", "two post-quantum recipients, opened by the second",
        seal2(pt, [Q[1], P[1]]), "ok", "ok", pt=pt)

    add("pq-low-order-ct-x", "a small-order ct_X (X25519 gives 32 zero bytes), the file key wrapped with the ss "
        "X-Wing's combiner would give: the stanza does not open (V2 §3.1.1, check 11)",
        craft2(pt, [stanza2(2, pq_body(P[1], fk, ss_enc=low_order_encaps(P[1])))], fk), "damaged", "ok")

    # --- check 10: no identity -------------------------------------------------
    unsigned = seal2(pt, [P[1]])
    add("pq-wrong-identity", "sealed to P's post-quantum key, opened with Q's (check 10)", unsigned,
        "no-identity", "ok", ids=(Q,))
    add("pq-x25519-identity-pq-stanza", "post-quantum stanza only, opened with an X25519 identity (check 10)",
        unsigned, "no-identity", "ok", ids=(A,))
    add("pq-pq-identity-x25519-stanza",
        "X25519 stanza only, opened with a post-quantum identity (check 10: never the other way)",
        seal2(pt, [A[1]]), "no-identity", "ok", ids=(P,))
    fk = os.urandom(32)
    x_with_pq_id = S.u8(1) + S.u16(88) + S.pq_recipient_key_id(P[1]) + S.make_stanza(A[1], fk)[8:]
    add("pq-x25519-stanza-with-pq-key-id", "a type 01 stanza carrying P's post-quantum key id: it does not "
        "match P (check 10)", craft2(pt, [x_with_pq_id], fk), "no-identity", "ok", ids=(P,))
    add("pq-key-id-flip", "a bit of the stanza's key id flipped: no identity matches (check 10; keyless 16)",
        flip(unsigned, PQ_BODY + 3), "no-identity", "damaged")

    # --- check 11: the stanza does not open ------------------------------------
    add("pq-mlkem-ciphertext-flip", "a bit of the ML-KEM ciphertext flipped: implicit rejection, the tag fails "
        "(check 11; keyless 16)", flip(unsigned, PQ_ENC + 500), "damaged", "damaged")
    add("pq-x25519-ciphertext-flip", "a bit of ct_X flipped (check 11; keyless 16)",
        flip(unsigned, PQ_CT_X + 7, 0x10), "damaged", "damaged")
    add("pq-wrapped-key-flip", "a bit of the wrapped file key flipped (check 11; keyless 16)",
        flip(unsigned, PQ_WRAPPED + 5), "damaged", "damaged")
    add("pq-wrapped-key-tag-flip", "a bit of the wrapped key's tag flipped (check 11; keyless 16)",
        flip(unsigned, PQ_WRAPPED + 47, 0x80), "damaged", "damaged")
    fk = os.urandom(32)
    add("pq-wrap-key-other-pk", "wrap_key derived with Q's pk instead of P's: the identity's own pk is hashed "
        "(check 11)", craft2(pt, [stanza2(2, pq_body(P[1], fk, wrap_pk=Q[1]))], fk), "damaged", "ok")
    fk = os.urandom(32)
    add("pq-encapsulated-to-other-key", "enc made for Q's key under P's key id: ML-KEM rejects implicitly, "
        "never a distinct error (check 11)", craft2(pt, [stanza2(2, pq_body(Q[1], fk, wrap_pk=P[1],
        key_id=S.pq_recipient_key_id(P[1])))], fk), "damaged", "ok")
    fk = os.urandom(32)
    add("pq-nonzero-nonce", "file key wrapped with nonce 1 instead of 0^12 (check 11)",
        craft2(pt, [stanza2(2, pq_body(P[1], fk, nonce=b"\x01" + bytes(11)))], fk), "damaged", "ok")
    fk = os.urandom(32)
    add("pq-first-identity-final", "P's stanza wraps another key, A's is good; P given first: its failure is "
        "final (checks 10-12)", craft2(pt, [stanza2(2, pq_body(P[1], os.urandom(32))), S.make_stanza_v2(A[1], fk)], fk),
        "damaged", "ok", ids=(P, A))
    add("pq-ok-classical-identity-first", "the same archive with A given first", cases[-1].archive, "ok", "ok",
        ids=(A, P), pt=pt)
    fk = os.urandom(32)
    add("pq-other-file-key", "the stanza wraps a key the header MAC was not made with (check 12)",
        craft2(pt, [stanza2(2, pq_body(P[1], os.urandom(32)))], fk), "damaged", "ok")

    # --- check 7: body_length and duplicates -----------------------------------
    hl = struct.unpack_from("<I", unsigned, 9)[0]

    def relength(a, delta):
        """The stanza's body one byte shorter (the last byte of enc dropped)
        or longer (a byte added after enc), body_length and header_length
        adjusted, so the header parses up to check 7."""
        cut = PQ_WRAPPED
        if delta < 0:
            a = a[:cut - 1] + a[cut:]
        else:
            a = a[:cut] + b"\x00" + a[cut:]
        a = put(a, 28, S.u16(S.XWING_BODY_LEN + delta))
        return put(a, 9, S.u32(hl + delta))
    add("pq-body-1175", "the X-Wing ciphertext one byte short, lengths adjusted: "
        "body_length 1175 (check 7)", relength(unsigned, -1), "header", "header")
    add("pq-body-1177", "one byte added to the stanza, lengths adjusted: body_length 1177 (check 7)",
        relength(unsigned, +1), "header", "header")
    st = unsigned[27:27 + PQ_STANZA]
    dup = put(unsigned[:27 + PQ_STANZA] + st + unsigned[27 + PQ_STANZA:], 25, S.u16(2))
    dup = put(dup, 9, S.u32(hl + PQ_STANZA))
    add("pq-duplicate-stanza", "the post-quantum stanza twice, lengths adjusted (check 7)", dup,
        "header", "header")
    fk = os.urandom(32)
    add("pq-duplicate-key-id-across-types", "an X25519 stanza with P's post-quantum key id beside P's stanza: "
        "no two stanzas of known types share a key id (check 7)",
        craft2(pt, [stanza2(2, pq_body(P[1], fk)), S.u8(1) + S.u16(88) + S.pq_recipient_key_id(P[1])
                    + S.make_stanza(A[1], fk)[8:]], fk), "header", "header")
    fk = os.urandom(32)
    add("pq-body-88", "a type 02 stanza of 88 bytes (check 7)",
        craft2(pt, [stanza2(2, S.pq_recipient_key_id(P[1]) + bytes(80)), S.make_stanza_v2(A[1], fk)], fk),
        "header", "header", ids=(A,))
    fk = os.urandom(32)
    add("pq-x25519-body-1176", "a type 01 stanza of 1176 bytes (check 7)",
        craft2(pt, [stanza2(1, S.recipient_key_id(A[1]) + bytes(1168)), stanza2(2, pq_body(P[1], fk))], fk),
        "header", "header")

    # --- 55 X-Wing stanzas fill a 64 KiB header (V2 §3.1) ----------------------
    many = [new_pq_identity() for _ in range(54)] + [P]
    full = seal2(pt, [m[1] for m in many])
    assert struct.unpack_from("<I", full, 9)[0] == 27 + 55 * PQ_STANZA + 32 <= 65536
    add("pq-ok-55-recipients", "55 post-quantum stanzas (a 64,904-byte header), opened by the last", full,
        "ok", "ok", pt=pt)
    return cases


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

KEYS = None
CASES = None
CASES_V2 = None
CASES_PQ = None


def setUpModule():
    global KEYS, CASES, CASES_V2, CASES_PQ
    KEYS = Keys()
    CASES = build_cases(KEYS)
    CASES_V2 = build_cases_v2(KEYS)
    CASES_PQ = build_cases_pq(KEYS)


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


class TestV2(unittest.TestCase):
    def test_cases(self):
        names = {c.name for c in CASES}
        for c in CASES_V2:
            self.assertNotIn(c.name, names)
            names.add(c.name)
            with self.subTest(c.name):
                got, pt = outcome2(c.archive, c.identities, c.signers)
                self.assertEqual(got, c.expect, "%s: %s (with identity)" % (c.name, c.description))
                got_k, _ = outcome2(c.archive, None, c.signers)
                self.assertEqual(got_k, c.keyless_expect, "%s: %s (keyless)" % (c.name, c.description))
                if c.expect == "ok":
                    self.assertEqual(pt, c.plaintext)

    def test_sizes_and_offsets(self):
        # V2 §2, §5: S + n records + segments + table + T; the layout offsets.
        for n in range(1, 6):
            for last in (C, 100):
                size = (n - 1) * C + last
                a = seal2(os.urandom(size), [KEYS.A[1]])
                m = -(-n // 2)
                self.assertEqual(len(a), 150 + size + 16 * n + 32 * n + 32 * m + 48, (n, last))
                L = Layout2(a)
                self.assertEqual((L.n, L.m, L.last_len), (n, m, last + 16))
                res = S.decode_any(io.BytesIO(a), None)
                self.assertEqual(res.chunk_count, n)
                # Segment j holds the hashes of group j (V2 §2).
                for j in range(m):
                    g = min(2, n - 2 * j)
                    seg = a[L.segment(j):L.segment(j) + 32 * g]
                    for p in range(g):
                        i = 2 * j + p
                        c = a[L.record(i):L.record(i) + L.record_len(i)]
                        self.assertEqual(seg[32 * p:32 * p + 32], S.record_hash_v2(i, int(i == n - 1), c))

    def test_forged_header_signature_releases_nothing(self):
        # V2 §4: with a required signer no plaintext before checks 9 and 12.
        c = [c for c in CASES_V2 if c.name == "v2-forged-header-signature"][0]
        released = []
        with self.assertRaises(S.SealedError) as cm:
            S.decode_any(io.BytesIO(c.archive), [KEYS.A[0]], [KEYS.S1[1]], released.append)
        self.assertEqual((cm.exception.cls, released), ("signature", []))
        # The same archive opens for A when nobody checks headers: the stanza
        # is real, only the header signature is the forger's.
        with self.assertRaises(S.SealedError) as cm:
            S.decode_any(io.BytesIO(c.archive), [KEYS.A[0]], [], released.append)
        self.assertEqual((cm.exception.cls, released), ("signature", []))

    def test_partial_read(self):
        # V2 §7.1: every record alone, for 1..5 records with G = 2.
        for n in range(1, 6):
            for last in (C, 100):
                pt = os.urandom((n - 1) * C + last)
                for seed, signers in ((None, []), (KEYS.S1[0], [KEYS.S1[1]])):
                    a = seal2(pt, [KEYS.A[1]], seed)
                    P = S.PartialV2(io.BytesIO(a), [KEYS.A[0]], signers)
                    self.assertEqual(P.n, n)
                    for i in reversed(range(n)):
                        self.assertEqual(P.record(i), pt[i * C:(i + 1) * C])
                    self.assertEqual(P.read_payload(C - 3, 10), pt[C - 3:C + 7])
                    self.assertEqual(P.payload_length, len(pt))
                    K = S.PartialV2(io.BytesIO(a))          # keyless: ciphertext, authenticated
                    self.assertEqual(len(K.record(n - 1)), last + 16)

    def test_partial_read_locality(self):
        # A damaged record fails only itself; the group table and trailer
        # fail the whole read (V2 §7.1 steps 2-4).
        a = seal2(os.urandom(4 * C + 100), [KEYS.A[1]])
        L = Layout2(a)
        bad = flip(a, L.record(2) + 5)
        P = S.PartialV2(io.BytesIO(bad), [KEYS.A[0]])
        self.assertEqual(len(P.record(0)), C)
        self.assertEqual(len(P.record(4)), 100)
        for i in (2,):
            with self.assertRaises(S.SealedError) as cm:
                P.record(i)
            self.assertEqual(cm.exception.cls, "damaged")
        with self.assertRaises(S.SealedError) as cm:     # the record's own segment damaged
            S.PartialV2(io.BytesIO(flip(a, L.segment(1) + 1)), [KEYS.A[0]]).record(3)
        self.assertEqual(cm.exception.cls, "damaged")
        P = S.PartialV2(io.BytesIO(flip(a, L.segment(1) + 1)), [KEYS.A[0]])
        self.assertEqual(len(P.record(1)), C)           # other groups unaffected
        for tamper, cls in ((flip(a, L.table()), "damaged"), (put(a, len(a) - 40, S.u64(4)), "damaged"),
                            (a[:-1], "truncated"), (a + b"\x00", "trailer"), (flip(a, len(a) - 1), "damaged")):
            with self.assertRaises(S.SealedError) as cm:
                S.PartialV2(io.BytesIO(tamper), [KEYS.A[0]])
            self.assertEqual(cm.exception.cls, cls)
        sa = seal2(os.urandom(3 * C), [KEYS.A[1]], KEYS.S1[0])
        with self.assertRaises(S.SealedError) as cm:
            S.PartialV2(io.BytesIO(flip(sa, len(sa) - 1)), None, [KEYS.S1[1]])
        self.assertEqual(cm.exception.cls, "signature")
        with self.assertRaises(S.SealedError) as cm:
            S.PartialV2(io.BytesIO(flip(sa, 160)), [KEYS.A[0]], [KEYS.S1[1]])   # header signature
        self.assertEqual(cm.exception.cls, "signature")

    def test_split_matches_sequential(self):
        # V2 §7.1 step 1 splits N bytes exactly as checks 13/14 do.
        class Hd:
            record_size, trailer_size = F2, 48

        for glog2 in (1, 2, 3):
            Hd.group_size = 1 << glog2
            G = Hd.group_size
            for n in range(1, 4 * G + 2):
                for last in (16 + 1 if n > 1 else 16, 100, F2):
                    m = -(-n // G)
                    body = (n - 1) * F2 + last + 32 * n + 32 * m + 48
                    self.assertEqual(S.split_v2(body, Hd), (n - 1, last + 32 * ((n - 1) % G + 1) + 32 * m + 48),
                                     (glog2, n, last))

    def test_bounded_lookahead(self):
        # V2 §7: a sequential decoder reads at most F + 32·G + 32·m + T + 1
        # bytes ahead of what it has released.
        pt = os.urandom(21 * C + 5)
        for glog2 in (1, 3):
            a = seal2(pt, [KEYS.A[1]], glog2=glog2)
            G, n = 1 << glog2, 22
            m = -(-n // G)
            r = ShortReader(a)
            seen = []

            def sink(p):
                i = len(seen)
                consumed = 150 + F2 * i + 32 * G * (i // G) + len(p) + 16
                seen.append(p)
                self.assertLessEqual(r.pos - consumed, F2 + 32 * G + 32 * m + 48 + 1)
            S.decode_any(r, [KEYS.A[0]], (), sink)
            self.assertEqual(b"".join(seen), pt)

    def test_label_rule(self):
        # V2 §3.2 versus FORMAT §4.2.
        self.assertTrue(S.valid_label_v2("Grüße ✓".encode()))
        for bad in ("\u0085", "\u202a", "\u2069", "\u2029", "\t", ""):
            self.assertFalse(S.valid_label_v2(bad.encode()), repr(bad))
        self.assertTrue(S.valid_label("\u0085".encode()))          # version 1 allows C1

    def test_encoder_refuses(self):
        pk = KEYS.A[1]
        for kw in (dict(recipients=[]), dict(recipients=[pk, pk]), dict(label="a\u202eb"), dict(chunk_size_log2=12,
                   group_size_log2=19), dict(group_size_log2=0), dict(extra_stanzas=[stanza2(0x42, bytes(1200))] * 64)):
            args = dict(recipients=[pk], chunk_size_log2=12)
            args.update(kw)
            with self.assertRaises(S.ToolError, msg=kw):
                S.encode_v2(io.BytesIO(b"x"), io.BytesIO(), **args)

    def test_version1_unchanged(self):
        # A version 1 archive still decodes through the version dispatch.
        pt = os.urandom(2 * C + 1)
        a = seal(pt, [KEYS.A[1]])
        self.assertEqual(outcome2(a, [KEYS.A[0]]), ("ok", pt))


class TestV2Tar(unittest.TestCase):
    def test_index_from_tar(self):
        import tarfile
        for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
            tar = make_tar(fmt)
            entries, end = S.tar_index(tar)
            by = {e.path: e for e in entries}
            self.assertEqual([e.path for e in entries][:4], [b"top/", b"top/a.txt", b"top/sub/", b"top/sub/deep/"])
            long = b"top/sub/" + b"long-name-" * 12 + b".txt"
            self.assertEqual(by[long].type, S.ENTRY_FILE)
            self.assertEqual(by[b"top/"].type, S.ENTRY_DIR)
            self.assertEqual((by[b"top/link"].type, by[b"top/link"].link), (S.ENTRY_SYMLINK, b"sub/deep/nested.bin"))
            self.assertEqual((by[b"top/hard"].type, by[b"top/hard"].link, by[b"top/hard"].size),
                             (S.ENTRY_HARDLINK, b"top/a.txt", 0))
            self.assertEqual(by[b"top/fifo"].type, S.ENTRY_OTHER)
            self.assertEqual(by[b"top/a.txt"].sha256, hashlib.sha256(b"hello\n").digest())
            self.assertEqual((by[b"top/sub/"].mode, by[b"top/a.txt"].mtime), (0o700, 1700000000))
            # header_offset is the first header block: the pax / GNU L block
            # for the long name, which comes right after the previous member.
            k = [e.path for e in entries].index(long)
            prev = entries[k - 1]
            self.assertEqual(entries[k].header_offset, prev.header_offset + 512 + -(-prev.size // 512) * 512)
            self.assertEqual(tar[entries[k].header_offset + 156:entries[k].header_offset + 157],
                             b"x" if fmt == tarfile.PAX_FORMAT else b"L")
            self.assertEqual(S.parse_index(S.serialize_index(entries)), entries)

    def test_global_header_is_no_entry(self):
        # V2 §8.1: a pax g header is not an entry; the next member's
        # header_offset is its own first header, and --only of the member
        # before it still passes the end rule (reading in SPEC-QUESTIONS).
        import tarfile

        def member(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            return ti.tobuf(tarfile.PAX_FORMAT) + data + bytes(-len(data) % 512)
        g = tarfile.TarInfo.create_pax_global_header({"comment": "hi"})
        tar = member("a", b"A" * 10) + g + member("b", b"B" * 700) + bytes(1024)
        entries, end = S.tar_index(tar)
        self.assertEqual([(e.path, e.header_offset) for e in entries], [(b"a", 0), (b"b", 1024 + len(g))])
        payload = S.build_tar_payload(tar)
        S.check_tar_payload(payload)
        st = S.SeekingTar(len(payload), lambda o, n: payload[o:o + n])
        self.assertEqual(st.checked_member(0)[2], b"A" * 10)
        self.assertEqual(st.checked_member(1)[2], b"B" * 700)

    def test_frame_cutting(self):
        tar = make_tar(big=True)
        entries, _ = S.tar_index(tar)
        bounds = S.cut_frames(tar, [e.header_offset for e in entries])
        self.assertTrue(all(e - s <= S.FRAME_CUT for s, e in bounds))
        starts = {e.header_offset for e in entries}
        for s, e in bounds[1:]:
            prev = [b for b in bounds if b[1] == s][0]
            # a frame ends early only at a member's first header after 256 KiB
            self.assertTrue(s - prev[0] == S.FRAME_CUT or (s in starts and s - prev[0] >= S.FRAME_SOFT), (s, prev))
        payload = S.build_tar_payload(tar)
        t2, ents = S.check_tar_payload(payload)
        self.assertEqual((t2, ents), (tar, entries))
        z = S._zstd_module()
        if z is not None:       # a streaming reader yields the tar: skippable frames give nothing (V2 §8)
            self.assertEqual(z.ZstdDecompressor().stream_reader(io.BytesIO(payload), read_across_frames=True).read(),
                             tar)
        p = subprocess.run(["zstd", "-d", "-c", "-q"], input=payload, capture_output=True)
        if p.returncode == 0:
            self.assertEqual(p.stdout, tar)

    def test_structure_corruptions(self):
        tar = make_tar()
        frames, entries = tar_payload_parts(tar, raw=True, cut=4096, soft=1024)
        good = assemble_payload(frames, S.serialize_index(entries))
        S.check_tar_payload(good)
        seek = [(len(fr), d) for fr, d in frames]
        e_dup = list(entries)
        e_dup[2] = S.IndexEntry(e_dup[2].type, e_dup[2].path, 0, 0, 0, b"", e_dup[1].header_offset, bytes(32))
        bad = {
            "sum of sizes": assemble_payload(frames, S.serialize_index(entries), [(seek[0][0] + 1, seek[0][1])] + seek[1:]),
            "frame content size 0": assemble_payload(frames, S.serialize_index(entries), [(seek[0][0], 0)] + seek[1:]),
            "index frame magic": put(good, sum(c for c, _ in seek), S.u32(S.SKIPPABLE_SEEK)),
            "index offsets not increasing": assemble_payload(frames, S.serialize_index(e_dup)),
            "index cut": assemble_payload(frames, S.serialize_index(entries)[:-1]),
            "frame reserved bit": put(good, 4, b"\xa8"),
            "frame without content size": put(good, 4, b"\x00"),
            "skippable frame in place of frame 0": put(good, 0, S.u32(0x184D2A50)),
            "seek frame header": put(good, len(good) - 8 * len(seek) - 24, S.u32(0x184D2A5C)),
            "f too large": put(good, len(good) - 8, S.u32(len(seek) + 1)),
            "index length": put(good, len(good) - 16, S.u64(5)),
        }
        for what, payload in bad.items():
            with self.assertRaises(S.SealedError, msg=what) as cm:
                st = S.SeekingTar(len(payload), lambda o, n: payload[o:o + n])
                for k in range(len(st.entries)):
                    st.checked_member(k)
                S.check_tar_payload(payload)
            self.assertEqual(cm.exception.cls, "damaged", what)
        # The index parser rejects what 8.1 forbids.
        one = S.IndexEntry(1, b"a", 1, 0o644, 0, b"", 0, bytes(32))
        for what, e in (("type 6", dict(type=6)), ("empty path", dict(path=b"")), ("link on a file", dict(link=b"x")),
                        ("size on a dir", dict(type=2)), ("mode 0o10000", dict(mode=0o10000)),
                        ("offset 100", dict(header_offset=100)), ("symlink without link", dict(type=3, size=0))):
            x = S.IndexEntry(one.type, one.path, one.size, one.mode, one.mtime, one.link, one.header_offset, one.sha256)
            for k2, v in e.items():
                setattr(x, k2, v)
            with self.assertRaises(S.SealedError, msg=what):
                S.parse_index(S.serialize_index([x]))

    def test_only_refuses_index_lies(self):
        # V2 §8.1: --only checks the tar header against the index, the
        # content hash and the end offset.
        tar = make_tar()
        frames, entries = tar_payload_parts(tar, raw=False, cut=4096, soft=1024)
        idx = {e.path: k for k, e in enumerate(entries)}

        def clone(e, **kw):
            x = S.IndexEntry(e.type, e.path, e.size, e.mode, e.mtime, e.link, e.header_offset, e.sha256)
            for a, v in kw.items():
                setattr(x, a, v)
            return x

        nested = idx[b"top/sub/deep/nested.bin"]
        lies = {
            "sha": (nested, dict(sha256=bytes(32))),
            "size": (nested, dict(size=entries[nested].size - 1)),
            "path": (nested, dict(path=b"top/sub/deep/nested.biN")),
            "type": (idx[b"top/link"], dict(type=S.ENTRY_HARDLINK)),
            "link": (idx[b"top/link"], dict(link=b"elsewhere")),
            "offset": (nested, dict(header_offset=entries[nested].header_offset + 512)),
        }
        for what, (k, kw) in lies.items():
            e2 = list(entries)
            e2[k] = clone(entries[k], **kw)
            payload = assemble_payload(frames, S.serialize_index(e2), raw=False)
            st = S.SeekingTar(len(payload), lambda o, n: payload[o:o + n])
            with self.assertRaises(S.SealedError, msg=what) as cm:
                st.checked_member(k)
            self.assertEqual(cm.exception.cls, "damaged", what)
        # Dropping an entry makes the previous member not end at the next
        # entry's header_offset.
        e2 = entries[:nested] + entries[nested + 1:]
        payload = assemble_payload(frames, S.serialize_index(e2), raw=False)
        st = S.SeekingTar(len(payload), lambda o, n: payload[o:o + n])
        with self.assertRaises(S.SealedError):
            st.checked_member(nested - 1)
        # Mode lies are not caught by --only (mode comes from the tar header)
        # but are by the whole-payload check.
        e2 = list(entries)
        e2[nested] = clone(entries[nested], mode=0o777)
        payload = assemble_payload(frames, S.serialize_index(e2), raw=False)
        st = S.SeekingTar(len(payload), lambda o, n: payload[o:o + n])
        _, m, _ = st.checked_member(nested)
        self.assertEqual(m.mode, 0o600)
        with self.assertRaises(S.SealedError):
            S.check_tar_payload(payload)


class TestV2CommandLine(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        self.idf = os.path.join(self.d, "id")
        self.pub = subprocess.run([PY, TOOL, "keygen", "-o", self.idf], capture_output=True, check=True).stdout.decode().strip()
        self.sigf = os.path.join(self.d, "sig")
        self.spub = subprocess.run([PY, TOOL, "keygen", "--signing", "-o", self.sigf], capture_output=True,
                                   check=True).stdout.decode().strip()

    def tearDown(self):
        self.tmp.cleanup()

    def run_tool(self, *args, stdin=None):
        return subprocess.run([PY, TOOL] + list(args), capture_output=True, input=stdin)

    def path(self, name):
        return os.path.join(self.d, name)

    def seal_tar(self, tar, *extra):
        with open(self.path("in.tar"), "wb") as f:
            f.write(tar)
        p = self.run_tool("encode", "--format-version", "2", "--payload-kind", "2", "-r", self.pub, "--signing-key-file",
                          self.sigf, "--chunk-size-log2", "12", "--group-size-log2", "1", *extra, "-o",
                          self.path("t.sarc"), self.path("in.tar"))
        self.assertEqual(p.returncode, 0, p.stderr)
        return self.path("t.sarc")

    def test_bytes_round_trip(self):
        pt = os.urandom(5 * C + 3)
        with open(self.path("pt"), "wb") as f:
            f.write(pt)
        p = self.run_tool("encode", "--format-version", "2", "-r", self.pub, "--chunk-size-log2", "12",
                          "--group-size-log2", "1", "-o", self.path("a.sarc"), self.path("pt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(slurp(self.path("a.sarc"))[8], 2)
        p = self.run_tool("open", "-i", self.idf, self.path("a.sarc"))
        self.assertEqual((p.returncode, p.stdout), (0, pt))
        p = self.run_tool("verify", self.path("a.sarc"))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_tar_list_only_and_whole(self):
        tar = make_tar(big=True)
        a = self.seal_tar(tar)
        p = self.run_tool("open", "-i", self.idf, "--signer", self.spub, "--tar", a)
        self.assertEqual((p.returncode, p.stdout), (0, tar), p.stderr)
        p = self.run_tool("verify", "-i", self.idf, "--signer", self.spub, a)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.run_tool("open", "-i", self.idf, "--signer", self.spub, "--list", a)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(len(lines), len(S.tar_index(tar)[0]))
        self.assertTrue(any(l.startswith("l 0777") and l.endswith("top/link -> sub/deep/nested.bin") for l in lines), lines)
        # --only a nested file.
        out = self.path("x1")
        p = self.run_tool("open", "-i", self.idf, "--signer", self.spub, "--only", "top/sub/deep/nested.bin", "-C", out, a)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(out)), ["top"])
        data = slurp(os.path.join(out, "top/sub/deep/nested.bin"))
        e = [e for e in S.tar_index(tar)[0] if e.path == b"top/sub/deep/nested.bin"][0]
        self.assertEqual(hashlib.sha256(data).digest(), e.sha256)
        self.assertEqual(os.stat(os.path.join(out, "top/sub/deep/nested.bin")).st_mode & 0o777, 0o600)
        # --only a directory subtree: everything under top/sub/, nothing else.
        out = self.path("x2")
        p = self.run_tool("open", "-i", self.idf, "--only", "top/sub", "-C", out, a)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = sorted(os.path.relpath(os.path.join(r, n), out) for r, ds, fs in os.walk(out) for n in ds + fs)
        self.assertEqual(got, ["top", "top/sub", "top/sub/deep", "top/sub/deep/nested.bin",
                               "top/sub/empty", "top/sub/" + "long-name-" * 12 + ".txt"])
        # A hard link whose target is not extracted is refused.
        p = self.run_tool("open", "-i", self.idf, "--only", "top/hard", "-C", self.path("x3"), a)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr.decode(), r"^error: usage: .*hard link")
        # A wrong identity, an untrusted signer: the partial read's classes.
        other = S.encode_key(S.HRP_SIGNER, new_signing_key()[1])
        p = self.run_tool("open", "-i", self.idf, "--signer", other, "--list", a)
        self.assertRegex(p.stderr.decode(), r"^error: untrusted-signer: ")

    def test_only_refuses_lying_index(self):
        # An archive whose index lies about a member's content: --only of that
        # member is refused (damaged), --only of another member works.
        tar = make_tar()
        frames, entries = tar_payload_parts(tar)
        k = [e.path for e in entries].index(b"top/a.txt")
        e2 = list(entries)
        e2[k] = S.IndexEntry(1, b"top/a.txt", 6, 0o644, 1700000000, b"", entries[k].header_offset,
                             hashlib.sha256(b"HELLO\n").digest())
        payload = assemble_payload(frames, S.serialize_index(e2), raw=False)
        with open(self.path("lie.sarc"), "wb") as f:
            f.write(seal2_payload(payload, [S.parse_recipient(self.pub)]))
        p = self.run_tool("open", "-i", self.idf, "--only", "top/a.txt", "-C", self.path("y"), self.path("lie.sarc"))
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr.decode(), r"^error: damaged: ")
        self.assertFalse(os.path.exists(os.path.join(self.path("y"), "top", "a.txt")))
        p = self.run_tool("open", "-i", self.idf, "--only", "other/x.bin", "-C", self.path("z"), self.path("lie.sarc"))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.run_tool("verify", "-i", self.idf, self.path("lie.sarc"))
        self.assertRegex(p.stderr.decode(), r"^error: damaged: ")
        self.assertEqual(self.run_tool("verify", self.path("lie.sarc")).returncode, 0)

    def test_v2_vectors_command(self):
        vd = self.path("v2")
        write_vectors(CASES_V2, vd)
        p = self.run_tool("vectors", vd)
        out = p.stdout.decode().splitlines()
        self.assertEqual(p.returncode, 0, "\n".join(l for l in out if not l.startswith("ok ")))
        self.assertEqual(out[-1], "%d passed, 0 failed" % len(CASES_V2))


# age's own test data (FiloSottile/age cmd/age/testdata/hybrid.txt, made by
# `age-keygen -pq` 1.3): a post-quantum identity and its recipient.
AGE_PQ_IDENTITY = "AGE-SECRET-KEY-PQ-16XDSLZ3XCSZ3236YJ5J0T9NAPLZTP96LJKQCVHJYUDTQVJR5J5PQTDPQCX"
AGE_PQ_RECIPIENT = "".join([
    "age1pq1044e3hfmq2tltgck54m0gnpv8rfrwkdxjgl38psnwg8zfyv4uqdu63kk0u94ztt0q35k9dzuwgv405kxq6due2sre2kfsjftf7k2vz2",
    "mdpetku9pufy9d6ny6k5ss0cghpxdxrux0yd5xy40f8fu8ch9xn2rczyek2pqetqk0l9fqj0e3hfhkyfmcf9j6cpe5mf5stt9cymfq3xm276x4",
    "sramhn8srr42g78q9rkmqesevy33p4kdhkuggl99x9zx7j05uflx3s8q558xeaq9q9ctxqx52rzg6yffwykxngvxf7g3n83ddawagq2lnk59kc",
    "nexm54jrsmkjk9nemlge9v6p7fxu5z6yvq3ghpet8ww2c3h9fylvjx6j9njwz744376ap5r3xcpzh7qlk0kq3gknzfqhmxmjqypf6xz6geffdm",
    "y25apzsfr4ce0x825njkf62mgzx0x9n3zt0490u4dnt4468zse4zvd9sv0ycx2u2wsseuy4yymrg0nmfuxcwq9q0jykq7g5f59vunf95vnmcw3",
    "36ksrh43fgapsd40u4227ymx56xtudtrte39twnq6fdfdj4p9pgx7pcqdk953za76fqcnvatx2cmywurag7ky4y8ecq5lvf25rydhxg6gmcn6v",
    "f78vtsqw79hp3mzv2u4v4jzn0nk50kl4gpv7k60cgz79c6k30jzy8dyetqtwg04tguxkv2p4hqj02yvsz2szaqdn9flu24rhth3v0t33023nwy",
    "27gt0x32eqpa5tpz6ygz3yzcsa3w889drpynzd5hlywuk9dwgafuax7upfnnxch4znrx4vactasg32u7vl886pxfswskk7wjgqkggrewtnaecf",
    "usl3nmg0xxh8e5nl5eft0xqwj5rk9ajn2j6yxehhgg5k6kpw5pk382hxmpu8wcd3rqx6m8905c7f8v0x2z9gyduxtqp2fdy9w2z4g2rrgu4d5c",
    "qes5tnwag007h2f326s3j9p6970xyd73rv5awx27zzezrax467c6vuye62ha88pzhw9xytjpezw3vg3l6x4k9rxwm9f6lwj6j7r9makg59rhgt",
    "0355s3jx9vw3raz5qdk5cnpny56q5h3dyd75suskuz63wmmfp9333tx4ry38vnh7jxy0j0cka99y7v2dmyjldjy0mqjetcefsmmg3pw0h9ll0r",
    "tskpmxz2cs8vmx6lu4v5rjtzpzgaqt46cwvnmhy5e3ye0tv6sre342lwg0tfd0yjkfz2haqc3hprpqf5ce8c9lx076dnk5cukn3tu38jgprrxt",
    "9sk9nqzt8grvkc4qzlg8jjf638v07ej9cf4eu48kphrgyjy83qm822xq8v9k22zwa7txr439x74j2f9ay7frkwtfdwn02enyx8stjpr4wgg25n",
    "5tj7uxyx0dqt3hnrqf7dcgt9fqnkjgemjfzyck6pawewptcayxm49sq3477f4cvm2p8fmg27rcmwm5l2vmzvdmymvkrr3aywu04y3zlhs7awu3",
    "r9u9lseheqpffvm2xf8y6w2qaj9g22pcu0sdsnqseusrxq9awru5lyqxnzftlslgpe3njegxkze98rveswp3u0xgx69wkg38vgp4k55lwwgv5l",
    "7ccv503mh9q23nud4xtm499xq276u40rxyrzaqfyuz2f3v5qr2vq00xs4g3ruynmq0c6nprvjcwqc5zrdn4cnzeeuwumjvqfjdpxr739n4cqcw",
    "ytc8pjmfcj2qs3l2a8p5fzq7nvtng2jvvklx0x5ypnlkeuegsm587f6d4dkwel2es0lwwt88y2jdg8enjyph02tnjyndlx34h52fngjk96ggtu",
    "6vcxqkreqcxs4gwa8ww40t0kzlxfzyfhtjmfdm5fcrr5pt2xm4yslfynr0h9wkranhyadxf33kjn9xpg2fq5hnlq0",
])


# X-Wing's own known answer (the first of draft-connolly-cfrg-xwing-kem's
# spec/test-vectors.json, as RustCrypto's x-wing crate carries them): decapsulation of ct with the key pair of seed gives ss.
XWING_KAT_SEED = "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26"
XWING_KAT_PK_SHA256 = "2e816deebcd76c5c80d0cd2d174478871658e8e2ff42bc9d4a6e486372e856bb"
XWING_KAT_SS = "d2df0522128f09dd8e2c92b1e905c793d8f57a54c3da25861f10bf4ca613e384"
XWING_KAT_CT = "".join([
    "b83aa828d4d62b9a83ceffe1d3d3bb1ef31264643c070c5798927e41fb07914a273f8f96e7826cd5375a283d7da885304c5de0516a0f0654",
    "243dc5b97f8bfeb831f68251219aabdd723bc6512041acbaef8af44265524942b902e68ffd23221cda70b1b55d776a92d1143ea3a0c475f6",
    "3ee6890157c7116dae3f62bf72f60acd2bb8cc31ce2ba0de364f52b8ed38c79d719715963a5dd3842d8e8b43ab704e4759b5327bf027c63c",
    "8fa857c4908d5a8a7b88ac7f2be394d93c3706ddd4e698cc6ce370101f4d0213254238b4a2e8821b6e414a1cf20f6c1244b699046f5a01ca",
    "a0a1a55516300b40d2048c77cc73afba79afeea9d2c0118bdf2adb8870dc328c5516cc45b1a2058141039e2c90a110a9e16b318dfb53bd49",
    "a126d6b73f215787517b8917cc01cabd107d06859854ee8b4f9861c226d3764c87339ab16c3667d2f49384e55456dd40414b70a6af841585",
    "f4c90c68725d57704ee8ee7ce6e2f9be582dbee985e038ffc346ebfb4e22158b6c84374a9ab4a44e1f91de5aac5197f89bc5e5442f51f9a5",
    "937b102ba3beaebf6e1c58380a4a5fedce4a4e5026f88f528f59ffd2db41752b3a3d90efabe463899b7d40870c530c8841e8712b733668ed",
    "033adbfafb2d49d37a44d4064e5863eb0af0a08d47b3cc888373bc05f7a33b841bc2587c57eb69554e8a3767b7506917b6b70498727f16ea",
    "c1a36ec8d8cfaf751549f2277db277e8a55a9a5106b23a0206b4721fa9b3048552c5bd5b594d6e247f38c18c591aea7f56249c72ce7b117a",
    "fcc3a8621582f9cf71787e183dee09367976e98409ad9217a497df888042384d7707a6b78f5f7fb8409e3b535175373461b776002d799cba",
    "d62860be70573ecbe13b246e0da7e93a52168e0fb6a9756b895ef7f0147a0dc81bfa644b088a9228160c0f9acf1379a2941cd28c06ebc80e",
    "44e17aa2f8177010afd78a97ce0868d1629ebb294c5151812c583daeb88685220f4da9118112e07041fcc24d5564a99fdbde28869fe07223",
    "87d7a9a4d16e1cc8555917e09944aa5ebaaaec2cf62693afad42a3f518fce67d273cc6c9fb5472b380e8573ec7de06a3ba2fd5f931d725b4",
    "93026cb0acbd3fe62d00e4c790d965d7a03a3c0b4222ba8c2a9a16e2ac658f572ae0e746eafc4feba023576f08942278a041fb82a70a595d",
    "5bacbf297ce2029898a71e5c3b0d1c6228b485b1ade509b35fbca7eca97b2132e7cb6bc465375146b7dceac969308ac0c2ac89e7863eb894",
    "3015b24314cafb9c7c0e85fe543d56658c213632599efabfc1ec49dd8c88547bb2cc40c9d38cbd3099b4547840560531d0188cd1e9c23a0e",
    "bee0a03d5577d66b1d2bcb4baaf21cc7fef1e03806ca96299df0dfbc56e1b2b43e4fc20c37f834c4af62127e7dae86c3c25a2f696ac8b589",
    "dec71d595bfbe94b5ed4bc07d800b330796fda89edb77be0294136139354eb8cd37591578f9c600dd9be8ec6219fdd507adf3397ed4d6870",
    "7b8d13b24ce4cd8fb22851bfe9d632407f31ed6f7cb1600de56f17576740ce2a32fc5145030145cfb97e63e0e41d354274a079d3e6fb2e15",
])


def rfc7748_x25519(k, u):
    """RFC 7748 section 5, written out (Montgomery ladder, no zero check),
    to pin what sealed_ref.x25519 returns where libsodium refuses."""
    p = 2 ** 255 - 19
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(k, "little")
    u = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x1, x2, z2, x3, z3, swap = u, 1, 0, u, 1, 0
    for t in reversed(range(255)):
        kt = (k >> t) & 1
        swap ^= kt
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        A, B = (x2 + z2) % p, (x2 - z2) % p
        AA, BB = A * A % p, B * B % p
        E = (AA - BB) % p
        Cc, D = (x3 + z3) % p, (x3 - z3) % p
        DA, CB = D * A % p, Cc * B % p
        x3, z3 = (DA + CB) ** 2 % p, x1 * (DA - CB) ** 2 % p
        x2, z2 = AA * BB % p, E * (AA + 121665 * E) % p
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, p - 2, p) % p).to_bytes(32, "little")


class TestPostQuantum(unittest.TestCase):
    def test_age_known_answer(self):
        # KEYS §2.1: the recipient age-keygen -pq printed for its identity.
        self.assertEqual(len(AGE_PQ_RECIPIENT), 1959)
        ident = S.parse_any_identity(AGE_PQ_IDENTITY)
        self.assertIsInstance(ident, S.PQIdentity)
        self.assertEqual(S.encode_key(S.HRP_PQ_RECIPIENT, ident.pk), AGE_PQ_RECIPIENT)
        self.assertEqual(S.parse_any_recipient(AGE_PQ_RECIPIENT), ident.pk)
        self.assertEqual(S.identity_string(ident), AGE_PQ_IDENTITY)
        # The key pair is X-Wing's expansion of the seed (KEYS §2.1).
        expanded = hashlib.shake_256(ident.seed).digest(96)
        self.assertEqual(ident.pk[S.MLKEM_EK_LEN:], sodium.crypto_scalarmult_base(expanded[64:]))

    def test_xwing_known_answer(self):
        # KEYS §2.1: key expansion, ML-KEM decapsulation and the combiner
        # (label last) against X-Wing's own test vector.
        ident = S.PQIdentity(bytes.fromhex(XWING_KAT_SEED))
        self.assertEqual(hashlib.sha256(ident.pk).hexdigest(), XWING_KAT_PK_SHA256)
        ct = bytes.fromhex(XWING_KAT_CT)
        self.assertEqual(len(ct), S.XWING_CT_LEN)
        self.assertEqual(S.xwing_decaps(ident, ct).hex(), XWING_KAT_SS)

    def test_age_identity_file(self):
        # An identity file as age-keygen -pq writes it, mixed with an X25519 line.
        x = S.encode_key(S.HRP_IDENTITY, KEYS.A[0])
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "id")
            with open(p, "w") as f:
                f.write("# created: 2025-11-17T13:27:37+01:00\n# public key: %s\n%s\n\n%s\n"
                        % (AGE_PQ_RECIPIENT, AGE_PQ_IDENTITY, x))
            os.chmod(p, 0o600)
            ids = S.load_identities(p)
        self.assertEqual(ids, [S.parse_pq_identity(AGE_PQ_IDENTITY), KEYS.A[0]])

    def test_key_strings(self):
        ident, pk = KEYS.P
        r, i = S.encode_key(S.HRP_PQ_RECIPIENT, pk), S.identity_string(ident)
        self.assertEqual((len(r), len(i)), (1959, 77))                    # KEYS §2.1
        self.assertTrue(r.startswith("age1pq1") and i.startswith("AGE-SECRET-KEY-PQ-1"))
        self.assertEqual(S.parse_any_recipient(S.encode_key(S.HRP_RECIPIENT, KEYS.A[1])), KEYS.A[1])
        self.assertEqual(S.parse_any_identity(S.encode_key(S.HRP_IDENTITY, KEYS.A[0])), KEYS.A[0])
        bad_recipients = {
            "upper case": r.upper(),
            "bad checksum": r[:-1] + ("q" if r[-1] != "q" else "p"),
            "1215 bytes": S.bech32_encode(S.HRP_PQ_RECIPIENT, S._convertbits(pk[:-1], 8, 5, True)),
            "32 bytes": S.bech32_encode(S.HRP_PQ_RECIPIENT, S._convertbits(pk[:32], 8, 5, True)),
            "identity": i,
        }
        for what, s in bad_recipients.items():
            with self.assertRaises(ValueError, msg=what):
                S.parse_any_recipient(s)
        with self.assertRaises(ValueError):
            S.parse_recipient(r)                   # an X25519 reader refuses it
        bad_identities = {
            "lower case": i.lower(),
            "33 bytes": S.bech32_encode(S.HRP_PQ_IDENTITY, S._convertbits(ident.seed + b"\0", 8, 5, True)),
            "1216 bytes": S.bech32_encode(S.HRP_PQ_IDENTITY, S._convertbits(pk, 8, 5, True)),
            "recipient": r,
        }
        for what, s in bad_identities.items():
            with self.assertRaises(ValueError, msg=what):
                S.parse_any_identity(s)
        with self.assertRaises(ValueError):
            S.parse_identity(i)

    def test_xwing_round_trip(self):
        ident, pk = KEYS.P
        ss, ct = S.xwing_encaps(pk)
        self.assertEqual((len(pk), len(ct), len(ss)), (1216, 1120, 32))
        self.assertEqual(S.xwing_decaps(ident, ct), ss)
        self.assertNotEqual(S.xwing_encaps(pk)[1], ct)                    # randomised
        # Implicit rejection: another key's decapsulation is unrelated, no error.
        self.assertNotEqual(S.xwing_decaps(KEYS.Q[0], ct), ss)
        self.assertNotEqual(S.xwing_decaps(ident, flip(ct, 3)), ss)

    def test_stanza_layout(self):
        ident, pk = KEYS.P
        fk = os.urandom(32)
        st = S.make_stanza_pq(pk, fk)
        self.assertEqual(len(st), 3 + 1176)
        self.assertEqual(st[:3], b"\x02" + S.u16(1176))
        self.assertEqual(st[3:11], S.H(b"SealedArchive/v2/pq-recipient-id", pk)[:8])
        self.assertEqual(S.open_xwing_stanza(ident, st[11:]), fk)
        enc, wrapped = st[11:11 + 1120], st[11 + 1120:]
        ss = S.xwing_decaps(ident, enc)
        wk = hashlib.blake2b(b"SealedArchive/v2/xwing-wrap" + enc + pk, digest_size=32, key=ss).digest()
        self.assertEqual(sodium.crypto_aead_chacha20poly1305_ietf_decrypt(wrapped, None, bytes(12), wk), fk)

    def test_x25519_matches_rfc7748(self):
        # Where libsodium refuses (small-order u), RFC 7748 gives 0^32.
        for _ in range(3):
            k, u = os.urandom(32), sodium.crypto_scalarmult_base(os.urandom(32))
            self.assertEqual(S.x25519(k, u), rfc7748_x25519(k, u))
        p = 2 ** 255 - 19
        small = [0, 1, p - 1, p, p + 1,
                 325606250916557431795983626356110631294008115727848805560023387167927233504,
                 39382357235489614581723060781553021112529911719440698176882885853963445705823]
        for u in small:
            ub = u.to_bytes(32, "little")
            self.assertEqual(rfc7748_x25519(os.urandom(32), ub), bytes(32), u)
            self.assertEqual(S.x25519(os.urandom(32), ub), bytes(32), u)

    def test_recipient_with_out_of_range_coefficient_is_refused(self):
        # KEYS §2.1: FIPS 203's check when the recipient is parsed.
        _, pk = KEYS.P
        self.assertEqual(S.parse_pq_recipient(S.encode_key(S.HRP_PQ_RECIPIENT, pk)), pk)
        for offset in (0, 1149):
            bad = bytearray(pk)
            bad[offset] = 0xFF
            bad[offset + 1] |= 0x0F                 # the first value of that triple: 4095
            with self.assertRaises(ValueError):
                S.parse_pq_recipient(S.encode_key(S.HRP_PQ_RECIPIENT, bytes(bad)))
        tail = bytearray(pk)
        tail[1200] ^= 0xFF                          # the X25519 half is not constrained
        S.parse_pq_recipient(S.encode_key(S.HRP_PQ_RECIPIENT, bytes(tail)))

    def test_low_order_ct_x_does_not_open(self):
        # V2 §3.1.1: a ct_X for which X25519 gives 32 zero bytes makes the
        # stanza not open, even when its sender wrapped the file key with
        # the ss that X-Wing's combiner would give.
        ident, pk = KEYS.P
        fk, pt = os.urandom(32), os.urandom(100)
        a = craft2(pt, [stanza2(2, pq_body(pk, fk, ss_enc=low_order_encaps(pk)))], fk)
        self.assertEqual(outcome2(a, [ident])[0], "damaged")

    def test_cases(self):
        names = {c.name for c in CASES} | {c.name for c in CASES_V2}
        for c in CASES_PQ:
            self.assertNotIn(c.name, names)
            names.add(c.name)
            with self.subTest(c.name):
                got, pt = outcome2(c.archive, c.identities, c.signers)
                self.assertEqual(got, c.expect, "%s: %s (with identity)" % (c.name, c.description))
                got_k, _ = outcome2(c.archive, None, c.signers)
                self.assertEqual(got_k, c.keyless_expect, "%s: %s (keyless)" % (c.name, c.description))
                if c.expect == "ok":
                    self.assertEqual(pt, c.plaintext)

    def test_partial_read(self):
        # V2 §7.1 with a post-quantum identity (checks 10-12 as in §7).
        pt = os.urandom(3 * C + 9)
        a = seal2(pt, [KEYS.A[1], KEYS.P[1]], allow_mixed=True)
        P = S.PartialV2(io.BytesIO(a), [KEYS.P[0]])
        self.assertEqual(P.read_payload(0, len(pt)), pt)
        with self.assertRaises(S.SealedError) as cm:
            S.PartialV2(io.BytesIO(a), [KEYS.Q[0]])
        self.assertEqual(cm.exception.cls, "no-identity")

    def test_version1_ignores_pq_identity(self):
        # A version 1 archive has X25519 stanzas only (V2 §3.1).
        a = seal(b"v1", [KEYS.A[1]])
        self.assertEqual(outcome(a, [KEYS.P[0]]), ("no-identity", None))
        self.assertEqual(outcome(a, [KEYS.P[0], KEYS.A[0]]), ("ok", b"v1"))

    def test_encoder_refuses(self):
        P, A = KEYS.P[1], KEYS.A[1]
        bad_mlkem = b"\xff" * S.MLKEM_EK_LEN + P[S.MLKEM_EK_LEN:]          # fails FIPS 203's modulus check
        small_x = P[:S.MLKEM_EK_LEN] + b"\x01" + bytes(31)                 # small-order pk_X
        for kw in (dict(recipients=[P, P]), dict(recipients=[A, P]), dict(recipients=[bad_mlkem]),
                   dict(recipients=[small_x]), dict(recipients=[new_pq_identity()[1] for _ in range(56)])):
            args = dict(recipients=[P], chunk_size_log2=12)
            args.update(kw)
            with self.assertRaises(S.ToolError, msg=[len(r) for r in args["recipients"]]):
                S.encode_v2(io.BytesIO(b"x"), io.BytesIO(), **args)
        with self.assertRaises(S.ToolError):                               # V2 §3.1: version 1 refuses
            S.encode(io.BytesIO(b"x"), io.BytesIO(), [P])
        a = seal2(b"x", [A, P], allow_mixed=True)                          # asked to: allowed
        self.assertEqual(outcome2(a, [KEYS.P[0]]), ("ok", b"x"))


class TestPostQuantumCommandLine(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_tool(self, *args, stdin=None):
        return subprocess.run([PY, TOOL] + list(args), capture_output=True, input=stdin)

    def path(self, name):
        return os.path.join(self.d, name)

    def test_keygen_encode_open(self):
        pqf, xf = self.path("pq"), self.path("x")
        p = self.run_tool("keygen", "--pq", "-o", pqf)
        self.assertEqual(p.returncode, 0, p.stderr)
        pq_pub = p.stdout.decode().strip()
        self.assertTrue(pq_pub.startswith("age1pq1") and len(pq_pub) == 1959)
        self.assertEqual(os.stat(pqf).st_mode & 0o777, 0o600)
        lines = slurp(pqf, "r").splitlines()
        self.assertEqual(lines[1], "# public key: " + pq_pub)
        self.assertEqual(S.PQIdentity(S.parse_pq_identity(lines[2]).seed).pk, S.parse_any_recipient(pq_pub))
        self.assertEqual(self.run_tool("keygen", "--pq", "--signing", "-o", self.path("z")).returncode, 1)
        x_pub = self.run_tool("keygen", "-o", xf).stdout.decode().strip()
        pt = os.urandom(2 * C + 3)
        with open(self.path("pt"), "wb") as f:
            f.write(pt)
        enc = ["encode", "--format-version", "2", "--chunk-size-log2", "12", "-o", self.path("a.sarc"), "-r", pq_pub]
        p = self.run_tool(*enc, self.path("pt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.run_tool("open", "-i", pqf, self.path("a.sarc"))
        self.assertEqual((p.returncode, p.stdout), (0, pt), p.stderr)
        p = self.run_tool("open", "-i", xf, self.path("a.sarc"))
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr.decode(), r"^error: no-identity: ")
        # Mixed recipients: refused unless asked (V2 §3.1.1), then either opens.
        p = self.run_tool(*enc, "-r", x_pub, self.path("pt"))
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr.decode(), r"^error: usage: .*--allow-mixed-recipients")
        p = self.run_tool(*enc, "-r", x_pub, "--allow-mixed-recipients", self.path("pt"))
        self.assertEqual(p.returncode, 0, p.stderr)
        for idf in (pqf, xf):
            p = self.run_tool("open", "-i", idf, self.path("a.sarc"))
            self.assertEqual((p.returncode, p.stdout), (0, pt), p.stderr)
        # Format version 1 holds X25519 stanzas only.
        p = self.run_tool("encode", "-r", pq_pub, "-o", self.path("v1.sarc"), self.path("pt"))
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr.decode(), r"^error: usage: ")
        self.assertFalse(os.path.exists(self.path("v1.sarc")))

    def test_pq_vectors_command(self):
        vd = self.path("pq")
        write_vectors(CASES_PQ, vd)
        p = self.run_tool("vectors", vd)
        out = p.stdout.decode().splitlines()
        self.assertEqual(p.returncode, 0, "\n".join(l for l in out if not l.startswith("ok ")))
        self.assertEqual(out[-1], "%d passed, 0 failed" % len(CASES_PQ))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--emit-vectors":
        keys = Keys()
        cases = build_cases(keys)
        write_vectors(cases, sys.argv[2])
        # Version 2 vectors (names v2-*) go to DIR/v2, same JSON schema.
        cases_v2 = build_cases_v2(keys)
        write_vectors(cases_v2, os.path.join(sys.argv[2], "v2"))
        # Post-quantum vectors (names pq-*, V2 §12) go to DIR/pq.
        cases_pq = build_cases_pq(keys)
        write_vectors(cases_pq, os.path.join(sys.argv[2], "pq"))
        print("wrote %d vectors to %s, %d to %s and %d to %s"
              % (len(cases), sys.argv[2], len(cases_v2), os.path.join(sys.argv[2], "v2"),
                 len(cases_pq), os.path.join(sys.argv[2], "pq")))
        sys.exit(0)
    unittest.main()
