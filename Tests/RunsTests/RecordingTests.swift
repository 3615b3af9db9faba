// The catalog side of a run, without a catalog: the Slurm environment → run record mapping,
// the budget policy, how an ending is recorded, and job-file paths.
import Catalog
import ForgeCore
import Foundation
@testable import Runs
import XCTest

final class RecordingTests: XCTestCase {
    func testSlurmEnvironmentMapsToTheRunRecord() {
        let env = ["SLURM_JOB_ID": "4242", "SLURM_ARRAY_JOB_ID": "4240", "SLURM_ARRAY_TASK_ID": "2",
                   "SLURM_JOB_PARTITION": "gpu", "SLURM_JOB_NUM_NODES": "3", "SLURM_JOB_ACCOUNT": "physics",
                   "SLURM_JOB_USER": "ada", "USER": "root", "SLURM_CPUS_PER_TASK": "4"]
        let r = CatalogSettings(environment: env).startingRecord(runID: "r1", kind: "md", ranks: 8, threads: nil)
        XCTAssertEqual(r.app, "qforge-md")
        XCTAssertEqual(r.launcher, "slurm")
        XCTAssertEqual([r.slurmJobId, r.slurmArrayJobId, r.slurmArrayTaskId, r.partition], ["4242", "4240", "2", "gpu"])
        XCTAssertEqual(r.account, "physics")
        XCTAssertEqual(r.user, "ada")
        XCTAssertEqual([r.nodes, r.ranks, r.threads], [3, 8, 4])

        // --account wins over Slurm's; an empty SLURM_JOB_ACCOUNT falls through to QFORGE_ACCOUNT.
        XCTAssertEqual(CatalogSettings(account: "chem", environment: env).resolvedAccount, "chem")
        XCTAssertEqual(CatalogSettings(environment: ["SLURM_JOB_ACCOUNT": "", "QFORGE_ACCOUNT": "bio"]).resolvedAccount, "bio")
        XCTAssertEqual(CatalogSettings(environment: [:]).resolvedAccount, "default")

        let plain = CatalogSettings(environment: ["USER": "bob"]).startingRecord(runID: "r2", kind: "statevector", ranks: 1, threads: 2)
        XCTAssertEqual([plain.launcher, plain.user], ["direct", "bob"])
        XCTAssertNil(plain.slurmJobId)
        XCTAssertEqual(CatalogSettings(environment: ["OMPI_COMM_WORLD_SIZE": "2"]).startingRecord(runID: "r3", kind: "md", ranks: 2, threads: 1).launcher, "mpirun")
    }

    func testTimeLimitFormats() {
        XCTAssertEqual(TimeLimit.seconds("90"), 90)
        XCTAssertEqual(TimeLimit.seconds("01:30"), 90)
        XCTAssertEqual(TimeLimit.seconds("1:00:00"), 3600)
        XCTAssertEqual(TimeLimit.seconds("2-00:00:00"), 172_800)
        XCTAssertNil(TimeLimit.seconds("soon"))
        XCTAssertEqual(CatalogSettings(timeLimit: "10:00", environment: [:]).timeLimitSeconds, 600)
    }

    func account(budget: Int64, used: Int64) -> Account {
        var a = Account(name: "phys", budgetCents: budget)
        a.usedCents = used
        return a
    }

    func testBudgetPolicy() {
        XCTAssertEqual(BudgetVerdict(account: account(budget: 10_000, used: 1_000), estimateCents: 500, enforce: true), BudgetVerdict(account: nil, estimateCents: nil, enforce: false))
        let near = BudgetVerdict(account: account(budget: 10_000, used: 7_000), estimateCents: 1_500, enforce: false)
        XCTAssertEqual(near.warnings.count, 1)
        XCTAssertTrue(near.warnings[0].contains("70%"), near.warnings[0])
        XCTAssertNil(near.refusal)
        let over = BudgetVerdict(account: account(budget: 10_000, used: 9_000), estimateCents: 2_000, enforce: true)
        XCTAssertNotNil(over.refusal)
        XCTAssertNil(BudgetVerdict(account: account(budget: 10_000, used: 9_000), estimateCents: 2_000, enforce: false).refusal)
        XCTAssertTrue(BudgetVerdict(account: account(budget: 10_000, used: 10_000), estimateCents: nil, enforce: false).warnings[0].contains("100%"))
        XCTAssertEqual(BudgetVerdict(account: Account(name: "free"), estimateCents: 1, enforce: true).refusal, nil)
    }

