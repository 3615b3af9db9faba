// A small Swift layer over the HDF5 C API: files, groups, datasets (plain, compound, chunked,
// extendable), hyperslab I/O and attributes. Every negative HDF5 return becomes a thrown
// `RuntimeError` naming the HDF5 function and the object; HDF5's own error printing is silenced.
// Every hid_t is owned by exactly one Swift object and closed in its deinit (or by `close()`).
import CHDF5
import ForgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Errors

enum H5 {
    /// Silences HDF5's error printing for the calling thread (Debian's HDF5 is built thread-safe,
    /// which makes the setting per thread); called at every entry point that starts from a path.
    static func prepare() { qf_h5e_silence() }

    static func failure(_ function: String, _ what: String) -> RuntimeError {
        var buffer = [CChar](repeating: 0, count: 512)
        qf_h5e_innermost_message(&buffer, buffer.count)
        let detail = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return RuntimeError("HDF5 \(function) failed for \(what)" + (detail.isEmpty ? "" : ": \(detail)"))
    }

    /// Returns `value`, or throws if it is negative (HDF5's failure convention for hid_t, herr_t, htri_t).
    @discardableResult
    static func check<I: BinaryInteger>(_ value: I, _ function: String, _ what: @autoclosure () -> String) throws -> I {
        if value < 0 { throw failure(function, what()) }
        return value
    }

    static var unlimited: hsize_t { qf_h5s_unlimited() }
    static var defaultList: hid_t { qf_h5p_default() }

    /// A dataspace: scalar for `shape == []`, otherwise simple (nil in `maxShape` = unlimited).
    static func createSpace(shape: [UInt64], maxShape: [UInt64?]?, what: String) throws -> H5Space {
        if shape.isEmpty {
            return H5Space(try check(H5Screate(H5S_SCALAR), "H5Screate", what))
        }
        let max: [hsize_t]? = maxShape.map { $0.map { $0 ?? unlimited } }
        if let max, max.count != shape.count {
            throw RuntimeError("HDF5 dataspace for \(what): maxShape has \(max.count) dimensions, shape \(shape.count)")
        }
        let id: hid_t
        if let max {
            id = H5Screate_simple(Int32(shape.count), shape, max)
        } else {
            id = H5Screate_simple(Int32(shape.count), shape, nil)
        }
        return H5Space(try check(id, "H5Screate_simple", what))
    }
}

/// Owns a dataspace id.
final class H5Space {
    let id: hid_t
    init(_ id: hid_t) { self.id = id }
    deinit { H5Sclose(id) }

    func dims(_ what: String) throws -> (shape: [UInt64], maxShape: [UInt64?]) {
        let rank = Int(try H5.check(H5Sget_simple_extent_ndims(id), "H5Sget_simple_extent_ndims", what))
        if rank == 0 { return ([], []) }
        var dims = [hsize_t](repeating: 0, count: rank)
        var max = [hsize_t](repeating: 0, count: rank)
        try H5.check(H5Sget_simple_extent_dims(id, &dims, &max), "H5Sget_simple_extent_dims", what)
        return (dims, max.map { $0 == H5.unlimited ? nil : $0 })
    }

    var isNull: Bool { H5Sget_simple_extent_type(id) == H5S_NULL }
}

/// Owns a property list id.
final class H5PropertyList {
    let id: hid_t
    init(class cls: hid_t, _ what: String) throws { id = try H5.check(H5Pcreate(cls), "H5Pcreate", what) }
    deinit { H5Pclose(id) }

    /// A link-creation list that creates missing intermediate groups ("a/b/c").
    static func intermediateGroups(_ what: String) throws -> H5PropertyList {
        let list = try H5PropertyList(class: qf_h5p_link_create(), what)
        try H5.check(H5Pset_create_intermediate_group(list.id, 1), "H5Pset_create_intermediate_group", what)
        return list
    }
}

// MARK: - Types

/// Element types with a predefined HDF5 equivalent.
public protocol H5Scalar {
    /// The type in memory (native byte order).
    static var h5MemoryType: hid_t { get }
    /// The type stored in files (little-endian standard types, as h5py and numpy write).
    static var h5FileType: hid_t { get }
}

extension Double: H5Scalar {
    public static var h5MemoryType: hid_t { qf_h5t_native_double() }
    public static var h5FileType: hid_t { qf_h5t_ieee_f64le() }
}
extension Float: H5Scalar {
    public static var h5MemoryType: hid_t { qf_h5t_native_float() }
    public static var h5FileType: hid_t { qf_h5t_ieee_f32le() }
}
extension Int64: H5Scalar {
    public static var h5MemoryType: hid_t { qf_h5t_native_int64() }
    public static var h5FileType: hid_t { qf_h5t_std_i64le() }
}
extension Int: H5Scalar {  // stored as int64
    public static var h5MemoryType: hid_t {
        MemoryLayout<Int>.size == 8 ? qf_h5t_native_int64() : qf_h5t_native_int32()
    }
    public static var h5FileType: hid_t { MemoryLayout<Int>.size == 8 ? qf_h5t_std_i64le() : qf_h5t_std_i32le() }
}
extension Int32: H5Scalar {
    public static var h5MemoryType: hid_t { qf_h5t_native_int32() }
    public static var h5FileType: hid_t { qf_h5t_std_i32le() }
}
extension UInt64: H5Scalar {
    public static var h5MemoryType: hid_t { qf_h5t_native_uint64() }
    public static var h5FileType: hid_t { qf_h5t_std_u64le() }
}
extension UInt32: H5Scalar {
    public static var h5MemoryType: hid_t { qf_h5t_native_uint32() }
    public static var h5FileType: hid_t { qf_h5t_std_u32le() }
}
extension UInt8: H5Scalar {
    public static var h5MemoryType: hid_t { qf_h5t_native_uint8() }
    public static var h5FileType: hid_t { qf_h5t_std_u8le() }
}

