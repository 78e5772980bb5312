import Dispatch
import Foundation
import GSVKernels

/// One loop handed to the spinning pool: the body and how `0..<count` is cut into chunks.
private struct PoolJob {
    let body: (Range<Int>) -> Void
    let count: Int
    let per: Int
}

/// Data-parallel loops over the machine's cores.
public enum Parallel {
    /// Number of worker threads the tensor kernels use: `GSV_THREADS` (``Tuning/threads``), else
    /// the cores this process may use (``CPUInfo/availableCores``: its CPU affinity and cgroup quota),
    /// else the OS's active core count.
    public static let threadCount: Int = {
        if let n = Tuning.threads { return n }
        return max(1, CPUInfo.availableCores ?? ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body` with disjoint, contiguous sub-ranges covering `0..<count`, in parallel when the
    /// work is large enough. `grain` is the smallest worthwhile chunk (in iterations).
    public static func forRanges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let maxChunks = min(threadCount, max(1, count / max(1, grain)))
        if maxChunks <= 1 {
            body(0..<count)
            return
        }
        let per = (count + maxChunks - 1) / maxChunks
        let chunks = (count + per - 1) / per
        // The cut into chunks above depends on the core count only, so results do not depend on
        // how many lanes share the cores; only how many chunks run at once does.
        let share = availableThreads
        if share < threadCount {
            runShared(chunks: chunks, workers: min(chunks, share), per: per, count: count, body)
            return
        }
        // First choice: the spinning pool (no OS wake-up per loop, which matters for the ~100
        // short products of every GPT token); when another thread holds it, Dispatch.
        let ranAll = withoutActuallyEscaping(body) { escaping -> Bool in
            var job = PoolJob(body: escaping, count: count, per: per)
            return withUnsafeMutablePointer(to: &job) { p in
                gsv_pool_run(chunks, Int32(threadCount - 1), { ctx, index in
                    let job = ctx!.assumingMemoryBound(to: PoolJob.self)
                    let lo = index * job.pointee.per
                    let hi = min(job.pointee.count, lo + job.pointee.per)
                    if lo < hi { job.pointee.body(lo..<hi) }
                }, p) != 0
            }
        }
        if ranAll { return }
        runShared(chunks: chunks, workers: chunks, per: per, count: count, body)
    }

    /// Threads one parallel loop may use now: ``threadCount`` divided among the lanes running at
    /// the moment (see ``lane(_:)``), at least 1.
    public static var availableThreads: Int {
        max(1, threadCount / max(1, Int(gsv_lanes_active())))
    }

    /// Lanes running now (pieces of work inside ``lane(_:)`` on any thread).
    public static var activeLanes: Int { Int(gsv_lanes_active()) }

    /// Runs `body` as a lane: while several lanes run at once (on different threads), every
    /// parallel loop of each uses only its share of the cores (``availableThreads``), so two
    /// concurrent stages split the machine instead of oversubscribing it. A loop reads the share
    /// when it starts, so a lane gets the whole machine back as soon as the other lanes end.
    /// Results are the same whatever the share: loops are cut into chunks by ``threadCount`` alone.
    public static func lane<T>(_ body: () throws -> T) rethrows -> T {
        gsv_lanes_enter()
        defer { gsv_lanes_leave() }
        return try body()
    }

    /// The chunks of a loop on `workers` threads (the caller's included): worker `w` runs chunks
    /// `w, w + workers, …` in order.
    static func runShared(chunks: Int, workers: Int, per: Int, count: Int, _ body: (Range<Int>) -> Void) {
        if workers <= 1 {
            runStrided(worker: 0, workers: 1, chunks: chunks, per: per, count: count, body)
            return
        }
        // Each worker's chunks are disjoint and `concurrentPerform` returns only when all have run,
        // so the non-Sendable body (which typically writes through unsafe pointers) is used safely.
        withoutActuallyEscaping(body) { escaping in
            nonisolated(unsafe) let work = escaping
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                runStrided(worker: w, workers: workers, chunks: chunks, per: per, count: count, work)
            }
        }
    }

    private static func runStrided(worker: Int, workers: Int, chunks: Int, per: Int, count: Int,
                                   _ body: (Range<Int>) -> Void) {
        var c = worker
        while c < chunks {
            let lo = c * per
            let hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
            c += workers
        }
    }

    /// Calls `body(i)` for each `i` in `0..<count`, in parallel when worthwhile.
    public static func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        forRanges(count, grain: grain) { r in for i in r { body(i) } }
    }
}
