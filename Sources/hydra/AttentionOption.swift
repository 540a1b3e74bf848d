import ArgumentParser
import HydraCore

/// `--flash-attn on|off|auto`, as llama.cpp's `-fa`: which of ggml's two
/// attention paths hydra reproduces. `auto` is on, as llama.cpp resolves it
/// on the CPU, so by default hydra computes what `llama-completion` does.
struct AttentionOption: ParsableArguments {
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case on, off, auto
    }

    @Option(name: .customLong("flash-attn"),
            help: "Flash attention, as llama.cpp's -fa: on, off (the plain path, llama.cpp's -fa off) or auto (on).")
    var mode: Mode = .auto

    /// Whether the model runs with flash attention.
    var enabled: Bool { mode != .off }
}
