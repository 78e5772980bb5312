import Foundation

/// Receives the progress of a long step (files extracted, clips transcribed, rows formatted).
/// Calls come from the step's thread, in order: `begin`, `advance`…, `end`.
public protocol StepProgress: AnyObject, Sendable {
    /// A step starts with `total` units of work (`unit` names them: "files", "clips", "rows").
    func begin(step: String, total: Int, unit: String)
    /// `count` more units are done; `detail` names the last one.
    func advance(by count: Int, detail: String?)
    /// The step is over.
    func end()
}

/// Done/total, elapsed time and the estimated time left of one step.
public struct ProgressState: Sendable, Equatable {
    /// Step name.
    public var step: String
    /// Units done.
    public var done: Int
    /// Units in all.
    public var total: Int
    /// What the units are.
    public var unit: String
    /// Seconds since the step began.
    public var elapsed: Double

    /// Seconds left at the average rate so far (nil before the first unit).
    public var eta: Double? {
        guard done > 0, total >= done else { return nil }
        return elapsed / Double(done) * Double(total - done)
    }

    /// `m:ss` (or `h:mm:ss`).
    public static func clock(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// One line: `format [#########-----------]  12/40 rows  30%  0:42 elapsed, ETA 1:38  name`.
    public func line(detail: String?, width: Int = 24) -> String {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        var s = "\(step) [\(bar)] \(done)/\(total) \(unit) \(Int((fraction * 100).rounded(.down)))%  \(Self.clock(elapsed)) elapsed"
        if let eta, done < total { s += ", ETA \(Self.clock(eta))" }
        if let detail, !detail.isEmpty { s += "  \(detail.count > 40 ? String(detail.suffix(40)) : detail)" }
        return s
    }
}

/// A progress bar on a terminal (redrawn in place with `\r`) or, when the output is not a
/// terminal, one line per 10 % so logs stay short.
public final class StepProgressBar: StepProgress, @unchecked Sendable {
    // @unchecked: every mutable field is only touched while `lock` is held.
    private let lock = NSLock()
    private let handle: FileHandle
    private let interactive: Bool
    private var state = ProgressState(step: "", done: 0, total: 0, unit: "", elapsed: 0)
    private var started = Date()
    private var lastDraw = Date.distantPast
    private var lastDecile = -1

    /// Draws on `handle` (standard error by default).
    public init(handle: FileHandle = .standardError) {
        self.handle = handle
        interactive = isatty(handle.fileDescriptor) != 0
    }

    public func begin(step: String, total: Int, unit: String) {
        lock.lock(); defer { lock.unlock() }
        state = ProgressState(step: step, done: 0, total: total, unit: unit, elapsed: 0)
        started = Date()
        lastDecile = -1
        draw(detail: nil, force: true)
    }

    public func advance(by count: Int, detail: String?) {
        lock.lock(); defer { lock.unlock() }
        state.done += count
        draw(detail: detail, force: false)
    }

    public func end() {
        lock.lock(); defer { lock.unlock() }
        draw(detail: nil, force: true)
        if interactive { handle.write(Data("\n".utf8)) }
    }

    private func draw(detail: String?, force: Bool) {
        state.elapsed = Date().timeIntervalSince(started)
        if interactive {
            guard force || Date().timeIntervalSince(lastDraw) > 0.1 || state.done == state.total else { return }
            lastDraw = Date()
            handle.write(Data(("\r\u{1B}[K" + state.line(detail: detail)).utf8))
        } else {
            let decile = state.total > 0 ? state.done * 10 / state.total : 10
            guard force && state.done == 0 || decile > lastDecile else { return }
            lastDecile = decile
            handle.write(Data((state.line(detail: detail) + "\n").utf8))
        }
    }
}

/// Records the steps' progress in memory (tests, the review server's status).
public final class ProgressLog: StepProgress, @unchecked Sendable {
    // @unchecked: every mutable field is only touched while `lock` is held.
    private let lock = NSLock()
    private var _events: [String] = []
    private var current = ProgressState(step: "", done: 0, total: 0, unit: "", elapsed: 0)

    /// Creates an empty log.
    public init() {}

    /// `begin <step> <total>`, `advance <done>/<total>`, `end <step>` lines, in order.
    public var events: [String] { lock.lock(); defer { lock.unlock() }; return _events }

    public func begin(step: String, total: Int, unit: String) {
        lock.lock(); defer { lock.unlock() }
        current = ProgressState(step: step, done: 0, total: total, unit: unit, elapsed: 0)
        _events.append("begin \(step) \(total)")
    }

    public func advance(by count: Int, detail: String?) {
        lock.lock(); defer { lock.unlock() }
        current.done += count
        _events.append("advance \(current.done)/\(current.total)")
    }

    public func end() {
        lock.lock(); defer { lock.unlock() }
        _events.append("end \(current.step)")
    }
}
