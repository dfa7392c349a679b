import Foundation
import TestSupport
import Testing

/// `SEALED_ARCHIVE_NOW` (Spec/CLI.md, "Clock"): the time every command acts
/// at, for tests and for replaying a review as of a date. A keyring's life
/// is simulated over months here without waiting.
@Suite struct CommandClockTests {
    static func at(_ time: String) -> [String: String] { ["SEALED_ARCHIVE_NOW": time] }

    /// An archive sealed with the clock set records that time, to the
    /// second, and a key file written then says so.
    @Test func sealAndKeygenUseTheSetTime() throws {
        let sandbox = try Sandbox()
        let keygen = try sandbox.run(["keygen", "-o", "id"], environment: Self.at("2031-07-04T09:30:00Z"))
        #expect(keygen.status == 0, "\(keygen)")
        #expect(try sandbox.read("id").starts(with: Array("# created: 2031-07-04T09:30:00Z\n".utf8)), "\(keygen)")

        let recipient = try sandbox.recipient("id")
        try sandbox.write("plain", randomBytes(1000))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "plain"], environment: Self.at("2031-07-04T09:30:00Z")))
        let inspect = try sandbox.run(["inspect", "--json", "a.sarc"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout)) as? [String: Any], "\(inspect)")
        #expect(object["created"] as? String == "2031-07-04T09:30:00Z", "\(inspect)")
        #expect((object["created_unix"] as? NSNumber)?.int64Value == 1_940_923_800, "\(inspect)")
    }

    /// A value that is not an RFC 3339 time is a usage error (64) with one
    /// line naming the variable, never a silent fall back to the real clock;
    /// nothing is written.
    @Test(arguments: ["yesterday", "2027-13-01T00:00:00Z", "2027-03-01", "1700000000", "2027-03-01 12:00:00"])
    func anUnreadableTimeIsAUsageError(_ value: String) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.write("plain", Array("x".utf8))
        let seal = try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "plain"], environment: Self.at(value))
        expectError(seal, 64, mentioning: ["SEALED_ARCHIVE_NOW"])
        expectNoOutput(sandbox, "a.sarc")
        let keygen = try sandbox.run(["keygen", "-o", "other"], environment: Self.at(value))
        expectError(keygen, 64, mentioning: ["SEALED_ARCHIVE_NOW"])
        expectNoOutput(sandbox, "other")
    }

    /// The variable is a hook for tests and operators, not an option: no
    /// help text mentions it.
    @Test func helpDoesNotShowIt() throws {
        let sandbox = try Sandbox()
        for arguments in [["--help"], ["seal", "--help"], ["verify", "--help"], ["keys", "review", "--help"]] {
            let help = try sandbox.run(arguments)
            #expect(help.status == 0, "\(help)")
            #expect(!(help.stdoutText + help.stderr).contains("SEALED_ARCHIVE_NOW"), "\(help)")
        }
    }

    /// Half a year of a keyring, by the clock: nothing is due a month after
    /// `keys init`; past the 90-day review interval a rotation is due (75)
    /// and the review log records that date; after rotating both keys nothing is
    /// due, and the archive sealed on day one still opens with the keyring.
    @Test func aKeyringLivesThroughMonthsWithoutWaiting() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring(environment: Self.at("2027-01-01T08:00:00Z"))
        try sandbox.exportRecipients(environment: Self.at("2027-01-01T08:00:00Z"))
        try sandbox.write("plain", Array("day one".utf8))
        expectSuccess(try sandbox.run(["seal", "-R", "recipients", "-o", "day-one.sarc", "plain"], environment: Self.at("2027-01-01T09:00:00Z")))

        let february = try sandbox.run(["keys", "review", "--keyring", "ring"], environment: Self.at("2027-02-01T08:00:00Z"))
        #expect(february.status == 0, "a month in, nothing is due: \(february)")

        let april = try sandbox.run(["keys", "review", "--keyring", "ring"], environment: Self.at("2027-04-15T08:00:00Z"))
        #expect(april.status == 75, "past the review interval a rotation is due: \(april)")
        #expect(april.stdoutText.lowercased().contains("rotate"), "\(april)")
        let log = try String(decoding: sandbox.read("ring/review.log"), as: UTF8.self)
        #expect(log.contains("2027-02-01T08:00:00Z") && log.contains("2027-04-15T08:00:00Z"), "the log records the clock's dates: \(log)")

        for purpose in [[], ["--signing"]] {
            let rotate = try sandbox.run(["keys", "rotate", "--keyring", "ring"] + purpose, environment: Self.at("2027-04-15T08:05:00Z"))
            #expect(rotate.status == 0, "\(rotate)")
        }
        let after = try sandbox.run(["keys", "review", "--keyring", "ring"], environment: Self.at("2027-04-15T08:10:00Z"))
        #expect(after.status == 0, "nothing is due right after the rotation: \(after)")

        let opened = try sandbox.run(["open", "--keyring", "ring", "day-one.sarc"], environment: Self.at("2027-06-30T08:00:00Z"))
        #expect(opened.status == 0 && opened.stdoutText == "day one", "\(opened)")
    }
}
