import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file mapped into memory. Weight files are read in place through this, never
/// copied whole. The mapping lives as long as any tensor view refers to it.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from.
    public let path: String
    /// Base address of the mapping (nil for an empty file).
    public let base: UnsafeRawPointer?
    /// Size in bytes.
    public let size: Int

    /// Maps `path` read-only.
    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else {
            throw WeightsError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw WeightsError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw WeightsError.unreadable(path: path, reason: "is a directory")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw WeightsError.unreadable(path: path, reason: "not a regular file")
        }
        size = Int(st.st_size)
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw WeightsError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// Drops the process's resident pages of the mapping (Linux `madvise(MADV_DONTNEED)`; the file
    /// stays mapped and readable). Loaders call this once a model is built: the pages of tensors
    /// that were converted or copied (fp32 widening, weight-norm folding, packing) then stop counting
    /// in the resident set, and the pages of weights read in place come back from the page cache on
    /// first use. A no-op elsewhere.
    public func releaseResidentPages() {
        #if canImport(Glibc)
        guard let base else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), size, MADV_DONTNEED)
        #endif
    }

    /// The bytes `range`, bounds-checked.
    public func bytes(_ range: Range<Int>) throws -> UnsafeRawBufferPointer {
        guard range.lowerBound >= 0, range.upperBound <= size else {
            throw WeightsError.corrupt(path: path, reason: "byte range \(range) lies outside the file (\(size) bytes)")
        }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }
}
