// Follows api_v2.py: handle_control("restart") — the official server re-executes its own command
// line. Here: answer, shut the service down gracefully, then exec the same binary and arguments.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors of ``ProcessRestart``.
public enum RestartError: Error, LocalizedError, Sendable, Equatable {
    /// `execv` failed; the process keeps running the old image.
    case execFailed(path: String, errno: Int32)

    public var errorDescription: String? {
        switch self {
        case let .execFailed(path, code): return "cannot restart: execv \(path) failed: \(String(cString: strerror(code)))"
        }
    }
}

/// Re-executing this process for `/control?command=restart`.
///
/// ``request()`` marks the restart and sends SIGTERM to the process, which the service lifecycle
/// turns into a graceful shutdown (no new connections, requests in flight finish). The program's
/// main code, once its service has returned, checks ``isRequested`` and calls ``execSelf()``, which
/// replaces the process image with the same executable and arguments (the PID stays the same).
public enum ProcessRestart {
    private static let state = RestartFlag()

    /// Whether a restart was requested.
    public static var isRequested: Bool { state.value }

    /// Marks the restart and starts a graceful shutdown (SIGTERM to this process).
    public static func request() {
        state.set()
        kill(getpid(), SIGTERM)
    }

    /// The executable and argument vector to exec.
    ///
    /// - Parameters:
    ///   - arguments: this process's arguments (`CommandLine.arguments`; element 0 is the program).
    ///   - procSelfExe: the target of `/proc/self/exe` (Linux), or nil where there is none.
    ///   - bundleExecutable: `Bundle.main.executablePath`, used where `/proc` is absent.
    ///   - fileExists: whether a path names an existing file.
    /// - Returns: on Linux the path `/proc/self/exe` points to (without a ` (deleted)` suffix) when
    ///   a file exists there (so a binary rebuilt in place is picked up), else `/proc/self/exe` itself (the running image,
    ///   even if its file was deleted); elsewhere the bundle's executable path, else `arguments[0]`.
    ///   The argument vector is `arguments` unchanged.
    public static func command(arguments: [String], procSelfExe: String?, bundleExecutable: String?,
                               fileExists: (String) -> Bool) -> (path: String, argv: [String]) {
        let argv = arguments.isEmpty ? [bundleExecutable ?? "gpt-sovits"] : arguments
        if var target = procSelfExe {
            // Linux names a replaced binary "<path> (deleted)"; a new file at <path> is the rebuilt one.
            if target.hasSuffix(" (deleted)") { target.removeLast(" (deleted)".count) }
            return (fileExists(target) ? target : "/proc/self/exe", argv)
        }
        if let exe = bundleExecutable, fileExists(exe) { return (exe, argv) }
        return (argv[0], argv)
    }

    /// ``command(arguments:procSelfExe:bundleExecutable:fileExists:)`` for this process.
    public static func currentCommand() -> (path: String, argv: [String]) {
        var target: String?
        #if os(Linux)
        target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        #endif
        return command(arguments: CommandLine.arguments, procSelfExe: target, bundleExecutable: Bundle.main.executablePath,
                       fileExists: { FileManager.default.fileExists(atPath: $0) })
    }

    /// Replaces this process with a fresh run of the same command line. Returns only by throwing.
    /// - Throws: ``RestartError/execFailed(path:errno:)``.
    public static func execSelf() throws -> Never {
        let (path, argv) = currentCommand()
        fflush(nil)  // every output stream: buffered output would be lost by exec
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        execv(path, cArgs)
        let code = errno
        for p in cArgs { free(p) }
        throw RestartError.execFailed(path: path, errno: code)
    }
}

/// A thread-safe flag.
final class RestartFlag: @unchecked Sendable {
    // @unchecked: `flag` is only touched while `lock` is held.
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
