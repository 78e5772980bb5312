import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ports on the loopback interface for tests that start their own servers or helper processes.
public enum LocalPort {
    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, read back, released).
    public static func free() throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw LocalPortError(message: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw LocalPortError(message: "bind failed: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// Why no free port could be found.
public struct LocalPortError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
