import Glibc

/// Signal calls for the executable's termination handling (the library
/// itself never touches signals).
package enum Signals {
    package static let interrupt = SIGINT
    package static let terminate = SIGTERM
    package static let hangUp = SIGHUP

    /// Ignores SIGPIPE, so a closed pipe is an ordinary write error.
    ///
    /// The corresponding C function is `signal`.
    package static func ignoreBrokenPipe() { signal(SIGPIPE, SIG_IGN) }

    /// Blocks `numbers` in the calling thread (and the threads it starts).
    ///
    /// The corresponding C function is `pthread_sigmask`.
    package static func block(_ numbers: [Int32]) {
        var set = signalSet(numbers)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for one of `numbers` (blocked beforehand) and returns it.
    ///
    /// The corresponding C function is `sigwait`.
    package static func wait(for numbers: [Int32]) -> Int32 {
        var set = signalSet(numbers)
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    /// Dies of `number` with its default action, as without a handler.
    ///
    /// The corresponding C functions are `signal`, `pthread_sigmask`,
    /// `raise` and `_exit`.
    package static func die(of number: Int32) -> Never {
        signal(number, SIG_DFL)
        var unblock = signalSet([number])
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        raise(number)
        _exit(128 + number)
    }

    /// Parks the calling thread for ever (until a signal kills the process).
    ///
    /// The corresponding C function is `pause`.
    package static func parkForever() -> Never {
        while true { pause() }
    }

    private static func signalSet(_ numbers: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in numbers { sigaddset(&set, number) }
        return set
    }
}
