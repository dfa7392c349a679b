#!/usr/bin/env python3
"""Writes hostile (and a few benign) tar streams for sealed-archive's
extraction tests, one file per case, and `cases.json` describing them.

    python3 make_hostile_tars.py OUTDIR [--outside DIR] [--absolute-escape PATH]
                                        [--case NAME]... [--names]

OUTDIR            where the tars and cases.json are written (created if needed)
--outside DIR     an absolute directory *outside* the extraction destination
                  that some cases aim at (links to it, writes through it); the
                  test creates `target` and `victim` files and a `dir/`
                  directory in it and checks that nothing there changes
--absolute-escape PATH
                  the absolute path the absolute-path case tries to create; use
                  a unique name beside the test's temporary directory so that a
                  failure is visible
--case NAME       write only this case's tar (repeatable; default: all);
                  cases.json always describes every case
--names           print the case names, one a line, and exit

cases.json is a list of objects:

  name        the case name
  archive     the file written in OUTDIR (.tar, or .tar.zst for the bomb)
  expect      "refused": open -C, open --list and verify -i fail with exit 65
                and the error names `entry` and contains `reason`;
              "ok": extraction succeeds, `files` ({path: content}),
                `symlinks` ({path: stored target}), `hardlinks` (lists of
                paths that must be one file) and `modes` ({path: mode})
                describe what must be in DEST;
              "stripped": extraction succeeds and every path in `modes` has
                exactly that mode (setuid, setgid, sticky bits removed);
              "consistent": extraction either is refused (exit 65) or succeeds
                with every file in DEST matching MANIFEST.sha256 (`files`
                gives the content the manifest vouches for)
  entry       the entry name the error line must quote ('NAME'), or for
              manifest failures the file it must name
  reason      a substring of the error's reason
  allow_escaping
              the expected result of the same open with
              --allow-escaping-symlinks, when the case is about links (same
              keys: expect, entry, reason, files, symlinks)
  no_manifest the expected result with --no-manifest ("ok") for manifest cases
  outside     absolute paths outside DEST the case aims at: they must not be
              created or changed
  slow        true for the decompression bomb (gigabytes to decompress);
              `bomb_bytes` is its uncompressed content size
  manifest_files
              how many files a matching MANIFEST.sha256 lists (benign)
  unprivileged
              true when the commands must run as an unprivileged user for the
              case to mean anything (read-only directories)

Standard library only. The decompression bomb is piped through the `zstd`
command line tool, generated on the fly (nothing big is written to disk).
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

MTIME = 1_700_000_000
FORMAT = tarfile.PAX_FORMAT


def info(name, kind=tarfile.REGTYPE, mode=0o644, size=0, linkname="", pax=None):
    entry = tarfile.TarInfo(name)
    entry.type = kind
    entry.mode = mode
    entry.size = size
    entry.linkname = linkname
    entry.mtime = MTIME
    entry.uid = entry.gid = 12345
    entry.uname = entry.gname = "someone"
    if pax:
        entry.pax_headers = dict(pax)
    return entry


class Tar:
    """Builds an uncompressed tar in memory, entry by entry, exactly as
    given (tarfile does not normalise names passed through addfile)."""

    def __init__(self):
        self.buffer = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buffer, mode="w", format=FORMAT, encoding="utf-8")

    def file(self, name, data=b"", mode=0o644):
        if isinstance(data, str):
            data = data.encode()
        self.tar.addfile(info(name, mode=mode, size=len(data)), io.BytesIO(data))
        return self

    def dir(self, name, mode=0o755):
        self.tar.addfile(info(name, tarfile.DIRTYPE, mode=mode))
        return self

    def symlink(self, name, target):
        self.tar.addfile(info(name, tarfile.SYMTYPE, mode=0o777, linkname=target))
        return self

    def hardlink(self, name, target, data=None):
        if data is None:
            self.tar.addfile(info(name, tarfile.LNKTYPE, linkname=target))
        else:
            # A pax hard link carrying data (POSIX.1-2001 allows it; the
            # pax header makes libarchive honour the size).
            entry = info(name, tarfile.LNKTYPE, size=len(data), linkname=target,
                         pax={"comment": "hard link with data"})
            self.tar.addfile(entry, io.BytesIO(data))
        return self

    def sparse(self, name, data, size, blocks, mode=0o644):
        """A GNU sparse file (pax format 0.1): `blocks` is the sparse map,
        (offset, length) pairs in the order stored, `data` their bytes one
        after the other, `size` the file's real size. The map is whatever
        is given, consistent or not."""
        sparse_map = ",".join(f"{offset},{length}" for offset, length in blocks)
        entry = info(name, mode=mode, size=len(data), pax={
            "GNU.sparse.size": str(size), "GNU.sparse.numblocks": str(len(blocks)),
            "GNU.sparse.map": sparse_map})
        self.tar.addfile(entry, io.BytesIO(data))
        return self

    def entry(self, entry, data=b""):
        """An entry made with info(), as given."""
        self.tar.addfile(entry, io.BytesIO(data))
        return self

    def device(self, name, kind, major=1, minor=3):
        entry = info(name, kind, mode=0o666)
        entry.devmajor, entry.devminor = major, minor
        self.tar.addfile(entry)
        return self

    def bytes(self):
        self.tar.close()
        return self.buffer.getvalue()


def sha256(data):
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def manifest(entries):
    """sha256sum output for {path: content}."""
    return "".join(f"{sha256(content)}  {path}\n" for path, content in sorted(entries.items()))


# ---------------------------------------------------------------------------
# Cases

def cases(outside, absolute_escape):
    """(metadata, builder) for every case. A builder returns the tar bytes,
    or writes the file itself and returns None (the bomb)."""
    victim = os.path.join(outside, "victim")
    target = os.path.join(outside, "target")
    all_cases = []

    def case(name, builder, **meta):
        meta = {"name": name, "archive": meta.pop("archive", name + ".tar"), **meta}
        all_cases.append((meta, builder))

    # -- paths --------------------------------------------------------------
    case("dotdot_escape",
         lambda: Tar().file("../escape", "escaped\n").bytes(),
         expect="refused", entry="../escape", reason="'..'")
    case("nested_dotdot_escape",
         lambda: Tar().dir("a").file("a/../../escape", "escaped\n").bytes(),
         expect="refused", entry="a/../../escape", reason="'..'")
    case("absolute_path",
         lambda: Tar().file("ok.txt", "fine\n").file(absolute_escape, "escaped\n").bytes(),
         expect="refused", entry=absolute_escape, reason="absolute",
         outside=[absolute_escape])
    case("empty_name",
         lambda: Tar().file("ok.txt", "fine\n").file("", "nameless\n").bytes(),
         expect="refused", entry="", reason="empty")

    # -- symbolic links -------------------------------------------------------
    case("symlink_etc_then_write",
         lambda: Tar().symlink("link", "/etc").file("link/passwd", "root::0:0::/:/bin/sh\n").bytes(),
         expect="refused", entry="link", reason="outside the destination",
         outside=["/etc/passwd"])
    case("symlink_dotdot_then_write",
         lambda: Tar().symlink("link", "..").file("link/x", "escaped\n").bytes(),
         expect="refused", entry="link", reason="outside the destination",
         allow_escaping={"expect": "refused", "entry": "link/x", "reason": "symbolic link"})
    case("symlink_absolute_outside",
         lambda: Tar().file("ok.txt", "fine\n").symlink("link", target).bytes(),
         expect="refused", entry="link", reason="outside the destination",
         allow_escaping={"expect": "ok", "symlinks": {"link": target}, "files": {"ok.txt": "fine\n"}},
         outside=[target])
    case("symlink_absolute_write_through",
         lambda: Tar().symlink("link", outside).file("link/victim", "overwritten\n")
                      .file("link/new", "created\n").bytes(),
         expect="refused", entry="link", reason="outside the destination",
         allow_escaping={"expect": "refused", "entry": "link/victim", "reason": "symbolic link"},
         outside=[victim, os.path.join(outside, "new")])
    case("symlink_climb",
         lambda: Tar().dir("a").dir("a/b").symlink("a/b/link", "../../..").bytes(),
         expect="refused", entry="a/b/link", reason="outside the destination",
         allow_escaping={"expect": "ok", "symlinks": {"a/b/link": "../../.."}})
    case("symlink_climb_then_write",
         lambda: Tar().dir("a").dir("a/b").symlink("a/b/link", "../../../..")
                      .file("a/b/link/escape", "escaped\n").bytes(),
         expect="refused", entry="a/b/link", reason="outside the destination",
         allow_escaping={"expect": "refused", "entry": "a/b/link/escape", "reason": "symbolic link"})
    case("symlink_chain",
         lambda: Tar().symlink("a", ".").symlink("b", "a/../..").bytes(),
         expect="refused", entry="b", reason="outside the destination",
         allow_escaping={"expect": "ok", "symlinks": {"a": ".", "b": "a/../.."}})
    # `a -> .` is DEST itself; `a/..` is then DEST's parent (the kernel
    # resolves `..` after following `a`), though lexically it is `.`.
    case("symlink_chain_physical_parent",
         lambda: Tar().symlink("a", ".").symlink("b", "a/..").bytes(),
         expect="refused", entry="b", reason="outside the destination",
         allow_escaping={"expect": "ok", "symlinks": {"a": ".", "b": "a/.."}})
    # The same through a subdirectory: `d/up -> ..` is DEST, so
    # `d/esc -> up/../x` is DEST/../x.
    case("symlink_chain_via_subdir",
         lambda: Tar().dir("d").symlink("d/up", "..").symlink("d/esc", "up/../escape").bytes(),
         expect="refused", entry="d/esc", reason="outside the destination",
         allow_escaping={"expect": "ok", "symlinks": {"d/up": "..", "d/esc": "up/../escape"}})
    # With escaping links allowed, a later failure must clean the staging
    # directory up without following the link into `outside`.
    case("symlink_outside_then_failure",
         lambda: Tar().symlink("link", outside).file("ok.txt", "fine\n")
                      .device("z-fifo", tarfile.FIFOTYPE).bytes(),
         expect="refused", entry="link", reason="outside the destination",
         allow_escaping={"expect": "refused", "entry": "z-fifo", "reason": "FIFO"},
         outside=[victim, target])

    # -- hard links ---------------------------------------------------------
    case("hardlink_etc_passwd",
         lambda: Tar().file("ok.txt", "fine\n").hardlink("hl", "/etc/passwd").bytes(),
         expect="refused", entry="hl", reason="hard link", outside=["/etc/passwd"])
    case("hardlink_dotdot_outside",
         lambda: Tar().file("ok.txt", "fine\n").hardlink("hl", "../outside").bytes(),
         expect="refused", entry="hl", reason="hard link")
    case("hardlink_absolute_outside",
         lambda: Tar().hardlink("hl", victim).bytes(),
         expect="refused", entry="hl", reason="hard link", outside=[victim])
    case("hardlink_missing_target",
         lambda: Tar().file("ok.txt", "fine\n").hardlink("hl", "not-in-archive").bytes(),
         expect="refused", entry="hl", reason="hard link")
    case("hardlink_before_target",
         lambda: Tar().hardlink("hl", "later.txt").file("later.txt", "later\n").bytes(),
         expect="refused", entry="hl", reason="hard link")
    case("hardlink_to_directory",
         lambda: Tar().dir("d").hardlink("hl", "d").bytes(),
         expect="refused", entry="hl", reason="hard link")
    case("hardlink_through_symlink",
         lambda: Tar().symlink("link", outside).hardlink("hl", "link/victim").bytes(),
         expect="refused", entry="link", reason="outside the destination",
         allow_escaping={"expect": "refused", "entry": "hl", "reason": "hard link"},
         outside=[victim])
    # A pax hard link carrying data: libarchive opens the link (O_TRUNC) and
    # sizes it to the entry's size, so the earlier file's content changes
    # after its digest was taken. It must be refused, or the file left
    # matching the manifest.
    case("hardlink_with_data",
         lambda: Tar().file("MANIFEST.sha256", manifest({"a.txt": "good\n", "hl": "good\n"}))
                      .file("a.txt", "good\n").hardlink("hl", "a.txt", data=b"EVIL!!\n").bytes(),
         expect="consistent", files={"a.txt": "good\n", "hl": "good\n"})

    # -- special files ------------------------------------------------------
    case("character_device",
         lambda: Tar().file("ok.txt", "fine\n").device("null", tarfile.CHRTYPE, 1, 3).bytes(),
         expect="refused", entry="null", reason="character device")
    case("block_device",
         lambda: Tar().device("disk", tarfile.BLKTYPE, 8, 0).bytes(),
         expect="refused", entry="disk", reason="block device")
    case("fifo",
         lambda: Tar().dir("d").device("d/pipe", tarfile.FIFOTYPE).bytes(),
         expect="refused", entry="d/pipe", reason="FIFO")

    # -- permission bits ----------------------------------------------------
    case("setuid_setgid",
         lambda: Tar().dir("./", mode=0o7777).file("setuid", "#!/bin/sh\n", mode=0o4755).file("setgid", "#!/bin/sh\n", mode=0o2755)
                      .file("both", "x\n", mode=0o6711).dir("sticky", mode=0o1777)
                      .dir("setgid-dir", mode=0o2775).bytes(),
         expect="stripped",
         # "." is DEST itself: always 0700, whatever the archive's root entry says.
         modes={".": 0o700, "setuid": 0o755, "setgid": 0o755, "both": 0o711, "sticky": 0o777, "setgid-dir": 0o775})

    # -- names that clash ---------------------------------------------------
    case("duplicate_file",
         lambda: Tar().file("dup", "first\n").file("dup", "second\n").bytes(),
         expect="refused", entry="dup", reason="twice")
    case("file_then_directory",
         lambda: Tar().file("x", "file\n").dir("x").file("x/inner", "inner\n").bytes(),
         expect="refused", entry="x", reason="twice")
    case("directory_then_file",
         lambda: Tar().dir("x").file("x", "file\n").bytes(),
         expect="refused", entry="x", reason="twice")
    case("symlink_then_file_same_name",
         lambda: Tar().symlink("s", "ok.txt").file("s", "replaces the link\n").bytes(),
         expect="refused", entry="s", reason="twice")
    # A name libarchive created implicitly (the parent of an earlier entry)
    # is already a directory on disk: with ARCHIVE_EXTRACT_NO_OVERWRITE
    # libarchive then silently keeps the directory and applies the entry's
    # mode to it. The entry must be refused like any name seen twice.
    case("implicit_dir_then_symlink",
         lambda: Tar().file("d/f", "inside\n").symlink("d", ".").bytes(),
         expect="refused", entry="d", reason="")
    case("implicit_dir_then_file",
         lambda: Tar().file("d/f", "inside\n").file("d", "", mode=0o777).bytes(),
         expect="refused", entry="d", reason="")
    case("implicit_dir_then_hardlink",
         lambda: Tar().file("d/f", "inside\n").hardlink("d", "d/f").bytes(),
         expect="refused", entry="d", reason="")
    # Not hostile: a directory listed after its contents (as `find -depth`
    # orders them) still gets its own mode.
    case("directory_after_contents",
         lambda: Tar().file("private/secret", "secret\n", mode=0o600).dir("private", mode=0o700).bytes(),
         expect="ok", files={"private/secret": "secret\n"}, modes={"private": 0o700, "private/secret": 0o600})
    case("parent_is_file",
         lambda: Tar().file("f", "plain\n").file("f/child", "child\n").bytes(),
         expect="refused", entry="f/child", reason="not a directory")

    # -- decompression bomb -------------------------------------------------
    case("zstd_bomb", None, archive="zstd_bomb.tar.zst",
         expect="refused", entry="zeros", reason="--max-expansion", slow=True,
         bomb_bytes=BOMB_BYTES)

    # -- MANIFEST.sha256 ----------------------------------------------------
    files = {"a.txt": "alpha\n", "dir/b.txt": "bravo\n"}
    case("manifest_wrong_digest",
         lambda: Tar().file("MANIFEST.sha256", manifest({"a.txt": "alpha\n", "dir/b.txt": "tampered\n"}))
                      .file("a.txt", files["a.txt"]).dir("dir").file("dir/b.txt", files["dir/b.txt"]).bytes(),
         expect="refused", entry="dir/b.txt", reason="MANIFEST.sha256", no_manifest="ok")
    case("manifest_missing_file",
         lambda: Tar().file("MANIFEST.sha256", manifest({**files, "gone.txt": "lost\n"}))
                      .file("a.txt", files["a.txt"]).dir("dir").file("dir/b.txt", files["dir/b.txt"]).bytes(),
         expect="refused", entry="gone.txt", reason="MANIFEST.sha256", no_manifest="ok")
    case("manifest_unlisted_file",
         lambda: Tar().file("MANIFEST.sha256", manifest(files))
                      .file("a.txt", files["a.txt"]).dir("dir").file("dir/b.txt", files["dir/b.txt"])
                      .file("dir/extra.txt", "smuggled\n").bytes(),
         expect="refused", entry="dir/extra.txt", reason="MANIFEST.sha256", no_manifest="ok")
    case("manifest_unlisted_hardlink",
         lambda: Tar().file("MANIFEST.sha256", manifest(files))
                      .file("a.txt", files["a.txt"]).dir("dir").file("dir/b.txt", files["dir/b.txt"])
                      .hardlink("dir/alias", "a.txt").bytes(),
         expect="refused", entry="dir/alias", reason="MANIFEST.sha256", no_manifest="ok")

    # -- cleaning up after a failure ----------------------------------------
    # A read-only directory (its mode is applied when libarchive closes,
    # which also happens when extraction fails) must not keep the staging
    # directory from being removed. Only visible to an unprivileged user:
    # run these cases' commands as one (root ignores directory modes).
    case("readonly_dir_then_refusal",
         lambda: Tar().dir("ro", mode=0o555).file("ro/f", "inside\n").device("zfifo", tarfile.FIFOTYPE).bytes(),
         expect="refused", entry="zfifo", reason="FIFO", unprivileged=True)
    case("readonly_dir_manifest_mismatch",
         lambda: Tar().file("MANIFEST.sha256", manifest({"ro/f": "what was backed up\n"}))
                      .dir("ro", mode=0o555).file("ro/f", "something else\n").bytes(),
         expect="refused", entry="ro/f", reason="MANIFEST.sha256", unprivileged=True)

    # -- what extraction cannot create --------------------------------------
    # An archive that cannot be restored must be refused by `verify -i` and
    # `open --list` too, not found out on the day of the restore (exit 74).
    long_component = "c" * 256                      # NAME_MAX is 255
    case("name_component_too_long",
         lambda: Tar().dir("ok").file("ok/" + long_component, "too long\n").bytes(),
         expect="refused", entry="ok/" + long_component, reason="NAME_MAX")
    deep_path = "/".join(["p" * 250] * 13)           # 3262 bytes, every name valid
    case("path_too_long",
         lambda: Tar().file(deep_path, "deep\n").bytes(),
         expect="refused", entry=deep_path, reason="over the 3072 bytes")
    case("symlink_target_too_long",
         lambda: Tar().symlink("link", "a/" * 2100).bytes(),
         expect="refused", entry="link", reason="over the 4095 bytes")
    case("sparse_map_past_size",
         lambda: Tar().sparse("sparse", b"AAAAABBBBB", 10, [(0, 5), (100000, 5)]).bytes(),
         expect="refused", entry="sparse", reason="past its size")
    # A map that goes back over written bytes would put one content on disk
    # and another through SHA-256 (the manifest would vouch for it).
    case("sparse_map_backwards",
         lambda: Tar().file("MANIFEST.sha256", manifest({"sparse": "\0" * 100 + "AAAAABBBBB" + "\0" * 90}))
                      .sparse("sparse", b"AAAAABBBBB", 200, [(100, 5), (0, 5)]).bytes(),
         expect="refused", entry="sparse", reason="sparse map")
    case("sparse_map_overlapping",
         lambda: Tar().sparse("sparse", b"AAAAAAAABB", 200, [(0, 8), (4, 2)]).bytes(),
         expect="refused", entry="sparse", reason="sparse map")

    def out_of_range_times():
        tar = Tar()
        for name, mtime in [("future", "99999999999999999999"), ("past", "-99999999999")]:
            entry = info(name, size=5, pax={"mtime": mtime})
            tar.entry(entry, b"time\n")
        tar.entry(info("far-dir", tarfile.DIRTYPE, mode=0o755, pax={"mtime": "9999999999999"}))
        return tar.bytes()

    # Not refused: the kernel clamps a time the file system cannot store.
    case("mtime_out_of_range", out_of_range_times,
         expect="ok", files={"future": "time\n", "past": "time\n"}, modes={"far-dir": 0o755})

    # -- modes that would lock the extracting user out -------------------------
    # Directories are created writable and get their stored modes last,
    # deepest first; files get their data, then their mode. Only an
    # unprivileged user sees the difference (root ignores modes).
    case("dir_0000_holding_dir",
         lambda: Tar().dir("locked", mode=0o000).dir("locked/sub", mode=0o755)
                      .file("locked/sub/f", "inside\n").dir("locked/sub/deeper", mode=0o000).bytes(),
         expect="ok", files={"locked/sub/f": "inside\n"},
         modes={"locked": 0o000, "locked/sub": 0o755, "locked/sub/deeper": 0o000}, unprivileged=True)
    case("dir_0600_holding_dir",
         lambda: Tar().dir("nosearch", mode=0o600).dir("nosearch/sub", mode=0o700)
                      .file("nosearch/sub/f", "inside\n", mode=0o600).bytes(),
         expect="ok", files={"nosearch/sub/f": "inside\n"}, modes={"nosearch": 0o600, "nosearch/sub": 0o700},
         unprivileged=True)
    # The directory entry after its contents (`find -depth`), 0500.
    case("dir_0500_listed_after_contents",
         lambda: Tar().file("ro/a", "a\n").file("ro/sub/b", "b\n").dir("ro/sub", mode=0o500)
                      .dir("ro", mode=0o500).bytes(),
         expect="ok", files={"ro/a": "a\n", "ro/sub/b": "b\n"}, modes={"ro": 0o500, "ro/sub": 0o500},
         unprivileged=True)
    case("file_0000_and_hardlink",
         lambda: Tar().file("none", "no access\n", mode=0o000).hardlink("none-link", "none")
                      .file("readonly", "read only\n", mode=0o400).bytes(),
         expect="ok", files={"none": "no access\n", "readonly": "read only\n"},
         hardlinks=[["none", "none-link"]], modes={"none": 0o000, "none-link": 0o000, "readonly": 0o400},
         unprivileged=True)
    case("dir_0000_then_refusal",
         lambda: Tar().dir("locked", mode=0o000).dir("locked/sub", mode=0o000).file("locked/sub/f", "inside\n")
                      .device("zfifo", tarfile.FIFOTYPE).bytes(),
         expect="refused", entry="zfifo", reason="FIFO", unprivileged=True)

    # -- benign -------------------------------------------------------------
    long_dir = "répertoire-" + "ü" * 60            # > 100 bytes: needs pax
    long_name = long_dir + "/" + "日本語のファイル名-" + "é" * 70 + ".txt"
    benign_files = {"file.txt": "hello\n", long_name: "unicode ✓\n", "sub/data.bin": "data\n",
                    "hard": "hello\n"}

    def benign():
        tar = Tar()
        tar.file("MANIFEST.sha256", manifest(benign_files))
        tar.file("file.txt", benign_files["file.txt"], mode=0o640)
        tar.dir(long_dir).file(long_name, benign_files[long_name])
        tar.dir("sub").file("sub/data.bin", benign_files["sub/data.bin"])
        tar.symlink("sub/link", "../file.txt").symlink("sub/self", ".").symlink("top", "sub/data.bin")
        tar.hardlink("hard", "file.txt")
        return tar.bytes()

    case("benign", benign, expect="ok",
         files={**benign_files, "sub/link": "hello\n", "top": "data\n"},
         symlinks={"sub/link": "../file.txt", "sub/self": ".", "top": "sub/data.bin"},
         hardlinks=[["file.txt", "hard"]], modes={"file.txt": 0o640},
         manifest_files=len(benign_files))
    return all_cases


# ---------------------------------------------------------------------------
# The decompression bomb

BOMB_BYTES = 3 << 30     # 3 GiB of zeros in one file
CHUNK = 1 << 20


def write_bomb(path):
    """A tar holding `zeros`, BOMB_BYTES of zeros, compressed by `zstd -19`
    as it is generated: the uncompressed stream never touches the disk."""
    with open(path, "wb") as out:
        zstd = subprocess.Popen(["zstd", "-q", "-19", "-c"], stdin=subprocess.PIPE, stdout=out)
        try:
            entry = info("zeros", size=BOMB_BYTES)
            zstd.stdin.write(entry.tobuf(FORMAT, "utf-8", "surrogateescape"))
            zeros = bytes(CHUNK)
            remaining = BOMB_BYTES
            while remaining:
                n = min(CHUNK, remaining)
                zstd.stdin.write(zeros if n == CHUNK else zeros[:n])
                remaining -= n
            # Padding to a block, then the two zero blocks ending the archive.
            zstd.stdin.write(bytes((-BOMB_BYTES) % tarfile.BLOCKSIZE + 2 * tarfile.BLOCKSIZE))
            zstd.stdin.close()
        finally:
            status = zstd.wait()
    if status != 0:
        raise SystemExit(f"zstd failed with status {status}")


# ---------------------------------------------------------------------------

def main(argv):
    args = list(argv)
    outdir = None
    outside = None
    absolute_escape = None
    selected = []
    names_only = False
    while args:
        arg = args.pop(0)
        if arg == "--outside":
            outside = args.pop(0)
        elif arg == "--absolute-escape":
            absolute_escape = args.pop(0)
        elif arg == "--case":
            selected.append(args.pop(0))
        elif arg == "--names":
            names_only = True
        elif arg in ("-h", "--help"):
            print(__doc__)
            return 0
        elif outdir is None and not arg.startswith("-"):
            outdir = arg
        else:
            raise SystemExit(f"unexpected argument {arg!r} (see --help)")
    if outdir is None and not names_only:
        raise SystemExit("usage: make_hostile_tars.py OUTDIR [--outside DIR] [--absolute-escape PATH] [--case NAME]...")
    base = os.path.abspath(outdir or ".")
    outside = os.path.abspath(outside or os.path.join(base, "outside"))
    absolute_escape = absolute_escape or os.path.join(os.path.dirname(base),
                                                       f"sealed-archive-hostile-{os.getpid()}-escape")
    if not os.path.isabs(absolute_escape):
        raise SystemExit("--absolute-escape must be an absolute path")

    all_cases = cases(outside, absolute_escape)
    known = [meta["name"] for meta, _ in all_cases]
    if names_only:
        print("\n".join(known))
        return 0
    unknown = [name for name in selected if name not in known]
    if unknown:
        raise SystemExit(f"unknown case(s): {', '.join(unknown)}")

    os.makedirs(base, exist_ok=True)
    for meta, builder in all_cases:
        if selected and meta["name"] not in selected:
            continue
        path = os.path.join(base, meta["archive"])
        if builder is None:
            write_bomb(path)
        else:
            with open(path, "wb") as f:
                f.write(builder())
    with open(os.path.join(base, "cases.json"), "w", encoding="utf-8") as f:
        json.dump([meta for meta, _ in all_cases], f, indent=2, ensure_ascii=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