/// An HDF5 datatype: a predefined one (borrowed, never closed) or a derived one (owned).
public final class H5Type {
    public let id: hid_t
    private let owned: Bool

    /// Wraps a predefined type id such as `Double.h5FileType`.
    public init(predefined id: hid_t) { self.id = id; owned = false }
    init(owning id: hid_t) { self.id = id; owned = true }
    deinit { if owned { H5Tclose(id) } }

    public static func file<T: H5Scalar>(_: T.Type) -> H5Type { H5Type(predefined: T.h5FileType) }
    public static func memory<T: H5Scalar>(_: T.Type) -> H5Type { H5Type(predefined: T.h5MemoryType) }

    /// Variable-length UTF-8 string (what h5py, MDAnalysis and friends expect for text).
    public static func variableString() throws -> H5Type {
        let t = H5Type(owning: try H5.check(H5Tcopy(qf_h5t_c_s1()), "H5Tcopy", "string type"))
        try H5.check(H5Tset_size(t.id, qf_h5t_variable()), "H5Tset_size", "string type")
        try H5.check(H5Tset_cset(t.id, H5T_CSET_UTF8), "H5Tset_cset", "string type")
        return t
    }

    /// A compound type of `size` bytes with members at the given byte offsets.
    public static func compound(size: Int, _ fields: [(name: String, offset: Int, type: H5Type)]) throws -> H5Type {
        let t = H5Type(owning: try H5.check(H5Tcreate(H5T_COMPOUND, size), "H5Tcreate", "compound type"))
        for f in fields {
            try H5.check(H5Tinsert(t.id, f.name, f.offset, f.type.id), "H5Tinsert", "compound member '\(f.name)'")
        }
        return t
    }

    /// `{r: f64, i: f64}` — h5py reads it as complex128. Same layout in memory and in files
    /// (on little-endian hosts); matches interleaved (re, im) Double buffers.
    public static func complex128(file: Bool = true) throws -> H5Type {
        let part = file ? H5Type.file(Double.self) : H5Type.memory(Double.self)
        return try compound(size: 16, [("r", 0, part), ("i", 8, part)])
    }

    /// `{r: f32, i: f32}` — h5py reads it as complex64; matches interleaved Float buffers.
    public static func complex64(file: Bool = true) throws -> H5Type {
        let part = file ? H5Type.file(Float.self) : H5Type.memory(Float.self)
        return try compound(size: 8, [("r", 0, part), ("i", 4, part)])
    }

    /// A readable name: "float64", "uint64", "string", "string[16]", "{r: float64, i: float64}".
    public var description: String { H5Type.describe(id) }

    static func describe(_ id: hid_t) -> String {
        let size = H5Tget_size(id)
        switch H5Tget_class(id) {
        case H5T_INTEGER:
            return (H5Tget_sign(id) == H5T_SGN_NONE ? "uint" : "int") + "\(size * 8)"
        case H5T_FLOAT:
            return "float\(size * 8)"
        case H5T_STRING:
            return H5Tis_variable_str(id) > 0 ? "string" : "string[\(size)]"
        case H5T_COMPOUND:
            let n = H5Tget_nmembers(id)
            if n < 0 { return "compound" }
            var parts: [String] = []
            for i in 0..<UInt32(n) {
                var name = "?"
                if let cName = H5Tget_member_name(id, i) {
                    name = String(cString: cName)
                    H5free_memory(cName)
                }
                let member = H5Tget_member_type(id, i)
                if member >= 0 {
                    parts.append("\(name): \(describe(member))")
                    H5Tclose(member)
                } else {
                    parts.append(name)
                }
            }
            return "{" + parts.joined(separator: ", ") + "}"
        case H5T_ARRAY:
            let base = H5Tget_super(id)
            defer { if base >= 0 { H5Tclose(base) } }
            let rank = H5Tget_array_ndims(id)
            var dims = [hsize_t](repeating: 0, count: max(Int(rank), 0))
            if rank > 0 { H5Tget_array_dims2(id, &dims) }
            return (base >= 0 ? describe(base) : "?") + "[" + dims.map(String.init).joined(separator: ",") + "]"
        case H5T_VLEN:
            let base = H5Tget_super(id)
            defer { if base >= 0 { H5Tclose(base) } }
            return "vlen<" + (base >= 0 ? describe(base) : "?") + ">"
        case H5T_ENUM: return "enum\(size * 8)"
        case H5T_BITFIELD: return "bitfield\(size * 8)"
        case H5T_OPAQUE: return "opaque[\(size)]"
        case H5T_REFERENCE: return "reference"
        case H5T_TIME: return "time"
        default: return "unknown"
        }
    }
}

