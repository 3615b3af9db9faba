/// The engine's version, written into every result file and catalog record.
public let qforgeVersion = "0.1.0"
