import Foundation
import Testing
@testable import HydraCore

/// examples/slurm on a real one-node Slurm cluster (scripts/slurm-test.sh
/// installs slurm-wlm when missing, starts its daemons and stops them):
/// a 2-task array job, one task killed and requeued, merged and checked
/// against a one-process batch. Skipped only when HYDRA_SKIP_SLURM is set.
@Suite("Slurm array job", .serialized, .tags(.model), .modelsWanted,
       .enabled(if: ProcessInfo.processInfo.environment["HYDRA_SKIP_SLURM"] == nil,
                "HYDRA_SKIP_SLURM is set: the Slurm test is skipped"))
struct SlurmTests {
    @Test("a batch split over a Slurm array job, one task killed and resumed, merges to the one-process output",
          .timeLimit(.minutes(8)))
    func arrayJob() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/slurm-test.sh").path
        let r = try runProgram(script, [], env: ["HYDRA": CLI.binary])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("slurm-test: PASS"), "\(r.stderr)")
        // The cluster's daemons are gone.
        let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("cluster up") }, "\(r.stderr)")
        let pids = line.split(separator: " ").drop { $0 != "daemons" }.dropFirst().compactMap { Int32($0) }
        #expect(pids.count == 3, "\(line)")
        for pid in pids { #expect(!Self.running(pid), "process \(pid) of the cluster is still running") }
    }

    /// Whether a process runs: a zombie (ended, not yet reaped by whoever
    /// adopted it) does not.
    static func running(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }
}
