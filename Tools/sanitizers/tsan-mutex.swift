// Evidence for Sources/SealedArchive/Concurrency/Locked.swift: built with
// `swiftc -sanitize=thread`, ThreadSanitizer reports a data race between two
// threads that only touch a counter inside `Mutex.withLock` (argument
// `plain`), and none when each critical section also carries the
// acquire/release annotations `Locked` adds (argument `annotated`). The
// count printed is right either way: the Mutex works, TSan does not see it.
// Tools/sanitize.sh runs both before the thread pass; README.md explains.
import Foundation
import Synchronization

@_silgen_name("__tsan_acquire") func tsanAcquire(_ address: UnsafeRawPointer)
@_silgen_name("__tsan_release") func tsanRelease(_ address: UnsafeRawPointer)

final class Counter: Sendable {
    let count = Mutex(0)
    let annotated: Bool

    init(annotated: Bool) { self.annotated = annotated }

    func increment() {
        let key = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        count.withLock { count in
            if annotated { tsanAcquire(key) }
            defer { if annotated { tsanRelease(key) } }
            count += 1
        }
    }
}

let counter = Counter(annotated: CommandLine.arguments.dropFirst().first == "annotated")
let done = DispatchSemaphore(value: 0)
for _ in 0..<2 {
    Thread {
        for _ in 0..<100_000 { counter.increment() }
        done.signal()
    }.start()
}
done.wait()
done.wait()
print(counter.count.withLock { $0 })
