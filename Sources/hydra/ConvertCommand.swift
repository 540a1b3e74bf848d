import ArgumentParser
import Foundation
import HydraCore

/// `hydra convert`: a Hugging Face checkpoint (safetensors) to GGUF.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a Hugging Face checkpoint (safetensors) into a GGUF model directory.",
        discussion: """
            Writes OUT/model.gguf as llama.cpp's convert_hf_to_gguf.py does (llama.cpp opens it), \
            one tensor in memory at a time. Architectures: \(HFConverter.supportedArchitectures.joined(separator: ", ")). \
            A LlamaHydraForCausalLM becomes a body with its source-side rows and source_tokenizer/ as its native head, \
            and the new-language head in OUT/heads/, which `--model OUT` picks up. \
            Without --out the model goes to \(ConvertedModels.directory)/NAME, listed by `hydra models`.
            """)

    @Argument(help: "The checkpoint directory (config.json, tokenizer.json, model.safetensors or an index and shards).")
    var checkpoint: String

    @Option(name: .long, help: "The output directory (default: the converted-model cache, named after the checkpoint).")
    var out: String?

    @Option(name: .long, help: "Type of the weight matrices: f32, f16, bf16 or q8_0 (norms and biases stay F32), or a llama-quantize type (q4_0, q4_1, q5_0, q5_1, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k: its mix of types, as `hydra quantize`).")
    var type: String = "f16"

    @Option(name: .long, help: "Language of the new head of a LlamaHydraForCausalLM (BCP-47, e.g. tt).")
    var language: String?

    func run() throws {
        guard let outputType = HFConverter.OutputType(name: type) else {
            throw HydraError.invalidInput("unknown --type '\(type)' (\(HFConverter.OutputType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let name = URL(fileURLWithPath: checkpoint).standardizedFileURL.lastPathComponent
        let outDir = out ?? ConvertedModels.directory + "/" + name
        TemporaryFiles.shared.installInterruptHandler()
        var bar = ProgressBar("converting \(name)")
        let start = Date()
        var shown = -1
        do {
            let result = try HFConverter.convert(directory: checkpoint, outputDirectory: outDir, type: outputType,
                                                 language: language) { done, total in
                let percent = total > 0 ? Int(Double(done) / Double(total) * 100) : 100
                guard percent != shown else { return }
                shown = percent
                let seconds = max(Date().timeIntervalSince(start), 1e-3)
                let rate = Double(done) / seconds
                let eta = rate > 0 ? Double(total - done) / rate : 0
                bar.label = String(format: "%@ / %@, %@/s, ETA %.0f s", Self.size(done), Self.size(total), Self.size(Int(rate)), eta)
                bar.update(total > 0 ? Double(done) / Double(total) : 1)
            }
            bar.finish()
            printError(String(format: "wrote %@ (%d tensors, %@) in %.1f s", result.modelPath, result.tensorCount,
                              Self.size(result.bytes), Date().timeIntervalSince(start)))
            if let h = result.headPath { printError("wrote head \(h)") }
        } catch let e as CheckpointError {
            throw HydraError.invalidModel(e.description)
        } catch let e as GGUFError {
            throw HydraError.invalidModel(e.description)
        }
    }

    static func size(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= Double(1 << 30) { return String(format: "%.2f GB", b / Double(1 << 30)) }
        if b >= Double(1 << 20) { return String(format: "%.1f MB", b / Double(1 << 20)) }
        return String(format: "%.0f KB", b / 1024)
    }
}
