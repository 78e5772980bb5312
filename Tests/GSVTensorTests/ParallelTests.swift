import Foundation
import Testing
@testable import GSVTensor

/// `Parallel.forRanges` (the spinning pool, with Dispatch when the pool is busy) covers every index
/// exactly once, for single, concurrent and nested callers.
@Suite struct ParallelTests {
    /// Runs `forRanges` over `count` and returns how often each index was visited.
    private static func visits(_ count: Int, grain: Int) -> [Int] {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        counts.initialize(repeating: 0, count: max(count, 1))
        defer { counts.deallocate() }
        nonisolated(unsafe) let c = counts
        Parallel.forRanges(count, grain: grain) { r in for i in r { c[i] += 1 } }
        return Array(UnsafeBufferPointer(start: counts, count: count))
    }

    @Test func everyIndexOnceOverManyShortLoops() {
        // Thousands of back-to-back loops, as a GPT decode issues: helpers spin between them.
        for round in 0..<3000 {
            let n = 1 + (round * 37) % 700
            #expect(Self.visits(n, grain: 16).allSatisfy { $0 == 1 }, "count \(n)")
        }
        #expect(Self.visits(0, grain: 1).isEmpty)
    }

    /// The pool's job hand-off: thousands of short loops back to back, alternating between two
    /// buffers and between small and large counts (a helper that combined one loop's ticket with the
    /// next loop's context or count would run a chunk twice, or one of the wrong loop: an index
    /// visited other than once). The C kernel tests stress the same race with a hook that
    /// stalls threads inside the hand-off window (Tests/CKernels, scripts/test-kernels-c.sh).
    @Test func handOffRunsEveryChunkOnceForItsOwnLoop() {
        let capacity = 512
        let visits = UnsafeMutablePointer<Int>.allocate(capacity: 2 * capacity)
        defer { visits.deallocate() }
        var badLoops = 0
        for round in 0..<20_000 {
            let slot = round & 1
            let count = slot == 0 ? 1 + round % 5 : 64 + (round * 37) % (capacity - 64)
            nonisolated(unsafe) let buffer = visits + slot * capacity
            buffer.initialize(repeating: 0, count: capacity)
            Parallel.forRanges(count, grain: 1) { r in for i in r { buffer[i] += 1 } }
            if (0..<capacity).contains(where: { buffer[$0] != ($0 < count ? 1 : 0) }) { badLoops += 1 }
        }
        #expect(badLoops == 0, "\(badLoops) loops ran some index other than once")
    }

    @Test func concurrentAndNestedCallers() async {
        // Several threads at once: one gets the pool, the others fall back; nested loops too.
        let ok = await withTaskGroup(of: Bool.self) { group in
            for t in 0..<4 {
                group.addTask {
                    var fine = true
                    for round in 0..<300 {
                        let n = 64 + (round * 13 + t) % 500
                        fine = fine && Self.visits(n, grain: 8).allSatisfy { $0 == 1 }
                        // A loop inside a loop body.
                        let inner = UnsafeMutablePointer<Int>.allocate(capacity: 4 * 100)
                        inner.initialize(repeating: 0, count: 400)
                        nonisolated(unsafe) let p = inner
                        Parallel.forRanges(4, grain: 1) { r in
                            for i in r { Parallel.forRanges(100, grain: 10) { q in for j in q { p[i * 100 + j] += 1 } } }
                        }
                        fine = fine && UnsafeBufferPointer(start: inner, count: 400).allSatisfy { $0 == 1 }
                        inner.deallocate()
                    }
                    return fine
                }
            }
            var all = true
            for await f in group { all = all && f }
            return all
        }
        #expect(ok)
    }

    /// The ranges one loop hands its body, sorted.
    private static func ranges(_ count: Int, grain: Int) -> [Range<Int>] {
        let lock = NSLock()
        nonisolated(unsafe) var seen: [Range<Int>] = []
        Parallel.forRanges(count, grain: grain) { r in
            lock.lock()
            seen.append(r)
            lock.unlock()
        }
        return seen.sorted { $0.lowerBound < $1.lowerBound }
    }

    @Test func lanesShareTheThreadsButKeepTheChunks() {
        // Other tests may run lanes at the same time, so only bounds are checked on the counts.
        let alone = Self.ranges(1000, grain: 7)
        Parallel.lane {
            #expect(Parallel.activeLanes >= 1)
            Parallel.lane {
                // Two lanes at once (nested here, on different threads in the engine).
                #expect(Parallel.activeLanes >= 2)
                #expect(Parallel.availableThreads <= max(1, Parallel.threadCount / 2))
                #expect(Self.ranges(1000, grain: 7) == alone)
                #expect(Self.visits(333, grain: 5).allSatisfy { $0 == 1 })
            }
        }
        #expect(Self.ranges(1000, grain: 7) == alone)
    }

    @Test func sharedRunsCoverEveryChunkOnAnyWorkerCount() {
        for workers in 1...5 {
            for (count, per) in [(1, 1), (10, 3), (100, 7), (64, 16)] {
                let chunks = (count + per - 1) / per
                let counts = UnsafeMutablePointer<Int>.allocate(capacity: count)
                counts.initialize(repeating: 0, count: count)
                nonisolated(unsafe) let c = counts
                Parallel.runShared(chunks: chunks, workers: min(workers, chunks), per: per, count: count) { r in
                    #expect(r.lowerBound % per == 0 && r.count <= per)
                    for i in r { c[i] += 1 }
                }
                #expect(UnsafeBufferPointer(start: counts, count: count).allSatisfy { $0 == 1 }, "workers \(workers) count \(count)")
                counts.deallocate()
            }
        }
    }

    @Test func concurrentLanesCoverEveryIndex() async {
        let ok = await withTaskGroup(of: Bool.self) { group in
            for t in 0..<3 {
                group.addTask {
                    Parallel.lane {
                        var fine = true
                        for round in 0..<200 {
                            let n = 50 + (round * 11 + t) % 400
                            fine = fine && Self.visits(n, grain: 4).allSatisfy { $0 == 1 }
                        }
                        return fine
                    }
                }
            }
            var all = true
            for await f in group { all = all && f }
            return all
        }
        #expect(ok)
    }
}
