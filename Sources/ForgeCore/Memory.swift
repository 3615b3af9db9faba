import Foundation

/// Memory this node can give the job: MemAvailable from /proc/meminfo, capped by a cgroup
/// limit when one is set (as under Slurm with cgroups). nil where neither can be read.
public func availableNodeMemoryBytes() -> UInt64? {
    var best: UInt64? = nil
    if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = UInt64(fields[1]) { best = kib * 1024 }
        }
    }
    for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
           let limit = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            var used: UInt64 = 0
            for usagePath in ["/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes"] {
                if let u = try? String(contentsOfFile: usagePath, encoding: .utf8),
                   let v = UInt64(u.trimmingCharacters(in: .whitespacesAndNewlines)) { used = v; break }
            }
            let free = limit > used ? limit - used : 0
            best = min(best ?? free, free)
        }
    }
    return best
}

/// "1.50 GiB"-style size for messages.
public func formatBytes(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.2f %@", value, units[unit])
}

/// Threads per rank when the user does not say: QFORGE_THREADS, else OMP_NUM_THREADS, else
/// SLURM_CPUS_PER_TASK (as OpenMP codes do under Slurm), else 1.
public func defaultThreadsPerRank(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
    ["QFORGE_THREADS", "OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK"]
        .compactMap { environment[$0].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        .first { $0 > 0 } ?? 1
}

/// This process's peak resident set (VmHWM of /proc/self/status), or nil off Linux.
public func peakResidentBytes() -> UInt64? {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kB = UInt64(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
    return kB * 1024
}
