import Dispatch
import Foundation

/// Work that runs one item at a time, in submission order, on a background thread while the
/// submitting thread goes on (the engine queues SoVITS decodes behind the GPT this way), and whose
/// results the submitting thread takes back in the same order.
///
/// Used from one thread, the submitter's: ``submit(_:work:)``, ``collect(waiting:_:)`` and
/// ``abandon()`` are not safe to call concurrently with each other. Items run on one serial queue,
/// so each item sees everything the items before it did.
final class OrderedBackgroundQueue<Context, Output>: @unchecked Sendable {
    // @unchecked: `pending` is used by the submitting thread only; `skipsRest` is behind `lock`;
    // each item's outcome is written by the queue before its semaphore is signalled and read only
    // after waiting on it.
    private let queue: DispatchQueue
    private let lock = NSLock()
    private var skipsRest = false
    private var pending: [Item] = []

    private final class Item: @unchecked Sendable {
        let context: Context
        let done = DispatchSemaphore(value: 0)
        var outcome: Result<Output, any Error> = .failure(CancellationError())
        var joined = false

        init(context: Context) { self.context = context }

        /// Whether the work has finished; blocks until it has with `waiting`.
        func finished(waiting: Bool) -> Bool {
            if joined { return true }
            if waiting { done.wait() } else if done.wait(timeout: .now()) != .success { return false }
            joined = true
            return true
        }
    }

    /// A queue whose background thread carries `label`.
    init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    /// Items submitted and not collected yet.
    var count: Int { pending.count }

    /// Queues `work` behind the items submitted before it; `context` comes back with its output.
    func submit(_ context: Context, work: @escaping @Sendable () throws -> Output) {
        let item = Item(context: context)
        pending.append(item)
        queue.async { [self] in
            lock.lock()
            let skip = skipsRest
            lock.unlock()
            item.outcome = skip ? .failure(CancellationError()) : Result { try work() }
            item.done.signal()
        }
    }

    /// Hands finished items to `body` in submission order, stopping at the first one still running
    /// unless `waiting`, which waits for every one. Rethrows an item's error (the items after it
    /// stay queued; ``abandon()`` ends them).
    func collect(waiting: Bool, _ body: (Context, Output) throws -> Void) throws {
        while let first = pending.first {
            guard first.finished(waiting: waiting) else { return }
            pending.removeFirst()
            try body(first.context, first.outcome.get())
        }
    }

    /// Skips the items that have not started and waits for the running one (for error paths;
    /// nothing is left to do when everything was collected).
    func abandon() {
        lock.lock()
        skipsRest = true
        lock.unlock()
        for item in pending { _ = item.finished(waiting: true) }
        pending.removeAll()
    }
}
