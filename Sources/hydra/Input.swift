import Foundation
import HydraCore

/// The text a command works on: its arguments joined by spaces, a file, or
/// standard input. Bytes must be valid UTF-8.
func readInput(arguments: [String], file: String?) throws -> String {
    if let file {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw HydraError.invalidInput("cannot read \(file)")
        }
        return try UTF8Input.decode([UInt8](data))
    }
    if !arguments.isEmpty { return arguments.joined(separator: " ") }
    let data = FileHandle.standardInput.readDataToEndOfFile()
    return try UTF8Input.decode([UInt8](data))
}

/// Opens `--model` (a path or a known model's name; the default model when nil).
func openModel(_ nameOrPath: String?) throws -> GGUFFile {
    let path = try KnownModel.resolve(nameOrPath)
    do {
        return try GGUFFile(path: path)
    } catch let e as GGUFError {
        throw HydraError.invalidModel("invalid model file \(e.description)")
    }
}
