import ArgumentParser
import HydraCore

/// Refuses held-out files as training data (`TuningCorpus.checkNotHeldOut`'s
/// rule: any path with a folder named `heldout`), as a usage error, before
/// any model is loaded.
func refuseHeldOut(_ files: [String]) throws {
    do {
        try TuningCorpus.checkNotHeldOut(files)
    } catch HydraError.invalidInput(let why) {
        throw ValidationError(why)
    }
}
