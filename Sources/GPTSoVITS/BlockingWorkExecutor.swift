import Foundation

/// A task executor for long, CPU-bound synchronous work (a whole synthesis): its jobs run on
/// threads of its own, never on Swift's shared cooperative pool, so a running synthesis cannot
/// starve other tasks of the process (an HTTP server's response writers, timers, …) — on a 2-core
/// machine the shared pool has only two threads. Tasks that prefer this executor stay ordinary
/// tasks: cancellation, task-locals and `await` work as usual.
///
/// A thread is started whenever a job arrives and no thread is idle; idle threads wait for the
/// next job and end after ``idleTimeout`` seconds without one.
public final class BlockingWorkExecutor: TaskExecutor, @unchecked Sendable {
    /// The process-wide instance used by ``TTSEngine``.
    public static let shared = BlockingWorkExecutor()

    /// Seconds an idle thread waits for work before it ends.
    public let idleTimeout: TimeInterval
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var idle = 0
    private var threads = 0

    /// An executor whose idle threads end after `idleTimeout` seconds.
    public init(idleTimeout: TimeInterval = 30) {
        self.idleTimeout = idleTimeout
    }

    /// Threads currently alive (busy or idle).
    public var threadCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return threads
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        let spawn = jobs.count > idle
        if spawn { threads += 1 }
        condition.signal()
        condition.unlock()
        if spawn {
            let thread = Thread { [self] in work() }
            thread.name = "gpt-sovits.worker"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Whether the calling thread is one of this type's worker threads.
    public static var isWorkerThread: Bool {
        Thread.current.threadDictionary[workerKey] as? Bool == true
    }
    private static let workerKey = "gpt-sovits.blocking-worker"

    private func work() {
        Thread.current.threadDictionary[Self.workerKey] = true
        while true {
            condition.lock()
            while jobs.isEmpty {
                idle += 1
                let signalled = condition.wait(until: Date(timeIntervalSinceNow: idleTimeout))
                idle -= 1
                if !signalled && jobs.isEmpty {
                    threads -= 1
                    condition.unlock()
                    return
                }
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
