import ArgumentParser
import Foundation
import SealedArchive
import SystemCalls

/// `--progress auto|always|never`, for the commands that read or write a
/// whole archive (seal, open, verify, drill).
struct ProgressOptions: ParsableArguments {
    enum When: String, ExpressibleByArgument, CaseIterable {
        case auto, always, never
    }

    @Option(name: .customLong("progress"),
            help: ArgumentHelp("Show bytes done, rate and time left on standard error: auto (only when it is a terminal), always (on anything else, one line every \(Int(ProgressMeter.logInterval)) seconds and one at the end) or never.",
                               valueName: "WHEN"))
    var when: When = .auto

    /// A meter for an operation named `label` ("sealing"), counting only
    /// when it will be shown; never shown when the operation does not
    /// `apply` (reads next to nothing).
    func meter(_ label: String, applies: Bool = true) -> ProgressMeter {
        let onTerminal = POSIX.isTerminal(2)
        switch applies ? when : .never {
        case .never: return ProgressMeter(label: label, counter: nil, onTerminal: onTerminal)
        case .auto: return ProgressMeter(label: label, counter: onTerminal ? ProgressCounter() : nil, onTerminal: onTerminal)
        case .always: return ProgressMeter(label: label, counter: ProgressCounter(), onTerminal: onTerminal)
        }
    }
}

/// Shows a ``ProgressCounter`` on standard error while an operation runs:
/// on a terminal, one line redrawn in place twice a second (and wiped at
/// the end, so the command's result line follows on a clean line);
/// elsewhere, with `--progress always`, a line every ``logInterval``
/// seconds and a last one when the operation ends, for a log.
///
/// The work runs on the calling thread; a second thread samples the
/// counter, so the work never waits for the display.
final class ProgressMeter: @unchecked Sendable {
    /// How often a line is written when standard error is not a terminal.
    static let logInterval: TimeInterval = 10
    /// How often the line is redrawn on a terminal; also the delay before
    /// the first one, so a quick command shows none.
    static let terminalInterval: TimeInterval = 0.5

    /// What the operation counts into; nil when nothing is shown.
    let counter: ProgressCounter?
    private let label: String
    private let onTerminal: Bool
    private let condition = NSCondition()
    private var stopped = false

    init(label: String, counter: ProgressCounter?, onTerminal: Bool) {
        self.label = label
        self.counter = counter
        self.onTerminal = onTerminal
    }

    /// Runs `body` while the counter is shown, and stops showing it when
    /// `body` returns or throws (a failed operation leaves no last line:
    /// its error says what happened).
    func showing<T>(_ body: () throws -> T) rethrows -> T {
        guard let counter else { return try body() }
        let started = ContinuousClock.now
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            sample(counter, since: started)
            finished.signal()
        }
        thread.name = "progress"
        thread.start()
        var succeeded = false
        defer {
            condition.withLock {
                stopped = true
                condition.signal()
            }
            finished.wait()
            if onTerminal {
                ProgressLine.wipe()
            } else if succeeded {
                ProgressLine.draw(Self.line(label, counter, since: started), inPlace: false)
            }
        }
        let result = try body()
        succeeded = true
        return result
    }

    private func sample(_ counter: ProgressCounter, since started: ContinuousClock.Instant) {
        let interval = onTerminal ? Self.terminalInterval : Self.logInterval
        condition.lock()
        defer { condition.unlock() }
        while !stopped {
            _ = condition.wait(until: Date(timeIntervalSinceNow: interval))
            if stopped { break }
            ProgressLine.draw(Self.line(label, counter, since: started), inPlace: onTerminal)
        }
    }

    /// "sealing: 412.3 MiB of 812.0 MiB (51%), 180.2 MiB/s, 0:02 left";
    /// without a total, bytes and rate only.
    static func line(_ label: String, _ counter: ProgressCounter, since started: ContinuousClock.Instant) -> String {
        let done = counter.completed
        let elapsed = (ContinuousClock.now - started).seconds
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var parts = ["\(label): \(bytes(Double(done)))"]
        if let total = counter.total, total > 0 {
            let percent = min(100, Int(Double(done) * 100 / Double(total)))
            parts[0] += " of \(bytes(Double(total))) (\(percent)%)"
            parts.append("\(bytes(rate))/s")
            if done < total {
                parts.append(rate > 0 ? "\(clock(Double(total - done) / rate, rounding: .up)) left" : "time left unknown")
            }
        } else {
            parts.append("\(bytes(rate))/s")
        }
        parts.append("\(clock(elapsed)) elapsed")
        return parts.joined(separator: ", ")
    }

    /// Bytes in binary units, one decimal ("812.0 MiB").
    static func bytes(_ count: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = count
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// "0:07", "12:30", "2:05:00".
    static func clock(_ seconds: Double, rounding: FloatingPointRoundingRule = .down) -> String {
        let whole = Int(seconds.rounded(rounding).clamped(to: 0...(99 * 3600)))
        let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }
}

/// The progress line on standard error, shared by everything that writes
/// to the terminal: before any other output the line is wiped (the next
/// sample draws it again), and a passphrase prompt holds it off.
enum ProgressLine {
    private struct State {
        /// A line drawn in place is on the terminal now.
        var shown = false
        /// Prompts in progress: nothing is drawn meanwhile.
        var paused = 0
    }

    private static let state = Locked(State())

    /// Draws `text`: in place (carriage return, then erase to the end of
    /// the line), or as a line of its own.
    static func draw(_ text: String, inPlace: Bool) {
        state.withLock { state in
            guard state.paused == 0 else { return }
            let escaped = TerminalText.escaped(text)
            writeToStandardError(inPlace ? "\r\(escaped)\u{1B}[K" : escaped + "\n")
            state.shown = inPlace
        }
    }

    /// Writes to standard error, ignoring a failure: a log pipe that closed
    /// (EPIPE) must not end a seal half way, as FileHandle's write would.
    static func writeToStandardError(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { try? POSIX.writeAll(2, $0, what: "standard error") }
    }

    /// Wipes the line if one is shown.
    static func wipe() { clearing {} }

    /// Wipes the line unless another thread is writing (the signal thread,
    /// about to end the process, must not wait on a stuck standard error).
    static func wipeIfFree() { state.withLockIfAvailable { wipe(&$0) } }

    /// Runs `body` (which writes to the terminal) with no progress line on it.
    static func clearing<T>(_ body: () throws -> T) rethrows -> T {
        try state.withLock { state in
            wipe(&state)
            return try body()
        }
    }

    /// Runs `body` (a prompt) with no progress line on the terminal and
    /// none drawn meanwhile. (One lock for the wipe and the count: the
    /// mutex is not recursive.)
    static func paused<T>(_ body: () throws -> T) rethrows -> T {
        state.withLock { state in
            wipe(&state)
            state.paused += 1
        }
        defer { state.withLock { $0.paused -= 1 } }
        return try body()
    }

    private static func wipe(_ state: inout State) {
        guard state.shown else { return }
        writeToStandardError("\r\u{1B}[K")
        state.shown = false
    }
}

extension Swift.Duration {
    /// The duration in seconds, with its fraction.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