// MARK: - Attribute values

/// An attribute (or small dataset) value as read back from a file.
public enum H5Value: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case strings([String])
    case int(Int64)
    case ints([Int64])
    case uint(UInt64)
    case uints([UInt64])
    case double(Double)
    case doubles([Double])
    /// A type this layer does not decode; the payload describes it.
    case other(String)

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var intValue: Int64? {
        switch self {
        case .int(let v): return v
        case .uint(let v): return v <= UInt64(Int64.max) ? Int64(v) : nil
        default: return nil
        }
    }
    public var uintValue: UInt64? {
        switch self {
        case .uint(let v): return v
        case .int(let v): return v >= 0 ? UInt64(v) : nil
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .double(let v): return v
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        default: return nil
        }
    }

    public var description: String {
        func list<T>(_ xs: [T]) -> String { "[" + xs.map { "\($0)" }.joined(separator: ", ") + "]" }
        switch self {
        case .string(let s): return s
        case .strings(let xs): return "[" + xs.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        case .int(let v): return "\(v)"
        case .ints(let xs): return list(xs)
        case .uint(let v): return "\(v)"
        case .uints(let xs): return list(xs)
        case .double(let v): return "\(v)"
        case .doubles(let xs): return list(xs)
        case .other(let t): return "<\(t)>"
        }
    }
}

/// Reads the whole of an attribute or dataset (given its type and space) as an `H5Value`.
/// `read(memoryType, buffer)` performs the H5Aread/H5Dread.
private func readValue(type: hid_t, space: H5Space, what: String,
                       read: (hid_t, UnsafeMutableRawPointer) -> herr_t, readName: String) throws -> H5Value {
    if space.isNull { return .other("empty") }
    let (shape, _) = try space.dims(what)
    let isScalar = shape.isEmpty
    let count = Int(shape.reduce(1, *))
    switch H5Tget_class(type) {
    case H5T_STRING:
        let strings = try readStrings(type: type, space: space, count: count, what: what, read: read, readName: readName)
        return isScalar ? .string(strings.first ?? "") : .strings(strings)
    case H5T_INTEGER:
        if H5Tget_sign(type) == H5T_SGN_NONE && H5Tget_size(type) == 8 {
            var values = [UInt64](repeating: 0, count: count)
            if count > 0 {
                try H5.check(values.withUnsafeMutableBytes { read(UInt64.h5MemoryType, $0.baseAddress!) }, readName, what)
            }
            return isScalar ? .uint(values[0]) : .uints(values)
        }
        var values = [Int64](repeating: 0, count: count)
        if count > 0 {
            try H5.check(values.withUnsafeMutableBytes { read(Int64.h5MemoryType, $0.baseAddress!) }, readName, what)
        }
        return isScalar ? .int(values[0]) : .ints(values)
    case H5T_FLOAT:
        var values = [Double](repeating: 0, count: count)
        if count > 0 {
            try H5.check(values.withUnsafeMutableBytes { read(Double.h5MemoryType, $0.baseAddress!) }, readName, what)
        }
        return isScalar ? .double(values[0]) : .doubles(values)
    default:
        return .other(H5Type.describe(type))
    }
}

/// Reads `count` strings (variable-length or fixed-length) into Swift strings.
private func readStrings(type: hid_t, space: H5Space, count: Int, what: String,
                         read: (hid_t, UnsafeMutableRawPointer) -> herr_t, readName: String) throws -> [String] {
    if count == 0 { return [] }
    let memType = H5Type(owning: try H5.check(H5Tcopy(qf_h5t_c_s1()), "H5Tcopy", what))
    try H5.check(H5Tset_cset(memType.id, H5Tget_cset(type)), "H5Tset_cset", what)
    if H5Tis_variable_str(type) > 0 {
        try H5.check(H5Tset_size(memType.id, qf_h5t_variable()), "H5Tset_size", what)
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        _ = try pointers.withUnsafeMutableBytes { raw in
            try H5.check(read(memType.id, raw.baseAddress!), readName, what)
        }
        let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
        _ = pointers.withUnsafeMutableBytes { raw in qf_vlen_reclaim(memType.id, space.id, raw.baseAddress!) }
        return strings
    }
    let size = H5Tget_size(type)
    try H5.check(H5Tset_size(memType.id, size), "H5Tset_size", what)
    let padIsSpace = H5Tget_strpad(type) == H5T_STR_SPACEPAD
    var bytes = [UInt8](repeating: 0, count: size * count)
    _ = try bytes.withUnsafeMutableBytes { raw in
        try H5.check(read(memType.id, raw.baseAddress!), readName, what)
    }
    return (0..<count).map { i in
        var s = bytes[(i * size)..<((i + 1) * size)].prefix(while: { $0 != 0 })
        if padIsSpace { while s.last == 0x20 { s = s.dropLast() } }
        return String(decoding: s, as: UTF8.self)
    }
}

