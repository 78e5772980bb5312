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
    /// Number of worker threads the tensor kernels use (defaults to the active core count,
    /// overridable with the `GSV_THREADS` environment variable).
    public static let threadCount: Int = {
        if let s = ProcessInfo.processInfo.environment["GSV_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
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
        // The chunks are disjoint and `concurrentPerform` returns only when all have run, so the
        // non-Sendable body (which typically writes through unsafe pointers) is used safely.
        withoutActuallyEscaping(body) { escaping in
            nonisolated(unsafe) let work = escaping
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * per
                let hi = min(count, lo + per)
                if lo < hi { work(lo..<hi) }
            }
        }
    }

    /// Calls `body(i)` for each `i` in `0..<count`, in parallel when worthwhile.
    public static func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        forRanges(count, grain: grain) { r in for i in r { body(i) } }
    }
}
