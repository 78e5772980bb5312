import Foundation

/// A task executor for long, CPU-bound synchronous work (a whole synthesis): its jobs run on
/// threads of its own, never on Swift's shared cooperative pool, so a running synthesis cannot
/// starve other tasks of the process (an HTTP server's response writers, timers, …) — on a 2-core
/// machine the shared pool has only two threads. Tasks that prefer this executor stay ordinary
/// tasks: cancellation, task-locals and `await` work as usual.
///
/// A thread is started whenever a job arrives and no thread is idle; idle threads wait for the
/// next job and end after ``idleTimeout`` seconds without one.
///
/// Work started with ``start(_:)`` is tracked until it ends, so a program can wait for abandoned
/// (cancelled but still unwinding) work before it exits: ``waitUntilIdle()``. Exiting while a
/// worker is inside a BLAS call crashes the process (the library's exit handlers tear down its
/// state under the running call).
public final class BlockingWorkExecutor: TaskExecutor, @unchecked Sendable {
    /// The process-wide instance used by ``TTSEngine``.
    public static let shared = BlockingWorkExecutor()

    /// Seconds an idle thread waits for work before it ends.
    public let idleTimeout: TimeInterval
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var idle = 0
    private var threads = 0
    private var tracked: [UInt64: Task<Void, Never>] = [:]
    private var endedEarly: Set<UInt64> = []
    private var nextID: UInt64 = 0

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
            thread.name = "gsv-worker"  // Linux thread names hold 15 characters
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Starts `body` as a detached task that prefers this executor, and tracks it until it ends
    /// (see ``waitUntilIdle()``). Cancel the returned task to stop the work.
    @discardableResult
    public func start(_ body: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        condition.lock()
        nextID += 1
        let id = nextID
        condition.unlock()
        let task = Task.detached(executorPreference: self) { [self] in
            await body()
            ended(id)
        }
        condition.lock()
        if endedEarly.remove(id) == nil { tracked[id] = task }
        condition.unlock()
        return task
    }

    /// Runs blocking synchronous `work` (loading weights, preparing a voice, a classifier pass) on
    /// one of this executor's threads, tracked like ``start(_:)`` so ``waitUntilIdle()`` waits for
    /// it, and returns its result. Cancelling the caller does not interrupt `work` (it has no
    /// cancellation points); the caller still waits for it, so nothing outlives the call.
    public func perform<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let box = ResultBox<T>()
        await start { box.set(Result { try work() }) }.value
        return try box.get()
    }

    /// Tasks started with ``start(_:)`` that have not ended yet.
    public var runningTaskCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return tracked.count
    }

    /// Returns once every task started with ``start(_:)`` (before or during the wait) has ended.
    /// Cancelled work ends at its next cancellation check.
    public func waitUntilIdle() async {
        while true {
            let pending = trackedTasks()
            if pending.isEmpty { return }
            for task in pending { await task.value }
        }
    }

    private func trackedTasks() -> [Task<Void, Never>] {
        condition.lock()
        defer { condition.unlock() }
        return Array(tracked.values)
    }

    private func ended(_ id: UInt64) {
        condition.lock()
        if tracked.removeValue(forKey: id) == nil { endedEarly.insert(id) }
        condition.unlock()
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

/// The result of work handed to ``BlockingWorkExecutor/perform(_:)``: written once by the worker,
/// read once after the worker's task ended (the task's completion orders the two).
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, any Error>?

    func set(_ r: Result<T, any Error>) {
        lock.lock()
        result = r
        lock.unlock()
    }

    func get() throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard let result else { throw CancellationError() }
        return try result.get()
    }
}
