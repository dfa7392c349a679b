import Foundation
import TestSupport
import Testing

/// End-to-end tests of the verification features of Spec/CLI.md: `verify`
/// at its three depths (keyless, signed, deep), trusted signers and the
/// default signers file, checksum files, chains, `--max-age`, parallel
/// verification with JSON output, `drill`, and `inspect` on a header alone.
/// Archives are damaged at offsets computed from Spec/FORMAT.md.
@Suite struct VerificationTests {
    // MARK: 1. Pulled through rclone

    /// Archives copied to a remote and pulled back with rclone (the local
    /// backend, no configuration file) verify at each depth, through a pipe
    /// (`rclone cat … | sealed-archive verify -`) and as pulled files, and
    /// each result line names its depth.
    @Test(.enabled(if: ExternalTool.rclone.enabled, "needs rclone"))
    func archivesPulledThroughRcloneVerifyAtEachDepth() throws {
        let rclone = try ExternalTool.rclone.path()
        let bench = try VerifyBench()
        try bench.backupDirectory("backup")
        try bench.seal("backup", to: "nightly.sarc")
        try bench.randomFile("dump.bin", bytes: 3_000_000)
        try bench.seal("dump.bin", to: "dump.sarc")
        let remote = bench.sandbox.path("remote") + "/backups"
        for name in ["nightly.sarc", "dump.sarc"] {
            let upload = try bench.sandbox.execute(rclone, ["--config", "/dev/null", "copyto", name, ":local:\(remote)/\(name)"],
                                                   environment: bench.isolation)
            try #require(upload.status == 0, "\(upload)")
            bench.sandbox.removeItem(name)  // only what comes back from the remote is verified
        }

        let depths: [(depth: String, flags: String)] = [
            ("keyless", ""),
            ("signed", "--signer \(bench.signer)"),
            ("deep", "-i id"),
            ("deep", "-i id --signer \(bench.signer)"),
        ]
        for ((depth, flags), name) in TestTier.pairs(depths, ["nightly.sarc", "dump.sarc"]) {
            bench.sandbox.removeItem("rclone.rc")
            let piped = try bench.sh(#"""
                { rclone --config /dev/null cat ":local:$REMOTE"; echo $? > rclone.rc; } | "$SA" verify $FLAGS -
                """#, environment: ["REMOTE": "\(remote)/\(name)", "FLAGS": flags])
            let context = "\(name) at \(depth) (\(flags)): \(piped)"
            #expect(try bench.sandbox.read("rclone.rc") == Array("0\n".utf8), "\(context)")
            #expect(piped.status == 0, "\(context)")
            #expect(piped.stderrLinesWithoutWarnings.isEmpty, "\(context)")
            #expect(piped.stdoutLines.count == 1, "\(context)")
            let line = try #require(VerifyLine(piped.stdoutLines.first ?? ""), "not a verify line: \(context)")
            #expect(line.ok, "\(context)")
            #expect(line.depth == depth, "\(context)")
            #expect(piped.stdoutLines.allSatisfy { $0.contains("[\(depth)]") }, "\(context)")
            #expect(line.detail.contains(bench.signer), "the signer is named: \(context)")
            if depth == "deep" && name == "nightly.sarc" {
                #expect(line.detail.contains("MANIFEST.sha256 matches"), "\(context)")
            }
        }

        // --json through the pipe names the depth too.
        let json = try bench.sh(#"rclone --config /dev/null cat ":local:$REMOTE" | "$SA" verify --json -i id --signer "$SIGNER" -"#,
                                environment: ["REMOTE": "\(remote)/nightly.sarc", "SIGNER": bench.signer])
        #expect(json.status == 0, "\(json)")
        let objects = VerifyKit.jsonObjects(json)
        #expect(objects.count == 1, "\(json)")
        #expect(objects.first?["depth"] as? String == "deep", "\(json)")
        #expect(VerifyKit.int(objects.first?["schema"]) == 1, "\(json)")
        #expect(objects.first?["manifest"] as? String == "matched", "\(json)")

        // Pulled as files (rclone copy of the remote directory), a set at each depth.
        let pull = try bench.sandbox.execute(rclone, ["--config", "/dev/null", "copy", ":local:\(remote)", "pulled"],
                                             environment: bench.isolation)
        try #require(pull.status == 0, "\(pull)")
        for (depth, flags) in depths {
            let result = try bench.sa(["verify"] + flags.split(separator: " ").map(String.init)
                                      + ["pulled/dump.sarc", "pulled/nightly.sarc"])
            let output = VerifyOutput(result)
            #expect(result.status == 0, "\(result)")
            #expect(output.archives.map(\.name) == ["pulled/dump.sarc", "pulled/nightly.sarc"], "\(result)")
            #expect(output.archives.allSatisfy { $0.ok && $0.depth == depth }, "\(result)")
            #expect(output.other.isEmpty && output.set == nil, "\(result)")
        }

        // Damage at rest on the remote is caught through the pipe, at each depth.
        let geometry = try bench.geometry("pulled/dump.sarc")
        let offset = geometry.record(1).lowerBound + 4321
        try bench.flip("remote/backups/dump.sarc", at: offset, mask: 0x40)
        for (depth, flags) in depths {
            let piped = try bench.sh(#"rclone --config /dev/null cat ":local:$REMOTE" 2>/dev/null | "$SA" verify $FLAGS -"#,
                                     environment: ["REMOTE": "\(remote)/dump.sarc", "FLAGS": flags])
            let context = "damaged dump.sarc at \(depth): \(piped)"
            #expect(piped.status == 65, "\(context)")
            #expect(piped.stdoutLines.count == 1, "\(context)")
            let line = try #require(VerifyLine(piped.stdoutLines.first ?? ""), "\(context)")
            #expect(!line.ok && line.depth == depth, "\(context)")
            #expect(line.damagedChunk?.index == 1, "\(context)")
            #expect(line.damagedChunk?.range.contains(offset) == true, "\(context)")
        }
    }

    // MARK: 2. Single-bit damage in a large archive

    /// A ~500 MB archive (1 MiB chunks, a short last chunk; 24 full chunks
    /// in the fast tier) with one bit flipped at chosen offsets fails
    /// keyless verification (65), naming the chunk that holds the offset and
    /// that chunk's byte range (FORMAT.md sections 5 and 7). The bit is
    /// flipped back after each check.
    @Test func singleBitDamageInALargeArchiveIsLocated() throws {
        let bench = try VerifyBench()
        let fullChunks = TestTier.scaled(fast: 24, full: 500)
        let plaintextLength = fullChunks * 1_048_576 + 777
        try bench.randomFile("plain", bytes: plaintextLength)
        try bench.seal("plain", to: "big.sarc")
        bench.sandbox.removeItem("plain")  // bound the disk space the test takes

        let g = try bench.geometry("big.sarc")
        try #require(g.chunkSize == 1_048_576, "the default chunk size is 1 MiB")
        try #require(g.chunkCount == fullChunks + 1)
        try #require(g.size == g.expectedSize(fullChunks: fullChunks, lastLength: 777))
        expectVerifyOK(try bench.sa(["verify", "big.sarc"]), name: "big.sarc")

        // Middle chunks at the same fractions of the archive in both tiers
        // (250, 333 and 137 of 500 in the full tier).
        let (half, twoThirds, quarter) = (fullChunks / 2, fullChunks * 2 / 3, fullChunks * 137 / 500)
        let targets: [(what: String, offset: Int, chunk: Int)] = [
            ("first chunk, ciphertext", g.record(0).lowerBound + 5, 0),
            ("a middle chunk, ciphertext", g.record(half).lowerBound + 123_457, half),
            ("a middle chunk, first byte", g.record(twoThirds).lowerBound, twoThirds),
            ("a middle chunk, last byte of its record", g.record(quarter).upperBound, quarter),
            ("last chunk, ciphertext", g.record(fullChunks).lowerBound + 700, fullChunks),
            ("last chunk, the end of its record", g.record(fullChunks).upperBound - 3, fullChunks),
        ]
        for (number, target) in targets.enumerated() {
            let mask = UInt8(1) << UInt8(number % 8)
            try bench.flip("big.sarc", at: target.offset, mask: mask)
            defer { try? bench.flip("big.sarc", at: target.offset, mask: mask) }
            #expect(g.chunk(containing: target.offset) == target.chunk)
            let expectedRange = g.record(target.chunk)

            var runs = [try bench.sa(["verify", "big.sarc"])]
            if number == 1 {
                // Also as a stream from a pipe, which cannot seek.
                runs.append(try bench.sh(#"cat big.sarc | "$SA" verify -"#))
            }
            for result in runs {
                let context = "\(target.what) (byte \(target.offset), bit mask \(mask)): \(result)"
                #expect(result.status == 65, "\(context)")
                #expect(result.stdoutLines.count == 1, "\(context)")
                let line = try #require(VerifyLine(result.stdoutLines.first ?? ""), "\(context)")
                #expect(!line.ok && line.depth == "keyless", "\(context)")
                let damaged = try #require(line.damagedChunk, "the message names `chunk N` and a byte range: \(context)")
                #expect(damaged.index == target.chunk, "\(context)")
                #expect(damaged.range.contains(target.offset), "\(context)")
                #expect(damaged.range == expectedRange, "the range is the whole record \(expectedRange): \(context)")
            }
        }
        // Every flip was undone: the archive verifies again.
        expectVerifyOK(try bench.sa(["verify", "big.sarc"]), name: "big.sarc")
    }

    // MARK: 3. Forgery, truncation, extension

    /// An archive sealed with the right recipient key but unsigned, or
    /// signed by another signing key, is refused (65) when the host's
    /// signature is required: by `--signer`, `--signers`, or a default
    /// signers file (`SEALED_ARCHIVE_SIGNERS`, `$XDG_CONFIG_HOME/…`) with no
    /// flag; `--allow-unsigned` opts out, at keyless depth, and says so.
    @Test func forgedArchivesAreRefusedWhenASignerIsRequired() throws {
        let bench = try VerifyBench()
        let other = try bench.sandbox.makeSigningKey("other.sk")
        try bench.randomFile("plain", bytes: 50_000)
        try bench.seal("plain", to: "genuine.sarc")
        try bench.seal("plain", to: "unsigned.sarc", signed: false)
        let resigned = try bench.sa(["seal", "-r", bench.recipient, "--sign-key", "other.sk", "-o", "resigned.sarc", "plain"])
        try #require(resigned.status == 0, "\(resigned)")
        try bench.sandbox.write("signers", Array("# the sealing host\n\(bench.signer)\n".utf8))
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("xdg/sealed-archive"), withIntermediateDirectories: true)
        try bench.sandbox.write("xdg/sealed-archive/signers", Array("\(bench.signer)\n".utf8))
        let viaVariable = ["SEALED_ARCHIVE_SIGNERS": bench.sandbox.path("signers")]
        let viaXDG = ["XDG_CONFIG_HOME": bench.sandbox.path("xdg")]

        // Sanity: without a required signer both forgeries pass keylessly.
        for name in ["unsigned.sarc", "resigned.sarc"] {
            expectVerifyOK(try bench.sa(["verify", name]), name: name)
        }

        let requirements: [(String, [String], [String: String], String)] = [
            ("--signer", ["--signer", bench.signer], [:], "signed"),
            ("--signers FILE", ["--signers", "signers"], [:], "signed"),
            ("SEALED_ARCHIVE_SIGNERS", [], viaVariable, "signed"),
            ("XDG_CONFIG_HOME signers file", [], viaXDG, "signed"),
            ("SEALED_ARCHIVE_SIGNERS with -i", ["-i", "id"], viaVariable, "deep"),
            ("--signer with -i", ["-i", "id", "--signer", bench.signer], [:], "deep"),
        ]
        for (how, flags, environment, depth) in requirements {
            for name in ["unsigned.sarc", "resigned.sarc"] {
                let result = try bench.sa(["verify"] + flags + [name], environment: environment)
                let context = "\(name), signer required by \(how): \(result)"
                expectVerifyFailure(result, 65, name: name)
                let line = VerifyLine(result.stdoutLines.first ?? "")
                #expect(line?.depth == depth, "\(context)")
                if name == "unsigned.sarc" {
                    #expect(line?.detail.contains("not signed") == true || line?.detail.contains("unsigned") == true, "\(context)")
                } else {
                    #expect(line?.detail.contains(other) == true || line?.detail.contains("trusted") == true, "\(context)")
                }
            }
            let genuine = try bench.sa(["verify"] + flags + ["genuine.sarc"], environment: environment)
            expectVerifyOK(genuine, name: "genuine.sarc")
            #expect(VerifyLine(genuine.stdoutLines.first ?? "")?.depth == depth, "genuine, \(how): \(genuine)")
        }

        // The default signers file also guards open and drill.
        for name in ["unsigned.sarc", "resigned.sarc"] {
            let open = try bench.sa(["open", "-i", "id", "-o", "out", name], environment: viaVariable)
            expectError(open, 65)
            expectNoOutput(bench.sandbox, "out")
            let drill = try bench.sa(["drill", "-i", "id", "--work-dir", ".", name], environment: viaVariable)
            #expect(drill.status == 65, "\(drill)")
            #expect(drill.stdoutText.contains("FAILED"), "\(drill)")
        }

        // --allow-unsigned opts out for one run: keyless, and the output says
        // what was found.
        let unsigned = try bench.sa(["verify", "--allow-unsigned", "unsigned.sarc"], environment: viaVariable)
        expectVerifyOK(unsigned, name: "unsigned.sarc")
        let unsignedLine = VerifyLine(unsigned.stdoutLines.first ?? "")
        #expect(unsignedLine?.depth == "keyless", "\(unsigned)")
        #expect(unsignedLine?.detail.contains("unsigned") == true, "\(unsigned)")
        let resignedOptOut = try bench.sa(["verify", "--allow-unsigned", "resigned.sarc"], environment: viaXDG)
        expectVerifyOK(resignedOptOut, name: "resigned.sarc")
        #expect(VerifyLine(resignedOptOut.stdoutLines.first ?? "")?.depth == "keyless", "\(resignedOptOut)")
        #expect(resignedOptOut.stdoutText.contains(other), "the other signer is named: \(resignedOptOut)")

        // A genuine archive with a bit flipped in its signature is refused.
        let g = try bench.geometry("genuine.sarc")
        try #require(g.trailerLength == 112)
        try bench.flip("genuine.sarc", at: g.trailerStart + 48 + 10, mask: 0x08)
        for environment in [viaVariable, [:]] {
            let result = try bench.sa(["verify"] + (environment.isEmpty ? ["--signer", bench.signer] : []) + ["genuine.sarc"],
                                      environment: environment)
            expectVerifyFailure(result, 65, name: "genuine.sarc")
            #expect(VerifyLine(result.stdoutLines.first ?? "")?.depth == "signed", "\(result)")
            #expect(result.stdoutText.contains("signature"), "\(result)")
        }
    }

    /// A cut archive is reported as truncated with the byte it ends at; an
    /// extended one with the number of bytes that follow the trailer
    /// (Spec/CLI.md, verify, keyless).
    @Test func truncatedAndExtendedArchivesAreToldApart() throws {
        let bench = try VerifyBench()
        try bench.randomFile("plain", bytes: 20_000)  // four full 4 KiB chunks and one of 3616 bytes
        try bench.seal("plain", to: "archive", ["--chunk-size", "4KiB"])
        let g = try bench.geometry("archive")
        try #require(g.chunkCount == 5)
        let bytes = try bench.sandbox.read("archive")

        let cuts = [g.headerLength, g.record(0).lowerBound + 10, g.record(2).lowerBound, g.record(3).lowerBound + 2000,
                    g.trailerStart, g.trailerStart + 50, g.size - 1]
        for cut in cuts {
            try bench.sandbox.write("cut", Array(bytes.prefix(cut)))
            let result = try bench.sa(["verify", "cut"])
            expectVerifyFailure(result, 65, name: "cut")
            #expect(result.stdoutText.contains("truncated"), "cut at \(cut): \(result)")
            #expect(result.stdoutText.contains("ends at byte \(cut)"), "cut at \(cut): \(result)")
            #expect(!result.stdoutText.contains("follow"), "cut at \(cut): \(result)")
        }

        for extra in [1, 100] {
            try bench.sandbox.write("extended", bytes + randomBytes(extra))
            let result = try bench.sa(["verify", "extended"])
            expectVerifyFailure(result, 65, name: "extended")
            #expect(result.stdoutText.contains(extra == 1 ? "1 byte follows" : "\(extra) bytes follow"), "\(extra) bytes appended: \(result)")
            #expect(result.stdoutText.contains("trailer"), "\(extra) bytes appended: \(result)")
            #expect(!result.stdoutText.contains("truncated"), "\(extra) bytes appended: \(result)")
        }
    }

    /// A cut inside the header is a cut archive too: FORMAT.md calls its
    /// class `truncated`, and Spec/CLI.md says verify reports a cut archive
    /// as "truncated: it ends at byte N".
    @Test func archiveCutInsideItsHeaderSaysTruncated() throws {
        let bench = try VerifyBench()
        try bench.randomFile("plain", bytes: 20_000)
        try bench.seal("plain", to: "archive")
        let bytes = try bench.sandbox.read("archive")
        let g = try bench.geometry("archive")
        for cut in [100, g.headerLength - 1] {
            try bench.sandbox.write("cut", Array(bytes.prefix(cut)))
            let result = try bench.sa(["verify", "cut"])
            expectVerifyFailure(result, 65, name: "cut")
            #expect(result.stdoutText.contains("truncated"), "cut at \(cut) (inside the \(g.headerLength)-byte header): \(result)")
            #expect(result.stdoutText.contains("\(cut)"), "cut at \(cut): \(result)")
        }
    }

    // MARK: 4. drill

    /// A healthy directory archive drills: exit 0, PASSED, restore time and
    /// throughput, the manifest matched, the keys and signer named, and
    /// nothing left in --work-dir; `--json` is one object with schema 1 and
    /// the keys of Spec/CLI.md.
    @Test func drillOfAHealthyArchivePassesAndCleansUp() throws {
        let bench = try VerifyBench()
        try bench.backupDirectory("backup")
        let (files, bytes) = try bench.regularFileBytes("backup")
        try bench.seal("backup", to: "nightly.sarc")
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("work"), withIntermediateDirectories: false)

        let text = try bench.sa(["drill", "-i", "id", "--signer", bench.signer, "--max-age", "1h", "--work-dir", "work", "nightly.sarc"])
        #expect(text.status == 0, "\(text)")
        #expect(text.stderrLinesWithoutWarnings.isEmpty, "\(text)")
        #expect(text.stdoutText.contains("PASSED"), "\(text)")
        #expect(!text.stdoutText.contains("FAILED"), "\(text)")
        #expect(text.stdoutText.contains("nightly.sarc"), "\(text)")
        #expect(text.stdoutText.firstMatch(of: /\d+(\.\d+)? s\b/) != nil, "restore wall time: \(text)")
        #expect(text.stdoutText.contains("/s"), "restore throughput: \(text)")
        #expect(text.stdoutText.contains("MANIFEST.sha256 matches"), "\(text)")
        #expect(text.stdoutText.contains(bench.recipientKeyID), "recipient key id: \(text)")
        #expect(text.stdoutText.contains(bench.signerKeyID) || text.stdoutText.contains(bench.signer), "signer: \(text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: bench.sandbox.path("work")).isEmpty,
                "the restore is removed from --work-dir")

        let json = try bench.sa(["drill", "-i", "id", "--signer", bench.signer, "--max-age", "1h", "--work-dir", "work",
                                 "--json", "nightly.sarc"])
        #expect(json.status == 0, "\(json)")
        let objects = VerifyKit.jsonObjects(json)
        #expect(objects.count == 1, "one object: \(json)")
        let report = try #require(objects.first)
        #expect(VerifyKit.int(report["schema"]) == 1)
        #expect(report["kind"] as? String == "drill")
        #expect(report["archive"] as? String == "nightly.sarc")
        #expect(VerifyKit.bool(report["ok"]) == true)
        #expect((report["failures"] as? [Any])?.isEmpty == true, "\(json)")
        #expect(report["error"] == nil, "\(json)")
        let unexpected = Set(report.keys).subtracting(SpecJSONKeys.drill)
        #expect(unexpected.isEmpty, "keys not in Spec/CLI.md: \(unexpected)")
        let required: Set<String> = ["schema", "kind", "drilled_at", "archive", "ok", "failures", "created", "recipients", "signer",
                                     "signer_key_id", "age_seconds", "max_age_seconds", "archive_bytes", "restore_seconds",
                                     "restored_bytes", "restored_files", "restore_bytes_per_second", "manifest_files_checked"]
        #expect(required.subtracting(report.keys).isEmpty, "missing keys \(required.subtracting(report.keys)): \(json)")
        #expect(report["recipients"] as? [String] == [bench.recipientKeyID])
        #expect(report["signer"] as? String == bench.signer)
        #expect(report["signer_key_id"] as? String == bench.signerKeyID)
        #expect(VerifyKit.int(report["archive_bytes"]) == (try bench.sandbox.size("nightly.sarc")))
        #expect(VerifyKit.int(report["restored_bytes"]) == bytes, "\(json)")
        #expect(VerifyKit.int(report["restored_files"]) == files, "\(json)")
        #expect(VerifyKit.int(report["manifest_files_checked"]) == files - 1, "every file but the manifest: \(json)")
        #expect(VerifyKit.int(report["max_age_seconds"]) == 3600)
        #expect((VerifyKit.int(report["age_seconds"]) ?? -1) >= 0 && (VerifyKit.int(report["age_seconds"]) ?? 99999) < 3600)
        #expect(((report["restore_seconds"] as? NSNumber)?.doubleValue ?? -1) >= 0, "\(json)")
        #expect(((report["restore_bytes_per_second"] as? NSNumber)?.doubleValue ?? 0) > 0, "\(json)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: bench.sandbox.path("work")).isEmpty)
    }

    /// `drill --max-age 1s` on an archive sealed two seconds ago fails with
    /// 75 (only the age target missed), naming the RPO; the restore still
    /// ran and was removed. The two seconds pass on the CLI's clock
    /// (SEALED_ARCHIVE_NOW), not by sleeping.
    @Test func drillOfAnOldArchiveMissesTheRPO() throws {
        let bench = try VerifyBench()
        try bench.backupDirectory("backup")
        try bench.seal("backup", to: "old.sarc", environment: VerifyKit.clock("2027-03-01T12:00:00Z"))
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("work"), withIntermediateDirectories: false)
        let twoSecondsLater = VerifyKit.clock("2027-03-01T12:00:02Z")

        let text = try bench.sa(["drill", "-i", "id", "--max-age", "1s", "--work-dir", "work", "old.sarc"],
                                environment: twoSecondsLater)
        #expect(text.status == 75, "\(text)")
        #expect(text.stdoutText.contains("FAILED"), "\(text)")
        #expect(text.stdoutText.contains("RPO"), "\(text)")
        #expect(text.stdoutText.contains("MANIFEST.sha256 matches"), "the restore itself passed: \(text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: bench.sandbox.path("work")).isEmpty)

        let json = try bench.sa(["drill", "-i", "id", "--max-age", "1s", "--work-dir", "work", "--json", "old.sarc"],
                                environment: twoSecondsLater)
        #expect(json.status == 75, "\(json)")
        let report = try #require(VerifyKit.jsonObjects(json).first, "\(json)")
        #expect(VerifyKit.int(report["schema"]) == 1)
        #expect(VerifyKit.bool(report["ok"]) == false)
        #expect(VerifyKit.int(report["max_age_seconds"]) == 1)
        #expect(VerifyKit.int(report["age_seconds"]) == 2, "\(json)")
        let failures = report["failures"] as? [String] ?? []
        #expect(failures.count == 1 && failures.first?.contains("RPO") == true, "\(json)")
        #expect(report["error"] != nil, "\(json)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: bench.sandbox.path("work")).isEmpty)
    }

    /// `--rto`: a restore slower than it fails the drill (75) with the
    /// target named; a generous one is reported met.
    @Test func drillMeasuresTheRestoreAgainstTheRTO() throws {
        let bench = try VerifyBench()
        try bench.backupDirectory("backup")
        try bench.seal("backup", to: "a.sarc")
        let missed = try bench.sa(["drill", "-i", "id", "--rto", "0s", "--json", "a.sarc"])
        #expect(missed.status == 75, "\(missed)")
        let report = try #require(VerifyKit.jsonObjects(missed).first, "\(missed)")
        #expect(VerifyKit.int(report["rto_seconds"]) == 0)
        #expect((report["failures"] as? [String])?.first?.contains("RTO missed") == true, "\(missed)")
        let met = try bench.sa(["drill", "-i", "id", "--rto", "1h", "a.sarc"])
        #expect(met.status == 0, "\(met)")
        #expect(met.stdoutText.contains("(RTO 1h 0m: met)"), "\(met)")
        #expect(try bench.sa(["drill", "-i", "id", "--rto", "soon", "a.sarc"]).status == 64)
    }

    /// Given a directory of three archives (and their checksum files), or
    /// the three archives, drill takes the newest by header creation time,
    /// not by name or modification time.
    @Test func drillTakesTheNewestArchiveByHeaderTime() throws {
        let bench = try VerifyBench()
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("archives"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("work"), withIntermediateDirectories: false)
        // Sealed oldest first; names sort the other way round.
        let names = ["c-monday.sarc", "b-tuesday.sarc", "a-wednesday.sarc"]
        for (number, name) in names.enumerated() {
            try bench.backupDirectory("backup\(number)", dumpBytes: 10_000 * (number + 1), tag: name)
            // A day apart by the CLI's clock.
            try bench.seal("backup\(number)", to: "archives/\(name)", ["--checksum"],
                           environment: VerifyKit.clock("2027-03-0\(number + 1)T12:00:00Z"))
        }
        let created = try names.map { try bench.geometry("archives/\($0)").created }
        try #require(created[0] < created[1] && created[1] < created[2], "creation times \(created)")
        // The newest has the oldest modification time.
        try bench.setModificationTime("archives/a-wednesday.sarc", Date(timeIntervalSince1970: 946_684_800))

        // Drilled an hour after the newest, by the same clock (drill's
        // default --max-age measures from it).
        let anHourLater = VerifyKit.clock("2027-03-03T13:00:00Z")
        for arguments in [["archives"], ["archives/b-tuesday.sarc", "archives/a-wednesday.sarc", "archives/c-monday.sarc"]] {
            let json = try bench.sa(["drill", "-i", "id", "--json", "--work-dir", "work"] + arguments, environment: anHourLater)
            #expect(json.status == 0, "\(json)")
            let report = try #require(VerifyKit.jsonObjects(json).first, "\(json)")
            #expect((report["archive"] as? String)?.hasSuffix("a-wednesday.sarc") == true, "drilled: \(json)")
            #expect(VerifyKit.int(report["schema"]) == 1)
            #expect(VerifyKit.int(report["archive_bytes"]) == (try bench.sandbox.size("archives/a-wednesday.sarc")), "\(json)")

            let text = try bench.sa(["drill", "-i", "id", "--work-dir", "work"] + arguments, environment: anHourLater)
            #expect(text.status == 0, "\(text)")
            #expect(text.stdoutText.contains("a-wednesday.sarc"), "\(text)")
            #expect(!text.stdoutText.contains("b-tuesday.sarc") && !text.stdoutText.contains("c-monday.sarc"), "\(text)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: bench.sandbox.path("work")).isEmpty)
    }

    /// A damaged archive fails the drill (65), and nothing is left behind.
    @Test func drillOfADamagedArchiveFails() throws {
        let bench = try VerifyBench()
        try bench.backupDirectory("backup", dumpBytes: 3_000_000)
        try bench.seal("backup", to: "nightly.sarc", ["--compression", "none"])
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("work"), withIntermediateDirectories: false)
        let g = try bench.geometry("nightly.sarc")
        try bench.flip("nightly.sarc", at: g.record(1).lowerBound + 99, mask: 0x20)
        for json in [false, true] {
            let result = try bench.sa(["drill", "-i", "id", "--work-dir", "work"] + (json ? ["--json"] : []) + ["nightly.sarc"])
            #expect(result.status == 65, "\(result)")
            if json {
                let report = try #require(VerifyKit.jsonObjects(result).first, "\(result)")
                #expect(VerifyKit.bool(report["ok"]) == false)
                #expect((report["failures"] as? [String])?.first?.contains("chunk 1") == true, "\(result)")
            } else {
                #expect(result.stdoutText.contains("FAILED"), "\(result)")
                #expect(result.stdoutText.contains("chunk 1"), "\(result)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: bench.sandbox.path("work")).isEmpty, "\(result)")
        }
    }

    /// Archives that cannot be read are an I/O failure (74, "a file cannot
    /// be read"), whether one or several are given, and the drill reports
    /// on standard output as for any other failure.
    @Test func drillOfMissingArchivesIsAnIOError() throws {
        let bench = try VerifyBench()
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("work"), withIntermediateDirectories: false)
        for arguments in [["missing-a.sarc"], ["missing-a.sarc", "missing-b.sarc"]] {
            let result = try bench.sa(["drill", "-i", "id", "--work-dir", "work"] + arguments)
            #expect(result.status == 74, "\(result)")
            #expect(result.stdoutText.contains("FAILED"), "the failure is reported on standard output: \(result)")
        }
    }

    // MARK: 5. Checksum files

    /// `seal --checksum -o A` writes `A.sha256` that `sha256sum -c` accepts
    /// beside the archive and `verify --checksum-file` checks; a changed
    /// archive, a substituted one, or one the file does not list fails.
    @Test func checksumFilesAreWrittenAndChecked() throws {
        let bench = try VerifyBench()
        try bench.randomFile("plain", bytes: 2_500_000)
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("store"), withIntermediateDirectories: false)
        try bench.seal("plain", to: "store/A.sarc", ["--checksum"])
        try #require(bench.sandbox.exists("store/A.sarc.sha256"), "A.sarc.sha256 is written beside A.sarc")

        // One sha256sum line naming the archive by its file name.
        let line = String(decoding: try bench.sandbox.read("store/A.sarc.sha256"), as: UTF8.self)
        let sum = try bench.sh(#"cd store && sha256sum A.sarc"#)
        #expect(line == sum.stdoutText, "the checksum file is what sha256sum prints")
        let check = try bench.sh(#"cd store && sha256sum -c A.sarc.sha256"#)
        #expect(check.status == 0, "\(check)")
        #expect(check.stdoutText == "A.sarc: OK\n", "\(check)")
        let digest = String(line.prefix(64))

        for (directory, archive, list) in [(".", "store/A.sarc", "store/A.sarc.sha256"), ("store", "A.sarc", "A.sarc.sha256")] {
            let result = try bench.sh(#"cd "$D" && "$SA" verify --checksum-file "$L" "$A""#,
                                      environment: ["D": directory, "A": archive, "L": list])
            expectVerifyOK(result, name: archive)
        }
        let json = try bench.sa(["verify", "--json", "--checksum-file", "store/A.sarc.sha256", "store/A.sarc"])
        #expect(json.status == 0, "\(json)")
        #expect(VerifyKit.jsonObjects(json).first?["sha256"] as? String == digest, "\(json)")

        // --checksum-file with standard output names the archive after FILE.
        let streamed = try bench.sh(#""$SA" seal -r "$R" --checksum-file out.sarc.sha256 plain > out.sarc"#,
                                    environment: ["R": bench.recipient])
        #expect(streamed.status == 0, "\(streamed)")
        #expect(try bench.sh("sha256sum -c out.sarc.sha256").status == 0)
        expectVerifyOK(try bench.sa(["verify", "--checksum-file", "out.sarc.sha256", "out.sarc"]), name: "out.sarc")

        // A checksum file that does not list the archive.
        let unlisted = try bench.sa(["verify", "--checksum-file", "out.sarc.sha256", "store/A.sarc"])
        expectVerifyFailure(unlisted, 65, name: "store/A.sarc")
        #expect(unlisted.stdoutText.contains("A.sarc"), "\(unlisted)")

        // Another valid archive under the listed name: only the checksum tells.
        let original = try bench.sandbox.read("store/A.sarc")
        try bench.sandbox.write("store/A.sarc", try bench.sandbox.read("out.sarc"))
        expectVerifyOK(try bench.sa(["verify", "store/A.sarc"]), name: "store/A.sarc")
        let substituted = try bench.sa(["verify", "--checksum-file", "store/A.sarc.sha256", "store/A.sarc"])
        expectVerifyFailure(substituted, 65, name: "store/A.sarc")
        #expect(substituted.stdoutText.contains("SHA-256") || substituted.stdoutText.contains("checksum"), "\(substituted)")

        // A changed byte, and an appended byte.
        var changed = original
        changed[original.count / 2] ^= 0x80
        var appended = original
        appended.append(0x0a)
        for (what, bytes) in [("changed byte", changed), ("appended byte", appended)] {
            try bench.sandbox.write("store/A.sarc", bytes)
            let result = try bench.sa(["verify", "--checksum-file", "store/A.sarc.sha256", "store/A.sarc"])
            expectVerifyFailure(result, 65, name: "store/A.sarc")
            #expect(try bench.sh(#"cd store && sha256sum --quiet -c A.sarc.sha256"#).status != 0, "\(what)")
        }
    }

    // MARK: 6. Chains

    struct Chain {
        let bench: VerifyBench
        /// c1.sarc … c5.sarc, sequences 1…5; fork3.sarc, a different
        /// archive with sequence 3 sealed from a copy of the state after #2.
        static func make() throws -> Chain {
            let bench = try VerifyBench()
            for number in 1...5 {
                try bench.randomFile("p\(number)", bytes: 1000 + number)
                try bench.seal("p\(number)", to: "c\(number).sarc", ["--chain", "state.json"])
                if number == 2 {
                    let copy = try bench.sh("cp state.json fork.json")
                    try #require(copy.status == 0, "\(copy)")
                }
            }
            try bench.randomFile("pf", bytes: 999)
            try bench.seal("pf", to: "fork3.sarc", ["--chain", "fork.json"])
            for number in 1...5 {
                try #require(try bench.geometry("c\(number).sarc").sequence == UInt64(number))
            }
            try #require(try bench.geometry("fork3.sarc").sequence == 3)
            return Chain(bench: bench)
        }

        func verify(_ archives: [String], _ flags: [String] = []) throws -> (RunResult, VerifyOutput) {
            let result = try bench.sa(["verify"] + flags + archives)
            return (result, VerifyOutput(result))
        }
    }

    /// The five archives of a chain, in any order, are a complete chain.
    @Test func completeChainPasses() throws {
        let chain = try Chain.make()
        #expect(try chain.bench.sandbox.mode("state.json") == 0o600)
        let order = ["c3.sarc", "c1.sarc", "c5.sarc", "c2.sarc", "c4.sarc"]
        for flags in [[], ["--chain", "state.json"], ["--signer", chain.bench.signer]] {
            let (result, output) = try chain.verify(order, flags)
            #expect(result.status == 0, "\(result)")
            #expect(output.archives.map(\.name) == order, "\(result)")
            #expect(output.archives.allSatisfy { $0.ok }, "\(result)")
            #expect(output.set?.ok == true, "\(result)")
            #expect(output.set?.detail.contains("chain complete") == true, "\(result)")
            #expect(result.stdoutLines.last?.hasPrefix("OK set: ") == true, "the set line is last: \(result)")
            #expect(output.other.isEmpty, "\(result)")
        }
    }

    /// Without #3 the set fails (75), naming the gap.
    @Test func chainWithAGapFails() throws {
        let chain = try Chain.make()
        let (result, output) = try chain.verify(["c1.sarc", "c2.sarc", "c4.sarc", "c5.sarc"])
        #expect(result.status == 75, "\(result)")
        #expect(output.archives.count == 4 && output.archives.allSatisfy { $0.ok }, "\(result)")
        let set = try #require(output.set, "\(result)")
        #expect(!set.ok, "\(result)")
        #expect(result.stdoutLines.last?.hasPrefix("FAILED set: ") == true, "\(result)")
        #expect(set.detail.contains("missing"), "\(result)")
        #expect(set.detail.contains("3"), "the missing sequence number: \(result)")
    }

    /// #2 present twice (a copy under another name): reported as copies, 75.
    @Test func chainWithADuplicateFails() throws {
        let chain = try Chain.make()
        try chain.bench.sandbox.write("c2-again.sarc", try chain.bench.sandbox.read("c2.sarc"))
        let (result, output) = try chain.verify(["c1.sarc", "c2.sarc", "c2-again.sarc", "c3.sarc", "c4.sarc", "c5.sarc"])
        #expect(result.status == 75, "\(result)")
        #expect(output.archives.count == 6 && output.archives.allSatisfy { $0.ok }, "\(result)")
        let set = try #require(output.set, "\(result)")
        #expect(!set.ok, "\(result)")
        #expect(set.detail.contains("c2.sarc") && set.detail.contains("c2-again.sarc"), "\(result)")
        #expect(set.detail.contains("cop"), "reported as copies: \(result)")
    }

    /// A different archive with sequence 3 (sealed from a copy of the chain
    /// state after #2): beside the real #3 it is a fork or replacement; in
    /// place of it, #4 does not follow it.
    @Test func chainWithAReplacedArchiveFails() throws {
        let chain = try Chain.make()
        let (both, bothOutput) = try chain.verify(["c1.sarc", "c2.sarc", "c3.sarc", "fork3.sarc", "c4.sarc", "c5.sarc"])
        #expect(both.status == 75, "\(both)")
        let bothSet = try #require(bothOutput.set, "\(both)")
        #expect(!bothSet.ok, "\(both)")
        #expect(bothSet.detail.contains("c3.sarc") && bothSet.detail.contains("fork3.sarc"), "\(both)")
        #expect(bothSet.detail.contains("replaced") || bothSet.detail.contains("fork"), "\(both)")
        #expect(!bothSet.detail.contains("cop"), "not copies: \(both)")

        let (instead, insteadOutput) = try chain.verify(["c1.sarc", "c2.sarc", "fork3.sarc", "c4.sarc", "c5.sarc"])
        #expect(instead.status == 75, "\(instead)")
        let insteadSet = try #require(insteadOutput.set, "\(instead)")
        #expect(!insteadSet.ok, "\(instead)")
        #expect(insteadSet.detail.contains("replaced"), "\(instead)")
        #expect(insteadSet.detail.contains("c4.sarc"), "\(instead)")
    }

    /// `--chain STATE` when the newest present is #4: later archives are
    /// missing (75).
    @Test func chainStateShowsMissingLaterArchives() throws {
        let chain = try Chain.make()
        let (result, output) = try chain.verify(["c1.sarc", "c2.sarc", "c3.sarc", "c4.sarc"], ["--chain", "state.json"])
        #expect(result.status == 75, "\(result)")
        #expect(output.archives.count == 4 && output.archives.allSatisfy { $0.ok }, "\(result)")
        let set = try #require(output.set, "\(result)")
        #expect(!set.ok, "\(result)")
        #expect(set.detail.contains("missing"), "\(result)")
        #expect(set.detail.contains("5") && set.detail.contains("4"), "\(result)")
        // Without the state file the four form a complete chain.
        let (plain, plainOutput) = try chain.verify(["c1.sarc", "c2.sarc", "c3.sarc", "c4.sarc"])
        #expect(plain.status == 0, "\(plain)")
        #expect(plainOutput.set?.ok == true, "\(plain)")

        let (json, _) = try chain.verify(["c1.sarc", "c2.sarc", "c3.sarc", "c4.sarc"], ["--chain", "state.json", "--json"])
        #expect(json.status == 75, "\(json)")
        let objects = VerifyKit.jsonObjects(json)
        #expect(objects.count == 5, "\(json)")
        let setObject = try #require(objects.last)
        #expect(setObject["kind"] as? String == "set")
        #expect(VerifyKit.bool(setObject["ok"]) == false)
        #expect((setObject["problems"] as? [String])?.isEmpty == false, "\(json)")
        #expect(objects.dropLast().map { VerifyKit.int($0["sequence"]) } == [1, 2, 3, 4], "\(json)")
    }

    /// `--chain STATE` "adds a check that no archive after the newest present
    /// is missing": when no chained archive is present (only an unchained
    /// one, or the only chained one fails to verify), every archive of the
    /// host's chain is missing, so the set fails; it must not print an
    /// empty `OK set:` line.
    @Test func chainStateWithNoChainedArchivePresentFails() throws {
        let chain = try Chain.make()
        try chain.bench.seal("p1", to: "unchained.sarc")
        let (alone, aloneOutput) = try chain.verify(["unchained.sarc"], ["--chain", "state.json"])
        #expect(aloneOutput.archives.count == 1 && aloneOutput.archives.allSatisfy { $0.ok }, "\(alone)")
        #expect(alone.status == 75, "the host's chain is at 5 and none of its archives is here: \(alone)")
        #expect(aloneOutput.set?.ok == false, "\(alone)")
        #expect(aloneOutput.set?.detail.isEmpty == false, "an empty set line says nothing: \(alone)")

        // The only chained archive present is damaged: the set cannot be OK.
        try chain.bench.append("c5.sarc", [0])
        let (damaged, damagedOutput) = try chain.verify(["c5.sarc"], ["--chain", "state.json"])
        #expect(damaged.status == 65, "\(damaged)")
        #expect(damagedOutput.set?.ok == false, "\(damaged)")
        #expect(damagedOutput.set?.detail.isEmpty == false, "\(damaged)")
    }

    // MARK: 7. --max-age

    /// A set whose newest archive is fresh passes `--max-age`; two seconds
    /// later `--max-age 1s` fails with 75 naming the newest archive. Time
    /// passes on the CLI's clock (SEALED_ARCHIVE_NOW), not by sleeping.
    @Test func maxAgeChecksTheNewestArchive() throws {
        let bench = try VerifyBench()
        try bench.randomFile("plain", bytes: 5000)
        try bench.seal("plain", to: "b-older.sarc", environment: VerifyKit.clock("2027-03-01T11:59:58Z"))
        try bench.seal("plain", to: "a-newer.sarc", environment: VerifyKit.clock("2027-03-01T12:00:00Z"))
        try bench.setModificationTime("a-newer.sarc", Date(timeIntervalSince1970: 946_684_800))
        let archives = ["a-newer.sarc", "b-older.sarc"]
        let fresh = VerifyKit.clock("2027-03-01T12:00:00Z")
        let twoSecondsLater = VerifyKit.clock("2027-03-01T12:00:02Z")

        for duration in ["1h", "90s", "45m", "26h", "7d", "2w"] {
            let result = try bench.sa(["verify", "--max-age", duration] + archives, environment: fresh)
            let output = VerifyOutput(result)
            #expect(result.status == 0, "--max-age \(duration): \(result)")
            #expect(output.archives.map(\.name) == archives && output.archives.allSatisfy { $0.ok }, "\(result)")
            #expect(output.set?.ok == true, "--max-age \(duration): \(result)")
        }
        let malformed = try bench.sa(["verify", "--max-age", "5 minutes"] + archives, environment: fresh)
        #expect(malformed.status == 64, "\(malformed)")

        let stale = try bench.sa(["verify", "--max-age", "1s"] + archives, environment: twoSecondsLater)
        let output = VerifyOutput(stale)
        #expect(stale.status == 75, "\(stale)")
        #expect(output.archives.allSatisfy { $0.ok }, "the archives themselves are fine: \(stale)")
        let set = try #require(output.set, "\(stale)")
        #expect(!set.ok, "\(stale)")
        #expect(set.detail.contains("a-newer.sarc"), "names the newest archive: \(stale)")
        #expect(!set.detail.contains("b-older.sarc"), "\(stale)")

        let json = try bench.sa(["verify", "--json", "--max-age", "1s"] + archives, environment: twoSecondsLater)
        #expect(json.status == 75, "\(json)")
        let objects = VerifyKit.jsonObjects(json)
        #expect(objects.count == 3, "\(json)")
        let setObject = try #require(objects.last)
        #expect(setObject["kind"] as? String == "set" && VerifyKit.bool(setObject["ok"]) == false, "\(json)")
        #expect((setObject["problems"] as? [String])?.contains { $0.contains("a-newer.sarc") } == true, "\(json)")
    }

    // MARK: 8. Several archives in parallel

    /// Several archives, one damaged: a line each in the order given, the
    /// damaged one FAILED, exit 65; `--json` gives one object per archive
    /// (and one for the set when there is a set check), each with schema 1.
    @Test func severalArchivesAreReportedInOrderWithTheWorstExitCode() throws {
        let bench = try VerifyBench()
        try bench.randomFile("big", bytes: 30_000_000)
        try bench.seal("big", to: "big.sarc")
        for number in 1...5 {
            try bench.randomFile("s\(number)", bytes: 5000 * number)
            try bench.seal("s\(number)", to: "s\(number).sarc", signed: number % 2 == 1, ["--chunk-size", "4KiB"])
        }
        let s3 = try bench.geometry("s3.sarc")
        try bench.flip("s3.sarc", at: s3.record(2).lowerBound + 17)
        let order = ["big.sarc", "s4.sarc", "s1.sarc", "s3.sarc", "s5.sarc", "s2.sarc"]

        for flags in [[], ["-i", "id"]] {
            let result = try bench.sa(["verify"] + flags + order)
            let output = VerifyOutput(result)
            #expect(result.status == 65, "\(result)")
            #expect(output.archives.map(\.name) == order, "in the order given: \(result)")
            #expect(output.archives.map(\.ok) == order.map { $0 != "s3.sarc" }, "\(result)")
            #expect(output.archives.allSatisfy { $0.depth == (flags.isEmpty ? "keyless" : "deep") }, "\(result)")
            #expect(output.archives.first { !$0.ok }?.damagedChunk?.index == 2, "\(result)")
            #expect(output.set == nil && output.other.isEmpty, "\(result)")
        }

        let json = try bench.sa(["verify", "--json"] + order)
        #expect(json.status == 65, "\(json)")
        let objects = VerifyKit.jsonObjects(json)
        #expect(objects.count == order.count, "one object per archive, no set: \(json)")
        #expect(objects.map { $0["archive"] as? String } == order, "\(json)")
        for object in objects {
            #expect(VerifyKit.int(object["schema"]) == 1, "\(object)")
            #expect(object["kind"] as? String == "archive", "\(object)")
            #expect(object["depth"] as? String == "keyless", "\(object)")
            let unexpected = Set(object.keys).subtracting(SpecJSONKeys.archive)
            #expect(unexpected.isEmpty, "keys not in Spec/CLI.md: \(unexpected)")
            let ok = VerifyKit.bool(object["ok"])
            #expect(ok == (object["archive"] as? String != "s3.sarc"), "\(object)")
            if ok == false {
                let error = object["error"] as? [String: Any]
                #expect(error?["code"] is String && error?["message"] is String, "\(object)")
                #expect(object["digest"] == nil && object["chunks"] == nil, "no result for a failed archive: \(object)")
            } else {
                #expect(object["error"] == nil, "\(object)")
                #expect(VerifyKit.int(object["archive_bytes"]) == (try bench.sandbox.size(object["archive"] as? String ?? "")))
                #expect((object["digest"] as? String)?.count == 64, "\(object)")
                #expect(object["recipients"] as? [String] == [bench.recipientKeyID], "\(object)")
            }
        }

        // With a set check, one more object for the set.
        let withSet = try bench.sa(["verify", "--json", "--max-age", "1h"] + order)
        #expect(withSet.status == 65, "\(withSet)")
        let setObjects = VerifyKit.jsonObjects(withSet)
        #expect(setObjects.count == order.count + 1, "\(withSet)")
        let set = try #require(setObjects.last)
        #expect(VerifyKit.int(set["schema"]) == 1)
        #expect(set["kind"] as? String == "set")
        #expect(VerifyKit.bool(set["ok"]) == true, "\(withSet)")
        #expect(VerifyKit.int(set["archives"]) == 6 && VerifyKit.int(set["archives_ok"]) == 5, "\(withSet)")
        #expect(set["problems"] is [Any] && set["notes"] is [Any], "\(withSet)")
        let unexpected = Set(set.keys).subtracting(SpecJSONKeys.set)
        #expect(unexpected.isEmpty, "keys not in Spec/CLI.md: \(unexpected)")
    }

    /// The exit code is the worst result: 65, then 77, 74, 75.
    @Test func exitCodeIsTheWorstResult() throws {
        let bench = try VerifyBench()
        let stranger = try bench.sandbox.makeIdentity("stranger")
        try bench.randomFile("plain", bytes: 10_000)
        try bench.seal("plain", to: "good.sarc")
        try bench.seal("plain", to: "damaged.sarc", ["--chunk-size", "4KiB"])
        try bench.flip("damaged.sarc", at: try bench.geometry("damaged.sarc").record(1).lowerBound)
        let notMine = try bench.sa(["seal", "-r", stranger, "-o", "not-mine.sarc", "plain"])
        try #require(notMine.status == 0, "\(notMine)")
        for number in [1, 2, 3] {
            try bench.seal("plain", to: "c\(number).sarc", ["--chain", "chain.json"])
        }

        let cases: [(arguments: [String], status: Int32, lines: Int)] = [
            (["good.sarc", "missing.sarc"], 74, 2),
            (["-i", "id", "good.sarc", "not-mine.sarc", "missing.sarc"], 77, 3),
            (["-i", "id", "not-mine.sarc", "damaged.sarc", "missing.sarc"], 65, 3),
            (["c1.sarc", "c3.sarc"], 75, 3),
            (["c1.sarc", "c3.sarc", "missing.sarc"], 74, 4),
            (["c1.sarc", "c3.sarc", "damaged.sarc"], 65, 4),
        ]
        for (arguments, status, lines) in cases {
            let result = try bench.sa(["verify"] + arguments)
            #expect(result.status == status, "\(result)")
            #expect(result.stdoutLines.count == lines, "\(result)")
            #expect(VerifyOutput(result).archives.first { $0.name == "missing.sarc" }.map { !$0.ok } ?? true, "\(result)")
        }
    }

    // MARK: 9. inspect on the first 64 KiB

    /// `head -c 65536 A | sealed-archive inspect -` works on a 10 MB archive,
    /// and `--json` includes payload_kind and compression.
    @Test func inspectReadsTheHeaderFromThe64KiBPrefix() throws {
        let bench = try VerifyBench()
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("tree"), withIntermediateDirectories: false)
        try bench.randomFile("tree/data.bin", bytes: 10_000_000)
        try bench.sandbox.write("tree/notes.txt", Array("hello\n".utf8))
        try bench.randomFile("file.bin", bytes: 10_000_000)
        try bench.seal("tree", to: "tree-zstd.sarc", ["--label", "tree"])
        try bench.seal("tree", to: "tree-none.sarc", ["--compression", "none"])
        try bench.seal("file.bin", to: "file.sarc", signed: false)

        let expected: [(archive: String, kind: String, compression: String)] = [
            // A format 2 tar payload is zstd frames (raw blocks with
            // --compression none).
            ("tree-zstd.sarc", "tar", "zstd"), ("tree-none.sarc", "tar", "zstd"), ("file.sarc", "bytes", "none"),
        ]
        for (archive, kind, compression) in expected {
            #expect(try bench.sandbox.size(archive) > 10_000_000)
            let g = try bench.geometry(archive)
            let text = try bench.sh(#"head -c 65536 "$A" | "$SA" inspect -"#, environment: ["A": archive])
            #expect(text.status == 0, "\(text)")
            #expect(text.stderr.isEmpty, "\(text)")
            #expect(text.stdoutText.contains(InspectTests.rfc3339(g.created)), "\(text)")
            #expect(text.stdoutText.contains(kind) && text.stdoutText.contains(compression), "\(text)")
            #expect(text.stdoutText.contains(bench.recipientKeyID), "\(text)")

            let json = try bench.sh(#"head -c 65536 "$A" | "$SA" inspect --json -"#, environment: ["A": archive])
            #expect(json.status == 0, "\(json)")
            let objects = VerifyKit.jsonObjects(json)
            #expect(objects.count == 1, "\(json)")
            let object = try #require(objects.first)
            #expect(VerifyKit.int(object["schema"]) == 1)
            #expect(object["payload_kind"] as? String == kind, "\(archive): \(json)")
            #expect(object["compression"] as? String == compression, "\(archive): \(json)")
            #expect(VerifyKit.int(object["chunk_size"]) == 1_048_576, "\(json)")
            #expect(VerifyKit.int(object["header_length"]) == g.headerLength, "\(json)")
            #expect(VerifyKit.int(object["created_unix"]) == Int(g.created), "\(json)")
            #expect(object["recipients"] as? [String] == [bench.recipientKeyID], "\(json)")
            #expect((object["signer"] as? String) == (archive == "file.sarc" ? nil : bench.signer), "\(json)")
            #expect((object["label"] as? String) == (archive == "tree-zstd.sarc" ? "tree" : nil), "\(json)")
        }
    }
}
