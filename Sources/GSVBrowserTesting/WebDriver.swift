// A minimal W3C WebDriver client (https://www.w3.org/TR/webdriver2/) over AsyncHTTPClient, for
// driving a headless Chromium through chromedriver in tests. Hand-written because no Swift
// WebDriver library is among the packages this project may depend on, and the protocol subset a
// test needs (navigate, find, click, type, run scripts, screenshots, the browser log) is small
// JSON over HTTP. (Not URLSession: on Linux it refuses chromedriver's answers, whose header lines
// have no space after the colon — valid HTTP, but "Failed writing header" to its libcurl glue.)
import AsyncHTTPClient
import Foundation
import NIOCore

/// A failed WebDriver command: the protocol's error code and message, and the command that failed.
public struct WebDriverError: Error, CustomStringConvertible, Sendable {
    /// The WebDriver error code (`no such element`, `javascript error`, …), or `transport` when the
    /// driver could not be reached.
    public var code: String
    /// The driver's message.
    public var message: String
    /// `METHOD /path` of the command.
    public var command: String

    public var description: String { "WebDriver \(command): \(code): \(message)" }
}

/// Speaks the WebDriver protocol to one driver process (`http://127.0.0.1:<port>`).
public struct WebDriverClient: Sendable {
    /// The driver's base URL.
    public let baseURL: URL
    /// How long one command may take before it fails (seconds).
    public var commandTimeout: TimeInterval = 120

    /// A client for the driver at `baseURL`.
    public init(baseURL: URL) { self.baseURL = baseURL }

    /// Sends a command and returns its `value`. Non-2xx answers become ``WebDriverError``.
    @discardableResult
    public func send(_ method: String, _ path: String, _ body: JSONValue? = nil) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL.appendingPathComponent(path).absoluteString)
        request.method = .init(rawValue: method)
        if body != nil || method == "POST" {
            request.body = .bytes(ByteBuffer(bytes: try body?.encoded() ?? Data("{}".utf8)))
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        }
        let command = "\(method) \(path)"
        let data: Data, status: Int
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(commandTimeout)))
            status = Int(response.status.code)
            data = Data(try await response.body.collect(upTo: 256 << 20).readableBytesView)
        } catch {
            throw WebDriverError(code: "transport", message: "\(error)", command: command)
        }
        let json = (try? JSONValue.parse(data)) ?? .null
        let value = json["value"]
        guard (200..<300).contains(status) else {
            let code = value["error"].string ?? "HTTP \(status)"
            let message = value["message"].string ?? String(decoding: data.prefix(500), as: UTF8.self)
            throw WebDriverError(code: code, message: message, command: command)
        }
        return value
    }

    /// Whether the driver answers `GET /status` with `ready: true`.
    public func isReady() async -> Bool {
        let request = HTTPClientRequest(url: baseURL.appendingPathComponent("status").absoluteString)
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)),
              let body = try? await response.body.collect(upTo: 1 << 20),
              let json = try? JSONValue.parse(Data(body.readableBytesView)) else { return false }
        return json["value"]["ready"].bool == true
    }
}

/// An element found in the page (the WebDriver element reference).
public struct WebElement: Sendable, Equatable {
    /// The W3C key under which element references travel.
    public static let key = "element-6066-11e4-a52e-4f735466cecf"
    /// The driver's element id.
    public let id: String
    /// The element as a script argument.
    public var json: JSONValue { [Self.key: .string(id)] }
}

/// One entry of the browser's console log (`level` is `SEVERE`, `WARNING`, `INFO`, …).
public struct ConsoleEntry: Sendable, CustomStringConvertible {
    public var level: String
    public var source: String
    public var message: String
    public var description: String { "[\(level)] \(source): \(message)" }
}

/// Keys for ``Browser/press(_:)`` (the WebDriver key code points).
public enum Key: String, Sendable {
    case tab = "\u{E004}"
    case enter = "\u{E007}"
    case escape = "\u{E00C}"
    case space = "\u{E00D}"
    case arrowDown = "\u{E015}"
    case arrowUp = "\u{E013}"
    case shift = "\u{E008}"
    case control = "\u{E009}"
}
