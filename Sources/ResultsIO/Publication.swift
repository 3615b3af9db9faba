// Writing a file on rank 0 with serial HDF5, and publishing it atomically (every rank writing
// at once: SharedFile.swift).
import ForgeCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The name a result is written under until it is complete: "<final>.partial".
public func partialPath(for finalPath: String) -> String { finalPath + ".partial" }

/// Where a run of `output` keeps its checkpoint, whatever its kind: "<output>.checkpoint".
public func checkpointPath(for output: String) -> String { output + ".checkpoint" }

/// Runs `body` on rank 0 only (creating or finishing a file); every rank throws if it fails.
public func writeOnRoot(comm: Communicator, _ body: () throws -> Void) throws {
    try comm.agree { if comm.isRoot { try body() } }
}

/// Renames the finished `partial` file to `final` (atomic on one file system; replaces an
/// existing `final`). The data is flushed to disk first.
public func publish(partial: String, final: String) throws {
    let fd = open(partial, O_RDONLY)
    if fd < 0 {
        throw RuntimeError("cannot publish '\(partial)': \(String(cString: strerror(errno)))")
    }
    _ = fsync(fd)
    close(fd)
    if rename(partial, final) != 0 {
        throw RuntimeError("cannot rename '\(partial)' to '\(final)': \(String(cString: strerror(errno)))")
    }
}

/// Creates "<path>.partial", lets `fill` write into it, closes it and publishes it as `path`:
/// the one way a rank-0 file (restart, checkpoint) appears under its final name.
public func writeAndPublish(_ path: String, _ fill: (H5File) throws -> Void) throws {
    let partial = partialPath(for: path)
    let file = try H5File.create(partial)
    try fill(file)
    try file.close()
    try publish(partial: partial, final: path)
}

/// Fails early (before any compute) with an InputError naming `path` if a result file cannot
/// be created there: missing directory, a parent that is not a directory, no write permission,
/// or `path` itself being a directory. Probes by creating and removing a temporary file.
public func ensureWritable(path: String) throws {
    guard !path.isEmpty else { throw InputError("empty output path") }
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw InputError("output path is a directory, not a file", file: path)
    }
    var directory = (path as NSString).deletingLastPathComponent
    if directory.isEmpty { directory = "." }
    if !fm.fileExists(atPath: directory, isDirectory: &isDirectory) {
        throw InputError("cannot write result: directory '\(directory)' does not exist", file: path)
    }
    if !isDirectory.boolValue {
        throw InputError("cannot write result: '\(directory)' is not a directory", file: path)
    }
    let probe = directory + "/.qforge-write-probe-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
    let fd = open(probe, O_CREAT | O_EXCL | O_WRONLY, 0o600)
    if fd < 0 {
        let reason = String(cString: strerror(errno))
        throw InputError("cannot write result in directory '\(directory)': \(reason)", file: path)
    }
    close(fd)
    unlink(probe)
}
