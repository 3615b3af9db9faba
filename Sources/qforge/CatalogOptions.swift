import ArgumentParser
import Catalog
import Foundation
import Runs

/// Options shared by the run commands (`qforge sv`, `qforge run`) for the run catalog.
struct CatalogOptions: ParsableArguments {
    @Option(name: .customLong("catalog"), help: ArgumentHelp(
        "Record the run in a SQLite file, a postgres:// database, an http(s):// catalog server, or 'off'.",
        discussion: "Default: $QFORGE_CATALOG, else results/catalog.sqlite. A server needs $QFORGE_API_KEY (a recorder key).",
        valueName: "path|url"))
    var catalog: String?

    @Option(help: "Account charged for the run. Default: $SLURM_JOB_ACCOUNT, else $QFORGE_ACCOUNT, else 'default'.")
    var account: String?

    @Flag(name: .customLong("enforce-budget"), help: "Refuse to start if the account's remaining budget cannot cover the estimated cost.")
    var enforceBudget = false

    @Option(name: .customLong("time-limit"), help: ArgumentHelp(
        "Requested wall time for the cost estimate: seconds, MM:SS, HH:MM:SS or D-HH:MM:SS.",
        discussion: "Default: from $SLURM_JOB_END_TIME under Slurm.", valueName: "time"))
    var timeLimit: String?

    func validate() throws {
        if let t = timeLimit, TimeLimit.seconds(t) == nil {
            throw ValidationError("--time-limit must be seconds, MM:SS, HH:MM:SS or D-HH:MM:SS")
        }
        if let a = account, !Account.isValidName(a) {
            throw ValidationError("--account must be 1–64 characters of A-Z a-z 0-9 . _ -")
        }
    }

    var settings: CatalogSettings {
        CatalogSettings(catalog: catalog, account: account, enforceBudget: enforceBudget, timeLimit: timeLimit)
    }
}