// MARK: - Objects

/// Anything HDF5 can hang attributes on: a file (its root group), a group or a dataset.
public class H5Object {
    public let id: hid_t
    /// The file's path on disk.
    public let fileName: String
    /// The object's path inside the file ("/" for the root).
    public let path: String
    /// Keeps the file open while this object lives.
    let owner: H5File?
    private let closeFunction: (hid_t) -> herr_t
    fileprivate var isOpen = true

    init(id: hid_t, fileName: String, path: String, owner: H5File?, close: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.fileName = fileName
        self.path = path
        self.owner = owner
        self.closeFunction = close
    }

    deinit { if isOpen { _ = closeFunction(id) } }

    /// "file.h5:/group/dataset", for messages.
    public var location: String { "'\(fileName):\(path)'" }

    fileprivate func closeNow(_ function: String) throws {
        guard isOpen else { return }
        isOpen = false
        try H5.check(closeFunction(id), function, location)
    }

    func childPath(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        return path.hasSuffix("/") ? path + name : path + "/" + name
    }

    // MARK: Attributes

    public func hasAttribute(_ name: String) throws -> Bool {
        try H5.check(H5Aexists(id, name), "H5Aexists", "attribute '\(name)' of \(location)") > 0
    }

    /// Names of all attributes, sorted.
    public func attributeNames() throws -> [String] {
        let count = try H5.check(qf_h5a_count(id), "H5Aiterate2", "attributes of \(location)")
        var names: [String] = []
        for i in 0..<hsize_t(count) {
            let n = try H5.check(H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, H5.defaultList),
                                 "H5Aget_name_by_idx", "attributes of \(location)")
            var buffer = [CChar](repeating: 0, count: Int(n) + 1)
            try H5.check(H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, H5.defaultList),
                         "H5Aget_name_by_idx", "attributes of \(location)")
            names.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Creates (replacing any existing one) attribute `name` with the given type and shape
    /// and writes `data` (memory laid out as `memoryType`).
    public func writeAttribute(_ name: String, fileType: H5Type, memoryType: H5Type, shape: [UInt64],
                               data: UnsafeRawPointer) throws {
        let what = "attribute '\(name)' of \(location)"
        if try hasAttribute(name) {
            try H5.check(H5Adelete(id, name), "H5Adelete", what)
        }
        let space = try H5.createSpace(shape: shape, maxShape: nil, what: what)
        let attr = try H5.check(H5Acreate2(id, name, fileType.id, space.id, H5.defaultList, H5.defaultList), "H5Acreate2", what)
        defer { H5Aclose(attr) }
        try H5.check(H5Awrite(attr, memoryType.id, data), "H5Awrite", what)
    }

    /// A scalar variable-length UTF-8 string attribute.
    public func setAttribute(_ name: String, _ value: String) throws {
        let type = try H5Type.variableString()
        let cString = strdup(value)
        defer { free(cString) }
        var pointer: UnsafeMutablePointer<CChar>? = cString
        try withUnsafeBytes(of: &pointer) { raw in
            try writeAttribute(name, fileType: type, memoryType: type, shape: [], data: raw.baseAddress!)
        }
    }

    /// A 1-D array attribute of variable-length UTF-8 strings.
    public func setAttribute(_ name: String, _ values: [String]) throws {
        let type = try H5Type.variableString()
        var pointers = values.map { strdup($0) }
        defer { for p in pointers { free(p) } }
        try pointers.withUnsafeMutableBytes { raw in
            try writeAttribute(name, fileType: type, memoryType: type, shape: [UInt64(values.count)],
                               data: UnsafeRawPointer(raw.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!))
        }
    }

    /// A scalar numeric attribute (Int and Int64 are stored as int64, Double as float64...).
    public func setAttribute<T: H5Scalar>(_ name: String, _ value: T) throws {
        var v = value
        try withUnsafeBytes(of: &v) { raw in
            try writeAttribute(name, fileType: .file(T.self), memoryType: .memory(T.self), shape: [], data: raw.baseAddress!)
        }
    }

    /// A 1-D numeric array attribute (H5MD's `version` is `[Int32]`).
    public func setAttribute<T: H5Scalar>(_ name: String, _ values: [T]) throws {
        try values.withUnsafeBytes { raw in
            try writeAttribute(name, fileType: .file(T.self), memoryType: .memory(T.self), shape: [UInt64(values.count)],
                               data: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!)
        }
    }

    /// Reads attribute `name` (strings, integers and floats are decoded; see `H5Value`).
    public func attribute(_ name: String) throws -> H5Value {
        let what = "attribute '\(name)' of \(location)"
        let attr = try H5.check(H5Aopen(id, name, H5.defaultList), "H5Aopen", what)
        defer { H5Aclose(attr) }
        let type = H5Type(owning: try H5.check(H5Aget_type(attr), "H5Aget_type", what))
        let space = H5Space(try H5.check(H5Aget_space(attr), "H5Aget_space", what))
        return try readValue(type: type.id, space: space, what: what,
                             read: { H5Aread(attr, $0, $1) }, readName: "H5Aread")
    }

