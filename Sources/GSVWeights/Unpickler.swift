import Foundation
import GSVTensor

/// A restricted unpickler for the pickles `torch.save` writes (protocol 2, as used by GPT-SoVITS
/// checkpoints and Hugging Face `pytorch_model.bin`).
///
/// It executes nothing. Every `GLOBAL`/`STACK_GLOBAL` is checked against a short allow-list
/// (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and `_rebuild_parameter`, the
/// `torch.*Storage` types, `torch.Size`, `_codecs.encode`, and the attribute-bag class
/// `utils.HParams`); anything else (`os.system`, `builtins.eval`, `subprocess.Popen`, …) fails with
/// ``WeightsError/forbiddenPickle(path:reason:)`` naming the global, before any call could happen.
/// "Calling" an allowed global only builds plain data (a dict, a tensor view, an object record).
///
/// Hostile input is bounded: every read is range-checked, nesting depth and memo size are limited,
/// and converting the result into ``PickleValue`` has a node budget (shared references cannot blow
/// up into exponential trees).
struct Unpickler {
    /// The functions and classes a checkpoint may reference.
    enum AllowedGlobal: Equatable {
        case orderedDict
        case rebuildTensorV2
        case rebuildTensor
        case rebuildParameter
        case rebuildParameterWithState
        case storageType(DType, String)
        case torchSize
        case codecsEncode
        case attributeBag(String)

        var name: String {
            switch self {
            case .orderedDict: return "collections.OrderedDict"
            case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
            case .rebuildTensor: return "torch._utils._rebuild_tensor"
            case .rebuildParameter: return "torch._utils._rebuild_parameter"
            case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
            case let .storageType(_, n): return n
            case .torchSize: return "torch.Size"
            case .codecsEncode: return "_codecs.encode"
            case let .attributeBag(n): return n
            }
        }

        /// Resolves `module.name` against the allow-list.
        static func resolve(module: String, name: String) -> AllowedGlobal? {
            switch (module, name) {
            case ("collections", "OrderedDict"): return .orderedDict
            case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
            case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor
            case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
            case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
            case ("torch", "Size"): return .torchSize
            case ("_codecs", "encode"): return .codecsEncode
            case ("utils", "HParams"), ("GPT_SoVITS.utils", "HParams"), ("module.utils", "HParams"):
                return .attributeBag("\(module).\(name)")
            case ("torch", _):
                if let d = storageDType(name) { return .storageType(d, "torch.\(name)") }
                return nil
            default:
                return nil
            }
        }

        /// The element type of a `torch.<Name>Storage` class.
        static func storageDType(_ name: String) -> DType? {
            switch name {
            case "HalfStorage": return .float16
            case "FloatStorage": return .float32
            case "DoubleStorage": return .float64
            case "BFloat16Storage": return .bfloat16
            case "LongStorage": return .int64
            case "IntStorage": return .int32
            case "ShortStorage": return .int16
            case "CharStorage": return .int8
            case "ByteStorage": return .uint8
            case "BoolStorage": return .bool
            case "UntypedStorage": return .uint8
            default: return nil
            }
        }
    }

    /// A value on the unpickler stack. Mutable containers live in `boxes` and are referred to by
    /// index, so no chain of strong references can grow without bound.
    enum Node {
        case none
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
        case bytes([UInt8])
        case tuple([Node], depth: Int)
        case box(Int)
        case global(AllowedGlobal)
        case storage(TorchStorage)
        case tensor(TorchTensorRef)
    }

    enum Box {
        case list([Node])
        case dict([(Node, Node)])
        case object(className: String, state: Node?)
    }

    /// Resolves a storage from its persistent id (dtype, record key, declared element count).
    typealias StorageResolver = (_ dtype: DType, _ key: String, _ count: Int) throws -> TorchStorage

    /// Deepest nesting accepted (checkpoints need fewer than 10 levels; kept small so that the
    /// recursive conversion stays far from the stack limit of any thread).
    static let maxDepth = 64
    static let maxMemo = 1 << 22
    static let maxStack = 1 << 24

