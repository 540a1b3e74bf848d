import ArgumentParser
import Foundation
import HydraCore

/// `hydra quantize`: a GGUF model re-encoded as `llama-quantize` does.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a GGUF model as llama-quantize does (same tensor types, metadata and bytes).",
        discussion: """
            TYPE: \(QuantizationType.allCases.map(\.rawValue).joined(separator: ", ")) (q4_k and q5_k are q4_k_m and q5_k_m, \
            as in llama-quantize). The K mixes give the output table and some attn_v and ffn_down matrices more bits, \
            by llama.cpp's rules. No importance matrix. The output is written to a temporary file and renamed into \
            place when complete. Head files: `hydra heads quantize`.
            """)

    @Argument(help: "The input model (GGUF: F32, F16, BF16 or, with --allow-requantize, quantized).")
    var input: String

    @Argument(help: "The output GGUF file.")
    var output: String

    @Argument(help: "The quantization type (e.g. q4_k_m, q8_0).")
    var type: String

    @Flag(help: "Allow quantizing tensors that are already quantized (llama-quantize's --allow-requantize).")
    var allowRequantize = false

    @Option(name: [.short, .long], help: "Threads (default: the number of CPUs).")
    var threads: Int?

    func run() throws {
        let (result, seconds) = try Self.quantize(type: type, threads: threads, label: "quantizing to") { qtype, pool, progress in
            try GGUFQuantizer.quantizeModel(input: input, output: output, type: qtype, allowRequantize: allowRequantize,
                                            pool: pool, progress: progress)
        }
        printError(String(format: "wrote %@ (%d tensors, %d quantized, %@ -> %@) in %.1f s", result.path, result.tensorCount,
                          result.quantized, ByteProgress.size(result.inputBytes), ByteProgress.size(result.outputBytes),
                          seconds))
    }

    /// What `hydra quantize` and `hydra heads quantize` share: the type and
    /// thread count checked, Ctrl-C removing the temporary output, a
    /// progress bar labelled "`label` TYPE", a GGUF error as a one-line
    /// model error. Returns the result and the seconds it took.
    static func quantize(
        type: String, threads: Int?, label: String,
        _ body: (QuantizationType, ThreadPool, @escaping (Int, Int) -> Void) throws -> GGUFQuantizer.Result
    ) throws -> (GGUFQuantizer.Result, Double) {
        let qtype = try QuantizationType(name: type)
        let n = threads ?? ThreadPool.defaultThreadCount
        if let problem = ThreadPool.problem(with: n) { throw ValidationError(problem) }
        TemporaryFiles.shared.installInterruptHandler()
        let bar = Box(ByteProgress("\(label) \(qtype.rawValue.uppercased())"))
        let result: GGUFQuantizer.Result
        do {
            result = try body(qtype, ThreadPool(threads: n)) { bar.value.update($0, $1) }
        } catch let e as GGUFError {
            throw HydraError.invalidModel(e.description)
        }
        bar.value.finish()
        return (result, bar.value.elapsed)
    }

    /// A mutable value the progress closure can update.
    private final class Box<T> {
        var value: T
        init(_ value: T) { self.value = value }
    }
}
