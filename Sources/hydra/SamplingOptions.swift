import ArgumentParser
import HydraCore

/// How `hydra translate` picks tokens: greedy by default; sampling with
/// llama.cpp's option names; or beam search.
struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("temp"), help: "Sampling temperature (0: greedy, the default).")
    var temperature: Float = 0

    @Option(name: .customLong("top-k"), help: "With --temp: sample among the k most likely tokens (0: all).")
    var topK = 40

    @Option(name: .customLong("top-p"), help: "With --temp: sample among the most likely tokens whose probabilities add up to p.")
    var topP: Float = 0.95

    @Option(help: "With --temp: the seed of the random choices (same seed, same text).")
    var seed: UInt64 = 0

    @Option(help: "Beam search with N beams (length-normalized; 1: none). Not with --temp.")
    var beam = 1

    func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temp must be 0 or more") }
        guard topK >= 0 else { throw ValidationError("--top-k must be 0 or more") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard (1...16).contains(beam) else { throw ValidationError("--beam must be between 1 and 16") }
        if beam > 1 && temperature > 0 { throw ValidationError("--beam and --temp exclude each other") }
    }

    var sampling: Sampling {
        var s = Sampling()
        s.temperature = temperature
        s.topK = topK
        s.topP = topP
        s.seed = seed
        s.beams = beam
        return s
    }
}
