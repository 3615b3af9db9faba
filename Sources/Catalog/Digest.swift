import ForgeCore
import Foundation

/// SHA-256 (swift-crypto, through ForgeCore) of key tokens and of result files.
public enum SHA256Hex {
    public static func of(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }

    /// Size and SHA-256 of a file, read in 4 MiB chunks so memory stays bounded.
    public static func file(_ path: String) throws -> (size: Int64, sha256: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CatalogError.notFound("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let chunk = try handle.read(upToCount: 4 << 20) ?? Data()
            if chunk.isEmpty { break }
            size += Int64(chunk.count)
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return (size, SHA256.hexString(hasher.finalize()))
    }
}
