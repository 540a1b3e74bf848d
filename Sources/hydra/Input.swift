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

