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

    /// A translator over `model`: with the model's native head only when no
    /// head is asked for or installed for either language (exactly the
    /// single-model translator), else through the heads found.
    func translator(model: LanguageModel, tokenizer: Tokenizer, from source: Language,
                    to target: Language) throws -> Translator {
        if nativeOnly && heads.isEmpty { return Translator(model: model, tokenizer: tokenizer) }
        let hydra = try HydraModel(model: model, tokenizer: tokenizer)
        let set = hydra.heads
        let catalog = HeadCatalog()
        for name in heads {
            try set.load(path: HeadsCommand.resolve(name), catalog: catalog)
        }
        if !nativeOnly {
            for language in [source, target] where set.head(for: language.code).map({ $0 === set.native }) ?? true {
                if let entry = catalog.entries(language: language.code, fitting: set.fingerprint).first {
                    try set.load(path: entry.path, catalog: catalog)
                }
            }
        }
        if set.heads.count == 1 { return Translator(model: model, tokenizer: tokenizer) }
        return try Translator(model: hydra)
    }
}
