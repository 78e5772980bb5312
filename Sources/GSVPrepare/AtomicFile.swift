import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file replacement for the files users edit or produce (lists, dataset files).
///
/// A write goes to a new temporary file in the same folder (unique name, `O_EXCL`), is flushed to
/// disk (`fsync`), and is then renamed over the target — `rename(2)` replaces a name in one step, so
/// readers and a crash at any moment see either the complete old file or the complete new one. With
/// `backup` the previous content is first kept as `<name>.bak` (written the same way). Concurrent
/// writers each rename their own complete file: the last rename wins, nothing is ever half-written.
///
/// Hand-written because Foundation's `.atomic` option neither syncs to disk nor keeps a backup.
public enum AtomicFile {
    /// The backup path of `path`.
    public static func backupPath(of path: String) -> String { path + ".bak" }

    /// Replaces `path` with `data`.
    /// - Parameter backup: keep the previous content (if any) as `<path>.bak` first.
    /// - Throws: ``PrepareError/unwritable(path:reason:)`` naming the file and the system error.
    public static func write(_ data: Data, to path: String, backup: Bool = false) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        if backup, FileManager.default.fileExists(atPath: path) {
            let old: Data
            do { old = try Data(contentsOf: url) } catch {
                throw PrepareError.unwritable(path: path, reason: "cannot read the current file for its backup: \(error.localizedDescription)")
            }
            try replace(path: backupPath(of: path), dir: dir, data: old)
        }
        try replace(path: path, dir: dir, data: data)
    }

    /// Writes `text` as UTF-8 (see ``write(_:to:backup:)``).
    public static func write(_ text: String, to path: String, backup: Bool = false) throws {
        try write(Data(text.utf8), to: path, backup: backup)
    }

    private static func replace(path: String, dir: String, data: Data) throws {
        func fail(_ what: String) -> PrepareError {
            .unwritable(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\(name).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw fail("cannot create a temporary file in \(dir.isEmpty ? "." : dir)") }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        let written: Bool = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Glibc_write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        guard written else { let e = fail("write failed"); close(fd); throw e }
        guard fsync(fd) == 0 else { let e = fail("fsync failed"); close(fd); throw e }
        close(fd)
        // Keep the permissions of the file being replaced.
        var st = stat()
        if stat(path, &st) == 0 { chmod(tmp, st.st_mode & 0o7777) }
        guard rename(tmp, path) == 0 else { throw fail("rename failed") }
        ok = true
        // Make the rename itself durable.
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ buf: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buf, count)
    #else
    return Darwin.write(fd, buf, count)
    #endif
}
