#!/usr/bin/env python3
"""Writes a backup-shaped directory, as the operator's backup job makes one:

    DIR/authentik.sql          SQL dump text (compresses well)
    DIR/silver-auth.sql        SQL dump text
    DIR/authentik-files.tgz    incompressible bytes (media tarball)
    DIR/env.backup             deployment secrets (fake)
    DIR/MANIFEST.sha256        sha256sum of the files above

Usage: make-backup-dir.py DIR [SIZE_MB=800]   (75% SQL, 25% random)
Standard library only; deterministic text for a given size.
"""
import hashlib
import os
import random
import sys


def sql_dump(path, size, seed):
    rng = random.Random(seed)
    words = ["alice", "bob", "carol", "session", "token", "refresh", "grant", "openid",
             "profile", "email", "admin", "user", "device", "login", "logout", "flow"]
    with open(path, "w") as out:
        out.write("--\n-- PostgreSQL database dump\n--\n\nCOPY public.events (id, created, kind, actor, payload) FROM stdin;\n")
        written = 0
        row = 0
        while written < size:
            lines = []
            for _ in range(2000):
                row += 1
                line = "%d\t2026-%02d-%02d %02d:%02d:%02d.%06d+00\t%s\t%s%d\t{\"ip\": \"10.%d.%d.%d\", \"ua\": \"%s/%d\", \"scope\": \"%s %s\"}\n" % (
                    row, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                    rng.randint(0, 999999), rng.choice(words), rng.choice(words), rng.randint(1, 5000),
                    rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255), rng.choice(words), rng.randint(1, 120),
                    rng.choice(words), rng.choice(words))
                lines.append(line)
            chunk = "".join(lines)
            out.write(chunk)
            written += len(chunk)
        out.write("\\.\n")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    root = sys.argv[1]
    total = int(sys.argv[2]) * 1000 * 1000 if len(sys.argv) == 3 else 800 * 1000 * 1000
    os.makedirs(root, exist_ok=False)
    sql_dump(os.path.join(root, "authentik.sql"), total * 45 // 100, 1)
    sql_dump(os.path.join(root, "silver-auth.sql"), total * 30 // 100, 2)
    with open(os.path.join(root, "authentik-files.tgz"), "wb") as out:
        remaining = total * 25 // 100
        while remaining > 0:
            n = min(remaining, 1 << 20)
            out.write(os.urandom(n))
            remaining -= n
    with open(os.path.join(root, "env.backup"), "w") as out:
        out.write("POSTGRES_PASSWORD=not-a-real-secret\nAUTHENTIK_SECRET_KEY=also-not-real\n")
    os.chmod(os.path.join(root, "env.backup"), 0o600)
    names = ["authentik.sql", "silver-auth.sql", "authentik-files.tgz", "env.backup"]
    with open(os.path.join(root, "MANIFEST.sha256"), "w") as manifest:
        for name in names:
            digest = hashlib.sha256()
            with open(os.path.join(root, name), "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            manifest.write("%s  %s\n" % (digest.hexdigest(), name))


if __name__ == "__main__":
    main()
