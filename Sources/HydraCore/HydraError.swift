/// Errors hydra reports to users: each has a one-line description.
public enum HydraError: Error, CustomStringConvertible, Equatable {
    case unknownLanguage(String)
    case unknownModel(String)
    case modelMissing(name: String, path: String)
    case invalidModel(String)
    case invalidInput(String)
    case fetchFailed(String)

    public var description: String {
        switch self {
        case .unknownLanguage(let code):
            let codes = Language.known.map(\.code).joined(separator: ", ")
            return "unknown language '\(code)' (known: \(codes))"
        case .unknownModel(let name):
            let names = KnownModel.all.map(\.name).joined(separator: ", ")
            return "no model file or known model named '\(name)' (known: \(names))"
        case .modelMissing(let name, let path):
            return "model '\(name)' is not downloaded (expected at \(path)); run: hydra models fetch \(name)"
        case .invalidModel(let why): return why
        case .invalidInput(let why): return why
        case .fetchFailed(let why): return why
        }
    }
}