    let bytes: UnsafeRawBufferPointer
    let path: String
    let resolveStorage: StorageResolver

    /// Bytes consumed so far (after ``load()``: the length of the pickle including its STOP).
    private(set) var pos = 0
    private var stack: [Node] = []
    private var marks: [Int] = []
    private var memo: [Int: Node] = [:]
    private var boxes: [Box] = []
    private var storages: [String: TorchStorage] = [:]

    init(bytes: UnsafeRawBufferPointer, path: String, resolveStorage: @escaping StorageResolver) {
        self.bytes = bytes
        self.path = path
        self.resolveStorage = resolveStorage
    }

    // MARK: errors

    private func corrupt(_ why: String) -> WeightsError {
        .corrupt(path: path, reason: "pickle at byte \(pos): \(why)")
    }

    private func forbidden(_ why: String) -> WeightsError {
        .forbiddenPickle(path: path, reason: why)
    }

    // MARK: reading

    private mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - pos else {
            throw corrupt("needs \(n) bytes, only \(bytes.count - pos) left")
        }
        let r = UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
        pos += n
        return r
    }

    private mutating func u8() throws -> UInt8 { try take(1)[0] }
    private mutating func u16() throws -> Int { Int(UInt16(littleEndian: try take(2).loadUnaligned(as: UInt16.self))) }
    private mutating func u32() throws -> Int { Int(UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self))) }
    private mutating func i32() throws -> Int { Int(Int32(littleEndian: try take(4).loadUnaligned(as: Int32.self))) }
    private mutating func u64() throws -> UInt64 { UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)) }

    private mutating func length64() throws -> Int {
        let n = try u64()
        guard n <= UInt64(bytes.count) else { throw corrupt("declared length \(n) exceeds the pickle (\(bytes.count) bytes)") }
        return Int(n)
    }

    /// A newline-terminated line (text opcodes), at most 512 bytes.
    private mutating func line() throws -> String {
        var end = pos
        while end < bytes.count, bytes[end] != 0x0A {
            end += 1
            guard end - pos <= 512 else { throw corrupt("text argument longer than 512 bytes") }
        }
        guard end < bytes.count else { throw corrupt("unterminated text argument") }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos..<end]), as: UTF8.self)
        pos = end + 1
        return s
    }

    private mutating func utf8(_ n: Int) throws -> String {
        let b = try take(n)
        guard let s = String(bytes: b, encoding: .utf8) else { throw corrupt("string is not valid UTF-8") }
        return s
    }

    // MARK: stack

    private mutating func push(_ n: Node) throws {
        guard stack.count < Self.maxStack else { throw corrupt("stack exceeds \(Self.maxStack) entries") }
        stack.append(n)
    }

    private mutating func pop() throws -> Node {
        guard let n = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw corrupt("stack underflow") }
        return n
    }

    private func top() throws -> Node {
        guard let n = stack.last, stack.count > (marks.last ?? 0) else { throw corrupt("stack underflow") }
        return n
    }

    private mutating func popMark() throws -> [Node] {
        guard let m = marks.popLast() else { throw corrupt("MARK expected") }
        guard m <= stack.count else { throw corrupt("MARK beyond the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private static func depth(_ n: Node) -> Int {
        if case let .tuple(_, d) = n { return d }
        return 1
    }

    private func makeTuple(_ items: [Node]) throws -> Node {
        let d = 1 + (items.map(Self.depth).max() ?? 0)
        guard d <= Self.maxDepth else { throw corrupt("nesting deeper than \(Self.maxDepth)") }
        return .tuple(items, depth: d)
    }

    private mutating func newBox(_ b: Box) -> Node {
        boxes.append(b)
        return .box(boxes.count - 1)
    }

    private mutating func memoPut(_ key: Int) throws {
        let v = try top()
        guard memo.count < Self.maxMemo || memo[key] != nil else { throw corrupt("memo exceeds \(Self.maxMemo) entries") }
        memo[key] = v
    }

    private mutating func memoGet(_ key: Int) throws {
        guard let v = memo[key] else { throw corrupt("memo key \(key) was never stored") }
        try push(v)
    }

    // MARK: containers

    private mutating func append(_ items: [Node], to target: Node) throws {
        guard case let .box(i) = target else { throw corrupt("APPEND to a non-list") }
        switch boxes[i] {
        case var .list(l):
            boxes[i] = .list([])
            l.append(contentsOf: items)
            boxes[i] = .list(l)
        default:
            throw corrupt("APPEND to a non-list")
        }
    }

    private mutating func setItems(_ items: [Node], in target: Node) throws {
        guard items.count % 2 == 0 else { throw corrupt("SETITEMS with an odd number of items") }
        guard case let .box(i) = target, case var .dict(d) = boxes[i] else {
            throw corrupt("SETITEM on a non-dict")
        }
        boxes[i] = .dict([])
        var k = 0
        while k < items.count {
            d.append((items[k], items[k + 1]))
            k += 2
        }
        boxes[i] = .dict(d)
    }

    // MARK: calls

    private func intArg(_ n: Node, _ what: String) throws -> Int {
        switch n {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: throw corrupt("\(what) is not an integer")
        }
    }

    private func intTuple(_ n: Node, _ what: String) throws -> [Int] {
        guard case let .tuple(items, _) = n else { throw corrupt("\(what) is not a tuple") }
        return try items.map { try intArg($0, what) }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])`.
    private func rebuildTensor(_ args: [Node]) throws -> Node {
        guard args.count >= 4, case let .storage(s) = args[0] else {
            throw corrupt("_rebuild_tensor called without a storage")
        }
        let offset = try intArg(args[1], "storage offset")
        let shape = try intTuple(args[2], "tensor size")
        let strides = try intTuple(args[3], "tensor stride")
        guard shape.count == strides.count, shape.count <= 16 else {
            throw corrupt("tensor size \(shape) and stride \(strides) do not match")
        }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw corrupt("tensor has a negative offset, size or stride (\(offset), \(shape), \(strides))")
        }
        // Highest element addressed, with overflow checks.
        var count = 1
        for d in shape {
            let (r, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw corrupt("tensor size \(shape) overflows") }
            count = r
        }
        // Views may overlap (strides smaller than the row below, or 0), as PyTorch allows: the
        // view is checked to stay inside its storage here; materialising one with more elements
        // than it reads needs a shape the model declares (TensorData.floatTensor(declaredShape:)).
        if count > 0 {
            var last = offset
            for (d, st) in zip(shape, strides) {
                let (m, o1) = (d - 1).multipliedReportingOverflow(by: st)
                let (a, o2) = last.addingReportingOverflow(m)
                guard !o1, !o2 else { throw corrupt("tensor stride \(strides) overflows") }
                last = a
            }
            guard last < s.count else {
                throw corrupt("tensor \(shape) (offset \(offset), stride \(strides)) reads element \(last) of storage '\(s.key)' which has \(s.count)")
            }
        }
        return .tensor(TorchTensorRef(storage: s, storageOffset: offset, shape: shape, strides: strides))
    }

    private mutating func call(_ callable: Node, _ argsNode: Node) throws -> Node {
        guard case let .global(g) = callable else { throw corrupt("REDUCE on something that is not an allowed global") }
        guard case let .tuple(args, _) = argsNode else { throw corrupt("REDUCE arguments are not a tuple") }
        switch g {
        case .orderedDict:
            guard args.isEmpty else { throw corrupt("OrderedDict called with arguments") }
            return newBox(.dict([]))
        case .rebuildTensorV2, .rebuildTensor:
            return try rebuildTensor(args)
        case .rebuildParameter, .rebuildParameterWithState:
            guard let first = args.first, case .tensor = first else { throw corrupt("_rebuild_parameter without a tensor") }
            return first
        case .torchSize:
            guard args.count == 1, case .tuple = args[0] else { throw corrupt("torch.Size expects one tuple") }
            _ = try intTuple(args[0], "torch.Size")
            return args[0]
        case .codecsEncode:
            guard args.count >= 1, case let .string(s) = args[0] else { throw corrupt("_codecs.encode expects a string") }
            var out: [UInt8] = []
            for u in s.unicodeScalars {
                guard u.value < 256 else { throw corrupt("_codecs.encode: character outside latin-1") }
                out.append(UInt8(u.value))
            }
            return .bytes(out)
        case let .storageType(_, n):
            throw forbidden("pickle calls \(n) directly; storages must come from persistent ids")
        case let .attributeBag(n):
            throw forbidden("pickle calls \(n)(…); only NEWOBJ + BUILD are accepted for it")
        }
    }

    private mutating func newObject(_ cls: Node) throws -> Node {
        guard case let .global(g) = cls else { throw corrupt("NEWOBJ on something that is not a class") }
        switch g {
        case let .attributeBag(n): return newBox(.object(className: n, state: nil))
        case .orderedDict: return newBox(.dict([]))
        default: throw forbidden("NEWOBJ of \(g.name) is not allowed")
        }
    }

    private mutating func build(_ state: Node) throws {
        let target = try top()
        guard case let .box(i) = target else { throw corrupt("BUILD on a value that takes no state") }
        switch boxes[i] {
        case .object(let c, _):
            // (state, slotstate) tuples: keep the dict part.
            if case let .tuple(parts, _) = state, parts.count == 2 {
                if case .none = parts[0] { boxes[i] = .object(className: c, state: parts[1]) }
                else { boxes[i] = .object(className: c, state: parts[0]) }
            } else {
                boxes[i] = .object(className: c, state: state)
            }
        case .dict:
            // OrderedDict attributes such as a state dict's `_metadata`: not part of the contents.
            break
        case .list:
            throw corrupt("BUILD on a list")
        }
    }

    private mutating func persistentLoad(_ pid: Node) throws -> Node {
        guard case let .tuple(items, _) = pid, items.count >= 5, case .string("storage") = items[0] else {
            throw corrupt("persistent id is not a ('storage', …) tuple")
        }
        guard case let .global(.storageType(dtype, _)) = items[1] else {
            throw corrupt("persistent id does not name a torch storage type")
        }
        guard case let .string(key) = items[2] else { throw corrupt("storage key is not a string") }
        if items.count >= 6 {
            guard case .none = items[5] else {
                throw corrupt("legacy storage views (view_metadata) are not supported")
            }
        }
        let count = try intArg(items[4], "storage size")
        guard count >= 0 else { throw corrupt("storage '\(key)' has negative size \(count)") }
        if let s = storages[key] {
            guard s.dtype == dtype, s.count == count else {
                throw corrupt("storage '\(key)' is declared twice with different types or sizes")
            }
            return .storage(s)
        }
        let s = try resolveStorage(dtype, key, count)
        storages[key] = s
        return .storage(s)
    }

    // MARK: main loop

    /// Runs the pickle to its `STOP` and returns the result.
    mutating func load() throws -> PickleValue {
        while true {
            let op = try u8()
            switch op {
            case 0x80: // PROTO
                let v = try u8()
                guard v <= 5 else { throw corrupt("unsupported pickle protocol \(v)") }
            case 0x95: // FRAME
                _ = try u64()
            case 0x2E: // STOP
                let result = try pop()
                var budget = max(1_000_000, bytes.count * 4)
                return try convert(result, depth: 0, budget: &budget)
            case 0x28: // MARK
                guard marks.count < Self.maxDepth * 64 else { throw corrupt("too many open MARKs") }
                marks.append(stack.count)
            case 0x30: // POP
                if stack.count == (marks.last ?? -1) { _ = marks.popLast() } else { _ = try pop() }
            case 0x31: // POP_MARK
                _ = try popMark()
            case 0x32: // DUP
                try push(try top())
            case 0x4E: try push(.none) // NONE
            case 0x88: try push(.bool(true)) // NEWTRUE
            case 0x89: try push(.bool(false)) // NEWFALSE
            case 0x4A: try push(.int(try i32())) // BININT
            case 0x4B: try push(.int(Int(try u8()))) // BININT1
            case 0x4D: try push(.int(try u16())) // BININT2
            case 0x8A, 0x8B: // LONG1, LONG4
                let n = op == 0x8A ? Int(try u8()) : try u32()
                guard n <= 8 else { throw corrupt("integer of \(n) bytes is too large") }
                let b = try take(n)
                var v: UInt64 = 0
                for k in 0..<n { v |= UInt64(b[k]) << (8 * UInt64(k)) }
                if n > 0, n < 8, b[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }
                try push(.int(Int(Int64(bitPattern: v))))
            case 0x49: // INT (text)
                let s = try line()
                if s == "01" { try push(.bool(true)) }
                else if s == "00" { try push(.bool(false)) }
                else if let i = Int(s) { try push(.int(i)) }
                else { throw corrupt("bad INT '\(s)'") }
            case 0x4C: // LONG (text)
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                guard let i = Int(s) else { throw corrupt("bad LONG '\(s)'") }
                try push(.int(i))
            case 0x47: // BINFLOAT (big-endian)
                let b = try take(8)
                var v: UInt64 = 0
                for k in 0..<8 { v = (v << 8) | UInt64(b[k]) }
                try push(.float(Double(bitPattern: v)))
            case 0x46: // FLOAT (text)
                let s = try line()
                guard let d = Double(s) else { throw corrupt("bad FLOAT '\(s)'") }
                try push(.float(d))
            case 0x58: try push(.string(try utf8(try u32()))) // BINUNICODE
            case 0x8C: try push(.string(try utf8(Int(try u8())))) // SHORT_BINUNICODE
            case 0x8D: try push(.string(try utf8(try length64()))) // BINUNICODE8
            case 0x56: try push(.string(try line())) // UNICODE (raw-unicode-escape; ASCII in practice)
            case 0x54: // BINSTRING (Python 2 str)
                let n = try i32()
                guard n >= 0 else { throw corrupt("negative BINSTRING length") }
                try push(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x55: try push(.string(String(decoding: try take(Int(try u8())), as: UTF8.self))) // SHORT_BINSTRING
            case 0x42: try push(.bytes(Array(try take(try u32())))) // BINBYTES
            case 0x43: try push(.bytes(Array(try take(Int(try u8()))))) // SHORT_BINBYTES
            case 0x8E, 0x96: try push(.bytes(Array(try take(try length64())))) // BINBYTES8, BYTEARRAY8
            case 0x29: try push(.tuple([], depth: 1)) // EMPTY_TUPLE
            case 0x74: try push(try makeTuple(try popMark())) // TUPLE
            case 0x85, 0x86, 0x87: // TUPLE1..3
                let n = Int(op - 0x84)
                var items: [Node] = []
                for _ in 0..<n { items.append(try pop()) }
                try push(try makeTuple(items.reversed()))
            case 0x5D: try push(newBox(.list([]))) // EMPTY_LIST
            case 0x6C: // LIST
                let items = try popMark()
                try push(newBox(.list(items)))
            case 0x61: // APPEND
                let v = try pop()
                try append([v], to: try top())
            case 0x65: // APPENDS
                let items = try popMark()
                try append(items, to: try top())
            case 0x7D: try push(newBox(.dict([]))) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popMark()
                guard items.count % 2 == 0 else { throw corrupt("DICT with an odd number of items") }
                let d = newBox(.dict([]))
                try setItems(items, in: d)
                try push(d)
            case 0x73: // SETITEM
                let v = try pop(), k = try pop()
                try setItems([k, v], in: try top())
            case 0x75: // SETITEMS
                let items = try popMark()
                try setItems(items, in: try top())
            case 0x8F: try push(newBox(.list([]))) // EMPTY_SET (kept as a list)
            case 0x90: // ADDITEMS
                let items = try popMark()
                try append(items, to: try top())
            case 0x91: // FROZENSET
                let items = try popMark()
                try push(newBox(.list(items)))
            case 0x63: // GLOBAL
                let module = try line(), name = try line()
                try push(try global(module, name))
            case 0x93: // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case let .string(name) = n, case let .string(module) = m else {
                    throw corrupt("STACK_GLOBAL needs two strings")
                }
                try push(try global(module, name))
            case 0x52: // REDUCE
                let args = try pop(), fn = try pop()
                try push(try call(fn, args))
            case 0x81: // NEWOBJ
                _ = try pop()
                let cls = try pop()
                try push(try newObject(cls))
            case 0x92: // NEWOBJ_EX
                _ = try pop(); _ = try pop()
                let cls = try pop()
                try push(try newObject(cls))
            case 0x62: // BUILD
                try build(try pop())
            case 0x51: // BINPERSID
                let pid = try pop()
                try push(try persistentLoad(pid))
            case 0x50: // PERSID
                throw corrupt("text persistent ids are not used by torch.save")
            case 0x70: // PUT
                guard let k = Int(try line()), k >= 0 else { throw corrupt("bad PUT key") }
                try memoPut(k)
            case 0x71: try memoPut(Int(try u8())) // BINPUT
            case 0x72: try memoPut(try u32()) // LONG_BINPUT
            case 0x94: try memoPut(memo.count) // MEMOIZE
            case 0x67: // GET
                guard let k = Int(try line()) else { throw corrupt("bad GET key") }
                try memoGet(k)
            case 0x68: try memoGet(Int(try u8())) // BINGET
            case 0x6A: try memoGet(try u32()) // LONG_BINGET
            case 0x69: // INST
                let module = try line(), name = try line()
                throw forbidden("opcode INST instantiates \(module).\(name); not allowed")
            case 0x6F: // OBJ
                throw forbidden("opcode OBJ instantiates an object; not allowed")
            case 0x82, 0x83, 0x84: // EXT1/2/4
                throw forbidden("extension-registry opcodes are not allowed")
            case 0x97, 0x98: // NEXT_BUFFER, READONLY_BUFFER
                throw corrupt("out-of-band buffers (protocol 5) are not supported")
            default:
                throw corrupt(String(format: "unknown opcode 0x%02X", op))
            }
        }
    }

    private func global(_ module: String, _ name: String) throws -> Node {
        if module == "torch", name.hasSuffix("Storage"), AllowedGlobal.storageDType(name) == nil {
            // Complex or quantised storages: a legitimate torch type we cannot represent.
            throw WeightsError.unsupportedDType(key: "storage", dtype: "torch.\(name)")
        }
        guard let g = AllowedGlobal.resolve(module: module, name: name) else {
            throw forbidden("global '\(module).\(name)' is not on the allow-list of checkpoint types")
        }
        return .global(g)
    }

    // MARK: conversion

    private func convert(_ n: Node, depth: Int, budget: inout Int) throws -> PickleValue {
        guard depth <= Self.maxDepth else { throw corrupt("nesting deeper than \(Self.maxDepth) (or a self-reference)") }
        budget -= 1
        guard budget >= 0 else { throw corrupt("result is too large (shared references expand beyond the node budget)") }
        switch n {
        case .none: return .none
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .float(d): return .float(d)
        case let .string(s): return .string(s)
        case let .bytes(b): return .bytes(b)
        case let .tuple(items, _): return .tuple(try items.map { try convert($0, depth: depth + 1, budget: &budget) })
        case let .global(g): return .global(g.name)
        case let .storage(s): return .storage(s)
        case let .tensor(t): return .tensor(t)
        case let .box(i):
            switch boxes[i] {
            case let .list(l): return .list(try l.map { try convert($0, depth: depth + 1, budget: &budget) })
            case let .dict(d):
                return .dict(try d.map {
                    PickleDictEntry(key: try convert($0.0, depth: depth + 1, budget: &budget),
                                    value: try convert($0.1, depth: depth + 1, budget: &budget))
                })
            case let .object(c, state):
                let s = try state.map { try convert($0, depth: depth + 1, budget: &budget) } ?? .dict([])
                return .object(className: c, state: s)
            }
        }
    }
}
