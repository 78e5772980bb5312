import Foundation
import Testing
@testable import GPTSoVITS

/// Timings are taken inside the jobs: the test's own task may resume late when other tests keep
/// the shared pool busy.
@Suite struct BlockingWorkExecutorTests {
    @Test func blockingJobsRunConcurrentlyOnWorkerThreads() async throws {
        let executor = BlockingWorkExecutor(idleTimeout: 5)
        let jobs = (0..<4).map { _ in
            Task.detached(executorPreference: executor) { () -> (start: Date, end: Date, worker: Bool) in
                let start = Date()
                let worker = onWorkerThread()
                blockThread(1.0)  // blocks its thread, as a synthesis does
                return (start, Date(), worker)
            }
        }
        var spans: [(start: Date, end: Date, worker: Bool)] = []
        for j in jobs { spans.append(await j.value) }
        #expect(spans.allSatisfy { $0.worker }, "jobs must run on the executor's own threads")
        // All four were blocked at the same moment: the latest start precedes the earliest end.
        let latestStart = spans.map(\.start).max()!, earliestEnd = spans.map(\.end).min()!
        #expect(latestStart < earliestEnd)
        #expect(!onWorkerThread())
    }

    @Test func cancellationReachesWorkOnTheExecutor() async throws {
        let executor = BlockingWorkExecutor(idleTimeout: 1)
        let cap = 6000  // 60 s
        let task = Task.detached(executorPreference: executor) { () -> Int in
            var spins = 0
            while !Task.isCancelled && spins < cap {
                blockThread(0.01)
                spins += 1
            }
            return spins
        }
        // Cancel from a plain thread: the test's own task may not get a pool thread for a long
        // time when other tests keep the shared pool busy.
        let canceller = Thread {
            usleep(100_000)
            task.cancel()
        }
        canceller.start()
        #expect(await task.value < cap)
    }

    @Test func waitUntilIdleOutlastsCancelledWork() async throws {
        let executor = BlockingWorkExecutor(idleTimeout: 1)
        let finished = Flag()
        // Work that notices cancellation only after a long blocking step, as a synthesis inside
        // one SoVITS chunk does.
        let task = executor.start {
            blockThread(0.5)
            if Task.isCancelled { finished.set() }
        }
        task.cancel()
        #expect(executor.runningTaskCount <= 1)
        await executor.waitUntilIdle()
        #expect(finished.isSet, "waitUntilIdle returned before the cancelled work ended")
        #expect(executor.runningTaskCount == 0)
        // Many short tasks: none stays tracked once ended, however the start races the end.
        for _ in 0..<50 { executor.start {} }
        await executor.waitUntilIdle()
        #expect(executor.runningTaskCount == 0)
    }

    @Test func idleThreadsEnd() async throws {
        let executor = BlockingWorkExecutor(idleTimeout: 0.2)
        _ = await Task.detached(executorPreference: executor) { 1 }.value
        try await Task.sleep(nanoseconds: 1_000_000_000)
        #expect(executor.threadCount == 0)
    }
}

/// Synchronous sleep (what a CPU-bound synthesis does to its thread).
private func blockThread(_ seconds: Double) {
    usleep(UInt32(seconds * 1_000_000))
}

private func onWorkerThread() -> Bool { BlockingWorkExecutor.isWorkerThread }

/// A thread-safe one-way flag.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