    func testHowARunEndsIsRecorded() {
        let interrupted = Interrupted(checkpoint: "x.checkpoint", signal: 15)
        XCTAssertEqual(RunRecording.outcome(of: nil, elapsedSeconds: 5, timeLimit: nil).state, .completed)
        XCTAssertTrue(RunRecording.outcome(of: interrupted, elapsedSeconds: 5, timeLimit: nil) == (.cancelled, 75))
        XCTAssertTrue(RunRecording.outcome(of: interrupted, elapsedSeconds: 598, timeLimit: 600) == (.timeout, 75))
        XCTAssertTrue(RunRecording.outcome(of: InputError("bad"), elapsedSeconds: 1, timeLimit: nil) == (.failed, 2))
        XCTAssertTrue(RunRecording.outcome(of: RuntimeError("io"), elapsedSeconds: 1, timeLimit: nil) == (.failed, 1))
    }

    func testJobFilePathsAreRelativeToTheJobFile() throws {
        let file = try JobFile(text: "kind = \"statevector\"\ncircuit = \"c.qasm\"\ncheckpoint_every = 30\n", path: "/jobs/here/a.toml")
        let job = try Job(file: file)
        guard case .statevector(let sv) = job.spec else { return XCTFail("kind") }
        XCTAssertEqual(sv.circuit, "/jobs/here/c.qasm")
        XCTAssertEqual(sv.output, "results/a.h5")
        XCTAssertEqual(job.checkpointEvery, 30)
        XCTAssertEqual(file.resolve("/abs/x"), "/abs/x")
        XCTAssertEqual(try JobFile(text: "", path: "a.toml").resolve("b.qasm"), "b.qasm")
        let md = try Job(file: try JobFile(text: "kind = \"md\"\n[system]\ndata_file = \"w.data\"\n[pair]\ncutoff = 2.5\n[run]\nsteps = 1\n", path: "d/m.toml"))
        guard case .md(let m) = md.spec, case .dataFile(let p) = m.settings.source else { return XCTFail("md") }
        XCTAssertEqual(p, "d/w.data")
        XCTAssertEqual(m.output, "results/m.h5md")
        XCTAssertThrowsError(try JobFile(text: "checkpoint_every = -1\n", path: "x.toml").checkpointInterval())
        XCTAssertEqual(try Job(file: try JobFile(text: "kind = \"vqe\"\ncheckpoint_every = 5\nfcidump = \"f\"\n", path: "v.toml")).checkpointEvery, 5)
        XCTAssertThrowsError(try Job(file: try JobFile(text: "kind = \"vqe\"\ncheckpoint_evry = 5\nfcidump = \"f\"\n", path: "v.toml"))) {
            XCTAssertTrue("\($0)".contains("did you mean 'checkpoint_every'?"), "\($0)")
        }
    }

    /// The schedule: a signal outranks a periodic checkpoint; the periodic clock restarts after
    /// each checkpoint is written.
    func testCheckpointSchedule() {
        let comm = SerialCommunicator()
        Interrupt.simulate(0)
        let never = CheckpointSchedule(interval: 0)
        XCTAssertEqual(never.poll(comm), .proceed)
        let always = CheckpointSchedule(interval: 1e-9)
        XCTAssertEqual(always.poll(comm), .checkpoint)
        always.record {}
        XCTAssertEqual(always.written, 1)
        XCTAssertEqual(CheckpointSchedule(interval: 3600).poll(comm), .proceed)
        Interrupt.simulate(SIGTERM)
        XCTAssertEqual(always.poll(comm), .stop(signal: SIGTERM))
        XCTAssertEqual(never.poll(comm), .stop(signal: SIGTERM))
        Interrupt.simulate(0)
    }
}