    /// The attribute if present, else nil.
    public func attributeIfPresent(_ name: String) throws -> H5Value? {
        try hasAttribute(name) ? attribute(name) : nil
    }
}

/// The kinds of object a path in a file can name.
public enum H5ObjectKind: Sendable, Equatable {
    case group, dataset, namedType, other
}

/// A file or group: something that contains groups and datasets.
public class H5Location: H5Object {
    /// True if every component of `path` exists (links are not followed past the last one).
    public func exists(_ relative: String) -> Bool {
        let absolute = relative.hasPrefix("/")
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true)
        if parts.isEmpty { return true }
        var prefix = absolute ? "" : "."
        for part in parts {
            prefix += "/" + part
            if H5Lexists(id, prefix, H5.defaultList) <= 0 { return false }
        }
        return true
    }

    /// What `relative` names, or nil if it does not exist (or is a dangling link).
    public func kind(of relative: String) -> H5ObjectKind? {
        guard exists(relative) else { return nil }
        let object = H5Oopen(id, relative, H5.defaultList)
        if object < 0 { return nil }
        defer { H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        case H5I_DATATYPE: return .namedType
        default: return .other
        }
    }

    /// Names of the links in this group, sorted by name.
    public func childNames() throws -> [String] {
        var info = H5G_info_t()
        try H5.check(H5Gget_info(id, &info), "H5Gget_info", location)
        var names: [String] = []
        for i in 0..<info.nlinks {
            let n = try H5.check(H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, H5.defaultList),
                                 "H5Lget_name_by_idx", location)
            var buffer = [CChar](repeating: 0, count: Int(n) + 1)
            try H5.check(H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, H5.defaultList),
                         "H5Lget_name_by_idx", location)
            names.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Creates group `relative` (and any missing parents, e.g. "/a/b").
    @discardableResult
    public func createGroup(_ relative: String) throws -> H5Group {
        let full = childPath(relative)
        let what = "'\(fileName):\(full)'"
        let lcpl = try H5PropertyList.intermediateGroups(what)
        let gid = try H5.check(H5Gcreate2(id, relative, lcpl.id, H5.defaultList, H5.defaultList), "H5Gcreate2", what)
        return H5Group(id: gid, fileName: fileName, path: full, owner: fileOwner)
    }

    public func openGroup(_ relative: String) throws -> H5Group {
        let full = childPath(relative)
        let gid = try H5.check(H5Gopen2(id, relative, H5.defaultList), "H5Gopen2", "'\(fileName):\(full)'")
        return H5Group(id: gid, fileName: fileName, path: full, owner: fileOwner)
    }

    /// Opens group `relative`, creating it (and its parents) if missing.
    public func requireGroup(_ relative: String) throws -> H5Group {
        exists(relative) ? try openGroup(relative) : try createGroup(relative)
    }

    public func openDataset(_ relative: String) throws -> H5Dataset {
        let full = childPath(relative)
        let did = try H5.check(H5Dopen2(id, relative, H5.defaultList), "H5Dopen2", "'\(fileName):\(full)'")
        return H5Dataset(id: did, fileName: fileName, path: full, owner: fileOwner)
    }

    /// Creates a dataset (missing parent groups are created).
    /// - shape: `[]` for a scalar. maxShape: nil = fixed; an entry nil = unlimited (needs chunks).
    /// - chunk: chunk dimensions; required by extendable datasets (chosen automatically when nil).
    /// - deflate: gzip level 1...9 (with the shuffle filter), or nil for none.
    /// - allocateEarly: file space is allocated now (and by every `extend`), never filled, so its
    ///   bytes can be written outside HDF5 at `fileOffset()` / `chunkFileOffset(at:)` (see
    ///   `SharedFile`); no filters.
    @discardableResult
    public func createDataset(_ relative: String, type: H5Type, shape: [UInt64], maxShape: [UInt64?]? = nil,
                              chunk: [UInt64]? = nil, deflate: Int? = nil, allocateEarly: Bool = false) throws -> H5Dataset {
        let full = childPath(relative)
        let what = "'\(fileName):\(full)'"
        let space = try H5.createSpace(shape: shape, maxShape: maxShape, what: what)
        let dcpl = try H5PropertyList(class: qf_h5p_dataset_create(), what)
        var chunkDims = chunk
        let extendable = maxShape.map { m in zip(m, shape).contains { $0.0 == nil || $0.0! != $0.1 } } ?? false
        if chunkDims == nil && (extendable || deflate != nil) && !shape.isEmpty {
            chunkDims = H5Dataset.defaultChunk(shape: shape, elementSize: H5Tget_size(type.id))
        }
        if let chunkDims {
            guard chunkDims.count == shape.count, !chunkDims.contains(0) else {
                throw RuntimeError("invalid chunk shape \(chunkDims) for dataset \(what) of shape \(shape)")
            }
            try H5.check(H5Pset_chunk(dcpl.id, Int32(chunkDims.count), chunkDims), "H5Pset_chunk", what)
            if let deflate {
                try H5.check(H5Pset_shuffle(dcpl.id), "H5Pset_shuffle", what)
                try H5.check(H5Pset_deflate(dcpl.id, UInt32(max(0, min(9, deflate)))), "H5Pset_deflate", what)
            }
        }
        if allocateEarly {
            guard deflate == nil else { throw RuntimeError("dataset \(what): early allocation is for unfiltered datasets") }
            try H5.check(H5Pset_alloc_time(dcpl.id, H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time", what)
            try H5.check(H5Pset_fill_time(dcpl.id, H5D_FILL_TIME_NEVER), "H5Pset_fill_time", what)
        }
        let lcpl = try H5PropertyList.intermediateGroups(what)
        let did = try H5.check(H5Dcreate2(id, relative, type.id, space.id, lcpl.id, dcpl.id, H5.defaultList), "H5Dcreate2", what)
        return H5Dataset(id: did, fileName: fileName, path: full, owner: fileOwner)
    }

    /// Creates a dataset holding `values` (1-D unless `shape` is given).
    @discardableResult
    public func writeDataset<T: H5Scalar>(_ relative: String, _ values: [T], shape: [UInt64]? = nil) throws -> H5Dataset {
        let dims = shape ?? [UInt64(values.count)]
        guard dims.reduce(1, *) == UInt64(values.count) else {
            throw RuntimeError("dataset '\(fileName):\(childPath(relative))': \(values.count) values do not fill shape \(dims)")
        }
        let dataset = try createDataset(relative, type: .file(T.self), shape: dims)
        try dataset.writeAll(values)
        return dataset
    }

    /// Creates a scalar variable-length UTF-8 string dataset.
    @discardableResult
    public func writeDataset(_ relative: String, string: String) throws -> H5Dataset {
        let type = try H5Type.variableString()
        let dataset = try createDataset(relative, type: type, shape: [])
        let cString = strdup(string)
        defer { free(cString) }
        var pointer: UnsafeMutablePointer<CChar>? = cString
        try withUnsafeBytes(of: &pointer) { raw in
            try dataset.write(raw: raw.baseAddress!, memoryType: type, offset: [], count: [])
        }
        return dataset
    }

    /// Creates a 1-D dataset of variable-length UTF-8 strings.
    @discardableResult
    public func writeDataset(_ relative: String, strings: [String]) throws -> H5Dataset {
        let type = try H5Type.variableString()
        let dataset = try createDataset(relative, type: type, shape: [UInt64(strings.count)])
        var pointers = strings.map { strdup($0) }
        defer { for p in pointers { free(p) } }
        if !strings.isEmpty {
            try pointers.withUnsafeMutableBytes { raw in
                try dataset.write(raw: raw.baseAddress!, memoryType: type, offset: [0], count: [UInt64(strings.count)])
            }
        }
        return dataset
    }

    /// Creates a soft link `relative` pointing at `target` (an absolute path in the file).
    public func createSoftLink(_ relative: String, to target: String) throws {
        let what = "'\(fileName):\(childPath(relative))'"
        let lcpl = try H5PropertyList.intermediateGroups(what)
        try H5.check(H5Lcreate_soft(target, id, relative, lcpl.id, H5.defaultList), "H5Lcreate_soft", what)
    }

    var fileOwner: H5File { owner ?? (self as! H5File) }
}

/// An open HDF5 file. Attributes set on it are attributes of the root group.
public final class H5File: H5Location {
    public enum Mode: Sendable { case readOnly, readWrite }

    private init(id: hid_t, fileName: String) {
        super.init(id: id, fileName: fileName, path: "/", owner: nil, close: { H5Fclose($0) })
    }

    private static func accessList(_ path: String) throws -> H5PropertyList {
        let fapl = try H5PropertyList(class: qf_h5p_file_access(), "'\(path)'")
        try H5.check(qf_fapl_tolerate_missing_locks(fapl.id), "H5Pset_file_locking", "'\(path)'")
        return fapl
    }

    /// Creates `path`, truncating any existing file.
    public static func create(_ path: String) throws -> H5File {
        H5.prepare()
        let fapl = try accessList(path)
        let id = try H5.check(H5Fcreate(path, qf_h5f_acc_trunc(), H5.defaultList, fapl.id), "H5Fcreate", "'\(path)'")
        return H5File(id: id, fileName: path)
    }

    public static func open(_ path: String, mode: Mode = .readOnly) throws -> H5File {
        H5.prepare()
        let fapl = try accessList(path)
        let flags = mode == .readOnly ? qf_h5f_acc_rdonly() : qf_h5f_acc_rdwr()
        let id = try H5.check(H5Fopen(path, flags, fapl.id), "H5Fopen", "'\(path)'")
        return H5File(id: id, fileName: path)
    }

    /// True if `path` exists and has an HDF5 signature.
    public static func isHDF5(_ path: String) -> Bool {
        H5.prepare()
        let result = H5Fis_hdf5(path) > 0
        H5Eclear2(0)  // H5E_DEFAULT
        return result
    }

    public func flush() throws {
        try H5.check(H5Fflush(id, H5F_SCOPE_LOCAL), "H5Fflush", location)
    }

    /// Closes the file now, reporting errors (such as a failed final flush) that deinit would
    /// have to ignore. Objects still open keep the file open until they are released.
    public func close() throws {
        try closeNow("H5Fclose")
    }

    override public var location: String { "'\(fileName)'" }
}

public final class H5Group: H5Location {
    init(id: hid_t, fileName: String, path: String, owner: H5File) {
        super.init(id: id, fileName: fileName, path: path, owner: owner, close: { H5Gclose($0) })
    }

    public func close() throws { try closeNow("H5Gclose") }
}

public final class H5Dataset: H5Object {
    init(id: hid_t, fileName: String, path: String, owner: H5File) {
        super.init(id: id, fileName: fileName, path: path, owner: owner, close: { H5Dclose($0) })
    }

    public func close() throws { try closeNow("H5Dclose") }

    /// Chunk of about 1 MiB: whole trailing dimensions, as many leading rows as fit (at least 1).
    static func defaultChunk(shape: [UInt64], elementSize: Int) -> [UInt64] {
        let target: UInt64 = 1 << 20
        var chunk = shape.map { max($0, 1) }
        let rowBytes = chunk.dropFirst().reduce(UInt64(max(elementSize, 1)), *)
        chunk[0] = max(1, min(max(shape[0], 1), target / max(rowBytes, 1)))
        if shape[0] == 0 { chunk[0] = max(1, target / max(rowBytes, 1)) }
        return chunk
    }

    /// Current shape and maximum shape (nil = unlimited); `[]` for a scalar.
    public func dimensions() throws -> (shape: [UInt64], maxShape: [UInt64?]) {
        let space = H5Space(try H5.check(H5Dget_space(id), "H5Dget_space", location))
        return try space.dims(location)
    }

    public func shape() throws -> [UInt64] { try dimensions().shape }

    /// The stored element type.
    public func type() throws -> H5Type {
        H5Type(owning: try H5.check(H5Dget_type(id), "H5Dget_type", location))
    }

    /// Chunk dimensions, or nil for a contiguous or compact dataset.
    public func chunkShape() throws -> [UInt64]? {
        let dcpl = try H5.check(H5Dget_create_plist(id), "H5Dget_create_plist", location)
        defer { H5Pclose(dcpl) }
        guard H5Pget_layout(dcpl) == H5D_CHUNKED else { return nil }
        let rank = try H5.check(H5Pget_chunk(dcpl, 0, nil), "H5Pget_chunk", location)
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        try H5.check(H5Pget_chunk(dcpl, rank, &dims), "H5Pget_chunk", location)
        return dims
    }

    /// Byte offset in the file of a contiguous dataset's data (allocated: see `allocateEarly`).
    public func fileOffset() throws -> UInt64 {
        let address = H5Dget_offset(id)
        guard address != haddr_t.max else {
            throw RuntimeError("dataset \(location) has no file space yet (not contiguous, or not allocated)")
        }
        return UInt64(address)
    }

    /// Byte offset in the file of the (unfiltered, allocated) chunk starting at element `coordinate`.
    public func chunkFileOffset(at coordinate: [UInt64]) throws -> UInt64 {
        var mask: UInt32 = 0
        var address: haddr_t = 0
        var size: hsize_t = 0
        try H5.check(H5Dget_chunk_info_by_coord(id, coordinate, &mask, &address, &size), "H5Dget_chunk_info_by_coord", location)
        guard address != haddr_t.max, mask == 0 else {
            throw RuntimeError("chunk at \(coordinate) of dataset \(location) is not allocated, or filtered")
        }
        return UInt64(address)
    }

    /// Selects the block [offset, offset+count) of the file space; nil for a whole-scalar access.
    private func selection(offset: [UInt64], count: [UInt64]) throws -> (file: H5Space, memory: H5Space)? {
        let fileSpace = H5Space(try H5.check(H5Dget_space(id), "H5Dget_space", location))
        let (shape, _) = try fileSpace.dims(location)
        if shape.isEmpty {
            guard offset.isEmpty && count.isEmpty else {
                throw RuntimeError("dataset \(location) is scalar; offset/count must be empty")
            }
            return nil
        }
        guard offset.count == shape.count, count.count == shape.count else {
            throw RuntimeError("dataset \(location) has \(shape.count) dimensions; got offset \(offset), count \(count)")
        }
        for d in 0..<shape.count where offset[d] > shape[d] || count[d] > shape[d] - offset[d] {
            throw RuntimeError("block at \(offset) of size \(count) lies outside dataset \(location) of shape \(shape)")
        }
        try H5.check(H5Sselect_hyperslab(fileSpace.id, H5S_SELECT_SET, offset, nil, count, nil), "H5Sselect_hyperslab", location)
        let memorySpace = try H5.createSpace(shape: count, maxShape: nil, what: location)
        return (fileSpace, memorySpace)
    }

    /// Writes the block [offset, offset+count) from `raw`, laid out as `memoryType` in
    /// row-major order. HDF5 converts between `memoryType` and the stored type.
    public func write(raw: UnsafeRawPointer, memoryType: H5Type, offset: [UInt64], count: [UInt64]) throws {
        if !count.isEmpty && count.contains(0) { return }
        if let spaces = try selection(offset: offset, count: count) {
            try H5.check(H5Dwrite(id, memoryType.id, spaces.memory.id, spaces.file.id, H5.defaultList, raw), "H5Dwrite", location)
        } else {
            try H5.check(H5Dwrite(id, memoryType.id, qf_h5s_all(), qf_h5s_all(), H5.defaultList, raw), "H5Dwrite", location)
        }
    }

    /// Writes the block [offset, offset+count) from a buffer of exactly that many elements.
    public func write<T: H5Scalar>(_ values: UnsafeBufferPointer<T>, offset: [UInt64], count: [UInt64]) throws {
        let n = count.reduce(1, *)
        guard UInt64(values.count) == n else {
            throw RuntimeError("write to \(location): \(values.count) values for a block of \(count)")
        }
        if n == 0 { return }
        try write(raw: UnsafeRawPointer(values.baseAddress!), memoryType: .memory(T.self), offset: offset, count: count)
    }

    /// Writes the whole dataset.
    public func writeAll<T: H5Scalar>(_ values: [T]) throws {
        let shape = try self.shape()
        try values.withUnsafeBufferPointer { try write($0, offset: shape.map { _ in 0 }, count: shape) }
    }

    /// Reads the block [offset, offset+count) into `raw` (laid out as `memoryType`).
    public func read(into raw: UnsafeMutableRawPointer, memoryType: H5Type, offset: [UInt64], count: [UInt64]) throws {
        if !count.isEmpty && count.contains(0) { return }
        if let spaces = try selection(offset: offset, count: count) {
            try H5.check(H5Dread(id, memoryType.id, spaces.memory.id, spaces.file.id, H5.defaultList, raw), "H5Dread", location)
        } else {
            try H5.check(H5Dread(id, memoryType.id, qf_h5s_all(), qf_h5s_all(), H5.defaultList, raw), "H5Dread", location)
        }
    }

    public func read<T: H5Scalar>(_: T.Type = T.self, offset: [UInt64], count: [UInt64]) throws -> [T] {
        let n = Int(count.reduce(1, *))
        if n == 0 { return [] }
        return try [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            try read(into: UnsafeMutableRawPointer(buffer.baseAddress!), memoryType: .memory(T.self), offset: offset, count: count)
            initialized = n
        }
    }

    /// The whole dataset, flattened in row-major order.
    public func readAll<T: H5Scalar>(_: T.Type = T.self) throws -> [T] {
        let shape = try self.shape()
        return try read(T.self, offset: shape.map { _ in 0 }, count: shape)
    }

    /// The whole dataset decoded as an `H5Value` (strings, integers, floats).
    public func value() throws -> H5Value {
        let type = try self.type()
        let space = H5Space(try H5.check(H5Dget_space(id), "H5Dget_space", location))
        return try readValue(type: type.id, space: space, what: location,
                             read: { H5Dread(self.id, $0, qf_h5s_all(), qf_h5s_all(), H5.defaultList, $1) },
                             readName: "H5Dread")
    }

    /// Changes the current shape (within the maximum shape).
    public func extend(to shape: [UInt64]) throws {
        try H5.check(H5Dset_extent(id, shape), "H5Dset_extent", location)
    }

    /// Grows the first dimension by `rows` and writes them from `raw` (laid out as
    /// `memoryType`, rows × the other dimensions). Returns the index of the first new row.
    @discardableResult
    public func append(raw: UnsafeRawPointer, memoryType: H5Type, rows: UInt64) throws -> UInt64 {
        var shape = try self.shape()
        guard !shape.isEmpty else { throw RuntimeError("cannot append to scalar dataset \(location)") }
        let first = shape[0]
        shape[0] += rows
        try extend(to: shape)
        var offset = shape.map { _ in UInt64(0) }
        offset[0] = first
        var count = shape
        count[0] = rows
        try write(raw: raw, memoryType: memoryType, offset: offset, count: count)
        return first
    }

    /// Appends `values` as new rows along the first dimension (values.count must be a multiple
    /// of the row size). Returns the index of the first new row.
    @discardableResult
    public func append<T: H5Scalar>(_ values: UnsafeBufferPointer<T>) throws -> UInt64 {
        let shape = try self.shape()
        guard !shape.isEmpty else { throw RuntimeError("cannot append to scalar dataset \(location)") }
        let rowSize = shape.dropFirst().reduce(1, *)
        guard rowSize > 0, UInt64(values.count) % rowSize == 0 else {
            throw RuntimeError("append to \(location): \(values.count) values are not whole rows of \(rowSize)")
        }
        if values.isEmpty { return shape[0] }
        return try append(raw: UnsafeRawPointer(values.baseAddress!), memoryType: .memory(T.self),
                          rows: UInt64(values.count) / rowSize)
    }

    @discardableResult
    public func append<T: H5Scalar>(_ values: [T]) throws -> UInt64 {
        try values.withUnsafeBufferPointer { try append($0) }
    }
}
