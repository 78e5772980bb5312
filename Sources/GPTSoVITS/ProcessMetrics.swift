// Process readings for `gpt-sovits bench` and the server's /metrics; no official counterpart.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-level readings: peak memory and machine load.
public enum ProcessMetrics {
    /// Peak resident set size in bytes: `VmHWM` of `/proc/self/status` on Linux, else
    /// `getrusage` `ru_maxrss`. Nil when neither is available.
    public static func peakResidentBytes() -> Int? {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let kb = kilobytes(field: "VmHWM", inProcStatus: status) {
            return kb * 1024
        }
        var usage = rusage()
        #if canImport(Glibc)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return nil }
        #if canImport(Darwin)
        return Int(usage.ru_maxrss)  // bytes on Darwin
        #else
        return Int(usage.ru_maxrss) * 1024  // kilobytes elsewhere
        #endif
    }

    /// The value in kB of a `Name:   123 kB` line of `/proc/<pid>/status`; nil when absent or malformed.
    public static func kilobytes(field: String, inProcStatus status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let rest = line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let number = rest.first.flatMap({ Int($0) }) else { return nil }
            if rest.count > 1, rest[1].lowercased() != "kb" { return nil }
            return number
        }
        return nil
    }

    /// CPU time this process has used so far (user + system, every thread), in seconds.
    public static func cpuSeconds() -> Double {
        var t = timespec()
        guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0 else { return 0 }
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// The 1-minute load average from `/proc/loadavg`; nil where unavailable.
    public static func loadAverage() -> Double? {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return s.split(separator: " ").first.flatMap { Double($0) }
    }
}
