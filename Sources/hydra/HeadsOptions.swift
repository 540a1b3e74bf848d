import ArgumentParser
import HydraCore

/// The head options of `hydra translate` (and the daemon): which heads the
/// prompt and the translation go through.
struct HeadsOptions: ParsableArguments {
    @Option(name: .customLong("head"),
            help: "A head file or installed head name to load (repeatable). By default the installed heads of the source and target languages that fit the model are used.")
    var heads: [String] = []

    @Flag(name: .customLong("native-head"), help: "Use the model's own head only, even when heads for the languages are installed.")
    var nativeOnly = false

    /// A translator over `hydra` through the heads these options pick.
    func translator(model hydra: HydraModel, from source: Language, to target: Language) throws -> Translator {
        try Translator(model: hydra, heads: heads, nativeOnly: nativeOnly, from: source, to: target)
    }
}
