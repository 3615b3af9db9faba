import Crypto

/// SHA-256 for result files, job identities and API-key hashes: swift-crypto's (BoringSSL on
/// Linux, already in the graph through postgres-nio) behind the small interface QForge uses.
public struct SHA256 {
    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        hasher.update(data: Array(bytes))
    }

    /// The 32-byte digest.
    public mutating func finalize() -> [UInt8] { Array(hasher.finalize()) }

    public static func hexString(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(2 * digest.count)
        for b in digest { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var h = SHA256()
        h.update(bytes)
        return hexString(h.finalize())
    }
}
